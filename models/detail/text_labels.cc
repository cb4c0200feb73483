#include "models/detail/text_labels.h"

#include <cmath>

#include "models/detail/parse_text.h"

namespace racesgd::detail {

LabelText parse_class_label(std::string_view text, double& out) {
  double v = 0;
  if (!parse_finite_double(text, v)) return LabelText::kNotANumber;
  if (std::floor(v) != v) return LabelText::kNotAWholeNumber;
  out = v;
  return LabelText::kOk;
}

void LabelColumn::map_to_classes(const std::optional<LabelMap>& given, const std::string& name,
                                 TextDataset& out) const {
  out.labels = given ? *given : LabelMap::from_labels(values_, name);
  Dataset& data = out.data;
  data.name = name;
  data.num_classes = out.labels.num_classes();
  data.y.resize(values_.size());
  for (std::size_t i = 0; i < values_.size(); ++i) {
    const int c = out.labels.index_of(values_[i]);
    if (c < 0) {
      fail_line(name, lines_[i],
                "label " + format_number(values_[i]) + " is not one of the training labels (" +
                    out.labels.describe() + ")");
    }
    data.y[i] = c;
  }
}

}  // namespace racesgd::detail
