// RunCore: the part every runtime is built on -- the run's inputs, the versioned weights,
// the ParameterServer over them, the RunLog and the K schedule -- constructed in the one
// order that checks before it allocates. The runtimes (VirtualRuntime, RealRuntime; the coming MPI
// one) derive from it and add their clock and their learners.
#pragma once

#include <cstddef>
#include <span>

#include "ps/parameter_server.h"
#include "ps/versioned_weights.h"
#include "runtime/k_scheduler.h"
#include "runtime/run_inputs.h"
#include "runtime/run_log.h"

namespace racesgd {

/// How a runtime starts, decided (and its inputs checked) before anything of size d is
/// allocated: a model too big or a checkpoint that does not fit is an InputError, not a
/// bad_alloc or worse.
struct RunPlan {
  std::size_t snapshot_capacity = 0;  // EvalRecorder slots
  std::span<const float> w0;          // the first published weights
  Version first_version = 0;          // ... and their version
  std::size_t pool_size = 0;          // VersionedWeights buffers (the runtime's pin count)
};

class RunCore {
 protected:
  RunCore(const RunInputs& in, const RunPlan& plan, RunClock clock)
      : in_(in),
        s_(in.settings),
        resume_(in.checkpoint.resume),
        weights_(plan.w0, plan.pool_size, plan.first_version),
        ps_(s_.variant, weights_, *in.lr, s_.compensation),
        log_(in, ps_, weights_, plan.snapshot_capacity, clock),
        k_schedule_(in, in.checkpoint.resume) {
    ps_.enable_update_log(s_.record_updates);
  }

  const RunInputs& in_;
  const RunSettings& s_;
  const RunCheckpoint* resume_;  // continue from this state, or null
  VersionedWeights weights_;
  ParameterServer ps_;
  RunLog log_;
  KScheduler k_schedule_;  // fixed K, or AdaSync's checks (the runtimes time them)
};

}  // namespace racesgd
