#include "delay/delay_fit.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <numeric>
#include <numbers>
#include <vector>

#include "core/check.h"
#include "core/delay_cap.h"
#include "core/error.h"
#include "core/units.h"
#include "delay/delay_model.h"

namespace racesgd {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<double> sorted_copy(std::span<const double> values) {
  std::vector<double> v(values.begin(), values.end());
  std::sort(v.begin(), v.end());
  return v;
}

double mean_of(std::span<const double> v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

// Spec texts are written with 12 significant digits and then handed to make_delay_model,
// whose canonical spec() (6 digits) is what the fit reports: the printed spec is by
// construction one the parser accepts.
std::string precise_duration(double seconds) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.12gs", seconds);
  return buf;
}

std::string precise_number(double x) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.12g", x);
  return buf;
}

// Completes a fit whose family, params, num_params, log_likelihood and mean are set: AIC,
// the canonical spec built from `spec_text` for `learners` learners, and the KS distance
// against that model's cdf. A spec the registry refuses leaves the fit without one (note).
DelayFit finish_fit(DelayFit f, std::span<const double> sorted, const std::string& spec_text,
                    std::size_t learners = 1) {
  f.available = true;
  f.aic = 2.0 * static_cast<double>(f.num_params) - 2.0 * f.log_likelihood;
  DelayContext ctx;
  ctx.num_learners = learners;
  try {
    const std::unique_ptr<DelayModel> model = make_delay_model(spec_text, ctx);
    f.spec = model->spec();
    const DelayFacts facts = model->facts();
    RACESGD_CHECK(static_cast<bool>(facts.cdf));  // every fitted family has a closed-form cdf
    f.ks = ks_distance(sorted, facts.cdf);
  } catch (const InputError& e) {
    f.spec.clear();
    f.note = std::string("no spec: ") + e.what();
  }
  return f;
}

DelayFit unavailable(std::string family, std::size_t num_params, std::string why) {
  DelayFit f;
  f.family = std::move(family);
  f.num_params = num_params;
  f.available = false;
  f.note = std::move(why);
  f.log_likelihood = -kInf;
  f.aic = kInf;
  f.ks = 1;
  f.mean = kInf;
  return f;
}

// ---- the two-phase hyperexponential by EM ----------------------------------------------

struct HyperExp {
  double p, m1, m2;
};

// ln(p e^{-x/m1}/m1 + (1-p) e^{-x/m2}/m2) without underflow for x >> m.
double hyperexp_log_density(const HyperExp& h, double x) {
  const double a = h.p > 0 ? std::log(h.p) - std::log(h.m1) - x / h.m1 : -kInf;
  const double b = h.p < 1 ? std::log1p(-h.p) - std::log(h.m2) - x / h.m2 : -kInf;
  const double hi = std::max(a, b);
  return hi + std::log1p(std::exp(std::min(a, b) - hi));
}

double hyperexp_log_likelihood(const HyperExp& h, std::span<const double> x) {
  double l = 0;
  for (double v : x) l += hyperexp_log_density(h, v);
  return l;
}

// EM from `h` until the log-likelihood gains less than 1e-10 of itself (or 2,000 steps).
// A phase's mean is kept above `floor` so a phase that collapses onto the zeros of the
// sample cannot make the density infinite.
HyperExp run_em(HyperExp h, std::span<const double> x, double floor) {
  double last = hyperexp_log_likelihood(h, x);
  for (int step = 0; step < 2000; ++step) {
    double w1 = 0, w1x = 0, w2 = 0, w2x = 0;
    for (double v : x) {
      const double a = h.p > 0 ? std::log(h.p) - std::log(h.m1) - v / h.m1 : -kInf;
      const double b = h.p < 1 ? std::log1p(-h.p) - std::log(h.m2) - v / h.m2 : -kInf;
      const double r1 = 1.0 / (1.0 + std::exp(b - a));  // posterior of phase 1
      w1 += r1;
      w1x += r1 * v;
      w2 += 1.0 - r1;
      w2x += (1.0 - r1) * v;
    }
    const double n = static_cast<double>(x.size());
    HyperExp next{w1 / n, h.m1, h.m2};
    if (w1 > 0) next.m1 = std::max(w1x / w1, floor);
    if (w2 > 0) next.m2 = std::max(w2x / w2, floor);
    const double l = hyperexp_log_likelihood(next, x);
    h = next;
    if (!(l - last > 1e-10 * std::fabs(last))) break;
    last = l;
  }
  return h;
}

// ---- the family table ----------------------------------------------------------------

struct FamilyFitter {
  const char* name;
  DelayFit (*fit)(std::span<const double>);
};

constexpr std::array<FamilyFitter, 6> kFitters = {{{"exp", fit_exp},
                                                   {"shifted-exp", fit_shifted_exp},
                                                   {"uniform", fit_uniform},
                                                   {"pareto", fit_pareto},
                                                   {"lognormal", fit_lognormal},
                                                   {"hyperexp", fit_hyperexp}}};

}  // namespace

void check_fit_sample(std::span<const double> values, const std::string& where) {
  if (values.size() < kMinFitValues)
    throw InputError(where + ": " + std::to_string(values.size()) +
                     " values; a fit needs at least " + std::to_string(kMinFitValues));
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]) || values[i] < 0)
      throw InputError(where + ": value " + std::to_string(i + 1) + " (" +
                       format_number(values[i]) + ") is not a finite delay >= 0");
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  if (*lo == *hi)
    throw InputError(where + ": all " + std::to_string(values.size()) + " values are " +
                     format_duration(*lo) + ": a constant (const:value=" + format_duration(*lo) +
                     "), nothing to fit");
}

DelayFit fit_exp(std::span<const double> values) {
  const std::vector<double> x = sorted_copy(values);
  const double n = static_cast<double>(x.size());
  const double m = mean_of(x);
  DelayFit f;
  f.family = "exp";
  f.num_params = 1;
  f.params = {{"mean", m}};
  f.log_likelihood = -n * (std::log(m) + 1.0);  // sum(x)/m = n
  f.mean = m;
  return finish_fit(std::move(f), x, "exp:mean=" + precise_duration(m));
}

DelayFit fit_shifted_exp(std::span<const double> values) {
  const std::vector<double> x = sorted_copy(values);
  const double n = static_cast<double>(x.size());
  const double xbar = mean_of(x);
  const double shift = std::max(0.0, x.front() - (xbar - x.front()) / (n - 1.0));
  const double m = xbar - shift;
  DelayFit f;
  f.family = "shifted-exp";
  f.num_params = 2;
  f.params = {{"shift", shift}, {"mean", m}};
  f.log_likelihood = -n * (std::log(m) + 1.0);  // sum(x - shift)/m = n
  f.mean = xbar;
  f.note = "shift = min - (mean - min)/(n - 1) (unbiased; the MLE is the min)";
  return finish_fit(std::move(f), x,
                    "shifted-exp:shift=" + precise_duration(shift) + ",mean=" + precise_duration(m));
}

DelayFit fit_uniform(std::span<const double> values) {
  const std::vector<double> x = sorted_copy(values);
  const double lo = x.front(), hi = x.back();
  DelayFit f;
  f.family = "uniform";
  f.num_params = 2;
  f.params = {{"min", lo}, {"max", hi}};
  f.log_likelihood = -static_cast<double>(x.size()) * std::log(hi - lo);
  f.mean = 0.5 * (lo + hi);
  return finish_fit(std::move(f), x,
                    "uniform:min=" + precise_duration(lo) + ",max=" + precise_duration(hi));
}

DelayFit fit_pareto(std::span<const double> values) {
  const std::vector<double> x = sorted_copy(values);
  if (!(x.front() > 0)) return unavailable("pareto", 2, "needs every value > 0 (a value is 0)");
  const double n = static_cast<double>(x.size());
  const double scale = x.front();
  double sum_log = 0;
  for (double v : x) sum_log += std::log(v / scale);
  const double alpha = n / sum_log;
  DelayFit f;
  f.family = "pareto";
  f.num_params = 2;
  f.params = {{"scale", scale}, {"alpha", alpha}};
  // sum ln x = n ln scale + sum_log
  f.log_likelihood = n * std::log(alpha) + n * alpha * std::log(scale) -
                     (alpha + 1.0) * (n * std::log(scale) + sum_log);
  f.mean = alpha > 1 ? alpha * scale / (alpha - 1.0) : kInf;
  if (alpha > 1)
    return finish_fit(std::move(f), x,
                      "pareto:scale=" + precise_duration(scale) + ",alpha=" + precise_number(alpha));
  // No delay model has an infinite mean; the fit still ranks, against its own cdf.
  f.available = true;
  f.aic = 2.0 * static_cast<double>(f.num_params) - 2.0 * f.log_likelihood;
  f.ks = ks_distance(x, [scale, alpha](double v) {
    return v <= scale ? 0.0 : 1.0 - std::pow(scale / v, alpha);
  });
  f.note = "no spec: alpha = " + format_number(alpha) + " <= 1 gives an infinite mean";
  return f;
}

DelayFit fit_lognormal(std::span<const double> values) {
  const std::vector<double> x = sorted_copy(values);
  if (!(x.front() > 0)) return unavailable("lognormal", 2, "needs every value > 0 (a value is 0)");
  const double n = static_cast<double>(x.size());
  double mu = 0;
  for (double v : x) mu += std::log(v);
  const double sum_log = mu;
  mu /= n;
  double ss = 0;
  for (double v : x) ss += (std::log(v) - mu) * (std::log(v) - mu);
  const double sigma = std::sqrt(ss / n);
  DelayFit f;
  f.family = "lognormal";
  f.num_params = 2;
  f.params = {{"median", std::exp(mu)}, {"sigma", sigma}};
  f.log_likelihood = -sum_log - n * std::log(sigma * std::sqrt(2.0 * std::numbers::pi)) - 0.5 * n;
  f.mean = std::exp(mu + 0.5 * sigma * sigma);
  return finish_fit(std::move(f), x,
                    "lognormal:median=" + precise_duration(std::exp(mu)) +
                        ",sigma=" + precise_number(sigma));
}

DelayFit fit_hyperexp(std::span<const double> values) {
  const std::vector<double> x = sorted_copy(values);
  const double xbar = mean_of(x);
  const double floor = 1e-9 * xbar;
  // Starts: the sample split at its 50%, 80% and 95% quantiles (fast phase = the values
  // below, slow = above), and an even split around the mean. EM climbs to a local maximum
  // from each; the best log-likelihood wins. Every start has mean1 < mean2, and EM keeps
  // that order in practice: phase 1 is the fast one.
  std::vector<HyperExp> starts = {{0.5, 0.5 * xbar, 1.5 * xbar}};
  for (double q : {0.5, 0.8, 0.95}) {
    const auto cut = static_cast<std::size_t>(q * static_cast<double>(x.size()));
    const std::span<const double> below(x.data(), cut), above(x.data() + cut, x.size() - cut);
    starts.push_back({q, std::max(mean_of(below), floor), std::max(mean_of(above), floor)});
  }
  HyperExp best{};
  double best_l = -kInf;
  for (const HyperExp& s : starts) {
    const HyperExp h = run_em(s, x, floor);
    const double l = hyperexp_log_likelihood(h, x);
    if (l > best_l) {
      best_l = l;
      best = h;
    }
  }
  DelayFit f;
  f.family = "hyperexp";
  f.num_params = 3;
  f.params = {{"p", best.p}, {"mean1", best.m1}, {"mean2", best.m2}};
  f.log_likelihood = best_l;
  f.mean = best.p * best.m1 + (1.0 - best.p) * best.m2;
  f.note = "EM, best of " + std::to_string(starts.size()) + " starts";
  return finish_fit(std::move(f), x,
                    "hyperexp:p=" + precise_number(best.p) + ",mean1=" + precise_duration(best.m1) +
                        ",mean2=" + precise_duration(best.m2));
}

DelayFit fit_family(const std::string& family, std::span<const double> values) {
  for (const FamilyFitter& f : kFitters)
    if (family == f.name) return f.fit(values);
  ::racesgd::detail::check_failed(__FILE__, __LINE__, "known family", family.c_str());
}

std::vector<DelayFit> fit_delay_families(std::span<const double> values) {
  std::vector<DelayFit> fits;
  for (const FamilyFitter& f : kFitters) fits.push_back(f.fit(values));
  // stable: equal AICs (the unavailable ones' +inf) keep the table's order
  std::stable_sort(fits.begin(), fits.end(),
                   [](const DelayFit& a, const DelayFit& b) { return a.aic < b.aic; });
  return fits;
}

DelayFit fit_hetero(const std::string& family, const std::vector<std::vector<double>>& per_learner) {
  RACESGD_CHECK(!per_learner.empty());
  const double P = static_cast<double>(per_learner.size());
  std::vector<double> scales;
  for (const auto& column : per_learner) scales.push_back(mean_of(column));
  const double average = std::accumulate(scales.begin(), scales.end(), 0.0) / P;
  for (double& c : scales) c /= average;

  std::vector<double> rescaled, pooled;
  double log_jacobian = 0;  // sum_w n_w ln scale_w: the density of scale * Y is f(x/scale)/scale
  for (std::size_t w = 0; w < per_learner.size(); ++w) {
    for (double v : per_learner[w]) rescaled.push_back(v / scales[w]);
    pooled.insert(pooled.end(), per_learner[w].begin(), per_learner[w].end());
    log_jacobian += static_cast<double>(per_learner[w].size()) * std::log(scales[w]);
  }
  const DelayFit inner = fit_family(family, rescaled);
  if (!inner.available) return unavailable("hetero", inner.num_params + per_learner.size() - 1,
                                            family + ": " + inner.note);
  DelayFit f;
  f.family = "hetero";
  f.num_params = inner.num_params + per_learner.size() - 1;  // the scales' average is fixed
  f.params = inner.params;
  for (std::size_t w = 0; w < scales.size(); ++w)
    f.params.push_back({"scale_" + std::to_string(w), scales[w]});
  f.log_likelihood = inner.log_likelihood - log_jacobian;
  f.mean = inner.mean;  // the scales average 1
  f.note = "scales of " + family + ", which is refitted to the rescaled values";
  if (inner.spec.empty()) return unavailable("hetero", f.num_params, family + ": " + inner.note);
  std::string spec = "hetero:" + quote_nested_spec(inner.spec) + ",scales=";
  for (std::size_t w = 0; w < scales.size(); ++w) spec += (w ? "," : "") + precise_number(scales[w]);
  std::sort(pooled.begin(), pooled.end());
  return finish_fit(std::move(f), pooled, spec, per_learner.size());
}

double ks_distance(std::span<const double> sorted, const std::function<double(double)>& cdf) {
  RACESGD_CHECK(!sorted.empty());
  const double n = static_cast<double>(sorted.size());
  double d = 0;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const double F = cdf(sorted[i]);
    d = std::max({d, static_cast<double>(i + 1) / n - F, F - static_cast<double>(i) / n});
  }
  return d;
}

double quantile_from_cdf(const std::function<double(double)>& cdf, double p) {
  RACESGD_CHECK(p > 0 && p < 1);
  double lo = 0, hi = 1e-6;
  while (cdf(hi) < p && hi < kMaxDelaySeconds) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1e-12 * hi) {
    const double mid = 0.5 * (lo + hi);
    if (cdf(mid) < p)
      lo = mid;
    else
      hi = mid;
  }
  return hi;
}

double sample_quantile(std::span<const double> sorted, double p) {
  RACESGD_CHECK(!sorted.empty() && p >= 0 && p <= 1);
  const double pos = p * static_cast<double>(sorted.size() - 1);
  const auto i = static_cast<std::size_t>(pos);
  if (i + 1 >= sorted.size()) return sorted.back();
  return sorted[i] + (pos - static_cast<double>(i)) * (sorted[i + 1] - sorted[i]);
}

DelaySummary summarize_delays(std::span<const double> values) {
  RACESGD_CHECK(!values.empty());
  const std::vector<double> x = sorted_copy(values);
  DelaySummary s;
  s.n = x.size();
  s.mean = mean_of(x);
  double ss = 0;
  for (double v : x) ss += (v - s.mean) * (v - s.mean);
  s.stddev = x.size() > 1 ? std::sqrt(ss / static_cast<double>(x.size() - 1)) : 0.0;
  s.min = x.front();
  s.max = x.back();
  for (double p : {0.05, 0.25, 0.5, 0.75, 0.95, 0.99}) s.quantiles.emplace_back(p, sample_quantile(x, p));
  return s;
}

}  // namespace racesgd
