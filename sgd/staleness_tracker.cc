#include "sgd/staleness_tracker.h"

#include <algorithm>

#include "core/check.h"
#include "core/error.h"

namespace racesgd {

StalenessTracker::StalenessTracker(std::size_t num_workers, std::size_t histogram_size)
    : per_worker_(num_workers), histogram_(std::max<std::size_t>(histogram_size, 2), 0) {}

void StalenessTracker::record_applied(std::size_t worker, std::uint64_t staleness) {
  RACESGD_CHECK(worker < per_worker_.size());
  PerWorker& p = per_worker_[worker];
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

void StalenessTracker::record_cancelled(std::size_t worker) {
  RACESGD_CHECK(worker < per_worker_.size());
  ++per_worker_[worker].cancelled;
  ++cancelled_;
}

void StalenessTracker::record_idle(std::size_t worker, double seconds) {
  RACESGD_CHECK(worker < per_worker_.size());
  per_worker_[worker].idle_seconds += seconds;
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
  return State{per_worker_, histogram_, applied_, cancelled_, fresh_, max_,
               sum_,        interval_sum_, interval_count_};
}

void StalenessTracker::restore(const State& s) {
  if (s.per_worker.size() != per_worker_.size() || s.histogram.size() != histogram_.size())
    throw InputError("checkpoint: staleness state has " + std::to_string(s.per_worker.size()) +
                     " workers and " + std::to_string(s.histogram.size()) +
                     " histogram bins, expected " + std::to_string(per_worker_.size()) + " and " +
                     std::to_string(histogram_.size()));
  per_worker_ = s.per_worker;
  histogram_ = s.histogram;
  applied_ = s.applied;
  cancelled_ = s.cancelled;
  fresh_ = s.fresh;
  max_ = s.max;
  sum_ = s.sum;
  interval_sum_ = s.interval_sum;
  interval_count_ = s.interval_count;
}

}  // namespace racesgd
