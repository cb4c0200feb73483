// The embedding entry point: racesgd as a C++ library (docs/library.md). Describe a run
// with the flags of `racesgd train` as key/value text, run it on either clock, and get the
// curve and summary.json's content back as values; progress and stop are callbacks, so a
// GUI, a notebook binding or a test drives a run the way the CLI does. `racesgd train` is
// one user of this API: it adds the output files, the progress line and SIGINT.
//
// Plain values in and out; no global state but the model and delay-model registries
// (thread-safe) and Eigen's cache sizes (--eigen-cache), which every run sets for the
// whole process: run one train() at a time (a run's own threads are its business).
#pragma once

#include <atomic>
#include <string>
#include <utility>
#include <vector>

#include "bench/experiment.h"

namespace racesgd {

/// Settings as `racesgd train` takes them: {"variant", "k-async"}, {"P", "8"},
/// {"delay", "exp:mean=5ms"}, {"clock", "virtual"}, {"updates", "5000"} -- names without
/// dashes, values as typed on a command line, a switch "true" or "false". Unset names
/// keep the defaults `racesgd train --help` shows.
using TrainFlags = std::vector<std::pair<std::string, std::string>>;

/// Validates and converts, exactly as the CLI does. Throws InputError with the CLI's
/// message on an unknown name ("unknown parameter 'x'"), a name given twice or a bad value
/// (naming the flag). A model spec is checked when the run builds the model (train()).
ExperimentConfig make_train_config(const TrainFlags& flags);

/// What a caller may hook into a run. All optional.
struct TrainHooks {
  /// Called from the thread running train() a few times per second of real time (and
  /// while the evaluation snapshots are scored); must not throw.
  ProgressFn progress;
  /// Set to true from any thread to stop the run early: train() then returns the partial
  /// result with stop_reason interrupted (the CLI's SIGINT).
  const std::atomic<bool>* stop = nullptr;
  /// Continue this checkpointed state of a run with the same config (the CLI's --resume).
  const RunCheckpoint* resume = nullptr;
  /// Real clock: where the learners run (empty: threads of this process).
  LearnerTransportFactory learners;
};

/// Loads the data `cfg` names (warnings go to stderr and stay in the result's
/// summary) and runs. Throws InputError on bad data or specs before the run starts;
/// a run that stops early (divergence, failed learner, stall, stop) returns normally,
/// with stop_reason and error set. Writes no files (report.h writes them) unless
/// cfg.checkpoint_dir is set.
RunOutput train(const ExperimentConfig& cfg, const TrainHooks& hooks = {});

/// The same on data already loaded, or built by the caller (a binding's arrays): one
/// load serves many runs.
RunOutput train(const ExperimentConfig& cfg, const PreparedData& data, const TrainHooks& hooks = {});

}  // namespace racesgd
