// The loop of an MPI learner rank (rank w + 1 is learner w), as a learner thread does it
// (worker/learner_pool.cc): wait for a restart (header + weights from rank 0); draw X from
// the learner's own delay stream and the minibatch from its own batch stream (the threads'
// streams, so a seed or a trace gives the same draws); report X and when it will compute
// (the PS's stall watchdog and its polling); wait until the compute time of its
// ComputePlan (just in time for start + X, worker/compute_plan.h); compute the gradient on
// this rank's copy of the data; send header + gradient at once, stamped with its due time
// start + X (or X after the compute with delay_after_compute) on rank 0's clock: rank 0
// holds it until then (mpi/mpi_learners.h), so the transfer happens inside X. The waits
// poll MPI between short sleeps, never spinning (many ranks share few cores), so a restart
// or a stop ends them at once. A minibatch that throws sends its text and the rank waits
// for the stop. "start" is when rank 0 restarted the learner (RestartHeader::ps_restart_ns),
// converted to this rank's clock with the offset of mpi/clock_sync.h.
//
// Threads: runs on the session's communication thread (MpiSession::run), which makes all
// of its MPI calls.
#pragma once

#include <cstddef>
#include <cstdint>

#include "delay/delay_model.h"
#include "models/dataset.h"
#include "models/model.h"
#include "worker/compute_plan.h"

namespace racesgd {

class MpiSession;

struct LearnerRankInputs {
  std::size_t learner = 0;
  std::size_t dim = 0;                 // the model's parameters (1 with timing_only)
  std::size_t batch = 64;
  bool delay_after_compute = false;
  ComputeAt compute_at = ComputeAt::deadline;
  bool timing_only = false;
  DelayModel* delay = nullptr;         // sampled with this learner's index
  const Model* model = nullptr;        // null with timing_only
  const Dataset* train = nullptr;      // null with timing_only
  std::int64_t ps_clock_offset_ns = 0; // rank 0's steady clock minus ours (mpi/clock_sync.h)
};

/// Learner rank `session.rank()` until rank 0 says stop; then bye. RunError on a bad
/// message from rank 0 (the caller ends the job: a learner cannot go on alone).
void run_learner_rank(MpiSession& session, const LearnerRankInputs& in);

}  // namespace racesgd
