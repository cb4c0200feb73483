// One training run from validated settings: load data, build the model, the delay model
// and the schedule, run on the chosen clock, and describe the result. `train` runs one;
// `race` runs many over the same loaded data.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "bench/params.h"
#include "models/data_source.h"
#include "runtime/run_inputs.h"

namespace racesgd {

struct ExperimentConfig {
  DataOptions data;
  std::string model = "softmax";
  double l2 = 0;
  std::size_t batch = 64;
  std::string variant = "sync";
  std::size_t P = 8;
  std::size_t K = 2;
  std::uint64_t max_staleness = 0;  // Ringmaster's R; 0: unset (no threshold)
  std::string delay = "exp:mean=5ms";
  bool delay_after_compute = false;
  ComputeAt compute_at = ComputeAt::deadline;  // real clock: when inside X a learner computes
  double lr = 0.1;
  std::string lr_schedule = "constant";
  std::string lr_decay = "none";
  CompensationConfig compensation;  // --compensation
  KScheduleConfig k_schedule;       // --k-schedule (AdaSync); K is its K0
  std::string clock = "real";  // real | virtual
  std::string transport = "threads";  // threads | mpi (real clock): where the learners run
  StopRule stop;
  std::string eval_every = "auto";
  std::size_t eval_train_samples = 10000;
  std::string snapshot_memory = "auto";  // evaluation snapshot budget (runtime/run_memory.h)
  bool timing_only = false;
  bool continue_on_learner_failure = false;
  double stall_timeout_s = 60;
  std::uint64_t seed = 1;
  std::string eigen_cache = "48K,1M,32M";
  std::string checkpoint_dir;        // empty: no checkpoints
  double checkpoint_every_s = 10;   // real seconds
  std::string out = "runs/train";
  std::string progress = "auto";
  nlohmann::json raw;  // every parameter as given/defaulted, for output files
};

/// A run given --target-error but neither --time nor --updates stops after this much run
/// time: a target that is never reached must not run forever.
inline constexpr double kTargetErrorTimeCapS = 600.0;

/// Validates and converts. Throws InputError naming the flag on any bad value, and on
/// combinations that cannot work (e.g. --timing-only with --target-error).
ExperimentConfig parse_experiment(const ParamValues& values);

/// The variant a config runs: name, P, K and its policies (--max-staleness).
Variant config_variant(const ExperimentConfig& cfg);

struct PreparedData {
  TrainTest data;
  DataInfo info;
};
PreparedData prepare_data(const ExperimentConfig& cfg);

struct RunOutput {
  RunResult result;
  nlohmann::json summary;  // summary.json's content
  std::size_t checkpoint_bytes = 0;  // size of the last checkpoint written (0: none)
};

/// Builds everything and runs. Throws InputError on bad specs (model, delay, schedule)
/// before anything starts. With cfg.checkpoint_dir set, writes checkpoints there (their
/// config text is checkpoint_config(cfg, data)). `resume`: continue that state (a
/// checkpoint of a run with this very config; the runtime rejects one that does not fit).
/// `learners`: where a real-clock run's learners are (empty: threads of this process).
RunOutput run_experiment(const ExperimentConfig& cfg, const PreparedData& data,
                         const ProgressFn& progress, const std::atomic<bool>* interrupt,
                         const RunCheckpoint* resume = nullptr,
                         const LearnerTransportFactory& learners = {});

/// The configuration text a checkpoint stores: every parameter (with --resume cleared)
/// and a fingerprint of the data, as JSON.
std::string checkpoint_config(const ExperimentConfig& cfg, const PreparedData& data);

/// Parameters that may be given together with --resume (they do not shape the run).
bool allowed_with_resume(const std::string& param);

/// --eval-every auto: kAutoLinearPoints evenly over the run (in time with a time limit,
/// in updates with an update limit) plus geometric ticks kAutoGeometricRatio apart, from
/// kAutoGeometricFromS of run time (a thousandth of a shorter run) and from update 1: a
/// 2% resolution needs ticks at most 2% apart where a variant reaches its target, which
/// a linear grid cannot give to a variant 20x faster than the slowest.
inline constexpr double kAutoLinearPoints = 100;
inline constexpr double kAutoGeometricRatio = 1.015;
inline constexpr double kAutoGeometricFromS = 1e-3;

/// The evaluation schedule of this config: "auto" as above; a duration or a number of
/// updates is a linear grid only.
EvalSchedule resolve_eval_schedule(const ExperimentConfig& cfg);

/// A real-clock run whose served delays exceed the drawn ones by more than this fraction
/// (10%) was slowed by CPU contention (too many learners for the cores), not by the delay
/// model: the run's end says so.
inline constexpr double kContentionWarnExcess = 0.10;

/// A real-clock run during which the host took more than this share (2%) of the machine's
/// CPU time for others (steal, core/host_steal.h) measured the host's other tenants too:
/// the run's end says so.
inline constexpr double kStealWarnFraction = 0.02;

/// The warning for such a run (either kind, or both), or "" (virtual clock, or within the
/// thresholds).
std::string contention_warning(const RunResult& r, const std::string& clock);


}  // namespace racesgd
