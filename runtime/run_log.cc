#include "runtime/run_log.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <utility>

#include "core/check.h"

namespace racesgd {

CurvePoint take_curve_counters(ParameterServer& ps, double time_s, double wall_s) {
  CurvePoint p;
  p.time_s = time_s;
  p.updates = ps.published_version();
  p.gradients = ps.gradients_applied();
  p.staleness_mean = ps.tracker().take_interval_mean();
  p.wall_s = wall_s;
  p.k = ps.coordinator().effective_k();
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
  r.clock_spread_samples = ps.tracker().clock_spread_count();
  r.clock_spread_mean = ps.tracker().clock_spread_mean();
  r.clock_spread_max = ps.tracker().clock_spread_max();
  r.per_learner = ps.tracker().per_learner();
  r.mean_lr =
      ps.gradients_applied() ? ps.lr_sum() / static_cast<double>(ps.gradients_applied()) : 0;
  r.update_log = ps.update_log();
  r.divergence = ps.divergence();
}

const char* clock_name(RunClock c) { return c == RunClock::real ? "real" : "virtual"; }

bool saves_end_checkpoint(const CheckpointHooks& hooks, StopReason r) {
  return hooks.save && hooks.at_end && (finished_by_rule(r) || r == StopReason::interrupted);
}

RunLog::RunLog(const RunInputs& in, ParameterServer& ps, VersionedWeights& weights,
               std::size_t snapshot_capacity, RunClock clock)
    : in_(in),
      ps_(ps),
      weights_(weights),
      clock_(clock),
      wall_zero_(Clock::now()),
      ticker_(in.settings.eval),
      last_progress_(Clock::now()),
      last_checkpoint_version_(ps.version()),
      last_checkpoint_(Clock::now()) {
  if (!in.settings.timing_only) {
    recorder_.emplace(weights.dim(), snapshot_capacity, in.settings.eval);
    train_eval_ = subsample(*in.train, in.settings.eval.train_samples, in.settings.seed);
  }
}

void RunLog::resume(const RunCheckpoint& c) {
  ticker_.restore_next_time(c.ticker_next_time);
  // Points of a checkpoint from before K was recorded (format 3) had the variant's K.
  std::vector<EvalRecorder::Saved> old_points;
  const bool old = c.format < 4;
  if (old) {
    old_points = c.curve;
    for (EvalRecorder::Saved& p : old_points) p.point.k = in_.settings.variant.K;
  }
  const std::vector<EvalRecorder::Saved>& curve = old ? old_points : c.curve;
  if (recorder_) {
    recorder_->restore(curve);
  } else {
    for (const EvalRecorder::Saved& p : curve) timing_curve_.push_back(p.point);
  }
  delays_ = c.delays;
  latest_error_ = c.latest_error;
  target_reached_ = c.target_reached;
  result_.failures = c.failures;
  last_checkpoint_version_ = ps_.version();
}

double RunLog::wall_s() const {
  return std::chrono::duration<double>(Clock::now() - wall_zero_).count();
}

void RunLog::reserve_points() {
  if (recorder_) recorder_->reserve(expected_points(in_.settings.stop, in_.settings.eval));
}

void RunLog::record_point(double time) {
  const CurvePoint p = take_curve_counters(ps_, time, wall_s());
  if (!recorder_) {
    timing_curve_.push_back(p);
    return;
  }
  VersionedWeights::Pin cur = weights_.pin_latest();
  recorder_->record(p, cur.weights());
  if (clock_ == RunClock::simulated && in_.settings.stop.target_error >= 0) score_online();
}

void RunLog::score_online() {
  const std::size_t i = recorder_->size() - 1;
  recorder_->score(i, *in_.model, train_eval_, *in_.test);
  latest_error_ = recorder_->point(i).test_error;
  if (latest_error_ <= in_.settings.stop.target_error) target_reached_ = true;
}

void RunLog::score_pending(const Progress& at) {
  if (recorder_) recorder_->score_all(*in_.model, train_eval_, *in_.test, scoring_control(in_, at));
}

void RunLog::take_ticks(double at, double until) {
  if (has_new_update(last(), ps_.version())) record_point(at);
  ticker_.skip_past(until);
}

void RunLog::on_update(double at) {
  if (ticker_.update_due(ps_.version())) record_point(at);
}

bool RunLog::after_update(double at) {
  on_update(at);
  if (!updates_reached()) return false;
  stop(StopReason::updates);
  return true;
}

void RunLog::count_drawn(double x) {
  delays_.drawn_sum += x;
  ++delays_.count;
}

void RunLog::count_served(const GradientMessage& m) {
  const double compute = m.t_computed - m.t_start;
  delays_.drawn_sum += m.delay_drawn;
  delays_.served_sum += m.delay_served;
  delays_.compute_sum += compute;
  // With delay_after_compute the sleep comes after the compute: it cannot exceed X.
  if (!in_.settings.delay_after_compute && compute > m.delay_drawn) ++delays_.exceeded;
  ++delays_.count;
  lateness_.add(m.compute_late_s);
  push_lag_sum_ += m.push_lag_s;
  push_lag_max_ = std::max(push_lag_max_, m.push_lag_s);
}

bool RunLog::learner_failed(LearnerId w, const std::string& what, double t) {
  result_.failures.push_back(LearnerFailure{w, what, t});
  return in_.settings.continue_on_learner_failure;
}

void RunLog::stop_on_failure() {
  RACESGD_CHECK_MSG(!result_.failures.empty(), "stop_on_failure before learner_failed");
  const LearnerFailure& f = result_.failures.back();
  stop(StopReason::learner_failed, "learner " + std::to_string(f.learner) + " failed: " + f.what);
}

void RunLog::stop_no_learner_left() {
  stop(StopReason::stalled, "no learner left: every learner failed");
}

void RunLog::stop(StopReason r, std::string error) {
  result_.stop_reason = r;
  result_.error = std::move(error);
}

bool RunLog::stop_if_interrupted() {
  if (!in_.interrupt || !in_.interrupt->load(std::memory_order_relaxed)) return false;  // a flag, no data
  stop(StopReason::interrupted, "interrupted by a signal");
  return true;
}

void RunLog::report_progress(const Progress& p) {
  if (!in_.progress || Clock::now() - last_progress_ <= std::chrono::milliseconds(250)) return;
  last_progress_ = Clock::now();
  in_.progress(p);
}

bool RunLog::checkpoint_due_by_updates() const {
  const CheckpointHooks& h = in_.checkpoint;
  return h.save && h.every_updates > 0 && ps_.version() != last_checkpoint_version_ &&
         ps_.version() % h.every_updates == 0;
}

bool RunLog::checkpoint_due_by_time() const {
  const CheckpointHooks& h = in_.checkpoint;
  return h.save && h.every_s > 0 &&
         std::chrono::duration<double>(Clock::now() - last_checkpoint_).count() >= h.every_s;
}

void RunLog::save_checkpoint(RunCheckpoint c) {
  c.clock = clock_name(clock_);
  if (recorder_) {
    c.curve = recorder_->saved();
  } else {
    for (const CurvePoint& p : timing_curve_) c.curve.push_back({p, true, {}});
  }
  c.delays = delays_;
  c.failures = result_.failures;
  const auto t_start = Clock::now();
  try {
    in_.checkpoint.save(c);
    ++result_.checkpoints_written;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "racesgd: checkpoint not written: %s\n", e.what());
  }
  result_.checkpoint_time_s += std::chrono::duration<double>(Clock::now() - t_start).count();
  last_checkpoint_version_ = ps_.version();
  last_checkpoint_ = Clock::now();
}

RunResult RunLog::finish(double now, double latest_error) {
  // The final point, unless the last one recorded already shows this moment's state. A
  // diverged run ends at its last published weights (finite: the refused update never was
  // published).
  if (machine_at_start_)
    if (const std::optional<MachineCpuTicks> t = machine_cpu_ticks())
      result_.host_steal_fraction = steal_fraction(*machine_at_start_, *t);
  if (needs_final_point(last(), ps_.published_version(), now)) record_point(now);
  const double run_wall = wall_s();
  finish_curve(recorder_, timing_curve_, in_.model, train_eval_, in_.test,
               scoring_control(in_, Progress{now, run_wall, ps_.version(), latest_error}), result_);
  result_.eval_time_s = wall_s() - run_wall;
  result_.wall_time_s = wall_s();
  result_.run_time_s = now;
  collect_ps_statistics(ps_, result_);
  const double n = static_cast<double>(delays_.count);
  result_.delay_drawn_mean_s = delays_.count ? delays_.drawn_sum / n : 0;
  if (clock_ == RunClock::simulated) {
    result_.delay_served_mean_s = result_.delay_drawn_mean_s;  // the virtual clock serves exactly
  } else {
    result_.delay_served_mean_s = delays_.count ? delays_.served_sum / n : 0;
    result_.compute_mean_s = delays_.count ? delays_.compute_sum / n : 0;
    result_.compute_exceeded_delay = delays_.exceeded;
    result_.compute_timed = lateness_.count();
    result_.compute_late = lateness_.late();
    result_.compute_late_mean_s = lateness_.late_mean_s();
    result_.compute_late_p99_s = lateness_.quantile_s(0.99);
    // Per gradient counted by this process (delays_ may come from a checkpoint).
    result_.push_lag_mean_s = lateness_.count() ? push_lag_sum_ / static_cast<double>(lateness_.count()) : 0;
    result_.push_lag_max_s = push_lag_max_;
  }
  return std::move(result_);
}

}  // namespace racesgd
