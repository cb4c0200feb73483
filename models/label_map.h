// LabelMap: how the text formats' label values (-1/+1, 1..K, 0..9 ...; the loaders accept
// whole numbers only, detail/text_labels.h) become class indices 0..C-1. The distinct values, sorted ascending, are numbered in order; so -1/+1
// -> 0/1, 1..K -> 0..K-1, and 0..9 stays 0..9 when every digit occurs. A test file is read
// with its training file's map, so the same value always means the same class.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace racesgd {

/// At most this many classes: a file with more distinct labels is almost surely a
/// regression target, which these loaders do not take.
inline constexpr int kMaxClasses = 65536;

class LabelMap {
 public:
  LabelMap() = default;

  /// The map of the distinct values in `labels` (need not be sorted or unique). Throws
  /// InputError naming `source` when there are more than kMaxClasses distinct values.
  /// Allocates.
  static LabelMap from_labels(std::vector<double> labels, const std::string& source);

  int num_classes() const { return static_cast<int>(values_.size()); }
  /// The class index of `value`, or -1 when the map does not contain it. No allocation.
  int index_of(double value) const;
  /// values()[c] is the label value of class c, ascending.
  const std::vector<double>& values() const { return values_; }
  /// "-1->0, 1->1" (at most `max_items` entries, then "...").
  std::string describe(std::size_t max_items = 20) const;

 private:
  std::vector<double> values_;
};

}  // namespace racesgd
