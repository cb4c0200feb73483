#include <cstdio>
#include <filesystem>
#include <iostream>
#include <unistd.h>

#include "bench/commands.h"
#include "bench/context.h"
#include "bench/experiment.h"
#include "bench/progress_line.h"
#include "bench/report.h"
#include "core/error.h"
#include "sgd/checkpoint.h"

namespace racesgd {

namespace {

// --resume DIR: the run's parameters come from the checkpoint; only where outputs and
// further checkpoints go may be changed (anything else would not be the same run).
ParamValues resume_values(const ParamValues& given, CheckpointFile* file) {
  for (const ParamDef& d : given.defs())
    if (given.given(d.name) && !allowed_with_resume(d.name))
      throw InputError(flag_text(d) +
                       ": cannot be given with --resume (the run continues with the settings "
                       "saved in its checkpoint; only --out, --progress, --checkpoint and "
                       "--checkpoint-every may be given)");
  *file = read_checkpoint(given.get("resume"));
  const std::string where = "checkpoint '" + checkpoint_path(given.get("resume")).string() + "'";
  nlohmann::json config = nlohmann::json::parse(file->config, nullptr, false);
  if (!config.is_object() || !config.contains("params") || !config["params"].is_object())
    throw InputError(where + ": its configuration is not a racesgd train configuration");
  ParamValues values(given.defs());
  for (const auto& [k, v] : config["params"].items()) {
    if (!v.is_string()) throw InputError(where + ": parameter '" + k + "' is not text");
    values.set(k, v.get<std::string>());  // InputError on a parameter this racesgd lacks
  }
  values.set("resume", "");
  for (const char* k : {"out", "progress", "checkpoint", "checkpoint-every"})
    if (given.given(k)) values.set(k, given.get(k));
  return values;
}

}  // namespace

int train_command(const ParamValues& given, const std::atomic<bool>* interrupt) {
  const bool resuming = !given.get("resume").empty();
  CheckpointFile resume_file;
  const ParamValues values = resuming ? resume_values(given, &resume_file) : given;
  const ExperimentConfig cfg = parse_experiment(values);
  // Fail on an unwritable output folder now, not after a long run.
  write_file_atomic(std::filesystem::path(cfg.out) / ".racesgd-write-test", "");
  std::filesystem::remove(std::filesystem::path(cfg.out) / ".racesgd-write-test");

  const std::string warn = debug_build_warning();
  if (!warn.empty()) std::cerr << warn << "\n";
  if (!cfg.checkpoint_dir.empty()) {
    write_file_atomic(std::filesystem::path(cfg.checkpoint_dir) / ".racesgd-write-test", "");
    std::filesystem::remove(std::filesystem::path(cfg.checkpoint_dir) / ".racesgd-write-test");
  }
  const PreparedData data = prepare_data(cfg);
  if (resuming) {
    const nlohmann::json saved = nlohmann::json::parse(resume_file.config)["data"];
    const nlohmann::json now = nlohmann::json::parse(checkpoint_config(cfg, data))["data"];
    if (saved != now)
      throw InputError("--resume: the data differs from the checkpointed run's (" + saved.dump() +
                       " then, " + now.dump() + " now; run from the same folder with the same files)");
    std::cerr << "racesgd train: resuming from " << checkpoint_path(given.get("resume")).string()
              << " at update " << resume_file.run.ps.coordinator.version << ", run time "
              << resume_file.run.now << "s\n";
  }
  std::cerr << "racesgd train: " << cfg.variant << " P=" << cfg.P << " K=" << cfg.K
            << " model=" << cfg.model << " delay=" << cfg.delay << " clock=" << cfg.clock
            << " data=" << data.data.train.name << " (" << data.data.train.size() << " train, "
            << data.data.test.size() << " test)\n";

  ProgressLine line(cfg.progress, "train");
  const RunOutput out =
      run_experiment(cfg, data, line.callback(), interrupt, resuming ? &resume_file.run : nullptr);
  line.finish();
  write_run_outputs(cfg.out, out.result.curve, out.summary);

  const RunResult& r = out.result;
  const bool ok = r.stop_reason == "time" || r.stop_reason == "updates" ||
                  r.stop_reason == "target-error";
  std::printf("stopped by %s after %.3fs (%s clock), %llu updates, mean update interval %.6fs\n",
              r.stop_reason.c_str(), r.run_time_s, cfg.clock.c_str(),
              static_cast<unsigned long long>(r.updates), r.mean_update_interval_s());
  if (!cfg.timing_only && !r.curve.empty())
    std::printf("final test error %.4f (accuracy %.2f%%), train loss %.4f\n",
                r.curve.back().test_error, 100.0 * (1.0 - r.curve.back().test_error),
                r.curve.back().train_loss);
  std::printf("staleness mean %.3f max %llu p0 %.3f; gradients applied %llu, cancelled %llu\n",
              r.staleness_mean, static_cast<unsigned long long>(r.staleness_max), r.p0,
              static_cast<unsigned long long>(r.gradients_applied),
              static_cast<unsigned long long>(r.gradients_cancelled));
  std::printf("outputs: %s/curve.csv %s/summary.json\n", cfg.out.c_str(), cfg.out.c_str());
  if (r.checkpoints_written > 0)
    std::printf("checkpoints: %llu written to %s (last %zu bytes; %.1f ms each to encode, write and fsync)\n",
                static_cast<unsigned long long>(r.checkpoints_written),
                checkpoint_path(cfg.checkpoint_dir).c_str(), out.checkpoint_bytes,
                1e3 * r.checkpoint_time_s / static_cast<double>(r.checkpoints_written));
  if (!ok) {
    std::cerr << "racesgd train: the run stopped early (" << r.stop_reason << ")"
              << (r.error.empty() ? "" : ": " + r.error) << "\n";
    return 1;
  }
  return 0;
}

}  // namespace racesgd
