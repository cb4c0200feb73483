#include "sgd/staleness_tracker.h"

#include <algorithm>

#include "core/check.h"
#include "core/error.h"

namespace racesgd {

StalenessTracker::StalenessTracker(std::size_t num_learners, std::size_t histogram_size)
    : per_learner_(num_learners), histogram_(std::max<std::size_t>(histogram_size, 2), 0) {}

void StalenessTracker::record_applied(std::size_t learner, std::uint64_t staleness) {
  RACESGD_CHECK(learner < per_learner_.size());
  PerLearner& p = per_learner_[learner];
  ++p.applied;
  p.staleness_sum += static_cast<double>(staleness);
  p.staleness_max = std::max(p.staleness_max, staleness);
  ++applied_;
  sum_ += static_cast<double>(staleness);
  interval_sum_ += static_cast<double>(staleness);
  ++interval_count_;
  max_ = std::max(max_, staleness);
  if (staleness == 0) ++fresh_;
  const std::size_t bin = std::min<std::uint64_t>(staleness, histogram_.size() - 1);
  ++histogram_[bin];
}

void StalenessTracker::record_cancelled(std::size_t learner) {
  RACESGD_CHECK(learner < per_learner_.size());
  ++per_learner_[learner].cancelled;
  ++cancelled_;
}

void StalenessTracker::record_idle(std::size_t learner, double seconds) {
  RACESGD_CHECK(learner < per_learner_.size());
  per_learner_[learner].idle_seconds += seconds;
}

double StalenessTracker::mean() const {
  return applied_ ? sum_ / static_cast<double>(applied_) : 0.0;
}

double StalenessTracker::fresh_fraction() const {
  return applied_ ? static_cast<double>(fresh_) / static_cast<double>(applied_) : 0.0;
}

double StalenessTracker::take_interval_mean() {
  const double m = interval_count_ ? interval_sum_ / static_cast<double>(interval_count_) : 0.0;
  interval_sum_ = 0;
  interval_count_ = 0;
  return m;
}

StalenessTracker::State StalenessTracker::state() const {
  return State{per_learner_, histogram_,     applied_,       cancelled_,    fresh_, max_,
               sum_,        interval_sum_, interval_count_, spread_sum_, spread_count_,
               spread_max_};
}

void StalenessTracker::record_clock_spread(std::uint64_t spread) {
  spread_sum_ += static_cast<double>(spread);
  ++spread_count_;
  spread_max_ = std::max(spread_max_, spread);
}

double StalenessTracker::clock_spread_mean() const {
  return spread_count_ ? spread_sum_ / static_cast<double>(spread_count_) : 0.0;
}

void StalenessTracker::restore(const State& s) {
  if (s.per_learner.size() != per_learner_.size() || s.histogram.size() != histogram_.size())
    throw InputError("checkpoint: staleness state has " + std::to_string(s.per_learner.size()) +
                     " learners and " + std::to_string(s.histogram.size()) +
                     " histogram bins, expected " + std::to_string(per_learner_.size()) + " and " +
                     std::to_string(histogram_.size()));
  per_learner_ = s.per_learner;
  histogram_ = s.histogram;
  applied_ = s.applied;
  cancelled_ = s.cancelled;
  fresh_ = s.fresh;
  max_ = s.max;
  sum_ = s.sum;
  interval_sum_ = s.interval_sum;
  interval_count_ = s.interval_count;
  spread_sum_ = s.spread_sum;
  spread_count_ = s.spread_count;
  spread_max_ = s.spread_max;
}

}  // namespace racesgd
