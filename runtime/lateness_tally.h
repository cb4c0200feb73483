// LatenessTally: how faithfully the real clock serves the injected delays -- of the
// gradients counted, how many finished their computation after start + X and by how much
// (issue 13: the real clock's fidelity, reported in summary.json as compute_late).
//
// Keeps only the late ones' values, so memory grows with the late gradients, not with all.
// Not thread-safe: the PS thread counts.
#pragma once

#include <cstdint>
#include <vector>

namespace racesgd {

class LatenessTally {
 public:
  /// One gradient, `late_s` seconds late (0: in time; negative counts as 0).
  void add(double late_s);

  std::uint64_t count() const { return count_; }
  std::uint64_t late() const { return late_.size(); }
  /// Mean lateness of the late gradients; 0 when none was late.
  double late_mean_s() const;
  /// The q-quantile (0 < q <= 1, nearest rank) of the lateness over all counted gradients:
  /// 0 when at least a fraction q of them were in time, and when none was counted.
  double quantile_s(double q) const;

 private:
  std::uint64_t count_ = 0;
  double late_sum_ = 0;
  std::vector<float> late_;  // each late gradient's lateness, seconds
};

}  // namespace racesgd
