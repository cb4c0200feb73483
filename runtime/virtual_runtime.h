// VirtualRuntime: the discrete-event engine. Each minibatch finishes at start + X, X drawn
// from the learner's own delay stream; events are processed in (time, sequence) order,
// gradients are computed for real on the snapshot the learner read, and nobody sleeps.
// The same ParameterServer/Coordinator as the real runtime decides everything, so a
// virtual run is the real algorithm on an idealised clock. Same inputs and seed give the
// same result, bit for bit. Single-threaded during the run; snapshots are scored
// afterwards in parallel. What the run keeps (curve, tallies, checkpoints, result) is its
// RunLog (runtime/run_log.h), shared with the real clock.
#pragma once

#include "runtime/run_inputs.h"

namespace racesgd {

/// Runs to the stop rule. A diverging run (NaN/Inf) ends with StopReason::diverged and
/// the message in `error`; everything recorded until then is kept. Throws InputError on
/// inconsistent inputs (missing model without timing_only, ...).
RunResult run_virtual(const RunInputs& in);

}  // namespace racesgd
