// summarize: measuring is kept apart from reporting. run_experiment measures (a RunResult);
// summarize turns that result, the config it ran with and what the run was built from into
// summary.json's content, which write_run_outputs (report.h) then writes. No clock, no
// files: the same inputs give the same JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "bench/experiment.h"
#include "runtime/run_types.h"

namespace racesgd {

/// What the run was built from, as the built pieces describe themselves (the config holds
/// the flags as given; these are the normalised forms).
struct RunDescription {
  std::size_t K = 0;         // K in force: the variant's (P for sync, 1 for async)
  std::string delay;         // the delay model's spec
  std::string model;         // the model's spec
  std::int64_t num_params = 0;
  std::string lr_schedule;   // the learning-rate schedule's spec
  nlohmann::json context;    // run_context() (bench/context.h): build, machine, start time
};

/// summary.json's content for a run: its result, the config (cfg.raw in full under
/// "config"), the data as loaded and the description. Per-learner statistics go under
/// "per_learner", failures under "failed_learners".
nlohmann::json summarize(const RunResult& r, const ExperimentConfig& cfg,
                         const PreparedData& data, const RunDescription& d);

}  // namespace racesgd
