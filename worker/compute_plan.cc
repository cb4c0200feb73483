#include "worker/compute_plan.h"

#include <algorithm>
#include <functional>

namespace racesgd {

std::string_view to_string(ComputeAt at) { return at == ComputeAt::start ? "start" : "deadline"; }

std::optional<ComputeAt> compute_at_from(std::string_view text) {
  if (text == "start") return ComputeAt::start;
  if (text == "deadline") return ComputeAt::deadline;
  return std::nullopt;
}

std::optional<ComputePlan::Clock::duration> ComputePlan::lead() const {
  if (count_ == 0) return std::nullopt;
  const std::size_t n = std::min(count_, kWindow);
  std::array<std::int64_t, kWindow> sorted = recent_;
  // With fewer than a full window, the largest (a learner's first minibatches were the
  // likeliest to be late with the 2nd largest of two or three).
  const std::size_t k = std::max<std::size_t>(1, n * kRank / kWindow) - 1;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(k),
                   sorted.begin() + static_cast<std::ptrdiff_t>(n), std::greater<>());
  const auto q = std::chrono::duration<double>(Clock::duration(sorted[k]));
  return std::chrono::duration_cast<Clock::duration>(q * kMarginFactor) +
         std::chrono::duration_cast<Clock::duration>(kMarginFixed);
}

std::chrono::steady_clock::time_point plan_begin(ComputeAt at,
                                                 std::optional<std::chrono::steady_clock::duration> lead,
                                                 std::chrono::steady_clock::time_point now,
                                                 std::chrono::steady_clock::time_point due) {
  if (at == ComputeAt::start) return now;
  if (due == std::chrono::steady_clock::time_point::max()) return due;
  if (!lead || due - now <= *lead) return now;
  return due - *lead;
}

void ComputePlan::record(Clock::time_point planned, Clock::time_point done) {
  const std::int64_t took = std::max<std::int64_t>(0, (done - planned).count());
  recent_[count_ % kWindow] = took;
  ++count_;
}

}  // namespace racesgd
