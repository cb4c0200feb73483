// `racesgd fit`: reads measured minibatch times, fits every delay family (delay/delay_fit.h),
// prints the ranking and the best spec, writes DIR/fit.json and draws DIR/qq.png with
// bench/plot_fit.py. docs/fit.md explains the estimators and the numbers.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/commands.h"
#include "bench/context.h"
#include "bench/plot_script.h"
#include "bench/trace_input.h"
#include "core/durable_file.h"
#include "core/error.h"
#include "core/units.h"
#include "delay/delay_fit.h"
#include "delay/delay_model.h"
#include "delay/delay_trace.h"

namespace racesgd {
namespace {

// What was read and which part of it is fitted.
struct FitInput {
  std::string where;                          // "--trace 'a.csv' column 'w0'", for errors
  std::string column;                         // --column, "" when not given
  std::vector<std::vector<double>> columns;   // per learner (--per-worker), else one
  std::vector<double> pooled;                 // every value fitted, in seconds
};

std::string join(const std::vector<std::string>& parts) {
  std::string s;
  for (const std::string& p : parts) s += (s.empty() ? "" : ", ") + p;
  return s;
}

// The index of --column NAME: a header name, or a 1-based number in a file without header.
std::size_t column_index(const DelayTrace& trace, const std::string& name, const std::string& where) {
  for (std::size_t c = 0; c < trace.names.size(); ++c)
    if (trace.names[c] == name) return c;
  if (trace.names.empty()) {
    const auto n = static_cast<std::size_t>(std::atoll(name.c_str()));
    if (std::to_string(n) == name && n >= 1 && n <= trace.columns.size()) return n - 1;
    throw InputError("--column '" + name + "': " + where + " has no header; name a column by " +
                     "its number, 1.." + std::to_string(trace.columns.size()));
  }
  throw InputError("--column '" + name + "': no such column in " + where + " (columns: " +
                   join(trace.names) + ")");
}

FitInput read_fit_input(const ParamValues& v) {
  const std::string path = v.get("trace");
  DelayTrace trace = read_trace_flags(v);

  FitInput in;
  in.where = "--trace '" + path + "'";
  const bool per_worker = v.flag("per-worker");
  if (v.given("column")) {
    if (per_worker)
      throw InputError("--per-worker fits every column (one per learner): leave out --column");
    const std::size_t c = column_index(trace, v.get("column"), "'" + path + "'");
    in.column = v.get("column");
    in.where += " column '" + in.column + "'";
    in.columns = {std::move(trace.columns[c])};
  } else {
    if (per_worker && trace.columns.size() < 2)
      throw InputError("--per-worker: '" + path + "' has one column; it needs one per learner");
    in.columns = std::move(trace.columns);
  }
  for (std::size_t c = 0; c < in.columns.size(); ++c) {
    if (per_worker)  // each learner's own column must be fittable too
      check_fit_sample(in.columns[c], in.where + " column " +
                                          (trace.names.empty() ? std::to_string(c + 1)
                                                               : "'" + trace.names[c] + "'"));
    in.pooled.insert(in.pooled.end(), in.columns[c].begin(), in.columns[c].end());
  }
  check_fit_sample(in.pooled, in.where);
  return in;
}

// The ranking: every family on the pooled values and, with --per-worker, the best one with
// a spec again with a scale per learner.
std::vector<DelayFit> rank_fits(const FitInput& in, bool per_worker) {
  std::vector<DelayFit> fits = fit_delay_families(in.pooled);
  if (per_worker) {
    const auto best = std::find_if(fits.begin(), fits.end(),
                                   [](const DelayFit& f) { return !f.spec.empty(); });
    fits.push_back(fit_hetero(best->family, in.columns));
    std::stable_sort(fits.begin(), fits.end(),
                     [](const DelayFit& a, const DelayFit& b) { return a.aic < b.aic; });
  }
  return fits;
}

nlohmann::json finite_or_null(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }

nlohmann::json fit_json(const DelayFit& f) {
  nlohmann::json params = nlohmann::json::object();
  for (const FitParam& p : f.params) params[p.name] = p.value;
  return {{"family", f.family},           {"available", f.available},
          {"params", params},             {"num_params", f.num_params},
          {"log_likelihood", finite_or_null(f.log_likelihood)},
          {"aic", finite_or_null(f.aic)}, {"ks", f.available ? nlohmann::json(f.ks) : nlohmann::json(nullptr)},
          {"mean_s", finite_or_null(f.mean)},
          {"spec", f.spec.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.spec)},
          {"note", f.note}};
}

// QQ points for the plot: up to 200 probabilities (i - 1/2)/m, the sample's quantiles and
// each fitted spec's (by bisection on its cdf).
nlohmann::json qq_json(const std::vector<double>& sorted, const std::vector<DelayFit>& fits,
                       std::size_t learners) {
  const std::size_t m = std::min<std::size_t>(sorted.size(), 200);
  std::vector<double> probs, data;
  for (std::size_t i = 0; i < m; ++i) {
    probs.push_back((static_cast<double>(i) + 0.5) / static_cast<double>(m));
    data.push_back(sample_quantile(sorted, probs.back()));
  }
  nlohmann::json models = nlohmann::json::object();
  for (const DelayFit& f : fits) {
    if (f.spec.empty()) continue;
    DelayContext ctx;
    ctx.num_learners = f.family == "hetero" ? learners : 1;
    const DelayFacts facts = make_delay_model(f.spec, ctx)->facts();
    std::vector<double> q;
    for (double p : probs) q.push_back(quantile_from_cdf(facts.cdf, p));
    models[f.family] = q;
  }
  return {{"p", probs}, {"data_s", data}, {"fits_s", models}};
}

nlohmann::json summary_json(const DelaySummary& s) {
  nlohmann::json q = nlohmann::json::object();
  for (const auto& [p, x] : s.quantiles) q["p" + std::to_string(static_cast<int>(std::lround(p * 100)))] = x;
  return {{"n", s.n}, {"mean_s", s.mean}, {"stddev_s", s.stddev}, {"min_s", s.min},
          {"max_s", s.max}, {"quantiles_s", q}};
}

void print_table(const FitInput& in, const DelaySummary& s, const std::vector<DelayFit>& fits) {
  const std::size_t c = in.columns.size();
  std::printf("fit: %zu values from %s%s\n", s.n, in.where.c_str(),
              c > 1 ? (", " + std::to_string(c) + " columns pooled").c_str() : "");
  std::printf("  mean %s  sd %s  min %s", format_duration(s.mean).c_str(),
              format_duration(s.stddev).c_str(), format_duration(s.min).c_str());
  for (const auto& [p, x] : s.quantiles)
    std::printf("  p%d %s", static_cast<int>(std::lround(p * 100)), format_duration(x).c_str());
  std::printf("  max %s\n\n", format_duration(s.max).c_str());
  std::printf("%4s  %-11s  %2s  %12s  %12s  %9s  %7s  %s\n", "rank", "family", "k", "log-lik",
              "AIC", "dAIC", "KS", "spec");
  const double best_aic = fits.front().aic;
  for (std::size_t r = 0; r < fits.size(); ++r) {
    const DelayFit& f = fits[r];
    if (!f.available) {
      std::printf("%4s  %-11s  %2zu  %12s  %12s  %9s  %7s  (%s)\n", "-", f.family.c_str(),
                  f.num_params, "-", "-", "-", "-", f.note.c_str());
      continue;
    }
    const std::string spec = f.spec.empty() ? "(" + f.note + ")" : f.spec;
    std::printf("%4zu  %-11s  %2zu  %12.2f  %12.2f  %9.2f  %7.4f  %s\n", r + 1, f.family.c_str(),
                f.num_params, f.log_likelihood, f.aic, f.aic - best_aic, f.ks, spec.c_str());
  }
}

}  // namespace

int fit_command(const ParamValues& values) {
  const bool per_worker = values.flag("per-worker");
  const std::filesystem::path out_dir = values.get("out");
  const FitInput in = read_fit_input(values);
  check_writable_folder(out_dir, "--out");
  const std::vector<DelayFit> fits = rank_fits(in, per_worker);
  const DelaySummary summary = summarize_delays(in.pooled);
  print_table(in, summary, fits);

  // exp always has a spec (the mean of a sample that passed check_fit_sample is > 0).
  const DelayFit& best = *std::find_if(fits.begin(), fits.end(),
                                       [](const DelayFit& f) { return !f.spec.empty(); });
  const std::string learners =
      best.family == "hetero" ? " -P " + std::to_string(in.columns.size()) : "";
  std::printf("\nbest: %s\n  e.g. racesgd theory --delay '%s'%s\n", best.spec.c_str(),
              best.spec.c_str(), learners.c_str());

  std::vector<double> sorted = in.pooled;
  std::sort(sorted.begin(), sorted.end());
  nlohmann::json families = nlohmann::json::array();
  for (const DelayFit& f : fits) families.push_back(fit_json(f));
  const nlohmann::json input = {
      {"file", values.get("trace")},
      {"column", in.column.empty() ? nlohmann::json(nullptr) : nlohmann::json(in.column)},
      {"unit", values.get("unit")},
      {"columns", in.columns.size()},
      {"per_worker", per_worker}};
  const nlohmann::json out = {{"input", input},
                              {"data", summary_json(summary)},
                              {"best", best.spec},
                              {"fits", families},
                              {"qq", qq_json(sorted, fits, in.columns.size())},
                              {"context", run_context()},
                              {"config", values.to_json()}};
  try {
    write_file_atomic(out_dir / "fit.json", out.dump(2) + "\n");
  } catch (const WriteError&) {
    // The fits are in memory: print them rather than lose them.
    std::printf("fit.json (not written):\n%s\n", out.dump(2).c_str());
    throw;
  }
  std::printf("outputs: %s\n", (out_dir / "fit.json").c_str());
  if (values.flag("plot")) run_plot_script("plot_fit.py", out_dir, "qq.png", "fit.json", "the QQ points");
  return 0;
}

}  // namespace racesgd
