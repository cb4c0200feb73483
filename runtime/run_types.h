// What one training run is given and what it returns, shared by both runtimes.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ps/parameter_server.h"
#include "runtime/stop_reason.h"
#include "sgd/k_schedule.h"
#include "sgd/variant.h"
#include "worker/compute_plan.h"

namespace racesgd {

/// When a run stops: whichever limit is reached first.
struct StopRule {
  double time_s = std::numeric_limits<double>::infinity();  // run clock (real or virtual)
  std::uint64_t updates = std::numeric_limits<std::uint64_t>::max();
  double target_error = -1.0;  // stop once test error <= this (< 0: off)
};

/// When evaluation snapshots are taken: every `every_s` of run time and/or every
/// `every_updates` updates (0 = off), plus one at the start and one at the end; and with
/// `geometric_ratio` r > 1 (the auto schedule), where the curve moves fastest: at run
/// times geometric_from_s * r^k (when geometric_from_s > 0) and at the first update at or
/// past r^k (when geometric_updates), k = 0, 1, 2, ... (runtime/eval_ticks.h). A time
/// tick that finds no update applied since the previous point records nothing (it would
/// repeat that point), so a run has at most one point per update plus the two ends.
struct EvalSchedule {
  double every_s = 0;
  std::uint64_t every_updates = 0;
  double geometric_ratio = 0;     // 0: no geometric ticks
  double geometric_from_s = 0;    // first geometric time tick (0: none in time)
  bool geometric_updates = false; // geometric ticks in updates too
  std::size_t train_samples = 10000;  // train-loss subsample (0 = whole training set)
  // Bytes the weight snapshots may take (0 = auto: see resolve_snapshot_budget in
  // runtime/run_memory.h). Slots are allocated as points are recorded, up to the budget.
  std::uint64_t snapshot_memory = 0;
};

struct RunSettings {
  Variant variant;
  std::size_t batch = 64;
  std::uint64_t seed = 1;
  StopRule stop;
  EvalSchedule eval;
  bool timing_only = false;         // no gradients (virtual clock only): pure runtime studies
  bool delay_after_compute = false; // real clock: sleep X after computing instead of until start+X
  ComputeAt compute_at = ComputeAt::deadline;  // real clock: when inside X a learner computes
  CompensationConfig compensation;  // delay compensation of each accepted gradient (DC-ASGD)
  KScheduleConfig k_schedule;       // fixed K, or AdaSync raising it as the loss falls
  bool record_updates = false;      // keep an UpdateRecord per update (tests, traces)
  bool continue_on_learner_failure = false;  // a failing learner leaves; the rest go on
  // Real clock: stop as "stalled" when no update came for this long and a learner computing
  // is late past its own deadline (start + X + the longest compute seen) by this long too.
  // A long but legitimate X is no stall. 0 = off.
  double stall_timeout_s = 60;
};

struct LearnerFailure {
  std::size_t learner = 0;
  std::string what;
  double time_s = 0;
};

struct CurvePoint {
  double time_s = 0;          // run clock
  std::uint64_t updates = 0;
  std::uint64_t gradients = 0;  // gradients applied so far (pending ones are not counted)
  double train_loss = 0;
  double test_error = 0;
  double staleness_mean = 0;  // mean staleness of gradients applied since the previous point
  double wall_s = 0;          // real seconds since the start (== time_s on the real clock)
  std::uint64_t k = 0;        // K in force (Coordinator::effective_k): a K schedule moves it
};

struct RunResult {
  std::vector<CurvePoint> curve;
  StopReason stop_reason = StopReason::running;
  std::string error;            // what went wrong when the run could not finish normally
  double run_time_s = 0;        // run clock at the stop
  double wall_time_s = 0;       // real seconds taken (incl. post-run evaluation: see eval_s)
  double eval_time_s = 0;       // real seconds spent evaluating snapshots
  // Published updates and the gradients they applied. Gradients pending at the stop and a
  // refused (NaN/Inf) update count nowhere, so gradients_applied == sum of per_learner
  // applied == sum of staleness_histogram == sum over updates of their gradients.
  std::uint64_t updates = 0;
  std::uint64_t gradients_applied = 0;
  std::uint64_t gradients_cancelled = 0;
  double last_update_time_s = 0;
  double staleness_mean = 0;
  std::uint64_t staleness_max = 0;
  double p0 = 0;
  std::vector<std::uint64_t> staleness_histogram;
  // SSP: the learners' clock spread after each update (samples 0 for the other variants).
  std::uint64_t clock_spread_samples = 0;
  double clock_spread_mean = 0;
  std::uint64_t clock_spread_max = 0;
  std::vector<StalenessTracker::PerLearner> per_learner;
  double mean_lr = 0;            // over applied gradients
  // Injected delays: mean drawn vs really served (real clock), and how often the gradient
  // computation alone took longer than the drawn X.
  double delay_drawn_mean_s = 0;
  double delay_served_mean_s = 0;
  std::uint64_t compute_exceeded_delay = 0;
  double compute_mean_s = 0;
  // Real clock: the fidelity of the learners' timing in this process's part of the run
  // (a resumed run counts from the resume): of the gradients the PS received for a current
  // ticket, how many finished their computation after start + X, by how much on average
  // (over the late ones) and the 99th percentile of lateness over all (0 when fewer than
  // 1% were late).
  std::uint64_t compute_timed = 0;
  std::uint64_t compute_late = 0;
  double compute_late_mean_s = 0;
  double compute_late_p99_s = 0;
  // Real clock, the same gradients: how long after its push was due (GradientMessage::
  // t_pushed) the transport handed each over -- the emulation's timer lateness, which the
  // update times do not include -- on average and at most.
  double push_lag_mean_s = 0;
  double push_lag_max_s = 0;
  // Real clock: the share of the machine's CPU time its host took for others (steal, core/
  // host_steal.h) from the clock's start to the stop; nullopt when not known.
  std::optional<double> host_steal_fraction;
  std::vector<UpdateRecord> update_log;
  std::vector<KChange> k_changes;  // AdaSync: the start and every change of K (else empty)
  std::optional<Divergence> divergence;  // set when stop_reason is diverged
  std::vector<LearnerFailure> failures;  // learners that failed (and left, when continuing)
  // Checkpoints written during this process's part of the run, and the real seconds spent
  // encoding and writing them (fsync included; not the snapshot scoring the virtual clock
  // does first, which the end of the run would do anyway).
  std::uint64_t checkpoints_written = 0;
  double checkpoint_time_s = 0;
  double mean_update_interval_s() const {
    return updates ? last_update_time_s / static_cast<double>(updates) : 0.0;
  }
};

}  // namespace racesgd
