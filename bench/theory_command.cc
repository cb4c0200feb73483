#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bench/commands.h"
#include "bench/context.h"
#include "core/error.h"
#include "core/units.h"
#include "runtime/timing_engine.h"
#include "sgd/theory.h"
#include "sgd/variant.h"
#include "delay/delay_model.h"

namespace racesgd {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

// seconds is null when the estimate is infinite; `never` then says why.
nlohmann::json estimate_json(const Estimate& e) {
  nlohmann::json j = {{"seconds", e.finite() ? nlohmann::json(e.value) : nlohmann::json(nullptr)},
                      {"std_error", e.std_error},
                      {"method", e.method}};
  if (!e.finite()) j["never"] = e.never;
  return j;
}

// A ratio for JSON: null when undefined or infinite (JSON has no infinity).
nlohmann::json ratio_json(std::optional<double> r) {
  if (!r || !std::isfinite(*r)) return nullptr;
  return *r;
}

// A ratio for the table: "-" when undefined, "inf", or a number with at most ~10 characters
// (a huge finite ratio switches to an exponent instead of printing 100 digits).
std::string format_ratio(std::optional<double> r, int decimals) {
  if (!r) return "-";
  if (std::isinf(*r)) return "inf";
  char buf[32];
  if (std::fabs(*r) < 1e6)
    std::snprintf(buf, sizeof buf, "%.*f", decimals, *r);
  else
    std::snprintf(buf, sizeof buf, "%.3g", *r);
  return buf;
}

std::string format_seconds(const Estimate& e) {
  return e.finite() ? format_duration(e.value) : std::string("never");
}

// measured / predicted, defined when both are finite and the prediction is not 0.
std::optional<double> measured_over_predicted(const Estimate& measured, const Estimate& pred) {
  if (!measured.finite() || !pred.finite() || !(pred.value > 0)) return std::nullopt;
  return measured.value / pred.value;
}

// `json_out` null: prints the table; otherwise fills it with what --json prints.
void p_range_table(const ParamValues& v, const std::string& delay_spec, std::size_t lo,
                   std::size_t hi, const TheoryOptions& base, bool measure,
                   nlohmann::json* json_out) {
  const bool json = json_out != nullptr;
  nlohmann::json rows = nlohmann::json::array();
  if (!json)
    std::printf("%4s  %14s  %14s  %10s  %10s%s\n", "P", "E[T_sync]", "E[T_async]", "ratio",
                "P*H_P", measure ? "  measured ratio (virtual clock)   measured/predicted" : "");
  std::vector<std::string> notes;
  for (std::size_t P = lo; P <= hi; ++P) {
    DelayContext ctx;
    ctx.num_learners = P;
    auto delay = make_delay_model(delay_spec, ctx);
    TheoryOptions o = base;
    o.P = P;
    const Estimate sync = predict_time_per_update(*delay, "sync", P, P, o);
    const Estimate async = predict_time_per_update(*delay, "async", P, 1, o);
    const std::optional<double> ratio = speedup(sync, async);
    nlohmann::json row = {{"P", P},
                          {"sync", estimate_json(sync)},
                          {"async", estimate_json(async)},
                          {"ratio", ratio_json(ratio)},
                          {"P_H_P", static_cast<double>(P) * harmonic(P)}};
    std::optional<double> measured, meas_over_pred;
    if (measure) {
      const Estimate ms = measure_time_per_update(*delay, "sync", P, P, o);
      const Estimate ma = measure_time_per_update(*delay, "async", P, 1, o);
      measured = speedup(ms, ma);
      if (measured && ratio && std::isfinite(*measured) && std::isfinite(*ratio) && *ratio > 0)
        meas_over_pred = *measured / *ratio;
      row["measured_ratio"] = ratio_json(measured);
      row["measured_sync"] = estimate_json(ms);
      row["measured_async"] = estimate_json(ma);
    }
    rows.push_back(row);
    for (const Estimate* e : {&sync, &async})
      if (!e->finite() && notes.empty()) notes.push_back(e->never);
    if (!json) {
      std::printf("%4zu  %14s  %14s  %10s  %10.4f", P, format_seconds(sync).c_str(),
                  format_seconds(async).c_str(), format_ratio(ratio, 4).c_str(),
                  static_cast<double>(P) * harmonic(P));
      if (measure)
        std::printf("  %10s                        %8s", format_ratio(measured, 4).c_str(),
                    format_ratio(meas_over_pred, 4).c_str());
      std::printf("\n");
    }
  }
  if (!json && !notes.empty()) std::printf("\nnever: %s\n", notes.front().c_str());
  if (!json && measure)
    std::printf("\nmeasured: one virtual-clock timing-only run per variant and P (seed %llu, "
                "independent of the Monte Carlo predictions)\n",
                static_cast<unsigned long long>(measurement_seed(base)));
  if (json) {
    *json_out = {{"delay", delay_spec}, {"rows", rows}, {"context", run_context()},
                 {"config", v.to_json()}};
  }
}

// The command's work: the table on stdout (json_out null), or --json's content in *json_out.
void theory(const ParamValues& v, nlohmann::json* json_out) {
  const std::string delay_spec = v.get("delay");
  const std::string warn = debug_build_warning();
  if (!warn.empty() && v.flag("measure")) std::cerr << warn << "\n";
  TheoryOptions o;
  o.engine = virtual_timing_engine();
  if (v.given("max-staleness")) {
    const long long R = parse_int(v.get("max-staleness"), "--max-staleness");
    if (R < 1) throw InputError("--max-staleness: " + v.get("max-staleness") + " must be at least 1");
    o.max_staleness = static_cast<std::uint64_t>(R);
  }
  o.K = static_cast<std::size_t>(parse_int(v.get("K"), "-K"));
  o.mc_updates = static_cast<std::uint64_t>(parse_int(v.get("mc-updates"), "--mc-updates"));
  if (o.mc_updates < 1000) throw InputError("--mc-updates: must be at least 1000");
  o.seed = static_cast<std::uint64_t>(parse_int(v.get("seed"), "--seed"));
  o.force_monte_carlo = v.flag("monte-carlo");
  const bool measure = v.flag("measure");
  const bool json = json_out != nullptr;

  const std::string p_text = v.get("P");
  const auto dots = p_text.find("..");
  if (dots != std::string::npos) {
    const auto lo = static_cast<std::size_t>(parse_int(p_text.substr(0, dots), "-P"));
    const auto hi = static_cast<std::size_t>(parse_int(p_text.substr(dots + 2), "-P"));
    if (lo < 1 || hi < lo || hi > 1024)
      throw InputError("-P: range '" + p_text + "' must be A..B with 1 <= A <= B <= 1024");
    p_range_table(v, delay_spec, lo, hi, o, measure, json_out);
    return;
  }
  o.P = static_cast<std::size_t>(parse_int(p_text, "-P"));
  if (o.P < 1 || o.P > 1024) throw InputError("-P: must lie in 1..1024");
  // As in train and race: an unset K is the default 2 capped at P, so -P 1 works.
  if (!v.given("K")) o.K = std::min(o.K, o.P);
  if (v.get("variant") != "all") o.variants = split(v.get("variant"), ',');
  for (const std::string& name : o.variants) make_variant(name, o.P, o.K);  // validates
  DelayContext ctx;
  ctx.num_learners = o.P;
  auto delay = make_delay_model(delay_spec, ctx);

  const std::vector<TheoryRow> rows = predict(*delay, o);
  nlohmann::json jrows = nlohmann::json::array();
  if (!json) {
    std::printf("delay %s, P = %zu, K = %zu%s\n\n", delay->spec().c_str(), o.P, o.K,
                o.max_staleness ? (", max-staleness " + std::to_string(o.max_staleness) +
                                   " (async family, by Monte Carlo)").c_str()
                                : "");
    std::printf("%-14s %3s  %12s %-22s %9s %10s %6s%s\n", "variant", "K", "E[T]", "method",
                "speed-up", "staleness", "p0", measure ? "   measured E[T]  meas/pred" : "");
  }
  std::vector<std::string> never;  // why rows say "never", each reason once
  bool stalled = false;             // a measurement run stopped making updates
  for (const TheoryRow& r : rows) {
    nlohmann::json j = {{"variant", r.variant},
                        {"K", r.K},
                        {"time_per_update", estimate_json(r.time_per_update)},
                        {"speedup_vs_sync", ratio_json(r.speedup_vs_sync)}};
    if (r.staleness) j["staleness_mean"] = *r.staleness;
    if (r.p0) j["p0"] = *r.p0;
    if (!r.note.empty()) j["note"] = r.note;
    Estimate m;
    std::optional<double> meas_over_pred;
    if (measure) {
      m = measure_time_per_update(*delay, r.variant, o.P, o.K, o);
      meas_over_pred = measured_over_predicted(m, r.time_per_update);
      j["measured"] = estimate_json(m);
      j["measured_over_predicted"] = ratio_json(meas_over_pred);
    }
    jrows.push_back(j);
    if (!json) {
      std::string method = r.time_per_update.method;
      if (r.time_per_update.std_error > 0)
        method += " +-" + format_duration(r.time_per_update.std_error);
      char stale[32] = "-", p0[32] = "-";
      if (r.staleness) std::snprintf(stale, sizeof stale, "%.3f", *r.staleness);
      if (r.p0) std::snprintf(p0, sizeof p0, "%.3f", *r.p0);
      std::printf("%-14s %3zu  %12s %-22s %9s %10s %6s", r.variant.c_str(), r.K,
                  format_seconds(r.time_per_update).c_str(), method.c_str(),
                  format_ratio(r.speedup_vs_sync, 3).c_str(), stale, p0);
      if (measure)
        std::printf("   %12s  %9s", m.finite() ? format_duration(m.value).c_str() : "stalled",
                    format_ratio(meas_over_pred, 4).c_str());
      std::printf("\n");
      if (!r.note.empty() && r.time_per_update.finite())
        std::printf("%20s note: %s\n", "", r.note.c_str());
      const Estimate& e = r.time_per_update;
      if (!e.finite() && std::find(never.begin(), never.end(), e.never) == never.end())
        never.push_back(e.never);
      stalled = stalled || (measure && !m.finite());
    }
  }
  if (!json)
    for (const std::string& why : never) std::printf("\nnever: %s\n", why.c_str());
  if (!json && measure) {
    const std::uint64_t measured_updates = std::max<std::uint64_t>(100, o.mc_updates / 10) * 10;
    std::printf("\nmeasured: one virtual-clock timing-only run of %llu updates per variant "
                "(seed %llu, independent of the Monte Carlo predictions)\n",
                static_cast<unsigned long long>(measured_updates),
                static_cast<unsigned long long>(measurement_seed(o)));
  }
  if (!json && stalled)
    std::printf("stalled: the measurement run stopped making updates (every learner's pending "
                "delay was infinite; --json has when and who)\n");
  if (json) {
    *json_out = {{"delay", delay->spec()}, {"P", o.P}, {"K", o.K},
                 {"max_staleness", o.max_staleness ? nlohmann::json(o.max_staleness) : nlohmann::json(nullptr)},
                 {"variants", jrows},
                 {"context", run_context()}, {"config", v.to_json()}};
  }
}

}  // namespace

nlohmann::json theory_json(const ParamValues& values) {
  nlohmann::json out;
  theory(values, &out);
  return out;
}

int theory_command(const ParamValues& v) {
  if (!v.flag("json")) {
    theory(v, nullptr);
    return 0;
  }
  std::cout << theory_json(v).dump(2) << "\n";
  return 0;
}

}  // namespace racesgd
