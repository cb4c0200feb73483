#include <algorithm>
#include <cctype>
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
#include <utility>

#include <nlohmann/json.hpp>

#include "bench/commands.h"
#include "bench/context.h"
#include "bench/experiment.h"
#include "bench/experiment_file.h"
#include "bench/format.h"
#include "bench/plot_script.h"
#include "bench/progress_line.h"
#include "bench/race_stats.h"
#include "bench/report.h"
#include "bench/time_to_target.h"
#include "core/error.h"
#include "core/spec.h"
#include "core/units.h"
#include "runtime/timing_engine.h"
#include "sgd/k_schedule.h"
#include "sgd/theory.h"
#include "sgd/variant.h"
#include "delay/delay_model.h"

namespace racesgd {
namespace {

struct Entry {
  std::string variant;
  std::size_t K = 0;
  std::uint64_t R = 0;       // --max-staleness (Ringmaster); 0: none
  std::string k_schedule;    // --k-schedule of this entry's runs: its own or the race's ("": fixed)
  std::string compensation;  // --compensation of this entry's runs: its own or the race's ("": none)
  std::string label;         // "k-async K=2", "async K=1 R=4", "k-async K=1 adasync=0.5s"
  std::string slug;          // its runs/ folder: "k-async-K2", "async-K1-R4", "ssp-S2"
};

// A folder-name piece of a value: "0.5s" stays, anything but [A-Za-z0-9.] becomes '_'.
std::string slug_text(const std::string& v) {
  std::string out = v;
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.') c = '_';
  return out;
}

// What the race's own flags give every entry that does not set its own.
struct EntryDefaults {
  std::size_t K = 0;
  std::uint64_t R = 0;           // --max-staleness (0: none)
  std::string k_schedule;        // --k-schedule as given ("": not given)
  std::string compensation;      // --compensation as given ("": not given)
};

// An entry is a NAME[:key=value,...] spec. Keys: K=k, R=r (--max-staleness), adasync=T0
// (--k-schedule adasync:every=T0, K the start K0), dc=L (--compensation dc:lambda=L),
// dc-adaptive=L0 (--compensation dc-adaptive:lambda0=L0); what an entry does not set comes
// from the race's flags. "ssp:S=2" names SSP with its bound. The label and the folder name
// show what the entry sets itself.
Entry parse_entry(const std::string& item, std::size_t P, const EntryDefaults& dflt) {
  SpecArgs a(parse_spec(item, "--variants entry"), "--variants entry");
  if (a.name() == "ssp") {  // "ssp:S=2": make_variant reads (and checks) the bound
    const Variant v = make_variant(item, P, 1);
    const std::string S = std::to_string(v.staleness_bound);
    return Entry{v.name, v.K, 0, dflt.k_schedule, dflt.compensation, "ssp S=" + S, "ssp-S" + S};
  }
  const auto K = static_cast<std::size_t>(a.integer("K", static_cast<long long>(dflt.K), 1, 1 << 20));
  const auto R = static_cast<std::uint64_t>(
      a.has("R") ? a.integer("R", std::nullopt, 1) : static_cast<long long>(dflt.R));
  Entry e;
  e.k_schedule = dflt.k_schedule;
  e.compensation = dflt.compensation;
  std::string extra_label, extra_slug;
  if (const auto t0 = a.text("adasync")) {
    e.k_schedule = "adasync:every=" + *t0;
    try {
      parse_k_schedule(e.k_schedule);
    } catch (const InputError& err) {
      a.fail("adasync=" + *t0 + ": " + err.what());
    }
    extra_label += " adasync=" + *t0;
    extra_slug += "-adasync" + slug_text(*t0);
  }
  const auto dc = a.text("dc"), dca = a.text("dc-adaptive");
  if (dc && dca) a.fail("give dc= or dc-adaptive=, not both");
  if (dc) {
    e.compensation = "dc:lambda=" + *dc;
    extra_label += " dc=" + *dc;
    extra_slug += "-dc" + slug_text(*dc);
  } else if (dca) {
    e.compensation = "dc-adaptive:lambda0=" + *dca;
    extra_label += " dc-adaptive=" + *dca;
    extra_slug += "-dcadaptive" + slug_text(*dca);
  }
  a.finish();
  const Variant v = make_variant(a.name(), P, K, R);
  e.variant = v.name;
  e.K = v.K;
  e.R = v.cutoff.R;
  e.label = v.name + " K=" + std::to_string(v.K) + (R ? " R=" + std::to_string(R) : "") + extra_label;
  e.slug = v.name + "-K" + std::to_string(v.K) + (R ? "-R" + std::to_string(R) : "") + extra_slug;
  return e;
}

std::vector<Entry> parse_entries(const std::string& text, std::size_t P, const EntryDefaults& dflt) {
  // Split at commas; an item without a ':' that holds a '=' ("R=4" in "k-async:K=2,R=4")
  // continues the entry before it.
  std::vector<std::string> items;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) throw InputError("--variants: empty entry in '" + text + "'");
    const bool continues = item.find(':') == std::string::npos && item.find('=') != std::string::npos;
    if (continues && !items.empty() && items.back().find(':') != std::string::npos)
      items.back() += "," + item;
    else
      items.push_back(item);
  }
  std::vector<Entry> out;
  for (const std::string& entry : items) {
    Entry e = parse_entry(entry, P, dflt);
    for (const Entry& o : out) {
      if (o.label == e.label) throw InputError("--variants: '" + e.label + "' listed twice");
      if (o.slug == e.slug)
        throw InputError("--variants: '" + o.label + "' and '" + e.label + "' would share the run folder '" +
                         e.slug + "' (write the values the same way, or differently enough)");
    }
    out.push_back(std::move(e));
  }
  if (out.empty()) throw InputError("--variants: no variants given");
  return out;
}

// The max_staleness cell of runs.csv and summary.csv: empty without a threshold.
std::string r_cell(const Entry& e) { return e.R ? std::to_string(e.R) : ""; }

struct RunRecord {
  Entry entry;
  std::size_t repeat = 0;
  std::uint64_t seed = 0;
  RunOutput out;
};

// CSV cells: "" for a value that does not exist (NaN); never hundreds of digits.
std::string cell(double x, int decimals = 4) {
  return std::isfinite(x) ? format_fixed(x, decimals) : "";
}
std::string cell_g(double x) { return std::isfinite(x) ? format_g(x) : ""; }

// "time 2" or "diverged 1, stalled 1": how a variant's runs ended.
std::string stop_counts_text(const std::map<std::string, std::size_t>& counts) {
  std::string text;
  for (const auto& [reason, n] : counts)
    text += (text.empty() ? "" : ", ") + reason + " " + std::to_string(n);
  return text;
}

// A runs/ subfolder a race writes: "<variant>-<its settings>-r<repeat>" (Entry::slug).
bool is_race_run_folder(const std::string& name) {
  const auto r = name.rfind("-r");
  if (r == std::string::npos || r + 2 >= name.size()) return false;
  for (std::size_t i = r + 2; i < name.size(); ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  bool known = false;
  for (const auto& [variant, help] : variant_help())
    known = known || (name.starts_with(variant + "-") && r > variant.size());
  return known;
}

// Removes what an earlier race wrote in `out_dir` -- its summary files, plot and the
// curve.csv/summary.json of every runs/<entry folder>-r<n> folder (then the folder, if
// empty) -- so none of it can pass for this race's. Files racesgd did not write stay.
void clear_race_outputs(const std::filesystem::path& out_dir) {
  for (const char* f : {"runs.csv", "summary.csv", "summary.json", "error_vs_time.png",
                        "error_vs_time.svg"})
    remove_output_file(out_dir, f);
  std::error_code ec;
  const std::filesystem::path runs_dir = out_dir / "runs";
  if (!std::filesystem::is_directory(runs_dir, ec)) return;
  std::vector<std::filesystem::path> folders;
  for (const auto& entry : std::filesystem::directory_iterator(runs_dir, ec))
    if (entry.is_directory(ec) && is_race_run_folder(entry.path().filename().string()))
      folders.push_back(entry.path());
  for (const auto& f : folders) {
    clear_run_outputs(f);
    std::filesystem::remove(f, ec);  // only succeeds when empty: other files stay
  }
}

// The train parameters of one run of entry `e`.
ParamValues entry_values(const ParamValues& base, const Entry& e, std::uint64_t seed,
                         const std::filesystem::path& out) {
  ParamValues pv = base;
  pv.set("variant", e.variant);
  pv.set("K", std::to_string(e.K));
  if (e.R) pv.set("max-staleness", std::to_string(e.R));
  if (!e.k_schedule.empty()) pv.set("k-schedule", e.k_schedule);
  if (!e.compensation.empty()) pv.set("compensation", e.compensation);
  pv.set("seed", std::to_string(seed));
  pv.set("out", out.string());
  return pv;
}

}  // namespace

RaceOutput race(ParamValues values, const std::atomic<bool>* interrupt, const RaceOptions& options) {
  const bool cli = options.cli;
  if (!values.get("config").empty()) apply_experiment_file(values.get("config"), values);
  // Data the caller brought is not loaded: a setting of how to load it (a flag, or a key of
  // --config's file) would be silently ignored.
  if (options.data != nullptr)
    for (const char* flag : {"format", "data-dir", "test-data", "test-fraction", "label-column", "scale",
                             "binary", "max-train", "max-test"})
      if (values.given(flag))
        throw InputError(std::string("--") + flag + ": applies to data racesgd loads, not to arrays");

  // Every run is a `train` run: validate the shared settings once, through the same path.
  ParamValues base(train_params());
  for (const ParamDef& d : train_params())
    // Per entry: the variant and its policies (a shared sync default would refuse a
    // threshold or a K schedule; an entry may set its own schedule or compensation).
    if (d.name != "variant" && d.name != "max-staleness" && d.name != "k-schedule" &&
        d.name != "compensation" && values.given(d.name))
      base.set(d.name, values.get(d.name));
  if (!values.given("time") && !values.given("updates") && !values.given("target-error"))
    base.set("time", "12s");
  base.set("out", values.get("out"));
  const ExperimentConfig shared = parse_experiment(base);

  const auto repeats = static_cast<std::size_t>(parse_int(values.get("repeats"), "--repeats"));
  if (repeats < 1 || repeats > 100) throw InputError("--repeats: must lie in 1..100");
  const double target = parse_double(values.get("target"), "--target");
  if (target < 0 || target > 1) throw InputError("--target: must lie in [0, 1]");
  std::uint64_t shared_R = 0;
  if (values.given("max-staleness")) {
    ParamValues r_only(train_params());
    r_only.set("variant", "async");  // validates the value alone; each entry checks its variant
    r_only.set("max-staleness", values.get("max-staleness"));
    shared_R = parse_experiment(r_only).max_staleness;
  }
  EntryDefaults dflt{shared.K, shared_R, "", ""};
  if (values.given("k-schedule")) dflt.k_schedule = values.get("k-schedule");
  if (values.given("compensation")) dflt.compensation = values.get("compensation");
  const std::vector<Entry> entries = parse_entries(values.get("variants"), shared.P, dflt);
  const std::filesystem::path out_dir = shared.out;
  auto run_dir = [&](const Entry& e, std::size_t r) {
    return out_dir / "runs" / (e.slug + "-r" + std::to_string(r));
  };
  // Every entry's settings are checked before any run (a race-wide --k-schedule that an
  // entry's variant refuses fails now, not after an hour of other runs).
  for (const Entry& e : entries) parse_experiment(entry_values(base, e, shared.seed, run_dir(e, 0)));
  check_writable_folder(out_dir, "--out");
  {
    DelayContext ctx;
    ctx.num_learners = shared.P;
    make_delay_model(shared.delay, ctx);  // a bad spec fails now, not after the first run
  }

  const std::string warn = debug_build_warning();
  if (!warn.empty()) std::cerr << warn << "\n";
  PreparedData loaded;
  if (options.data == nullptr) loaded = prepare_data(shared);
  const PreparedData& data = options.data != nullptr ? *options.data : loaded;
  const std::size_t total = entries.size() * repeats;
  std::cerr << "racesgd race: " << entries.size() << " variants x " << repeats << " repeats, P="
            << shared.P << ", model=" << shared.model << ", delay=" << shared.delay
            << ", clock=" << shared.clock << ", data=" << data.data.train.name << "\n";

  clear_race_outputs(out_dir);
  std::vector<RunRecord> runs;
  std::string write_failure;  // the first output that could not be written
  ProgressLine line(shared.progress, "race");
  if (shared.clock == "real" && shared.stop.target_error < 0)
    line.set_unscored_text(shared.timing_only ? "not measured" : "scored after the run");
  const auto race_start = std::chrono::steady_clock::now();
  bool interrupted = false;
  for (std::size_t r = 0; r < repeats && !interrupted; ++r) {
    // Repeats outermost: an interrupted race still has every variant at equal footing.
    for (const Entry& e : entries) {
      const ExperimentConfig cfg = parse_experiment(entry_values(base, e, shared.seed + r, run_dir(e, r)));
      const std::size_t done = runs.size();
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - race_start).count();
      const double eta = done ? elapsed / static_cast<double>(done) * static_cast<double>(total - done) : 0;
      const std::string prefix = "run " + std::to_string(done + 1) + "/" + std::to_string(total) +
                                 " " + e.label + " rep " + std::to_string(r) + ", race ETA " +
                                 (done ? format_duration(std::round(eta)) : "?");
      line.set_prefix(prefix);
      if (shared.progress == "off" || !::isatty(2)) std::cerr << "  " << prefix << "\n";
      ProgressFn progress = line.callback();
      if (options.progress)
        progress = [line_fn = std::move(progress), &options](const Progress& p) {
          if (line_fn) line_fn(p);  // none with --progress off
          options.progress(p);
        };
      RunRecord rec{e, r, cfg.seed, run_experiment(cfg, data, progress, interrupt)};
      line.finish();
      rec.out.summary["repeat"] = r;
      try {
        write_run_outputs(cfg.out, rec.out.result.curve, rec.out.summary);
      } catch (const WriteError& err) {
        // The race goes on: its results are in memory and printed at the end.
        std::cerr << "racesgd race: " << err.what() << "\n";
        if (write_failure.empty()) write_failure = err.what();
      }
      if (rec.out.result.stop_reason == StopReason::interrupted) interrupted = true;
      runs.push_back(std::move(rec));
      if (interrupted) break;
    }
  }

  // No run left to stop cleanly: from here a signal ends the process at once (the CLI's
  // handlers only set the stop flag; an embedding caller keeps its own handlers).
  if (cli) {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
  }

  // runs.csv: tidy, one row per evaluation point per run.
  std::ostringstream csv;
  const nlohmann::json context = run_context();
  std::ostringstream header;  // every CSV says where it came from
  for (const auto& [k, v] : context.items())
    header << "# " << k << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
  header << "# config: " << values.to_json().dump() << "\n";
  csv << header.str();
  csv << "variant,K,repeat,seed,time_s,updates,gradients,train_loss,test_error,staleness_mean,wall_s,"
         "max_staleness,entry,K_in_force\n";
  for (const RunRecord& rr : runs)
    for (const CurvePoint& p : rr.out.result.curve)
      // --timing-only scores nothing: empty error cells, not a perfect 0.
      csv << rr.entry.variant << "," << rr.entry.K << "," << rr.repeat << "," << rr.seed << ","
          << cell(p.time_s, 6) << "," << p.updates << "," << p.gradients << ","
          << (shared.timing_only ? "" : cell_g(p.train_loss)) << ","
          << (shared.timing_only ? "" : cell_g(p.test_error)) << "," << cell(p.staleness_mean)
          << "," << cell(p.wall_s, 6) << "," << r_cell(rr.entry) << "," << rr.entry.label << ","
          << p.k << "\n";
  auto write_output = [&](const char* name, const std::string& text) {
    try {
      write_file_atomic(out_dir / name, text);
    } catch (const WriteError& err) {
      std::cerr << "racesgd race: " << err.what() << "\n";
      if (write_failure.empty()) write_failure = err.what();
    }
  };
  write_output("runs.csv", csv.str());

  // Per-variant summary.
  // --timing-only measures time per update only: no run has an error to reach a target.
  const bool errors_measured = !shared.timing_only;
  std::vector<double> sync_by_repeat(repeats, NAN);
  for (const RunRecord& rr : runs)
    if (errors_measured &&
        (rr.entry.variant == "sync" || (rr.entry.variant == "k-sync" && rr.entry.K == shared.P)))
      sync_by_repeat[rr.repeat] = time_to_target(rr.out.result.curve, target).time_s;

  nlohmann::json jvariants = nlohmann::json::array();
  std::ostringstream scsv;
  scsv << header.str();
  scsv << "variant,K,repeats,reached,time_to_target_mean_s,time_to_target_ci95_s,"
          "time_to_target_resolution_max_s,time_to_target_resolution_max_fraction,"
          "speedup_vs_sync_mean,speedup_vs_sync_min,speedup_vs_sync_max,final_test_error_mean,"
          "final_test_error_sd,mean_update_interval_s,predicted_update_interval_s,predicted_method,"
          "staleness_mean,p0,gradients_cancelled_mean,stopped,max_staleness,entry\n";
  if (cli)
    std::printf("\nrace: %s, P=%zu, delay %s, %s clock, %zu repeat(s); %s\n\n",
              shared.model.c_str(), shared.P, shared.delay.c_str(), shared.clock.c_str(), repeats,
              errors_measured ? ("target test error " + format_fixed(target, 3)).c_str()
                              : "--timing-only: time per update measured, no test error");
  // The first column fits the longest entry label ("k-async K=1 adasync=0.5s").
  int label_width = 20;
  for (const Entry& e : entries) label_width = std::max(label_width, static_cast<int>(e.label.size()));
  if (cli)
    std::printf("%-*s %8s %22s %10s %18s %12s %14s %14s %10s  %s\n", label_width, "variant", "reached",
              "time to target (s)", "resolution", "speed-up vs sync", "final error", "update (meas)",
              "update (pred)", "staleness", "stopped by");
  std::size_t finished_runs = 0;
  std::vector<std::string> failures;  // "k-async K=2: diverged 2 (first: ...)"
  for (const Entry& e : entries) {
    std::vector<double> ttt, finals, intervals, stale, p0s, cancelled, speedups;
    std::vector<double> resolutions, resolution_fractions;  // of the repeats that reached it
    std::map<std::string, std::size_t> stops;
    std::string first_error;
    for (const RunRecord& rr : runs) {
      if (rr.entry.label != e.label) continue;
      const RunResult& res = rr.out.result;
      const std::string reason(to_string(res.stop_reason));
      ++stops[reason];  // by text: the table lists the reasons in alphabetical order
      if (finished_by_rule(res.stop_reason)) ++finished_runs;
      else if (first_error.empty()) first_error = res.error.empty() ? reason : res.error;
      const TimeToTarget reach = errors_measured ? time_to_target(res.curve, target) : TimeToTarget{};
      const double t = reach.time_s;
      if (reach.reached()) {
        ttt.push_back(t);
        resolutions.push_back(reach.resolution_s);
        resolution_fractions.push_back(reach.resolution_fraction());
      }
      if (errors_measured && !res.curve.empty()) finals.push_back(res.curve.back().test_error);
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
                      SP = sample_stats(speedups), R = sample_stats(resolutions),
                      RF = sample_stats(resolution_fractions);
    DelayContext ctx;
    ctx.num_learners = shared.P;
    auto delay = make_delay_model(shared.delay, ctx);
    TheoryOptions topt;
    topt.mc_updates = 100000;
    topt.engine = virtual_timing_engine();
    topt.seed = shared.seed;
    topt.max_staleness = e.R;
    // AdaSync's K changes during the run: no one time per update to predict.
    const bool k_changes = !e.k_schedule.empty() && parse_k_schedule(e.k_schedule).adaptive();
    const Estimate pred = k_changes ? Estimate{NAN, 0, "none (K changes)", ""}
                                    : predict_time_per_update(*delay, e.variant, shared.P, e.K, topt);
    const bool all_reached = T.n == n;
    const std::string stopped = stop_counts_text(stops);
    if (!first_error.empty())
      failures.push_back(e.label + ": " + stopped + " (first: " + first_error + ")");
    nlohmann::json j = {{"entry", e.label},
                        {"variant", e.variant},
                        {"K", e.K},
                        {"k_schedule", e.k_schedule.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.k_schedule)},
                        {"compensation", e.compensation.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.compensation)},
                        {"max_staleness", e.R ? nlohmann::json(e.R) : nlohmann::json(nullptr)},
                        {"repeats", n},
                        {"stopped_by", stops},
                        {"reached_target", errors_measured ? nlohmann::json(T.n) : nlohmann::json(nullptr)},
                        {"time_to_target_s", T.n ? nlohmann::json({{"mean", T.mean}, {"ci95", T.ci95}, {"min", T.min}, {"max", T.max}}) : nlohmann::json(nullptr)},
                        // The coarsest evaluation grid at a crossing, over the repeats
                        // (bench/time_to_target.h): in seconds and as a fraction of that time.
                        {"time_to_target_resolution", T.n ? nlohmann::json({{"max_s", R.max}, {"max_fraction", RF.max}}) : nlohmann::json(nullptr)},
                        {"speedup_vs_sync", SP.n ? nlohmann::json({{"mean", SP.mean}, {"min", SP.min}, {"max", SP.max}, {"n", SP.n}}) : nlohmann::json(nullptr)},
                        {"final_test_error", F.n ? nlohmann::json({{"mean", F.mean}, {"sd", F.sd}}) : nlohmann::json(nullptr)},
                        {"mean_update_interval_s", {{"measured", I.mean}, {"predicted", pred.value}, {"predicted_std_error", pred.std_error}, {"method", pred.method}}},
                        {"staleness_mean", S.mean},
                        {"p0", P0.mean},
                        {"gradients_cancelled_mean", C.mean}};
    jvariants.push_back(j);
    scsv << e.variant << "," << e.K << "," << n << "," << (errors_measured ? std::to_string(T.n) : "")
         << "," << (T.n ? cell(T.mean) : "") << "," << (T.n ? cell(T.ci95) : "") << ","
         << (T.n ? cell_g(R.max) : "") << "," << (T.n ? cell(RF.max) : "") << ","
         << (SP.n ? cell(SP.mean) : "") << "," << (SP.n ? cell(SP.min) : "") << ","
         << (SP.n ? cell(SP.max) : "") << "," << (F.n ? cell(F.mean) : "") << ","
         << (F.n ? cell(F.sd) : "") << "," << cell_g(I.mean) << "," << cell_g(pred.value) << ","
         << pred.method << "," << cell(S.mean) << "," << cell(P0.mean) << "," << cell(C.mean, 1)
         << "," << stopped << "," << r_cell(e) << "," << e.label << "\n";
    std::string reached = "-", ttt_text = "not measured", res_text = "-", sp_text = "-",
                final_text = "-";
    if (errors_measured) {
      reached = std::to_string(T.n) + "/" + std::to_string(n);
      ttt_text = T.n ? format_fixed(T.mean, 3) + " +- " + format_fixed(T.ci95, 3) + (all_reached ? "" : "*")
                     : "not reached";
      if (T.n) res_text = format_fixed(100.0 * RF.max, 2) + "%";
      if (F.n) final_text = format_fixed(F.mean, 4);
    }
    if (SP.n)
      sp_text = format_fixed(SP.mean, 2) + "x [" + format_fixed(SP.min, 2) + ", " +
                format_fixed(SP.max, 2) + "]";
    if (cli)
      std::printf("%-*s %8s %22s %10s %18s %12s %14s %14s %10s  %s\n", label_width, e.label.c_str(), reached.c_str(),
                ttt_text.c_str(), res_text.c_str(), sp_text.c_str(), final_text.c_str(),
                format_duration(I.mean).c_str(),
                std::isfinite(pred.value) ? format_duration(pred.value).c_str() : "-",
                format_fixed(S.mean, 3).c_str(), stopped.c_str());
  }
  write_output("summary.csv", scsv.str());
  nlohmann::json summary = {{"target_error", errors_measured ? nlohmann::json(target) : nlohmann::json(nullptr)},
                            {"measured", errors_measured ? "time and test error" : "time only (--timing-only)"},
                            {"repeats", repeats},
                            {"variants", jvariants},
                            {"interrupted", interrupted},
                            {"finished_runs", finished_runs},
                            {"config", values.to_json()},
                            {"context", context}};
  write_output("summary.json", summary.dump(2) + "\n");
  if (!cli) {
    // The table's notes and the failures are the CLI's; a caller reads the summary.
  } else if (errors_measured)
    std::printf("\n(* = not every repeat reached the target; the mean is over those that did)\n"
                "(time to target: interpolated between the two evaluation points around the "
                "crossing; resolution: their distance, the largest over the repeats, as a "
                "fraction of that time)\n");
  else
    std::printf("\n(--timing-only: no gradients were computed, so there is no test error and no "
                "time to target; the race compares time per update only)\n");
  if (cli)
    for (const std::string& f : failures) std::printf("runs that did not finish: %s\n", f.c_str());
  std::size_t contended = 0;
  std::string contention;
  for (const RunRecord& rr : runs) {
    const std::string w = contention_warning(rr.out.result, shared.clock);
    if (!w.empty() && contended++ == 0) contention = w;
  }
  if (contended)
    std::cerr << "racesgd race: warning: " << contended << " of " << runs.size()
              << " runs: " << contention << "\n";
  if (!write_failure.empty()) {
    // The results are in memory: print them rather than lose them.
    std::printf("summary.json (not written):\n%s\n", summary.dump(2).c_str());
    throw WriteError(write_failure + " (summary.json's content is on stdout)");
  }
  if (cli) std::printf("outputs: %s/{runs.csv,summary.csv,summary.json,runs/}\n", out_dir.c_str());

  RaceOutput result;
  result.summary = std::move(summary);
  result.interrupted = interrupted;
  result.finished_runs = finished_runs;
  result.out_dir = out_dir;
  result.clock = shared.clock;
  result.first_seed = shared.seed;
  result.plot = values.flag("plot");
  result.plot_title = values.get("title");
  if (result.plot_title.empty())
    result.plot_title = shared.model + " on " + data.data.train.name + ", P=" + std::to_string(shared.P) + ", delay " + shared.delay;
  for (RunRecord& rr : runs)
    result.runs.push_back(RaceRun{rr.entry.label, rr.entry.variant, rr.entry.K, rr.repeat, rr.seed,
                                  std::move(rr.out)});
  return result;
}

int race_command(ParamValues values, const std::atomic<bool>* interrupt) {
  const RaceOutput race_out = race(std::move(values), interrupt, RaceOptions{});
  const nlohmann::json& context = race_out.summary["context"];
  const std::filesystem::path& out_dir = race_out.out_dir;
  const bool errors_measured = !race_out.summary["target_error"].is_null();
  // What --config's file set too: race() read it into its own copy of the values.
  const std::string& clock = race_out.clock;
  const std::uint64_t seed = race_out.first_seed;
  const std::size_t repeats = race_out.summary["repeats"];
  const double target = errors_measured ? race_out.summary["target_error"].get<double>() : 0.0;
  const bool interrupted = race_out.interrupted;
  const std::size_t finished_runs = race_out.finished_runs;
  if (race_out.plot && !errors_measured) {
    std::printf("plot: skipped (--timing-only: no test error to plot)\n");
  } else if (race_out.plot) {
    const std::filesystem::path script = plot_script_path("plot_race.py");
    const std::string& title = race_out.plot_title;
    std::string cmd = "/usr/bin/python3 '" + script.string() + "' '" + out_dir.string() +
                      "' --target " + format_g(target) + " --clock " + clock + " --title \"" + title +
                      "\" --footer \"racesgd " + context.value("git_sha", std::string("?")) + ", " +
                      context.value("build_type", std::string("?")) + " build, " +
                      context.value("cpu", std::string("?")) + ", seeds " + std::to_string(seed) +
                      ".." + std::to_string(seed + repeats - 1) + "\"";
    if (script.empty()) {
      std::printf("%s\n", plot_script_missing("plot_race.py").c_str());
    } else if (!std::filesystem::exists("/usr/bin/python3")) {
      std::printf("plot: skipped (needs /usr/bin/python3 and python3-matplotlib to run %s)\n", script.c_str());
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
  if (finished_runs == 0) {
    std::cerr << "racesgd race: no run finished (every one diverged, stalled or failed; see "
                 "'runs that did not finish' above)\n";
    return 1;
  }
  return 0;
}

}  // namespace racesgd
