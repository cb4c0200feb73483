#include "runtime/lateness_tally.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace racesgd {

void LatenessTally::add(double late_s) {
  ++count_;
  if (!(late_s > 0)) return;
  late_sum_ += late_s;
  late_.push_back(static_cast<float>(late_s));
}

double LatenessTally::late_mean_s() const {
  return late_.empty() ? 0.0 : late_sum_ / static_cast<double>(late_.size());
}

double LatenessTally::quantile_s(double q) const {
  RACESGD_CHECK(q > 0 && q <= 1);
  if (count_ == 0) return 0;
  // Nearest rank r (1-based) in all values sorted ascending: the count_ - late() zeros first.
  const auto r = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  const std::uint64_t in_time = count_ - late_.size();
  if (r <= in_time) return 0;
  std::vector<float> sorted = late_;
  const auto k = static_cast<std::ptrdiff_t>(r - in_time - 1);
  std::nth_element(sorted.begin(), sorted.begin() + k, sorted.end());
  return sorted[static_cast<std::size_t>(k)];
}

}  // namespace racesgd
