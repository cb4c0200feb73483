// `racesgd advise`: which variant to run for a delay (a spec, or one fitted to a trace).
// Theory predicts every variant at every K, the most promising go to a short virtual-clock
// race (bench/race_command.cc, written to DIR/race), and the race's times to target rank
// them. Writes advice.json and advice.md; --sweep draws the winner over P and delay specs.
// The reasoning itself is in bench/advise.h; docs/advise.md explains it.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/advise.h"
#include "bench/commands.h"
#include "bench/context.h"
#include "bench/format.h"
#include "bench/plot_script.h"
#include "bench/trace_input.h"
#include "bench/report.h"
#include "core/durable_file.h"
#include "core/error.h"
#include "core/units.h"
#include "delay/delay_fit.h"
#include "delay/delay_model.h"
#include "runtime/timing_engine.h"

namespace racesgd {
namespace {

// The delay spec to advise on: --delay, or the best fit to --trace (and what the fit said).
struct DelayChoice {
  std::string spec;
  std::string fitted_from;  // "" for --delay
  double fit_ks = 0;
};

DelayChoice choose_delay(const ParamValues& v) {
  if (v.given("trace") && v.given("delay"))
    throw InputError("--trace and --delay: give one (the trace's fit replaces --delay)");
  if (!v.given("trace")) return {v.get("delay"), "", 0};
  const std::string path = v.get("trace");
  const DelayTrace trace = read_trace_flags(v);
  std::vector<double> pooled;  // every learner's column: one law for all (racesgd fit's default)
  for (const auto& column : trace.columns) pooled.insert(pooled.end(), column.begin(), column.end());
  check_fit_sample(pooled, "--trace '" + path + "'");
  for (const DelayFit& f : fit_delay_families(pooled))
    if (!f.spec.empty()) return {f.spec, path, f.ks};
  throw InputError("--trace '" + path + "': no delay family fits it");  // exp always has a spec
}

std::string join_entries(const std::vector<Candidate>& cs) {
  std::string s;
  for (const Candidate& c : cs) s += (s.empty() ? "" : ",") + c.entry;
  return s;
}

// One advise: theory, pruning, the race, the ranking.
struct Advice {
  std::string delay;
  std::size_t P = 0;
  std::vector<Candidate> theory;   // every variant and K
  std::vector<Candidate> raced;    // what went into the race
  std::vector<RaceOutcome> ranked; // the race's entries, best first
  double wait = 0;                 // wait_factor of the delay
  double margin = 0;
  std::string reason;
  std::string race_command;        // the command that reproduces the race
  int race_exit = 0;
};

// advise's own numbers, checked once before anything runs or is written.
struct AdviseSettings {
  std::size_t keep = 4;         // --candidates
  long long budget = 300;       // --budget, updates of the slowest raced candidate
  TheoryOptions theory;         // --mc-updates, --seed
  std::string beyond;           // --beyond
};

AdviseSettings parse_settings(const ParamValues& v) {
  AdviseSettings s;
  const long long keep = parse_int(v.get("candidates"), "--candidates");
  if (keep < 1 || keep > 20) throw InputError("--candidates: must lie in 1..20");
  s.keep = static_cast<std::size_t>(keep);
  s.budget = parse_int(v.get("budget"), "--budget");
  if (s.budget < 10) throw InputError("--budget: must be at least 10 updates");
  const long long mc = parse_int(v.get("mc-updates"), "--mc-updates");
  if (mc < 1000) throw InputError("--mc-updates: must be at least 1000");
  s.theory.mc_updates = static_cast<std::uint64_t>(mc);
  s.theory.seed = static_cast<std::uint64_t>(parse_int(v.get("seed"), "--seed"));
  s.theory.engine = virtual_timing_engine();
  s.beyond = v.get("beyond");
  return s;
}

// The candidates to race: theory's most promising plus the beyond-the-paper entries.
std::vector<Candidate> race_candidates(const std::vector<Candidate>& theory,
                                       const AdviseSettings& s, std::size_t P, double run_time_s) {
  std::vector<Candidate> raced = prune_candidates(theory, P, s.keep);
  const std::string& beyond = s.beyond;
  if (beyond == "none") return raced;
  if (beyond == "auto") {
    std::size_t k0 = 1;  // AdaSync starts where theory puts the best k-async
    double best = INFINITY;
    for (const Candidate& c : theory)
      if (c.variant == "k-async" && pruning_score(c, P) < best) {
        best = pruning_score(c, P);
        k0 = c.K;
      }
    for (Candidate& c : beyond_paper_candidates(P, k0, format_duration(run_time_s / 10)))
      raced.push_back(std::move(c));
    return raced;
  }
  Candidate c;  // explicit entries: the race parses (and checks) them
  c.entry = beyond;
  c.time_per_update_s = NAN;
  c.staleness = NAN;
  c.method = "measured by the race";
  c.why = "--beyond";
  raced.push_back(c);
  return raced;
}

// The race's own parameters: advise's shared settings, the entries, the virtual clock.
ParamValues race_values(const ParamValues& v, const std::string& delay, std::size_t P,
                        const std::vector<Candidate>& raced, double run_time_s,
                        const std::filesystem::path& dir, bool plot) {
  ParamValues r(race_params());
  for (const ParamDef& d : advise_params())
    if (v.given(d.name) && r.has(d.name) && d.group != "Advise" && d.group != "Sweep" &&
        d.group != "Output")
      r.set(d.name, v.get(d.name));
  r.set("delay", delay);
  r.set("P", std::to_string(P));
  r.set("variants", join_entries(raced));
  r.set("repeats", v.get("repeats"));
  r.set("target", v.get("target-error"));
  r.set("target-error", v.get("target-error"));
  r.set("clock", "virtual");
  r.set("time", format_g(run_time_s, 4) + "s");
  r.set("out", dir.string());
  r.set("plot", plot ? "true" : "false");
  r.set("progress", v.get("progress"));
  return r;
}

// `racesgd race ...` as a shell command that reruns the race.
std::string command_text(const ParamValues& r) {
  std::string cmd = "racesgd race";
  for (const ParamDef& d : r.defs())
    if (r.given(d.name)) cmd += " " + flag_text(d) + (d.is_flag ? "=" : " ") + "'" + r.get(d.name) + "'";
  return cmd;
}

double theory_time(const std::vector<Candidate>& theory, const std::string& entry) {
  for (const Candidate& c : theory)
    if (c.entry == entry) return c.time_per_update_s;
  return NAN;
}

Advice advise_once(const ParamValues& v, const AdviseSettings& s, const std::string& delay_spec,
                   std::size_t P, const std::filesystem::path& race_dir, bool plot,
                   const std::atomic<bool>* interrupt) {
  Advice a;
  a.delay = delay_spec;
  a.P = P;
  DelayContext ctx;
  ctx.num_learners = P;
  auto delay = make_delay_model(delay_spec, ctx);
  a.theory = theory_candidates(*delay, P, s.theory);
  a.wait = wait_factor(theory_time(a.theory, "sync"), theory_time(a.theory, "async"), P);

  // The budget: the slowest candidate theory keeps still gets --budget updates.
  double slowest = 0;
  for (const Candidate& c : prune_candidates(a.theory, P, s.keep))
    if (std::isfinite(c.time_per_update_s)) slowest = std::max(slowest, c.time_per_update_s);
  if (!(slowest > 0))
    throw InputError("--delay '" + delay_spec + "': no raced variant makes updates under it");
  const double run_time_s = slowest * static_cast<double>(s.budget);
  a.raced = race_candidates(a.theory, s, P, run_time_s);

  ParamValues r = race_values(v, delay_spec, P, a.raced, run_time_s, race_dir, plot);
  a.race_command = command_text(r);
  a.race_exit = race_command(r, interrupt);
  std::ifstream in(race_dir / "summary.json");
  if (!in) throw WriteError("the race wrote no " + (race_dir / "summary.json").string());
  a.ranked = rank_outcomes(race_outcomes(nlohmann::json::parse(in)));
  a.margin = runner_up_margin(a.ranked);
  a.reason = advice_reason(a.ranked, a.wait, P);
  return a;
}

nlohmann::json number_json(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }

nlohmann::json advice_json(const Advice& a, const DelayChoice& d) {
  nlohmann::json theory = nlohmann::json::array(), ranking = nlohmann::json::array();
  for (const Candidate& c : a.theory)
    theory.push_back({{"entry", c.entry}, {"variant", c.variant}, {"K", c.K},
                      {"time_per_update_s", number_json(c.time_per_update_s)},
                      {"staleness", number_json(c.staleness)}, {"method", c.method},
                      {"score", number_json(pruning_score(c, a.P))}});
  nlohmann::json raced = nlohmann::json::array();
  for (const Candidate& c : a.raced) raced.push_back({{"entry", c.entry}, {"why", c.why}});
  for (const RaceOutcome& o : a.ranked)
    ranking.push_back({{"entry", o.entry}, {"variant", o.variant}, {"K", o.K},
                       {"repeats", o.repeats}, {"reached", o.reached},
                       {"time_to_target_mean_s", number_json(o.time_mean_s)},
                       {"time_to_target_ci95_s", number_json(o.time_ci95_s)},
                       {"final_test_error", number_json(o.final_error)},
                       {"update_interval_s", number_json(o.update_interval_s)},
                       {"staleness", number_json(o.staleness)},
                       {"synchronous", is_synchronous(o, a.P)}});
  const bool any = !a.ranked.empty() && a.ranked[0].reached > 0;
  return {{"recommendation", any ? nlohmann::json(a.ranked[0].entry) : nlohmann::json(nullptr)},
          {"reason", a.reason},
          {"runner_up_margin", number_json(a.margin)},
          {"wait_factor", number_json(a.wait)},
          {"delay", a.delay},
          {"delay_fitted_from", d.fitted_from.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.fitted_from)},
          {"P", a.P},
          {"theory", theory},
          {"raced", raced},
          {"ranking", ranking},
          {"race", {{"dir", "race"}, {"command", a.race_command}, {"exit_code", a.race_exit}}}};
}

std::string time_cell(const RaceOutcome& o) {
  if (o.reached == 0) return "not reached";
  return format_fixed(o.time_mean_s, 4) + " +- " + format_fixed(o.time_ci95_s, 4) +
         (o.reached < o.repeats ? " *" : "");
}

std::string advice_md(const Advice& a, const DelayChoice& d, const std::string& advise_cmd) {
  std::ostringstream md;
  const bool any = !a.ranked.empty() && a.ranked[0].reached > 0;
  md << "# racesgd advise\n\n";
  md << "**Recommendation: " << (any ? a.ranked[0].entry : std::string("none")) << "** (P = "
     << a.P << ", delay `" << a.delay << "`"
     << (d.fitted_from.empty() ? "" : ", fitted to `" + d.fitted_from + "`, KS " + format_fixed(d.fit_ks, 4))
     << ")\n\n" << a.reason << ".\n\n";
  md << "## The race (virtual clock; files in race/)\n\n";
  md << "| rank | entry | reached | time to target (s), mean +- 95% CI | final error | time per update | staleness |\n"
        "|---|---|---|---|---|---|---|\n";
  for (std::size_t i = 0; i < a.ranked.size(); ++i) {
    const RaceOutcome& o = a.ranked[i];
    md << "| " << i + 1 << " | " << o.entry << " | " << o.reached << "/" << o.repeats << " | "
       << time_cell(o) << " | " << format_fixed(o.final_error, 4) << " | "
       << format_duration(o.update_interval_s) << " | " << format_fixed(o.staleness, 2) << " |\n";
  }
  md << "\n(* not every repeat reached the target; the mean is over those that did)\n\n";
  md << "## Theory (every variant and K; the raced ones marked)\n\n";
  md << "| entry | E[T] per update | staleness | method | score | raced |\n|---|---|---|---|---|---|\n";
  for (const Candidate& c : a.theory) {
    std::string why = "";
    for (const Candidate& r : a.raced)
      if (r.entry == c.entry) why = r.why;
    md << "| " << c.entry << " | "
       << (std::isfinite(c.time_per_update_s) ? format_duration(c.time_per_update_s) : "never")
       << " | " << (std::isnan(c.staleness) ? "not modelled" : format_fixed(c.staleness, 3))
       << " | " << c.method << " | " << format_g(pruning_score(c, a.P), 4) << " | " << why << " |\n";
  }
  md << "\nscore = E[T] / K x (1 + staleness): predicted run time per gradient, a stale gradient "
        "counted as worth less (docs/advise.md).\n\n";
  md << "## Reproduce\n\n```\n" << advise_cmd << "\n" << a.race_command << "\n```\n";
  return md.str();
}

// `racesgd advise ...` as the user gave it.
std::string advise_command_text(const ParamValues& v) {
  std::string cmd = "racesgd advise";
  for (const ParamDef& d : v.defs())
    if (v.given(d.name)) cmd += " " + flag_text(d) + (d.is_flag ? "=" : " ") + "'" + v.get(d.name) + "'";
  return cmd;
}

void write_or_print(const std::filesystem::path& path, const std::string& text) {
  try {
    write_file_atomic(path, text);
  } catch (const WriteError&) {
    std::printf("%s (not written):\n%s\n", path.filename().c_str(), text.c_str());
    throw;
  }
}

// ---- --sweep ----

// "P=4..64": 4, 8, 16, 32, 64 (doubling; B itself always included).
std::vector<std::size_t> sweep_ps(const std::string& text) {
  const auto dots = text.find("..");
  if (text.rfind("P=", 0) != 0 || dots == std::string::npos)
    throw InputError("--sweep '" + text + "': must be P=A..B");
  const auto lo = parse_int(text.substr(2, dots - 2), "--sweep");
  const auto hi = parse_int(text.substr(dots + 2), "--sweep");
  if (lo < 1 || hi < lo || hi > 1024)
    throw InputError("--sweep '" + text + "': must be P=A..B with 1 <= A <= B <= 1024");
  std::vector<std::size_t> ps;
  for (auto p = static_cast<std::size_t>(lo); p < static_cast<std::size_t>(hi); p *= 2) ps.push_back(p);
  ps.push_back(static_cast<std::size_t>(hi));
  return ps;
}

// "pareto:scale=1ms,alpha={1.5,2,3}" -> three specs, each with the value it took.
std::vector<std::pair<std::string, std::string>> sweep_delays(const std::string& text) {
  const auto open = text.find('{'), close = text.find('}');
  if (open == std::string::npos && close == std::string::npos) return {{text, text}};
  if (open == std::string::npos || close == std::string::npos || close < open ||
      text.find('{', open + 1) != std::string::npos)
    throw InputError("--sweep-delay '" + text + "': one {a,b,...} list, or none");
  std::vector<std::pair<std::string, std::string>> out;
  std::stringstream ss(text.substr(open + 1, close - open - 1));
  std::string value;
  while (std::getline(ss, value, ','))
    out.emplace_back(text.substr(0, open) + value + text.substr(close + 1), value);
  if (out.empty()) throw InputError("--sweep-delay '" + text + "': empty {} list");
  return out;
}

int sweep(const ParamValues& v, const AdviseSettings& s, const std::filesystem::path& out_dir,
          const std::atomic<bool>* interrupt) {
  if (!v.given("sweep-delay")) throw InputError("--sweep: needs --sweep-delay");
  if (v.given("trace") || v.given("delay"))
    throw InputError("--sweep: the delays come from --sweep-delay; leave out --trace and --delay");
  const std::vector<std::size_t> ps = sweep_ps(v.get("sweep"));
  const auto delays = sweep_delays(v.get("sweep-delay"));
  for (const auto& [spec, value] : delays)
    for (std::size_t P : ps) {
      DelayContext ctx;
      ctx.num_learners = P;
      make_delay_model(spec, ctx);  // every spec fails now, not after an hour of races
    }
  check_writable_folder(out_dir, "--out");
  // An earlier sweep's files must not pass for this one's.
  for (const char* f : {"sweep.csv", "phase.png"}) remove_output_file(out_dir, f);
  std::ostringstream csv;
  const nlohmann::json context = run_context();  // items() of a temporary would dangle
  for (const auto& [k, val] : context.items())
    csv << "# " << k << ": " << (val.is_string() ? val.get<std::string>() : val.dump()) << "\n";
  csv << "# config: " << v.to_json().dump() << "\n";
  csv << "P,delay,value,winner,synchronous,time_to_target_s,ci95_s,runner_up,margin,wait_factor\n";
  const std::size_t total = ps.size() * delays.size();
  std::size_t done = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const auto& [spec, value] : delays)
    for (std::size_t P : ps) {
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::cerr << "racesgd advise: sweep point " << done + 1 << "/" << total << " P=" << P
                << " delay " << spec << ", sweep ETA "
                << (done ? format_duration(std::round(elapsed / static_cast<double>(done) *
                                                      static_cast<double>(total - done)))
                         : std::string("?"))
                << "\n";
      const std::filesystem::path dir = out_dir / "points" / ("P" + std::to_string(P) + "-" + value);
      const Advice a = advise_once(v, s, spec, P, dir, false, interrupt);
      const bool any = !a.ranked.empty() && a.ranked[0].reached > 0;
      csv << P << ",\"" << spec << "\"," << value << "," << (any ? a.ranked[0].entry : "") << ","
          << (any && is_synchronous(a.ranked[0], P) ? 1 : 0) << ","
          << (any ? format_g(a.ranked[0].time_mean_s) : "") << ","
          << (any ? format_g(a.ranked[0].time_ci95_s) : "") << ","
          << (a.ranked.size() > 1 ? a.ranked[1].entry : "") << ","
          << (std::isfinite(a.margin) ? format_g(a.margin, 4) : "") << ","
          << (std::isfinite(a.wait) ? format_g(a.wait, 4) : "") << "\n";
      ++done;
      // Rewritten after every point: a sweep stopped early keeps the points it finished.
      write_or_print(out_dir / "sweep.csv", csv.str());
      if (interrupt && interrupt->load(std::memory_order_relaxed)) {
        std::cerr << "racesgd advise: sweep interrupted after " << done << " of " << total
                  << " points; sweep.csv holds them\n";
        return 1;
      }
    }
  std::printf("sweep: %s\n", (out_dir / "sweep.csv").c_str());
  if (!v.flag("plot")) return 0;
  run_plot_script("plot_advise.py", out_dir, "phase.png", "sweep.csv", "the winners");
  return 0;
}

}  // namespace

int advise_command(const ParamValues& values, const std::atomic<bool>* interrupt) {
  if (!values.given("target-error"))
    throw InputError("--target-error: required (the test error whose time to reach ranks the variants)");
  const double target = parse_double(values.get("target-error"), "--target-error");
  if (!(target >= 0 && target <= 1)) throw InputError("--target-error: must lie in [0, 1]");
  const std::filesystem::path out_dir = values.get("out");
  const AdviseSettings settings = parse_settings(values);
  if (values.given("sweep")) return sweep(values, settings, out_dir, interrupt);
  if (values.given("sweep-delay")) throw InputError("--sweep-delay: needs --sweep P=A..B");

  const DelayChoice d = choose_delay(values);
  const auto P = parse_int(values.get("P"), "-P");
  if (P < 1 || P > 1024) throw InputError("-P: must lie in 1..1024");
  check_writable_folder(out_dir, "--out");
  if (!d.fitted_from.empty())
    std::printf("advise: fitted %s to %s (KS %s)\n", d.spec.c_str(), d.fitted_from.c_str(),
                format_fixed(d.fit_ks, 4).c_str());
  // An earlier advice must not pass for this one if this one fails.
  for (const char* f : {"advice.json", "advice.md"}) remove_output_file(out_dir, f);
  const Advice a = advise_once(values, settings, d.spec, static_cast<std::size_t>(P), out_dir / "race",
                               values.flag("plot"), interrupt);
  const std::string cmd = advise_command_text(values);
  nlohmann::json j = advice_json(a, d);
  j["command"] = cmd;
  j["context"] = run_context();
  j["config"] = values.to_json();
  write_or_print(out_dir / "advice.json", j.dump(2) + "\n");
  write_or_print(out_dir / "advice.md", advice_md(a, d, cmd));
  const bool any = !a.ranked.empty() && a.ranked[0].reached > 0;
  std::printf("\nrecommendation: %s\n  %s\n", any ? a.ranked[0].entry.c_str() : "none",
              a.reason.c_str());
  std::printf("outputs: %s/{advice.json,advice.md,race/}\n", out_dir.c_str());
  return any ? a.race_exit : 1;
}

}  // namespace racesgd
