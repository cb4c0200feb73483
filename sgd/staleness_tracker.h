// StalenessTracker: the staleness of every applied gradient (overall and per learner),
// cancelled (wasted) minibatches and idle time per learner. Fed by the PS thread / event
// loop only; not thread-safe. Recording allocates nothing after construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace racesgd {

class StalenessTracker {
 public:
  /// Staleness values >= histogram_size land in the last (overflow) bin.
  explicit StalenessTracker(std::size_t num_learners, std::size_t histogram_size = 64);

  void record_applied(std::size_t learner, std::uint64_t staleness);
  void record_cancelled(std::size_t learner);
  void record_idle(std::size_t learner, double seconds);
  /// SSP: the learners' clock spread (most minus fewest minibatches finished) after an
  /// applied gradient -- how far the bound lets them drift, next to the staleness in versions.
  void record_clock_spread(std::uint64_t spread);

  std::uint64_t applied() const { return applied_; }
  std::uint64_t cancelled() const { return cancelled_; }
  double mean() const;                 // mean staleness of applied gradients (0 if none)
  std::uint64_t max() const { return max_; }
  double fresh_fraction() const;       // p0: fraction of applied gradients with staleness 0
  const std::vector<std::uint64_t>& histogram() const { return histogram_; }
  std::uint64_t clock_spread_count() const { return spread_count_; }
  double clock_spread_mean() const;    // over record_clock_spread calls (0 if none)
  std::uint64_t clock_spread_max() const { return spread_max_; }

  struct PerLearner {
    std::uint64_t applied = 0;
    std::uint64_t cancelled = 0;
    double staleness_sum = 0;
    std::uint64_t staleness_max = 0;
    double idle_seconds = 0;
  };
  const std::vector<PerLearner>& per_learner() const { return per_learner_; }

  /// Mean staleness of gradients applied since the previous call (0 if none): the
  /// per-interval column of curve.csv.
  double take_interval_mean();

  /// Everything recorded so far, for checkpoints.
  struct State {
    std::vector<PerLearner> per_learner;
    std::vector<std::uint64_t> histogram;
    std::uint64_t applied = 0;
    std::uint64_t cancelled = 0;
    std::uint64_t fresh = 0;
    std::uint64_t max = 0;
    double sum = 0;
    double interval_sum = 0;
    std::uint64_t interval_count = 0;
    double spread_sum = 0;
    std::uint64_t spread_count = 0;
    std::uint64_t spread_max = 0;
  };
  /// A copy (allocates).
  State state() const;
  /// Continues from a saved state. Throws InputError (changing nothing) when its sizes
  /// differ from this tracker's (another number of learners or histogram size).
  void restore(const State& s);

 private:
  std::vector<PerLearner> per_learner_;
  std::vector<std::uint64_t> histogram_;
  std::uint64_t applied_ = 0;
  std::uint64_t cancelled_ = 0;
  std::uint64_t fresh_ = 0;
  std::uint64_t max_ = 0;
  double sum_ = 0;
  double interval_sum_ = 0;
  std::uint64_t interval_count_ = 0;
  double spread_sum_ = 0;
  std::uint64_t spread_count_ = 0;
  std::uint64_t spread_max_ = 0;
};

}  // namespace racesgd
