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

namespace racesgd {

int train_command(const ParamValues& values, const std::atomic<bool>* interrupt) {
  const ExperimentConfig cfg = parse_experiment(values);
  // Fail on an unwritable output folder now, not after a long run.
  write_file_atomic(std::filesystem::path(cfg.out) / ".racesgd-write-test", "");
  std::filesystem::remove(std::filesystem::path(cfg.out) / ".racesgd-write-test");

  const std::string warn = debug_build_warning();
  if (!warn.empty()) std::cerr << warn << "\n";
  const PreparedData data = prepare_data(cfg);
  std::cerr << "racesgd train: " << cfg.variant << " P=" << cfg.P << " K=" << cfg.K
            << " model=" << cfg.model << " delay=" << cfg.delay << " clock=" << cfg.clock
            << " data=" << data.data.train.name << " (" << data.data.train.size() << " train, "
            << data.data.test.size() << " test)\n";

  ProgressLine line(cfg.progress, "train");
  const RunOutput out = run_experiment(cfg, data, line.callback(), interrupt);
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
  if (!ok) {
    std::cerr << "racesgd train: the run stopped early (" << r.stop_reason << ")"
              << (r.error.empty() ? "" : ": " + r.error) << "\n";
    return 1;
  }
  return 0;
}

}  // namespace racesgd
