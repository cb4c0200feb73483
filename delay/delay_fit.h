// Maximum-likelihood fits of the built-in delay families to measured minibatch times: the
// math behind `racesgd fit` (docs/fit.md). Pure functions from a sample (seconds) to fits;
// each fit carries its log-likelihood, AIC, Kolmogorov-Smirnov distance and a canonical spec
// string that make_delay_model accepts.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace racesgd {

/// Fewer values than this cannot tell the families apart: check_fit_sample rejects them.
inline constexpr std::size_t kMinFitValues = 20;

/// Throws InputError naming `where` (e.g. "--trace 'times.csv' column 'a'") when `values`
/// has fewer than kMinFitValues values, a negative or non-finite one, or only one distinct
/// value (a constant: nothing to fit, const:value=X says it).
void check_fit_sample(std::span<const double> values, const std::string& where);

struct FitParam {
  std::string name;  // the spec key: "mean", "alpha"
  double value;      // seconds for durations, else dimensionless
};

/// One family fitted to one sample.
struct DelayFit {
  std::string family;            // the spec name: "exp", "shifted-exp", ..., "hetero"
  std::vector<FitParam> params;  // in spec order; hetero: the inner law's, then scale_<w>
  std::size_t num_params = 0;    // k in AIC = 2k - 2 log L
  bool available = false;        // false: the family cannot describe the sample (`note`)
  double log_likelihood = 0;     // at `params`, densities in 1/seconds
  double aic = 0;
  double ks = 0;                 // sup |F_n - F| against the spec's cdf
  double mean = 0;               // E[X] of the fitted law (+inf when infinite)
  std::string spec;              // canonical; "" when no delay model has these parameters
  std::string note;              // why unavailable or why no spec; estimator remarks
};

/// X ~ Exp(mean): mean = the sample mean.
DelayFit fit_exp(std::span<const double> values);
/// X = shift + Exp(mean): the unbiased (UMVU) pair shift = min - (mean_x - min)/(n - 1),
/// mean = mean_x - shift, with shift clamped at 0; the plain MLE (shift = min) sits a
/// mean/n too high on average.
DelayFit fit_shifted_exp(std::span<const double> values);
/// X ~ U[min, max]: the sample's extremes (the MLE).
DelayFit fit_uniform(std::span<const double> values);
/// P(X > x) = (scale/x)^alpha: scale = min, alpha = n / sum ln(x_i / scale). Unavailable
/// with a zero value; no spec when alpha <= 1 (infinite mean).
DelayFit fit_pareto(std::span<const double> values);
/// ln X ~ Normal(ln median, sigma^2): the mean and (1/n) standard deviation of ln x.
/// Unavailable with a zero value.
DelayFit fit_lognormal(std::span<const double> values);
/// Exp(mean1) with prob p, else Exp(mean2), by EM from several starts (docs/fit.md); the
/// best log-likelihood wins. Phase 1 starts as the fast one (mean1 < mean2).
DelayFit fit_hyperexp(std::span<const double> values);

/// Every family above, ranked by AIC (smallest first; unavailable fits last).
std::vector<DelayFit> fit_delay_families(std::span<const double> values);

/// The fit of family `family` (a name above) to `values`.
DelayFit fit_family(const std::string& family, std::span<const double> values);

/// Per-learner scales on `family`: learner w's X = scale_w * Y with Y from `family`.
/// scale_w = learner w's mean over the average of the learners' means (so the scales
/// average 1); Y is then fitted by maximum likelihood to every value divided by its
/// learner's scale. log L = log L(Y) - sum_w n_w ln scale_w; k = k(Y) + P - 1. The spec is
/// hetero:(inner),scales=... for P = per_learner.size() learners. Every column must pass
/// check_fit_sample.
DelayFit fit_hetero(const std::string& family, const std::vector<std::vector<double>>& per_learner);

/// Kolmogorov-Smirnov distance sup_x |F_n(x) - F(x)| between the empirical cdf of `sorted`
/// (ascending) and a continuous `cdf`: max over i of max(i/n - F(x_i), F(x_i) - (i-1)/n).
double ks_distance(std::span<const double> sorted, const std::function<double(double)>& cdf);

/// The smallest x >= 0 with cdf(x) >= p (0 < p < 1), by bisection to ~1e-12 relative.
double quantile_from_cdf(const std::function<double(double)>& cdf, double p);

/// The p-quantile of an ascending sample, interpolated between order statistics (the usual
/// "type 7": position p (n - 1)).
double sample_quantile(std::span<const double> sorted, double p);

/// n, mean, standard deviation and quantiles of a sample, for reports.
struct DelaySummary {
  std::size_t n = 0;
  double mean = 0, stddev = 0, min = 0, max = 0;
  std::vector<std::pair<double, double>> quantiles;  // (p, x_p): p = 0.05 .. 0.99
};
DelaySummary summarize_delays(std::span<const double> values);

}  // namespace racesgd
