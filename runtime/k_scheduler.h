// KScheduler: a run's K schedule (sgd/k_schedule.h) with what it needs from the run -- the
// model, and the fixed training subsample AdaSync's loss F is scored on. The schedule
// itself is clock-free; the runtimes decide when to score (the virtual clock at each check
// time, on the event loop; the real clock on a thread of its own) and hand the new K to
// the ParameterServer between two events (ParameterServer::set_k). Inactive with a fixed K.
//
// Threads: loss() may run on any thread (it reads only the model and the subsample);
// everything else on the runtime's loop thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "models/dataset.h"
#include "runtime/checkpoint.h"
#include "runtime/run_inputs.h"
#include "sgd/k_schedule.h"

namespace racesgd {

class KScheduler {
 public:
  /// Scores F(w_0) on in.w0 unless it resumes (then restore() gives it). Throws InputError
  /// when an adaptive schedule has no model (--timing-only) to score.
  KScheduler(const RunInputs& in, const RunCheckpoint* resume);

  bool active() const { return schedule_.has_value(); }
  /// Run time of the next loss check: +inf when inactive or once K = P.
  double next_check() const;
  /// T0: run time between checks.
  double every_s() const { return every_s_; }
  /// F(w): the training loss on the schedule's subsample.
  double loss(std::span<const float> w) const;
  /// The loss of the check due, scored at `time` with `update` updates applied. Returns
  /// the new K when it grew (for ParameterServer::set_k), 0 otherwise.
  std::size_t on_loss(double time, std::uint64_t update, double loss);
  /// Moves the next check past run time `t` without scoring: for checks that would score
  /// the weights the last check scored (nothing was applied since), whose loss, and so
  /// whose K, would be the same.
  void skip_past(double t);
  /// The start and every change (empty when inactive).
  std::vector<KChange> changes() const;

  /// Puts the schedule's state into `c` (nothing when inactive).
  void save(RunCheckpoint& c) const;
  /// Continues from `c`. Throws InputError when `c` has a schedule state and this run a
  /// fixed K or the reverse, or when the state does not fit (see AdaSyncSchedule::restore).
  void restore(const RunCheckpoint& c);

 private:
  const Model* model_ = nullptr;
  Dataset sample_;
  double every_s_ = 0;
  std::optional<AdaSyncSchedule> schedule_;
};

}  // namespace racesgd
