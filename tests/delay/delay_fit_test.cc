#include "delay/delay_fit.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "delay/delay_model.h"

using racesgd::DelayContext;
using racesgd::DelayFit;
using racesgd::InputError;
using racesgd::make_delay_model;

namespace {

// n seeded draws of a delay spec (learner 0's stream).
std::vector<double> draws(const std::string& spec, std::size_t n, std::uint64_t seed) {
  const auto model = make_delay_model(spec, DelayContext{});
  racesgd::Rng rng(seed);
  std::vector<double> v(n);
  for (double& x : v) x = model->sample(0, rng);
  return v;
}

// 1ms, 2ms, ..., 20ms.
std::vector<double> one_to_twenty_ms() {
  std::vector<double> v;
  for (int i = 1; i <= 20; ++i) v.push_back(i * 1e-3);
  return v;
}

double param(const DelayFit& f, const std::string& name) {
  for (const auto& p : f.params)
    if (p.name == name) return p.value;
  FAIL("fit of " << f.family << " has no parameter " << name);
  return 0;
}

// The printed spec parses, and the model it builds has the fit's mean. The spec prints 6
// significant digits; a pareto mean alpha/(alpha - 1) magnifies alpha's rounding by
// 1/(alpha - 1) (x13 at the alpha = 1.08 a lognormal sample gets), hence 1e-4.
void check_spec_round_trip(const DelayFit& f, std::size_t learners = 1) {
  INFO(f.family << ": " << f.spec);
  REQUIRE_FALSE(f.spec.empty());
  DelayContext ctx;
  ctx.num_learners = learners;
  const auto model = make_delay_model(f.spec, ctx);
  CHECK(model->spec() == f.spec);
  REQUIRE(model->facts().mean_value.has_value());
  CHECK(*model->facts().mean_value == Approx(f.mean).epsilon(1e-4));
}

std::string error_of(const std::vector<double>& v) {
  try {
    racesgd::check_fit_sample(v, "--trace 't.csv'");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("fit bar: 5,000 shifted-exp draws give shift and mean within 3%, ranked first",
          "[delay][fit]") {
  const std::vector<double> x = draws("shifted-exp:shift=1ms,mean=2ms", 5000, 11);
  const DelayFit f = racesgd::fit_shifted_exp(x);
  CHECK(param(f, "shift") == Approx(1e-3).epsilon(0.03));
  CHECK(param(f, "mean") == Approx(2e-3).epsilon(0.03));
  const std::vector<DelayFit> ranked = racesgd::fit_delay_families(x);
  CHECK(ranked.front().family == "shifted-exp");
  for (const DelayFit& r : ranked)
    if (!r.spec.empty()) check_spec_round_trip(r);
}

TEST_CASE("fit bar: pareto and lognormal draws rank their own family first", "[delay][fit]") {
  SECTION("pareto") {
    const std::vector<DelayFit> r =
        racesgd::fit_delay_families(draws("pareto:scale=1ms,alpha=2.5", 5000, 12));
    CHECK(r.front().family == "pareto");
    CHECK(param(r.front(), "alpha") == Approx(2.5).epsilon(0.05));
    for (const DelayFit& f : r) check_spec_round_trip(f);
  }
  SECTION("lognormal") {
    const std::vector<DelayFit> r =
        racesgd::fit_delay_families(draws("lognormal:median=2ms,sigma=0.5", 5000, 13));
    CHECK(r.front().family == "lognormal");
    CHECK(param(r.front(), "sigma") == Approx(0.5).epsilon(0.05));
    for (const DelayFit& f : r)  // pareto's alpha comes out <= 1 here: no spec
      if (f.family != "pareto") check_spec_round_trip(f);
  }
  SECTION("exp: the shifted-exp's unbiased shift is near 0, so the extra parameter loses") {
    const std::vector<DelayFit> r = racesgd::fit_delay_families(draws("exp:mean=3ms", 5000, 14));
    CHECK(r.front().family == "exp");
  }
}

TEST_CASE("fit: each family's estimator on a sample with a known answer", "[delay][fit]") {
  const std::vector<double> x = one_to_twenty_ms();  // mean 10.5ms, min 1ms, max 20ms
  SECTION("exp: mean = sample mean") {
    const DelayFit f = racesgd::fit_exp(x);
    CHECK(param(f, "mean") == Approx(10.5e-3));
    CHECK(f.log_likelihood == Approx(-20 * (std::log(10.5e-3) + 1)));
    CHECK(f.aic == Approx(2 + 40 * (std::log(10.5e-3) + 1)));
    CHECK(f.spec == "exp:mean=10.5ms");
  }
  SECTION("shifted-exp: shift = min - (mean - min)/(n - 1), mean = sample mean - shift") {
    const DelayFit f = racesgd::fit_shifted_exp(x);
    CHECK(param(f, "shift") == Approx(0.5e-3));  // 1 - 9.5/19
    CHECK(param(f, "mean") == Approx(10e-3));
    CHECK(f.mean == Approx(10.5e-3));
    CHECK(f.spec == "shifted-exp:shift=500us,mean=10ms");
  }
  SECTION("uniform: the extremes") {
    const DelayFit f = racesgd::fit_uniform(x);
    CHECK(param(f, "min") == Approx(1e-3));
    CHECK(param(f, "max") == Approx(20e-3));
    CHECK(f.log_likelihood == Approx(-20 * std::log(19e-3)));
    CHECK(f.ks == Approx(1.0 / 20));  // F_n steps by 1/20 on the line through both ends
  }
  SECTION("pareto: scale = min, alpha = n / sum ln(x/min)") {
    std::vector<double> y(10, 1e-3);
    y.insert(y.end(), 10, std::exp(1.0) * 1e-3);  // sum ln(x/min) = 10
    const DelayFit f = racesgd::fit_pareto(y);
    CHECK(param(f, "scale") == Approx(1e-3));
    CHECK(param(f, "alpha") == Approx(2.0));
    CHECK(f.mean == Approx(2e-3));
    // n ln a + n a ln s - (a + 1) sum ln x, with sum ln x = 20 ln s + 10
    const double ls = std::log(1e-3);
    CHECK(f.log_likelihood == Approx(20 * std::log(2.0) + 40 * ls - 3 * (20 * ls + 10)));
  }
  SECTION("lognormal: mean and standard deviation of ln x") {
    std::vector<double> y(10, std::exp(1.0) * 1e-3);
    y.insert(y.end(), 10, std::exp(-1.0) * 1e-3);
    const DelayFit f = racesgd::fit_lognormal(y);
    CHECK(param(f, "median") == Approx(1e-3));
    CHECK(param(f, "sigma") == Approx(1.0));
    CHECK(f.mean == Approx(1e-3 * std::exp(0.5)));
  }
}

TEST_CASE("fit: hyperexp by EM recovers its phases and beats the true parameters' likelihood",
          "[delay][fit]") {
  const std::vector<double> x = draws("hyperexp:p=0.7,mean1=1ms,mean2=10ms", 5000, 15);
  const DelayFit f = racesgd::fit_hyperexp(x);
  CHECK(param(f, "p") == Approx(0.7).margin(0.05));
  CHECK(param(f, "mean1") == Approx(1e-3).epsilon(0.15));
  CHECK(param(f, "mean2") == Approx(10e-3).epsilon(0.1));
  double truth = 0;  // log-likelihood at the parameters that drew the sample
  for (double v : x) truth += std::log(0.7 * std::exp(-v / 1e-3) / 1e-3 + 0.3 * std::exp(-v / 10e-3) / 10e-3);
  CHECK(f.log_likelihood >= truth);
  CHECK(racesgd::fit_delay_families(x).front().family == "hyperexp");
  check_spec_round_trip(f);
}

TEST_CASE("fit: hyperexp's quantile starts escape the equal-phases point the mean start reaches",
          "[delay][fit]") {
  // Two tight clusters, 1 ms and 10 ms. EM from P = 0.5, M1 = mean/2, M2 = 1.5 mean drifts to
  // M1 = M2 (an exponential, log L 12604.5 on these draws); the start split at the median
  // finds the two phases (log L 12674.2).
  const std::vector<double> x = draws(
      "straggler:base=(uniform:min=1ms,max=1.1ms),slow=(uniform:min=10ms,max=10.1ms),p=0.5", 3000,
      5);
  const DelayFit f = racesgd::fit_hyperexp(x);
  CHECK(param(f, "mean2") > 3 * param(f, "mean1"));
  CHECK(f.log_likelihood > racesgd::fit_exp(x).log_likelihood + 50);
}

TEST_CASE("fit: Kolmogorov-Smirnov distance against a hand-computed value", "[delay][fit]") {
  // {1, 2, 3} against Exp(mean 2): F = 0.3935, 0.6321, 0.7769; the largest gap is F(1) - 0.
  const std::vector<double> x = {1, 2, 3};
  const double d =
      racesgd::ks_distance(x, [](double v) { return 1 - std::exp(-v / 2); });
  CHECK(d == Approx(1 - std::exp(-0.5)));
  // Against U[0, 4]: F = 1/4, 1/2, 3/4; gaps 1/4 at both ends.
  CHECK(racesgd::ks_distance(x, [](double v) { return v / 4; }) == Approx(0.25));
}

TEST_CASE("fit: quantiles of a cdf and the sample summary", "[delay][fit]") {
  const double q = racesgd::quantile_from_cdf([](double v) { return 1 - std::exp(-v / 2e-3); }, 0.5);
  CHECK(q == Approx(2e-3 * std::log(2.0)).epsilon(1e-9));
  const racesgd::DelaySummary s = racesgd::summarize_delays(one_to_twenty_ms());
  CHECK(s.n == 20);
  CHECK(s.mean == Approx(10.5e-3));
  CHECK(s.min == Approx(1e-3));
  CHECK(s.max == Approx(20e-3));
  REQUIRE(s.quantiles.size() == 6);
  CHECK(s.quantiles[2].first == 0.5);
  CHECK(s.quantiles[2].second == Approx(10.5e-3));
}

TEST_CASE("fit: a pareto fit with alpha <= 1 ranks but prints no spec", "[delay][fit]") {
  std::vector<double> y(10, 1e-3);
  y.insert(y.end(), 10, std::exp(2.0) * 1e-3);  // sum ln(x/min) = 20: alpha = 1
  const DelayFit f = racesgd::fit_pareto(y);
  CHECK(f.available);
  CHECK(f.spec.empty());
  CHECK(f.note.find("infinite mean") != std::string::npos);
  CHECK(std::isfinite(f.aic));
}

TEST_CASE("fit: a zero value makes pareto and lognormal unavailable, ranked last",
          "[delay][fit]") {
  std::vector<double> x = one_to_twenty_ms();
  x[3] = 0;
  const std::vector<DelayFit> r = racesgd::fit_delay_families(x);
  REQUIRE(r.size() == 6);
  for (std::size_t i : {4u, 5u}) {
    CHECK_FALSE(r[i].available);
    CHECK(r[i].note.find("> 0") != std::string::npos);
  }
  CHECK((r[4].family == "pareto" || r[4].family == "lognormal"));
  for (std::size_t i = 0; i < 4; ++i) check_spec_round_trip(r[i]);
}

TEST_CASE("fit: per-learner scales on a family (hetero)", "[delay][fit]") {
  // Learners 1, 2 and 4 times exp:mean=1ms.
  std::vector<std::vector<double>> cols;
  for (double c : {1.0, 2.0, 4.0}) {
    std::vector<double> v = draws("exp:mean=1ms", 3000, 20 + static_cast<std::uint64_t>(c));
    for (double& x : v) x *= c;
    cols.push_back(v);
  }
  const DelayFit h = racesgd::fit_hetero("exp", cols);
  REQUIRE(h.available);
  CHECK(param(h, "scale_0") == Approx(3.0 / 7).epsilon(0.05));  // c_w / mean(c) = c_w * 3/7
  CHECK(param(h, "scale_2") == Approx(12.0 / 7).epsilon(0.05));
  CHECK(param(h, "mean") == Approx(7e-3 / 3).epsilon(0.05));
  CHECK(h.num_params == 3);
  check_spec_round_trip(h, 3);
  std::vector<double> pooled;
  for (const auto& c : cols) pooled.insert(pooled.end(), c.begin(), c.end());
  CHECK(h.aic < racesgd::fit_exp(pooled).aic);  // the scales are worth their parameters
  // The spec needs one scale per learner.
  DelayContext two;
  two.num_learners = 2;
  CHECK_THROWS_AS(make_delay_model(h.spec, two), InputError);
}

TEST_CASE("fit: samples that cannot be fitted are InputErrors naming the input",
          "[delay][fit][errors]") {
  std::vector<double> v = one_to_twenty_ms();
  CHECK(error_of(v) == "(accepted)");
  v.pop_back();
  CHECK(error_of(v) == "--trace 't.csv': 19 values; a fit needs at least 20");
  v.push_back(-1e-3);
  CHECK(error_of(v).find("value 20 (-0.001) is not a finite delay >= 0") != std::string::npos);
  CHECK(error_of(std::vector<double>(30, 2e-3)).find("all 30 values are 2ms: a constant (const:value=2ms)") !=
        std::string::npos);
}
