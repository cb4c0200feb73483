#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <unistd.h>

#include "bench/api.h"
#include "bench/commands.h"
#include "bench/context.h"
#include "bench/error_report.h"
#include "bench/experiment.h"
#include "bench/format.h"
#ifdef RACESGD_HAVE_MPI
#include "bench/mpi_train.h"
#endif
#include "bench/progress_line.h"
#include "bench/report.h"
#include "core/error.h"
#include "core/units.h"
#include "runtime/checkpoint.h"
#include "sgd/variant.h"

namespace racesgd {

namespace {

// --resume DIR: the run's parameters come from the checkpoint; only where outputs and
// further checkpoints go may be changed (anything else would not be the same run).
ParamValues resume_values(const ParamValues& given, CheckpointFile* file) {
  for (const ParamDef& d : given.defs())
    if (given.given(d.name) && !allowed_with_resume(d.name))
      throw InputError(flag_text(d) +
                       ": cannot be given with --resume (the run continues with the settings "
                       "saved in its checkpoint; only --out, --progress, --checkpoint, "
                       "--checkpoint-every and --transport may be given)");
  *file = read_checkpoint(given.get("resume"));
  const std::string where = "checkpoint '" + checkpoint_path(given.get("resume")).string() + "'";
  nlohmann::json config = nlohmann::json::parse(file->config, nullptr, false);
  if (!config.is_object() || !config.contains("params") || !config["params"].is_object())
    throw InputError(where + ": its configuration is not a racesgd train configuration");
  ParamValues values(given.defs());
  for (const auto& [k, v] : config["params"].items()) {
    if (!v.is_string()) throw InputError(where + ": parameter '" + k + "' is not text");
    const auto [name, value] = upgrade_saved_param(k, v.get<std::string>());
    values.set(name, value);  // InputError on a parameter this racesgd lacks
  }
  values.set("resume", "");
  for (const char* k : {"out", "progress", "checkpoint", "checkpoint-every", "transport"})
    if (given.given(k)) values.set(k, given.get(k));
  return values;
}

// "updates 500", "time 30s", "target error 0.1 or 600s (cap)": the limits in force, so a
// silent default (30 s, or the 600 s cap of a lone --target-error) is visible up front.
std::string stop_text(const ExperimentConfig& cfg, const ParamValues& values) {
  std::string text;
  auto add = [&](const std::string& part) { text += (text.empty() ? "" : " or ") + part; };
  if (cfg.stop.target_error >= 0) add("target error " + format_g(cfg.stop.target_error));
  if (cfg.stop.updates != std::numeric_limits<std::uint64_t>::max())
    add("updates " + std::to_string(cfg.stop.updates));
  if (std::isfinite(cfg.stop.time_s)) {
    add("time " + format_duration(cfg.stop.time_s));
    if (!values.given("time"))
      text += cfg.stop.target_error >= 0 ? " (cap for a lone --target-error; set --time)"
                                         : " (default; set --time or --updates)";
  }
  return text;
}

// The lines printed at the end of a run (stdout).
void print_result(const ExperimentConfig& cfg, const RunOutput& out) {
  const RunResult& r = out.result;
  std::printf("stopped by %s after %ss (%s clock), %llu updates, mean update interval %ss\n",
              std::string(to_string(r.stop_reason)).c_str(), format_fixed(r.run_time_s, 3).c_str(), cfg.clock.c_str(),
              static_cast<unsigned long long>(r.updates),
              format_fixed(r.mean_update_interval_s(), 6).c_str());
  if (!cfg.timing_only && !r.curve.empty())
    std::printf("final test error %.4f (accuracy %.2f%%), train loss %s\n",
                r.curve.back().test_error, 100.0 * (1.0 - r.curve.back().test_error),
                format_g(r.curve.back().train_loss, 4).c_str());
  std::printf("staleness mean %.3f max %llu p0 %.3f; gradients applied %llu, cancelled %llu\n",
              r.staleness_mean, static_cast<unsigned long long>(r.staleness_max), r.p0,
              static_cast<unsigned long long>(r.gradients_applied),
              static_cast<unsigned long long>(r.gradients_cancelled));
}

// The train path of the PS: set-up, the run through the embedding API (bench/api.h; its
// learners threads or, with `learners`, MPI ranks), outputs.
int train_ps(const ParamValues& given, const ParamValues& values, const ExperimentConfig& cfg,
             const CheckpointFile& resume_file, const std::atomic<bool>* interrupt,
             const LearnerTransportFactory& learners) {
  const bool resuming = !given.get("resume").empty();
  // Fail on an unwritable output folder now, not after a long run.
  check_writable_folder(cfg.out, "--out");
  if (!cfg.checkpoint_dir.empty()) check_writable_folder(cfg.checkpoint_dir, "--checkpoint");

  const std::string warn = debug_build_warning();
  if (!warn.empty()) std::cerr << warn << "\n";
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
  // The header shows the K in force (sync and async ignore -K: K = P and K = 1).
  const Variant variant = config_variant(cfg);
  std::cerr << "racesgd train: " << cfg.variant << " P=" << cfg.P << " K=" << variant.K
            << (variant.cutoff.enabled() ? " max-staleness=" + std::to_string(variant.cutoff.R) : "")
            << " model=" << cfg.model << " delay=" << cfg.delay << " clock=" << cfg.clock
            << " data=" << data.data.train.name << " (" << data.data.train.size() << " train, "
            << data.data.test.size() << " test); stops at " << stop_text(cfg, values) << "\n";

  // Outputs of an earlier run in --out would look current if this run crashed.
  clear_run_outputs(cfg.out);
  ProgressLine line(cfg.progress, "train");
  if (cfg.clock == "real" && cfg.stop.target_error < 0)
    line.set_unscored_text(cfg.timing_only ? "not measured" : "scored after the run");
  TrainHooks hooks;
  hooks.progress = line.callback();
  hooks.stop = interrupt;
  hooks.resume = resuming ? &resume_file.run : nullptr;
  hooks.learners = learners;
  const RunOutput out = train(cfg, data, hooks);
  line.finish();
  const RunResult& r = out.result;
  try {
    write_run_outputs(cfg.out, out.result.curve, out.summary);
  } catch (const WriteError& e) {
    // The run is done and its result is in memory: print it rather than lose it.
    print_result(cfg, out);
    std::printf("summary.json (not written):\n%s\n", out.summary.dump(2).c_str());
    throw WriteError(std::string(e.what()) + " (summary.json's content is on stdout)");
  }

  const bool ok = finished_by_rule(r.stop_reason);
  print_result(cfg, out);
  std::printf("outputs: %s/curve.csv %s/summary.json\n", cfg.out.c_str(), cfg.out.c_str());
  if (r.checkpoints_written > 0)
    std::printf("checkpoints: %llu written to %s (last %zu bytes; %s ms each to encode, write and fsync)\n",
                static_cast<unsigned long long>(r.checkpoints_written),
                checkpoint_path(cfg.checkpoint_dir).c_str(), out.checkpoint_bytes,
                format_fixed(1e3 * r.checkpoint_time_s / static_cast<double>(r.checkpoints_written), 1).c_str());
  const std::string contention = contention_warning(r, cfg.clock);
  if (!contention.empty()) std::cerr << "racesgd train: warning: " << contention << "\n";
  if (!ok) {
    std::cerr << "racesgd train: the run stopped early (" << to_string(r.stop_reason) << ")"
              << (r.error.empty() ? "" : ": " + r.error) << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int train_command(const ParamValues& given, const std::atomic<bool>* interrupt) {
  const bool resuming = !given.get("resume").empty();
  CheckpointFile resume_file;
  const ParamValues values = resuming ? resume_values(given, &resume_file) : given;
  const ExperimentConfig cfg = parse_experiment(values);
#ifdef RACESGD_HAVE_MPI
  if (cfg.transport == "mpi") {
    MpiTrain mpi;
    if (!mpi.world_fits(cfg.P)) return kExitInputError;  // rank 0 said why
    if (!mpi.is_ps()) return mpi.run_learner(cfg);
    try {
      return train_ps(given, values, cfg, resume_file, interrupt, mpi.transport());
    } catch (...) {
      if (mpi.voted()) throw;
      // Said before the learner ranks leave: mpirun ends the job as soon as one of them exits
      // non-zero, which could cut rank 0 off before its message.
      int code = 1;
      try {
        code = report_current_error("train");
      } catch (...) {  // not even a std::exception: the CLI's caller sees it
        mpi.ps_setup_failed(code);
        throw;
      }
      mpi.ps_setup_failed(code);
      return code;
    }
  }
#endif
  return train_ps(given, values, cfg, resume_file, interrupt, {});
}

}  // namespace racesgd
