#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "bench/commands.h"
#include "bench/context.h"
#include "bench/experiment.h"
#include "bench/experiment_file.h"
#include "bench/progress_line.h"
#include "bench/race_stats.h"
#include "bench/report.h"
#include "core/error.h"
#include "core/spec.h"
#include "core/units.h"
#include "sgd/theory.h"
#include "sgd/variant.h"
#include "worker/delay_model.h"

namespace racesgd {
namespace {

struct Entry {
  std::string variant;
  std::size_t K = 0;
  std::string label;  // "k-async K=2"
};

std::vector<Entry> parse_entries(const std::string& text, std::size_t P, std::size_t default_K) {
  std::vector<Entry> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) throw InputError("--variants: empty entry in '" + text + "'");
    SpecArgs a(parse_spec(item, "--variants entry"), "--variants entry");
    const std::size_t K = static_cast<std::size_t>(a.integer("K", static_cast<long long>(default_K), 1, 1 << 20));
    a.finish();
    const Variant v = make_variant(a.name(), P, K);
    Entry e{v.name, v.K, v.name + " K=" + std::to_string(v.K)};
    for (const Entry& o : out)
      if (o.label == e.label) throw InputError("--variants: '" + e.label + "' listed twice");
    out.push_back(e);
  }
  if (out.empty()) throw InputError("--variants: no variants given");
  return out;
}

std::string slug(const Entry& e) { return e.variant + "-K" + std::to_string(e.K); }

struct RunRecord {
  Entry entry;
  std::size_t repeat = 0;
  std::uint64_t seed = 0;
  RunOutput out;
};

std::string fmt(double x, const char* f = "%.4f") {
  if (!std::isfinite(x)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

}  // namespace

int race_command(ParamValues values, const std::atomic<bool>* interrupt) {
  if (!values.get("config").empty()) apply_experiment_file(values.get("config"), values);

  // Every run is a `train` run: validate the shared settings once, through the same path.
  ParamValues base(train_params());
  for (const ParamDef& d : train_params())
    if (d.name != "variant" && values.given(d.name)) base.set(d.name, values.get(d.name));
  if (!values.given("time") && !values.given("updates") && !values.given("target-error"))
    base.set("time", "12s");
  base.set("out", values.get("out"));
  const ExperimentConfig shared = parse_experiment(base);

  const auto repeats = static_cast<std::size_t>(parse_int(values.get("repeats"), "--repeats"));
  if (repeats < 1 || repeats > 100) throw InputError("--repeats: must lie in 1..100");
  const double target = parse_double(values.get("target"), "--target");
  if (target < 0 || target > 1) throw InputError("--target: must lie in [0, 1]");
  const std::vector<Entry> entries = parse_entries(values.get("variants"), shared.P, shared.K);
  const std::filesystem::path out_dir = shared.out;
  write_file_atomic(out_dir / ".racesgd-write-test", "");
  std::filesystem::remove(out_dir / ".racesgd-write-test");
  {
    DelayContext ctx;
    ctx.num_workers = shared.P;
    make_delay_model(shared.delay, ctx);  // a bad spec fails now, not after the first run
  }

  const std::string warn = debug_build_warning();
  if (!warn.empty()) std::cerr << warn << "\n";
  const PreparedData data = prepare_data(shared);
  const std::size_t total = entries.size() * repeats;
  std::cerr << "racesgd race: " << entries.size() << " variants x " << repeats << " repeats, P="
            << shared.P << ", model=" << shared.model << ", delay=" << shared.delay
            << ", clock=" << shared.clock << ", data=" << data.data.train.name << "\n";

  std::vector<RunRecord> runs;
  ProgressLine line(shared.progress, "race");
  const auto race_start = std::chrono::steady_clock::now();
  bool interrupted = false;
  for (std::size_t r = 0; r < repeats && !interrupted; ++r) {
    // Repeats outermost: an interrupted race still has every variant at equal footing.
    for (const Entry& e : entries) {
      ParamValues pv = base;
      pv.set("variant", e.variant);
      pv.set("K", std::to_string(e.K));
      pv.set("seed", std::to_string(shared.seed + r));
      pv.set("out", (out_dir / "runs" / (slug(e) + "-r" + std::to_string(r))).string());
      const ExperimentConfig cfg = parse_experiment(pv);
      const std::size_t done = runs.size();
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - race_start).count();
      const double eta = done ? elapsed / static_cast<double>(done) * static_cast<double>(total - done) : 0;
      char prefix[160];
      std::snprintf(prefix, sizeof prefix, "run %zu/%zu %s rep %zu, race ETA %s", done + 1, total,
                    e.label.c_str(), r, done ? format_duration(std::round(eta)).c_str() : "?");
      line.set_prefix(prefix);
      if (shared.progress == "off" || !::isatty(2)) std::cerr << "  " << prefix << "\n";
      RunRecord rec{e, r, cfg.seed, run_experiment(cfg, data, line.callback(), interrupt)};
      line.finish();
      rec.out.summary["repeat"] = r;
      write_run_outputs(cfg.out, rec.out.result.curve, rec.out.summary);
      if (rec.out.result.stop_reason == "interrupted") interrupted = true;
      runs.push_back(std::move(rec));
      if (interrupted) break;
    }
  }

  // No run left to stop cleanly: from here a signal ends the process at once.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);

  // runs.csv: tidy, one row per evaluation point per run.
  std::ostringstream csv;
  const nlohmann::json context = run_context();
  std::ostringstream header;  // every CSV says where it came from
  for (const auto& [k, v] : context.items())
    header << "# " << k << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
  header << "# config: " << values.to_json().dump() << "\n";
  csv << header.str();
  csv << "variant,K,repeat,seed,time_s,updates,gradients,train_loss,test_error,staleness_mean,wall_s\n";
  for (const RunRecord& rr : runs)
    for (const CurvePoint& p : rr.out.result.curve)
      csv << rr.entry.variant << "," << rr.entry.K << "," << rr.repeat << "," << rr.seed << ","
          << fmt(p.time_s, "%.6f") << "," << p.updates << "," << p.gradients << ","
          << fmt(p.train_loss, "%.6g") << "," << fmt(p.test_error, "%.6g") << ","
          << fmt(p.staleness_mean, "%.4f") << "," << fmt(p.wall_s, "%.6f") << "\n";
  write_file_atomic(out_dir / "runs.csv", csv.str());

  // Per-variant summary.
  std::vector<double> sync_by_repeat(repeats, NAN);
  for (const RunRecord& rr : runs)
    if (rr.entry.variant == "sync" || (rr.entry.variant == "k-sync" && rr.entry.K == shared.P))
      sync_by_repeat[rr.repeat] = time_to_error(rr.out.result.curve, target);

  nlohmann::json jvariants = nlohmann::json::array();
  std::ostringstream scsv;
  scsv << header.str();
  scsv << "variant,K,repeats,reached,time_to_target_mean_s,time_to_target_ci95_s,"
          "speedup_vs_sync_mean,speedup_vs_sync_min,speedup_vs_sync_max,final_test_error_mean,"
          "final_test_error_sd,mean_update_interval_s,predicted_update_interval_s,predicted_method,"
          "staleness_mean,p0,gradients_cancelled_mean\n";
  std::printf("\nrace: %s, P=%zu, delay %s, %s clock, %zu repeat(s); target test error %.3f\n\n",
              shared.model.c_str(), shared.P, shared.delay.c_str(), shared.clock.c_str(), repeats,
              target);
  std::printf("%-20s %8s %20s %18s %12s %14s %14s %10s\n", "variant", "reached",
              "time to target (s)", "speed-up vs sync", "final error", "update (meas)",
              "update (pred)", "staleness");
  for (const Entry& e : entries) {
    std::vector<double> ttt, finals, intervals, stale, p0s, cancelled, speedups;
    for (const RunRecord& rr : runs) {
      if (rr.entry.label != e.label) continue;
      const RunResult& res = rr.out.result;
      const double t = time_to_error(res.curve, target);
      if (t >= 0) ttt.push_back(t);
      if (!res.curve.empty()) finals.push_back(res.curve.back().test_error);
      intervals.push_back(res.mean_update_interval_s());
      stale.push_back(res.staleness_mean);
      p0s.push_back(res.p0);
      cancelled.push_back(static_cast<double>(res.gradients_cancelled));
      const double st = sync_by_repeat[rr.repeat];
      if (t > 0 && st >= 0 && std::isfinite(st)) speedups.push_back(st / t);
    }
    const std::size_t n = intervals.size();
    if (n == 0) continue;
    const SampleStats T = sample_stats(ttt), F = sample_stats(finals), I = sample_stats(intervals),
                      S = sample_stats(stale), P0 = sample_stats(p0s), C = sample_stats(cancelled),
                      SP = sample_stats(speedups);
    DelayContext ctx;
    ctx.num_workers = shared.P;
    auto delay = make_delay_model(shared.delay, ctx);
    TheoryOptions topt;
    topt.mc_updates = 100000;
    topt.seed = shared.seed;
    const Estimate pred = predict_time_per_update(*delay, e.variant, shared.P, e.K, topt);
    const bool all_reached = T.n == n;
    nlohmann::json j = {{"variant", e.variant},
                        {"K", e.K},
                        {"repeats", n},
                        {"reached_target", T.n},
                        {"time_to_target_s", T.n ? nlohmann::json({{"mean", T.mean}, {"ci95", T.ci95}, {"min", T.min}, {"max", T.max}}) : nlohmann::json(nullptr)},
                        {"speedup_vs_sync", SP.n ? nlohmann::json({{"mean", SP.mean}, {"min", SP.min}, {"max", SP.max}, {"n", SP.n}}) : nlohmann::json(nullptr)},
                        {"final_test_error", {{"mean", F.mean}, {"sd", F.sd}}},
                        {"mean_update_interval_s", {{"measured", I.mean}, {"predicted", pred.value}, {"predicted_std_error", pred.std_error}, {"method", pred.method}}},
                        {"staleness_mean", S.mean},
                        {"p0", P0.mean},
                        {"gradients_cancelled_mean", C.mean}};
    jvariants.push_back(j);
    scsv << e.variant << "," << e.K << "," << n << "," << T.n << "," << (T.n ? fmt(T.mean) : "") << ","
         << (T.n ? fmt(T.ci95) : "") << "," << (SP.n ? fmt(SP.mean) : "") << ","
         << (SP.n ? fmt(SP.min) : "") << "," << (SP.n ? fmt(SP.max) : "") << "," << fmt(F.mean)
         << "," << fmt(F.sd) << "," << fmt(I.mean, "%.6g") << "," << fmt(pred.value, "%.6g") << ","
         << pred.method << "," << fmt(S.mean) << "," << fmt(P0.mean) << "," << fmt(C.mean, "%.1f") << "\n";
    char ttt_text[64] = "not reached", sp_text[64] = "-";
    if (T.n)
      std::snprintf(ttt_text, sizeof ttt_text, "%.2f +- %.2f%s", T.mean, T.ci95, all_reached ? "" : "*");
    if (SP.n) std::snprintf(sp_text, sizeof sp_text, "%.2fx [%.2f, %.2f]", SP.mean, SP.min, SP.max);
    std::printf("%-20s %5zu/%zu %20s %18s %12.4f %14s %14s %10.3f\n", e.label.c_str(), T.n, n,
                ttt_text, sp_text, F.mean, format_duration(I.mean).c_str(),
                format_duration(pred.value).c_str(), S.mean);
  }
  write_file_atomic(out_dir / "summary.csv", scsv.str());
  nlohmann::json summary = {{"target_error", target},
                            {"repeats", repeats},
                            {"variants", jvariants},
                            {"interrupted", interrupted},
                            {"config", values.to_json()},
                            {"context", context}};
  write_file_atomic(out_dir / "summary.json", summary.dump(2) + "\n");
  std::printf("\n(* = not every repeat reached the target; the mean is over those that did)\n");
  std::printf("outputs: %s/{runs.csv,summary.csv,summary.json,runs/}\n", out_dir.c_str());

  if (values.flag("plot")) {
    const std::filesystem::path script =
        std::filesystem::path(RACESGD_SOURCE_DIR) / "bench" / "plot_race.py";
    std::string title = values.get("title");
    if (title.empty()) title = shared.model + " on " + data.data.train.name + ", P=" + std::to_string(shared.P) + ", delay " + shared.delay;
    std::string cmd = "/usr/bin/python3 '" + script.string() + "' '" + out_dir.string() +
                      "' --target " + fmt(target) + " --clock " + shared.clock + " --title \"" + title +
                      "\" --footer \"racesgd " + context.value("git_sha", std::string("?")) + ", " +
                      context.value("build_type", std::string("?")) + " build, " +
                      context.value("cpu", std::string("?")) + ", seeds " + std::to_string(shared.seed) +
                      ".." + std::to_string(shared.seed + repeats - 1) + "\"";
    if (!std::filesystem::exists("/usr/bin/python3") || !std::filesystem::exists(script)) {
      std::printf("plot: skipped (needs /usr/bin/python3 and %s; apt-get install python3-matplotlib)\n", script.c_str());
    } else if (std::system(cmd.c_str()) == 0) {
      std::printf("plot: %s/error_vs_time.png (+ .svg)\n", out_dir.c_str());
    } else {
      std::printf("plot: failed; the CSVs are written. Install Debian's python3-matplotlib "
                  "(apt-get install python3-matplotlib) and rerun:\n  %s\n", cmd.c_str());
    }
  }
  if (interrupted) {
    std::cerr << "racesgd race: interrupted; the outputs cover the runs finished so far\n";
    return 1;
  }
  return 0;
}

}  // namespace racesgd
