// RunLog: what a run keeps while it runs, the same for every clock. It owns the evaluation
// ticks and the curve points (EvalTicker, and the EvalRecorder's snapshots or, timing-only,
// counter-only points), the tallies (injected delays and compute times, learner failures,
// checkpoints written and their time), progress reports, how the run stopped, the one
// checkpoint save path and end-of-run checkpoint rule, and the RunResult at the end.
//
// Called by the runtimes (VirtualRuntime, RealRuntime) from their loop thread only: the PS
// thread on the real clock. What differs between clocks stays with them: when to look at
// the clock, what a checkpoint saves of the learners and the weights, and how the target
// error is checked (scored here on the virtual clock, on an evaluator thread on the real one).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/host_steal.h"
#include "models/dataset.h"
#include "ps/gradient_inbox.h"
#include "ps/parameter_server.h"
#include "ps/versioned_weights.h"
#include "runtime/lateness_tally.h"
#include "runtime/checkpoint.h"
#include "runtime/eval_recorder.h"
#include "runtime/run_inputs.h"
#include "runtime/run_types.h"
#include "runtime/stop_reason.h"

namespace racesgd {

/// The counters of a curve point taken now (train loss and test error are scored later).
/// Takes the tracker's interval staleness mean, so call it once per point.
CurvePoint take_curve_counters(ParameterServer& ps, double time_s, double wall_s);

/// Copies the PS's totals (updates, gradients, staleness, per-learner statistics, mean lr,
/// update log) into `r`: the part of a RunResult both runtimes fill the same way.
void collect_ps_statistics(const ParameterServer& ps, RunResult& r);

/// Which clock drives the run: its name in checkpoints, and whether delays are served
/// exactly as drawn (virtual) or measured (real).
enum class RunClock { real, simulated };
const char* clock_name(RunClock c);

/// The end-of-run checkpoint rule: a run that stopped by its rule or a signal can be
/// resumed (to the same end, or after an interrupt to its rule). Never a diverged one (its
/// weights hold NaN/Inf), a stalled one or one whose learner failed.
bool saves_end_checkpoint(const CheckpointHooks& hooks, StopReason r);

class RunLog {
 public:
  using Clock = std::chrono::steady_clock;

  /// Borrows `in`, `ps` and `weights` for its lifetime. `snapshot_capacity`: the most
  /// snapshots kept (unused with timing_only). wall_s() counts from now until start_clock.
  RunLog(const RunInputs& in, ParameterServer& ps, VersionedWeights& weights,
         std::size_t snapshot_capacity, RunClock clock);
  /// The real clock starts: wall_s() counts from `zero` (the run clock's zero).
  void start_clock(Clock::time_point zero) {
    wall_zero_ = zero;
    machine_at_start_ = machine_cpu_ticks();
  }

  /// Continues from checkpoint `c`: its curve, next time tick, delay tallies and failures.
  /// Call after the PS is restored (the update-checkpoint rule starts from its version).
  void resume(const RunCheckpoint& c);

  /// Real seconds since wall_zero.
  double wall_s() const;

  // --- Curve points ---
  /// Allocates the snapshots the schedule will need, so recording is only a copy.
  void reserve_points();
  /// Records a point at run time `time`: counters, and a snapshot of the newest weights.
  void record_point(double time);
  /// On the virtual clock with a target error, each point is scored as it is recorded (the
  /// clock stands still meanwhile: online evaluation is free there); these are the newest
  /// test error (< 0: none yet) and whether it reached the target. The real clock checks
  /// the target on its own evaluator thread and does not use them.
  double latest_error() const { return latest_error_; }
  bool target_reached() const { return target_reached_; }
  /// Scores every point not scored yet (the virtual clock, before a checkpoint). A signal
  /// stops it; `at` is the progress reported meanwhile.
  void score_pending(const Progress& at);
  /// The next time tick, for the runtimes' waits and checkpoints.
  double next_tick() const { return ticker_.next_time(); }
  bool tick_due(double until) const { return ticker_.next_time() <= until; }
  /// Takes the time ticks at or before `until`: one point at `at` for all of them (none
  /// when no update was applied since the last point: it would repeat that point), and
  /// moves the ticker past `until` in O(1).
  void take_ticks(double at, double until);
  /// After an update was applied: records the update tick, if one is due.
  void on_update(double at);
  bool updates_reached() const { return ps_.version() >= in_.settings.stop.updates; }
  /// on_update, then stops as "updates" when the limit is reached (returns true).
  bool after_update(double at);

  // --- Tallies ---
  /// A delay drawn (virtual clock: it is served exactly).
  void count_drawn(double x);
  /// A gradient that arrived on the real clock: the delay drawn and served, its compute time.
  void count_served(const GradientMessage& m);

  // --- Learner failures ---
  /// Records learner w's failure at run time `t`. True when the run goes on without it
  /// (continue_on_learner_failure); otherwise the caller stops with stop_on_failure().
  bool learner_failed(LearnerId w, const std::string& what, double t);
  void stop_on_failure();
  /// Stops as stalled: every learner failed and left.
  void stop_no_learner_left();

  // --- Stop ---
  void stop(StopReason r, std::string error = {});
  /// Stops as interrupted when the run's interrupt flag (a signal) is set.
  bool stop_if_interrupted();
  StopReason stop_reason() const { return result_.stop_reason; }

  // --- Progress ---
  /// Reports `p` through the run's callback, at most every 250 ms of real time.
  void report_progress(const Progress& p);

  // --- Checkpoints ---
  /// The version is a new multiple of CheckpointHooks::every_updates.
  bool checkpoint_due_by_updates() const;
  /// CheckpointHooks::every_s real seconds have passed since the last checkpoint.
  bool checkpoint_due_by_time() const;
  /// saves_end_checkpoint for this run, as it stopped.
  bool checkpoint_at_end() const { return saves_end_checkpoint(in_.checkpoint, stop_reason()); }
  /// The one save path: completes `c` (the runtime filled its clock's part: now, ticker,
  /// PS, weights, learners) with the curve, tallies and failures, and hands it to
  /// CheckpointHooks::save. A failing save is reported on stderr and the run goes on.
  void save_checkpoint(RunCheckpoint c);

  /// The end of the run, at run time `now`: the final point (unless the last one shows this
  /// moment), post-run scoring, timings, PS statistics and tallies. Call once, last.
  RunResult finish(double now, double latest_error);

 private:
  const CurvePoint* last() const { return last_point(recorder_, timing_curve_); }
  void score_online();

  const RunInputs& in_;
  ParameterServer& ps_;
  VersionedWeights& weights_;
  RunClock clock_;
  Clock::time_point wall_zero_;
  std::optional<MachineCpuTicks> machine_at_start_;  // at start_clock (real clock)
  EvalTicker ticker_;
  std::optional<EvalRecorder> recorder_;  // gradient runs
  std::vector<CurvePoint> timing_curve_;  // timing-only runs: counters without weights
  Dataset train_eval_;                    // the train-loss subsample
  DelayTally delays_;
  LatenessTally lateness_;  // this process's part of the run only (not checkpointed)
  double push_lag_sum_ = 0, push_lag_max_ = 0;  // the same
  Clock::time_point last_progress_;
  double latest_error_ = -1;
  bool target_reached_ = false;
  Version last_checkpoint_version_;
  Clock::time_point last_checkpoint_;
  RunResult result_;
};

}  // namespace racesgd
