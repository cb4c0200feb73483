#include "bench/mpi_train.h"

#include <exception>
#include <iostream>
#include <string>

#include "bench/error_report.h"
#include "core/error.h"
#include "delay/delay_model.h"
#include "models/eigen_setup.h"
#include "models/model_registry.h"
#include "mpi/clock_sync.h"
#include "mpi/learner_rank.h"
#include "mpi/mpi_learners.h"
#include "mpi/mpi_session.h"

namespace racesgd {

MpiTrain::MpiTrain() : session_(std::make_unique<MpiSession>()) {}

bool MpiTrain::world_fits(std::size_t num_learners) const {
  try {
    check_mpi_world(*session_, num_learners);
    return true;
  } catch (const InputError&) {
    if (session_->size() == 1) throw;  // alone: nobody else to tell
    // Rank 0 says why, and every rank waits until it has (below): mpirun ends the job as
    // soon as one rank exits non-zero, which lost rank 0's message when a learner rank
    // left first (CI).
    if (is_ps()) report_current_error("train");
  }
  barrier(*session_);
  return false;
}

MpiTrain::~MpiTrain() = default;

bool MpiTrain::is_ps() const { return session_->rank() == 0; }

SetupVote MpiTrain::agree(int exit_code) {
  agreed_ = true;
  return all_ranks_ok(*session_, exit_code);
}

LearnerTransportFactory MpiTrain::transport() {
  return [this](const LearnerSetup& s) -> std::unique_ptr<LearnerTransport> {
    if (const SetupVote vote = agree(0); !vote.all_ok()) {
      const std::string what = "--transport mpi: a learner rank could not set up its run (its message is above)";
      if (vote.worst_code == kExitInputError) throw InputError(what);
      throw RunError(what);
    }
    sync_clock_with_ps(*session_);
    MpiLearnersConfig c;
    c.num_learners = s.num_learners;
    c.stream_seed = s.stream_seed;
    c.t0 = s.t0;
    return std::make_unique<MpiLearners>(*session_, *s.weights, c);
  };
}

void MpiTrain::ps_setup_failed(int exit_code) {
  if (!agreed_) agree(exit_code);
}

int MpiTrain::run_learner(const ExperimentConfig& cfg) {
  const int rank = session_->rank();
  // What rank 0's run_experiment builds, on this rank's copy of the data.
  TrainTest data;
  std::unique_ptr<Model> model;
  std::unique_ptr<DelayModel> delay;
  std::string error;
  int code = 0;  // the exit code set-up failed with
  try {
    bool use_cache = false;
    const EigenCacheSizes sizes = parse_eigen_cache_sizes(cfg.eigen_cache, "--eigen-cache", &use_cache);
    if (use_cache) apply_eigen_cache_sizes(sizes);
    if (!cfg.timing_only) {
      data = load_data(cfg.data);
      model = make_model<float>(cfg.model, data.train.dim(), data.train.num_classes, cfg.l2);
    }
    DelayContext ctx;
    ctx.num_learners = cfg.P;
    delay = make_delay_model(cfg.delay, ctx);
  } catch (const InputError& e) {
    error = e.what();
    code = kExitInputError;
  } catch (const std::exception& e) {  // e.g. out of memory: still in the vote, or all would wait
    error = e.what();
    code = 1;
  }
  const SetupVote vote = agree(code);
  if (!vote.all_ok()) {
    // When rank 0 failed too, its message says it (the same flags fail the same way), and
    // every rank leaves with its code.
    if (!vote.ps_ok()) return vote.ps_code;
    if (code != 0)
      std::cerr << "racesgd train: rank " << rank << (code == kExitInputError ? ": error: " : ": set-up failed: ")
                << error << "\n";
    return vote.worst_code;
  }

  LearnerRankInputs in;
  in.learner = static_cast<std::size_t>(rank - 1);
  in.dim = cfg.timing_only ? 1 : static_cast<std::size_t>(model->num_params());
  in.batch = cfg.batch;
  in.delay_after_compute = cfg.delay_after_compute;
  in.compute_at = cfg.compute_at;
  in.timing_only = cfg.timing_only;
  in.delay = delay.get();
  in.model = model.get();
  in.train = cfg.timing_only ? nullptr : &data.train;
  in.ps_clock_offset_ns = sync_clock_with_ps(*session_);
  try {
    run_learner_rank(*session_, in);
  } catch (const RunError&) {
    session_->abort_at_end(1);  // a learner cannot go on alone: the job ends
    throw;
  }
  return 0;
}

}  // namespace racesgd
