// RunInputs: everything one run needs, borrowed from the caller (who owns the data, the
// model, the delay model and the schedule for the whole run).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <span>
#include <string>

#include "core/error.h"
#include "models/dataset.h"
#include "models/model.h"
#include "runtime/checkpoint.h"
#include "runtime/eval_recorder.h"
#include "runtime/eval_ticks.h"
#include "runtime/learner_transport.h"
#include "sgd/lr_schedule.h"
#include "runtime/run_types.h"
#include "delay/delay_model.h"

namespace racesgd {

struct Progress {
  double time_s = 0;          // run clock
  double wall_s = 0;          // real seconds
  std::uint64_t updates = 0;
  double latest_error = -1;   // newest scored test error, < 0 if none yet
  // After the run, while the snapshots are scored: how many of how many (0 of 0 before).
  std::size_t scored = 0;
  std::size_t to_score = 0;
};
using ProgressFn = std::function<void(const Progress&)>;

/// Checkpoints during a run. The runtime builds a RunCheckpoint between two events and
/// hands it to `save` (which writes it); a failing save is reported on stderr and the run
/// goes on. No checkpoint is taken of a diverged run.
struct CheckpointHooks {
  double every_s = 0;               // real seconds between checkpoints (0: none on a timer),
                                    // counted from the last checkpoint of either kind
  std::uint64_t every_updates = 0;  // also each time the version reaches a multiple (0: off)
  bool at_end = false;              // one more when the run stops by its rule or a signal
  std::function<void(const RunCheckpoint&)> save;
  const RunCheckpoint* resume = nullptr;  // continue from this state (same inputs otherwise)
};

struct RunInputs {
  const Model* model = nullptr;      // may be null with settings.timing_only
  const Dataset* train = nullptr;
  const Dataset* test = nullptr;
  DelayModel* delay = nullptr;       // sampled by learner index from each learner's stream
  const LrSchedule* lr = nullptr;
  std::span<const float> w0;         // initial weights (model->num_params())
  RunSettings settings;
  ProgressFn progress;               // optional, called a few times per second of real time
  const std::atomic<bool>* interrupt = nullptr;  // optional: set (e.g. by SIGINT) to stop early
  CheckpointHooks checkpoint;
  LearnerTransportFactory learners;  // real clock: where the learners run (empty: threads)
};

/// Throws InputError when `in` lacks what a run on `clock` ("real", "virtual") needs.
inline void check_run_inputs(const RunInputs& in, const char* clock) {
  if (!in.delay || !in.lr)
    throw InputError(std::string(clock) + " run: a delay model and an lr schedule are required");
  if (!in.settings.timing_only && (!in.model || !in.train || !in.test))
    throw InputError(std::string(clock) + " run: a model and data are required unless --timing-only");
}

/// The weights a run starts from: in.w0, or on a timing-only run one zero, so the PS
/// arithmetic stays cheap.
inline std::span<const float> initial_weights(const RunInputs& in) {
  static constexpr float kOneZero[1] = {0.0f};
  return in.settings.timing_only ? std::span<const float>(kOneZero) : in.w0;
}

/// Evaluation ticks on the run clock and in updates (see EvalSchedule): the linear grid
/// and the geometric ticks together. Its only state is the next time tick, so a
/// checkpoint's next tick restores it exactly (each tick is a function of its index).
class EvalTicker {
 public:
  explicit EvalTicker(const EvalSchedule& s) : s_(s), next_time_(first_time_tick(s)) {}
  /// The next time tick (+inf when time ticks are off).
  double next_time() const { return next_time_; }
  /// Moves the next tick past `t` (ticks at or before t are taken or skipped by the
  /// caller) in O(1), however many ticks that is: a tiny --eval-every must not make the
  /// runtime loop over billions of ticks between two events.
  void skip_past(double t) {
    if (next_time_ > t || !std::isfinite(t)) return;
    double n = kInf;
    if (s_.every_s > 0) n = next_linear_tick(s_.every_s, t);
    if (geometric_in_time(s_)) n = std::min(n, next_geometric_tick(s_.geometric_from_s, s_.geometric_ratio, t));
    next_time_ = n;
  }
  /// For checkpoints: continue from a saved next_time().
  void restore_next_time(double t) { next_time_ = t; }
  bool update_due(std::uint64_t updates) const {
    if (s_.every_updates > 0 && updates % s_.every_updates == 0) return true;
    return s_.geometric_updates && s_.geometric_ratio > 1 &&
           geometric_update_tick(s_.geometric_ratio, updates);
  }

 private:
  static constexpr double kInf = std::numeric_limits<double>::infinity();
  static bool geometric_in_time(const EvalSchedule& s) {
    return s.geometric_ratio > 1 && s.geometric_from_s > 0;
  }
  static double first_time_tick(const EvalSchedule& s) {
    double n = s.every_s > 0 ? s.every_s : kInf;
    return geometric_in_time(s) ? std::min(n, s.geometric_from_s) : n;
  }
  EvalSchedule s_;
  double next_time_;
};

/// Post-run scoring of a run's snapshots, reporting through the run's progress callback
/// (as `at_stop`, the last progress of the run, plus the scoring count). A signal that
/// arrives while scoring stops it (the rest stay NaN, the run is marked interrupted). A run
/// already stopped by a signal is still scored, as before; a second signal ends the
/// process at once (bench/cli.cc).
inline ScoringControl scoring_control(const RunInputs& in, Progress at_stop) {
  ScoringControl c;
  if (in.interrupt && !in.interrupt->load(std::memory_order_relaxed)) c.interrupt = in.interrupt;
  if (in.progress) {
    const auto start = std::chrono::steady_clock::now();
    c.progress = [fn = in.progress, at_stop, start](std::size_t scored, std::size_t total) {
      Progress p = at_stop;
      p.wall_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      p.scored = scored;
      p.to_score = total;
      fn(p);
    };
  }
  return c;
}

}  // namespace racesgd
