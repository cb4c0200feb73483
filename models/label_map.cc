#include "models/label_map.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"

namespace racesgd {

LabelMap LabelMap::from_labels(std::vector<double> labels, const std::string& source) {
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  if (labels.size() > static_cast<std::size_t>(kMaxClasses)) {
    throw InputError(source + ": " + std::to_string(labels.size()) + " distinct labels; at most " +
                     std::to_string(kMaxClasses) +
                     " classes are supported (is the label column a regression target?)");
  }
  LabelMap map;
  map.values_ = std::move(labels);
  return map;
}

int LabelMap::index_of(double value) const {
  const auto it = std::lower_bound(values_.begin(), values_.end(), value);
  if (it == values_.end() || *it != value) return -1;
  return static_cast<int>(it - values_.begin());
}

std::string LabelMap::describe(std::size_t max_items) const {
  std::string out;
  for (std::size_t c = 0; c < values_.size(); ++c) {
    if (c == max_items) {
      out += ", ...";
      break;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%g->%zu", c == 0 ? "" : ", ", values_[c], c);
    out += buf;
  }
  return out;
}

}  // namespace racesgd
