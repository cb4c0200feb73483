// ComputePlan: when, inside its injected delay X, a learner computes its gradient.
//
// A learner knows X when it starts, so it need not compute at once and then sleep to
// start + X (ComputeAt::start, the first release's behaviour): it can sleep until
// start + X - lead and compute then (ComputeAt::deadline), on the weights it pinned at the
// start, so the gradient's staleness is unchanged. With P learners on fewer cores this
// spreads the computations out in time, in deadline order, instead of queueing all P of
// them on the cores right after a synchronous restart; and a learner cancelled before its
// compute time never computes at all.
//
// The lead is learned: a high quantile of this learner's recent "plan to done" times
// (from the moment it planned to begin -- or began at once -- to the end of the
// computation: the wake-up's lateness, waiting for a core and the compute itself) times a
// safety margin. Until the first measurement, and whenever the deadline is closer than the
// lead, the learner computes at once. Learner threads and MPI learner ranks use the same
// plan (issue 13; docs/performance.md "Just-in-time gradients").
//
// Threads: one per learner, owned by its thread; no synchronisation.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace racesgd {

enum class ComputeAt {
  start,     // compute as soon as the minibatch starts, then wait out X
  deadline,  // compute just in time for start + X (the default)
};

/// When a learner asked to compute `at` does compute: at the start when X is served after
/// the computation (`delay_after_compute`), which then comes first whatever was asked.
constexpr ComputeAt effective_compute_at(ComputeAt at, bool delay_after_compute) {
  return delay_after_compute ? ComputeAt::start : at;
}

/// "start" or "deadline".
std::string_view to_string(ComputeAt at);
/// The ComputeAt named `text`; nullopt when it names none.
std::optional<ComputeAt> compute_at_from(std::string_view text);

/// When a computation due at `due` begins, `now` being the present, given the lead learned
/// so far (nullopt: none yet): `now` with ComputeAt::start, without a lead, or when
/// due - lead has passed; time_point::max() when `due` is (a learner that never pushes
/// never needs its gradient); due - lead otherwise. ComputePlan::begin with its own lead;
/// the thread pool's PS side with the lead a learner published (worker/learner_pool.h).
std::chrono::steady_clock::time_point plan_begin(ComputeAt at,
                                                 std::optional<std::chrono::steady_clock::duration> lead,
                                                 std::chrono::steady_clock::time_point now,
                                                 std::chrono::steady_clock::time_point due);

class ComputePlan {
 public:
  using Clock = std::chrono::steady_clock;

  /// Recent measurements kept; the quantile is the kRank-th largest of a full window (the
  /// 2nd largest of 32: ~ the 97th percentile) and the largest until the window is full
  /// (the max(1, n * kRank / kWindow)-th largest of n).
  static constexpr std::size_t kWindow = 32;
  static constexpr std::size_t kRank = 2;
  /// lead = quantile * kMarginFactor + kMarginFixed.
  static constexpr double kMarginFactor = 1.5;
  static constexpr std::chrono::microseconds kMarginFixed{30};

  explicit ComputePlan(ComputeAt at) : at_(at) {}

  /// When to begin the computation of a gradient whose push is due at `due` (start + X):
  /// plan_begin with this plan's lead.
  Clock::time_point begin(Clock::time_point now, Clock::time_point due) const {
    return plan_begin(at_, lead(), now, due);
  }

  /// Records one computation: from `planned` (begin()'s answer, or the moment it began
  /// when that was earlier) to `done`, the end of the computation.
  void record(Clock::time_point planned, Clock::time_point done);

  /// The current lead; nullopt before the first record().
  std::optional<Clock::duration> lead() const;

  ComputeAt at() const { return at_; }

 private:
  ComputeAt at_;
  std::array<std::int64_t, kWindow> recent_{};  // steady_clock ticks, a ring
  std::size_t count_ = 0;                       // records so far (the ring holds min(count_, kWindow))
};

/// How late a gradient was: how long after `due` its computation ended (0 when on time).
inline double seconds_late(ComputePlan::Clock::time_point done, ComputePlan::Clock::time_point due) {
  return done > due ? std::chrono::duration<double>(done - due).count() : 0.0;
}

}  // namespace racesgd
