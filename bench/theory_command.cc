#include <cstdio>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bench/commands.h"
#include "bench/context.h"
#include "core/error.h"
#include "core/units.h"
#include "sgd/theory.h"
#include "sgd/variant.h"
#include "worker/delay_model.h"

namespace racesgd {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

nlohmann::json estimate_json(const Estimate& e) {
  return {{"seconds", e.value}, {"std_error", e.std_error}, {"method", e.method}};
}

int p_range_table(const ParamValues& v, const std::string& delay_spec, std::size_t lo,
                  std::size_t hi, const TheoryOptions& base, bool measure, bool json) {
  nlohmann::json rows = nlohmann::json::array();
  if (!json)
    std::printf("%4s  %14s  %14s  %10s  %10s%s\n", "P", "E[T_sync]", "E[T_async]", "ratio",
                "P*H_P", measure ? "  measured ratio (virtual clock)   measured/predicted" : "");
  for (std::size_t P = lo; P <= hi; ++P) {
    DelayContext ctx;
    ctx.num_workers = P;
    auto delay = make_delay_model(delay_spec, ctx);
    TheoryOptions o = base;
    o.P = P;
    const Estimate sync = predict_time_per_update(*delay, "sync", P, P, o);
    const Estimate async = predict_time_per_update(*delay, "async", P, 1, o);
    const double ratio = sync.value / async.value;
    nlohmann::json row = {{"P", P},
                          {"sync", estimate_json(sync)},
                          {"async", estimate_json(async)},
                          {"ratio", ratio},
                          {"P_H_P", static_cast<double>(P) * harmonic(P)}};
    double measured = 0;
    if (measure) {
      const Estimate ms = monte_carlo_time_per_update(*delay, "sync", P, P, o);
      const Estimate ma = monte_carlo_time_per_update(*delay, "async", P, 1, o);
      measured = ms.value / ma.value;
      row["measured_ratio"] = measured;
      row["measured_sync"] = estimate_json(ms);
      row["measured_async"] = estimate_json(ma);
    }
    rows.push_back(row);
    if (!json) {
      std::printf("%4zu  %14s  %14s  %10.4f  %10.4f", P, format_duration(sync.value).c_str(),
                  format_duration(async.value).c_str(), ratio, static_cast<double>(P) * harmonic(P));
      if (measure) std::printf("  %10.4f                        %8.4f", measured, measured / ratio);
      std::printf("\n");
    }
  }
  if (json) {
    nlohmann::json out = {{"delay", delay_spec}, {"rows", rows}, {"context", run_context()},
                          {"config", v.to_json()}};
    std::cout << out.dump(2) << "\n";
  }
  return 0;
}

}  // namespace

int theory_command(const ParamValues& v) {
  const std::string delay_spec = v.get("delay");
  const std::string warn = debug_build_warning();
  if (!warn.empty() && v.flag("measure")) std::cerr << warn << "\n";
  TheoryOptions o;
  o.K = static_cast<std::size_t>(parse_int(v.get("K"), "-K"));
  o.mc_updates = static_cast<std::uint64_t>(parse_int(v.get("mc-updates"), "--mc-updates"));
  if (o.mc_updates < 1000) throw InputError("--mc-updates: must be at least 1000");
  o.seed = static_cast<std::uint64_t>(parse_int(v.get("seed"), "--seed"));
  o.force_monte_carlo = v.flag("monte-carlo");
  const bool measure = v.flag("measure");
  const bool json = v.flag("json");

  const std::string p_text = v.get("P");
  const auto dots = p_text.find("..");
  if (dots != std::string::npos) {
    const auto lo = static_cast<std::size_t>(parse_int(p_text.substr(0, dots), "-P"));
    const auto hi = static_cast<std::size_t>(parse_int(p_text.substr(dots + 2), "-P"));
    if (lo < 1 || hi < lo || hi > 1024)
      throw InputError("-P: range '" + p_text + "' must be A..B with 1 <= A <= B <= 1024");
    return p_range_table(v, delay_spec, lo, hi, o, measure, json);
  }
  o.P = static_cast<std::size_t>(parse_int(p_text, "-P"));
  if (o.P < 1 || o.P > 1024) throw InputError("-P: must lie in 1..1024");
  if (v.get("variant") != "all") o.variants = split(v.get("variant"), ',');
  for (const std::string& name : o.variants) make_variant(name, o.P, o.K);  // validates
  DelayContext ctx;
  ctx.num_workers = o.P;
  auto delay = make_delay_model(delay_spec, ctx);

  const std::vector<TheoryRow> rows = predict(*delay, o);
  nlohmann::json jrows = nlohmann::json::array();
  if (!json) {
    std::printf("delay %s, P = %zu, K = %zu\n\n", delay->spec().c_str(), o.P, o.K);
    std::printf("%-14s %3s  %12s %-22s %9s %10s %6s%s\n", "variant", "K", "E[T]", "method",
                "speed-up", "staleness", "p0", measure ? "   measured E[T]  meas/pred" : "");
  }
  for (const TheoryRow& r : rows) {
    nlohmann::json j = {{"variant", r.variant},
                        {"K", r.K},
                        {"time_per_update", estimate_json(r.time_per_update)},
                        {"speedup_vs_sync", r.speedup_vs_sync}};
    if (r.staleness) j["staleness_mean"] = *r.staleness;
    if (r.p0) j["p0"] = *r.p0;
    if (!r.note.empty()) j["note"] = r.note;
    Estimate m;
    if (measure) {
      m = monte_carlo_time_per_update(*delay, r.variant, o.P, o.K, o);
      j["measured"] = estimate_json(m);
      j["measured_over_predicted"] = m.value / r.time_per_update.value;
    }
    jrows.push_back(j);
    if (!json) {
      std::string method = r.time_per_update.method;
      if (r.time_per_update.std_error > 0)
        method += " +-" + format_duration(r.time_per_update.std_error);
      char stale[32] = "-", p0[32] = "-";
      if (r.staleness) std::snprintf(stale, sizeof stale, "%.3f", *r.staleness);
      if (r.p0) std::snprintf(p0, sizeof p0, "%.3f", *r.p0);
      std::printf("%-14s %3zu  %12s %-22s %9.3f %10s %6s", r.variant.c_str(), r.K,
                  format_duration(r.time_per_update.value).c_str(), method.c_str(),
                  r.speedup_vs_sync, stale, p0);
      if (measure)
        std::printf("   %12s  %9.4f", format_duration(m.value).c_str(),
                    m.value / r.time_per_update.value);
      std::printf("\n");
      if (!r.note.empty()) std::printf("%20s note: %s\n", "", r.note.c_str());
    }
  }
  if (json) {
    nlohmann::json out = {{"delay", delay->spec()}, {"P", o.P}, {"K", o.K}, {"variants", jrows},
                          {"context", run_context()}, {"config", v.to_json()}};
    std::cout << out.dump(2) << "\n";
  }
  return 0;
}

}  // namespace racesgd
