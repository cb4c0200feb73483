// The MPI side of `mpirun -np P+1 racesgd train --transport mpi ...` (built only with MPI):
// every rank parses the same flags; rank 0 runs the normal train path with MpiLearners as
// its transport (outputs, checkpoints, --resume, progress), ranks 1..P load the same data,
// model and delay model and run the learner loop (mpi/learner_rank.h), then exit 0 quietly.
//
// Set-up failures end every rank with exit 2: each rank reports, once its own set-up is
// done (rank 0: when its runtime asks for the transport), whether it went well
// (all_ranks_ok), so no rank waits for a peer that left.
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
  /// Rank 0: builds MpiLearners once every rank's set-up went well (InputError when a
  /// learner rank's failed: its message is on its stderr).
  LearnerTransportFactory transport();
  /// Whether the ranks have voted on their set-ups (after it, rank 0's run began or a
  /// learner rank's set-up failed and said why).
  bool voted() const { return agreed_; }
  /// Rank 0 failed before its run (and has said why): the learner ranks leave (exit 2, quietly).
  void ps_setup_failed();
  /// Ranks 1..P: set-up, then the learner loop until rank 0 stops it. The exit code.
  int run_learner(const ExperimentConfig& cfg);

 private:
  SetupVote agree(bool ok);

  std::unique_ptr<MpiSession> session_;
  bool agreed_ = false;
};

}  // namespace racesgd
