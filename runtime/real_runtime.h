// RealRuntime: the multi-threaded run on the real (steady) clock. The calling thread is
// the parameter server: it receives gradients from the learners, asks the ParameterServer
// (and so the Coordinator) what to do, publishes new versions and restarts learners. It
// reaches the learners only through a LearnerTransport (runtime/learner_transport.h): by
// default P learner threads (ThreadLearners over LearnerPool), or whatever
// RunInputs::learners builds (MPI ranks: mpi/mpi_learners.h); either computes real
// gradients and serves real injected delays. What the run keeps (curve, tallies, checkpoints, result) is
// its RunLog (runtime/run_log.h), shared with the virtual clock.
//
// Threads: P learners (joined before run_real returns) and, with a target error, one
// evaluator thread that scores the newest weights as fast as it can (it competes for
// CPU with the learners: see docs/architecture.md). Curve points are snapshots copied at
// evaluation ticks and scored after the run, off the clock.
#pragma once

#include "runtime/run_inputs.h"

namespace racesgd {

/// Runs to the stop rule. Divergence ends the run with StopReason::diverged and the
/// message in `error`; everything recorded until then is kept.
RunResult run_real(const RunInputs& in);

}  // namespace racesgd
