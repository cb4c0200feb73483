// The label column of a text file (LIBSVM, CSV): how a label cell is read, and how the
// labels, once every row is read, become class indices. Both text loaders share this.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "models/text_dataset.h"

namespace racesgd::detail {

enum class LabelText {
  kOk,
  kNotANumber,       // not a finite number
  kNotAWholeNumber,  // finite, with a fractional part (2.5): a feature or regression target
};

/// A class label from the whole of `text`: a finite number with no fractional part ("3",
/// "+1", "-1", "1.0", "1e2"). Classes are discrete; a continuous value means the column is
/// a feature or a regression target, which a classifier cannot learn. `out` is set on kOk.
LabelText parse_class_label(std::string_view text, double& out);

/// Labels in file order, each with its line, until they are mapped to classes.
class LabelColumn {
 public:
  void add(double value, std::size_t line) {
    values_.push_back(value);
    lines_.push_back(line);
  }
  std::size_t size() const { return values_.size(); }

  /// Sets out.labels (`given` -- a test file gets its training file's map -- or else the
  /// map of these values) and out.data's name, num_classes and y. Throws InputError
  /// "<name>: line N: label V is not one of the training labels (...)" for a value outside
  /// `given`, or LabelMap's error for too many distinct values. Allocates.
  void map_to_classes(const std::optional<LabelMap>& given, const std::string& name,
                      TextDataset& out) const;

 private:
  std::vector<double> values_;
  std::vector<std::size_t> lines_;
};

}  // namespace racesgd::detail
