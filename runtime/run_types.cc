#include "runtime/run_types.h"

namespace racesgd {

CurvePoint take_curve_counters(ParameterServer& ps, double time_s, double wall_s) {
  CurvePoint p;
  p.time_s = time_s;
  p.updates = ps.published_version();
  p.gradients = ps.gradients_applied();
  p.staleness_mean = ps.tracker().take_interval_mean();
  p.wall_s = wall_s;
  return p;
}

void collect_ps_statistics(const ParameterServer& ps, RunResult& r) {
  // Counted as published, and only applied gradients: those pending at the stop (or in a
  // refused update) are in none of these statistics, so gradients_applied == the sum of
  // the per-learner counts == the histogram's sum == the gradients of the updates counted.
  r.updates = ps.published_version();
  r.gradients_applied = ps.gradients_applied();
  r.gradients_cancelled = ps.tracker().cancelled();
  r.last_update_time_s = ps.last_update_time();
  r.staleness_mean = ps.tracker().mean();
  r.staleness_max = ps.tracker().max();
  r.p0 = ps.tracker().fresh_fraction();
  r.staleness_histogram = ps.tracker().histogram();
  r.per_learner = ps.tracker().per_learner();
  r.mean_lr =
      ps.gradients_applied() ? ps.lr_sum() / static_cast<double>(ps.gradients_applied()) : 0;
  r.update_log = ps.update_log();
  r.divergence = ps.divergence();
}

}  // namespace racesgd
