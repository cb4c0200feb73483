// The MPI side of `mpirun -np P+1 racesgd train --transport mpi ...` (built only with MPI):
// every rank parses the same flags; rank 0 runs the normal train path with MpiLearners as
// its transport (outputs, checkpoints, --resume, progress), ranks 1..P load the same data,
// model and delay model and run the learner loop (mpi/learner_rank.h), then exit 0 quietly.
//
// Set-up failures end every rank with the failure's exit code (2 for bad input, 1 else;
// rank 0's when it failed): each rank reports, once its own set-up is done (rank 0: when its
// runtime asks for the transport, or when it failed before), how it went (all_ranks_ok), so
// no rank waits for a peer that left.
#pragma once

#include <cstddef>
#include <memory>

#include "bench/experiment.h"
#include "mpi/mpi_session.h"
#include "runtime/learner_transport.h"

namespace racesgd {

class MpiTrain {
 public:
  /// Starts MPI.
  MpiTrain();
  ~MpiTrain();
  MpiTrain(const MpiTrain&) = delete;
  MpiTrain& operator=(const MpiTrain&) = delete;

  /// Whether the world is rank 0 plus one rank per learner. When not: InputError when alone
  /// (world size 1: not under mpirun); otherwise rank 0 prints why and every rank returns
  /// false once it has (exit 2).
  bool world_fits(std::size_t num_learners) const;
  bool is_ps() const;
  /// Rank 0: builds MpiLearners once every rank's set-up went well (when a learner rank's
  /// failed, InputError or RunError as its did: its message is on its stderr).
  LearnerTransportFactory transport();
  /// Whether this rank has begun the vote on the ranks' set-ups (whatever its outcome).
  bool voted() const { return agreed_; }
  /// Rank 0 failed before its run with `exit_code` (and has said why): the learner ranks
  /// leave quietly with the same code.
  void ps_setup_failed(int exit_code);
  /// Ranks 1..P: set-up, then the learner loop until rank 0 stops it. The exit code.
  int run_learner(const ExperimentConfig& cfg);

 private:
  SetupVote agree(int exit_code);

  std::unique_ptr<MpiSession> session_;
  bool agreed_ = false;
};

}  // namespace racesgd
