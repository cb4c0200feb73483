#include "sgd/theory.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <utility>

#include "sgd/lr_schedule.h"
#include "runtime/timing_engine.h"
#include "runtime/virtual_runtime.h"
#include "delay/delay_model.h"

using namespace racesgd;

namespace {
std::unique_ptr<DelayModel> delay(const std::string& spec, std::size_t P) {
  DelayContext ctx;
  ctx.num_learners = P;
  return make_delay_model(spec, ctx);
}

// Options with the virtual timing engine for P = 8, K = 2 and a Monte Carlo budget.
TheoryOptions engine_options(std::uint64_t mc_updates) {
  TheoryOptions o;
  o.engine = virtual_timing_engine();
  o.P = 8;
  o.K = 2;
  o.mc_updates = mc_updates;
  return o;
}

}  // namespace

TEST_CASE("harmonic numbers and paper.md's worked numbers", "[theory]") {
  CHECK(harmonic(0) == 0.0);
  CHECK(harmonic(8) == Approx(2.717857142857));
  // K-sync, P = 8, X ~ Exp(1): paper.md lists E[X_{K:8}] for K = 1..8.
  const double expected[] = {0.12500, 0.26786, 0.43452, 0.63452, 0.88452, 1.21786, 1.71786, 2.71786};
  for (std::size_t K = 1; K <= 8; ++K)
    CHECK(harmonic(8) - harmonic(8 - K) == Approx(expected[K - 1]).margin(5e-6));
  CHECK(8 * harmonic(8) == Approx(21.74).margin(0.005));
  CHECK(20 * harmonic(20) == Approx(71.95).margin(0.005));
}

TEST_CASE("numerical order statistics agree with the closed forms to 1e-6", "[theory]") {
  const double mu = 2.0;  // rate
  auto exp_cdf = [mu](double t) { return t <= 0 ? 0.0 : -std::expm1(-mu * t); };
  for (std::size_t P : {1u, 2u, 8u, 20u, 32u})
    for (std::size_t K = 1; K <= P; K += (P > 8 ? 5 : 1)) {
      const double exact = (harmonic(P) - harmonic(P - K)) / mu;
      CHECK(expected_order_statistic(exp_cdf, K, P, 1 / mu) == Approx(exact).epsilon(1e-6));
    }
  const double shift = 0.7;
  auto sexp_cdf = [&](double t) { return t <= shift ? 0.0 : -std::expm1(-mu * (t - shift)); };
  for (std::size_t K : {1u, 4u, 8u})
    CHECK(expected_order_statistic(sexp_cdf, K, 8, shift + 1 / mu) ==
          Approx(shift + (harmonic(8) - harmonic(8 - K)) / mu).epsilon(1e-6));
  // Pareto: E[X_{P:P}] = s Gamma(P+1) Gamma(1-1/a) / Gamma(P+1-1/a); a heavy tail (a = 1.1)
  // needs the survival function and a long integration range.
  for (double a : {1.1, 1.5, 2.5}) {
    auto cdf = [a](double t) { return t <= 1e-3 ? 0.0 : 1.0 - std::pow(1e-3 / t, a); };
    auto sf = [a](double t) { return t <= 1e-3 ? 1.0 : std::pow(1e-3 / t, a); };
    const double exact = 1e-3 * std::tgamma(17.0) * std::tgamma(1 - 1 / a) / std::tgamma(17 - 1 / a);
    CHECK(expected_order_statistic(cdf, 16, 16, 1e-3, sf) == Approx(exact).epsilon(1e-6));
  }
  // A constant: every order statistic is the constant (a step cdf).
  auto const_cdf = [](double t) { return t >= 0.003 ? 1.0 : 0.0; };
  CHECK(expected_order_statistic(const_cdf, 3, 8, 0.003) == Approx(0.003).epsilon(1e-6));
}

TEST_CASE("predictions say how they were obtained", "[theory]") {
  auto d = delay("exp:mean=1ms", 8);
  TheoryOptions o;
  o.engine = virtual_timing_engine();
  o.P = 8;
  o.K = 2;
  o.mc_updates = 20000;
  const auto rows = predict(*d, o);
  REQUIRE(rows.size() == 6);
  CHECK(rows[0].variant == "sync");
  CHECK(rows[0].time_per_update.value == Approx(harmonic(8) * 1e-3));
  CHECK(rows[0].time_per_update.method == "closed form");
  CHECK(rows[3].variant == "async");
  CHECK(rows[3].speedup_vs_sync == Approx(8 * harmonic(8)));
  CHECK(*rows[3].staleness == Approx(7.0));
  CHECK(*rows[3].p0 == Approx(1.0 / 8));
  CHECK(*rows[4].p0 == Approx(2.0 / 8));

  auto p = delay("pareto:scale=1ms,alpha=2.5", 8);
  CHECK(predict_time_per_update(*p, "sync", 8, 8, o).method == "numerical integration");
  CHECK(predict_time_per_update(*p, "async", 8, 1, o).method == "renewal theory");
  CHECK(predict_time_per_update(*p, "async", 8, 1, o).value == Approx(2.5 / 1.5 * 1e-3 / 8));
  const Estimate mc = predict_time_per_update(*p, "k-async", 8, 2, o);
  CHECK(mc.method == "Monte Carlo");
  CHECK(mc.std_error > 0);
}

TEST_CASE("max-staleness: the async family by Monte Carlo with the threshold, sync as before",
          "[theory][ringmaster]") {
  TheoryOptions o = engine_options(40000);
  o.max_staleness = 1;
  // R = 1 restarts every learner at every update: async then decides as K-sync with K = 1,
  // whose E[T] is E[X_{1:P}] = shift + mean / P; without the threshold async's E[T] is
  // (shift + mean) / P, 6.6x shorter here. So the engine must run the threshold.
  auto sexp = delay("shifted-exp:shift=4ms,mean=1ms", 8);
  const Estimate cut = predict_time_per_update(*sexp, "async", 8, 1, o);
  CHECK(cut.method == "Monte Carlo");
  CHECK(std::abs(cut.value - (4e-3 + 1e-3 / 8)) < 4 * cut.std_error + 1e-9);
  CHECK(measure_time_per_update(*sexp, "async", 8, 1, o).value == Approx(4.125e-3).epsilon(0.01));
  // Exponential delays are memoryless: a restarted learner finishes as soon as it would
  // have, so async's rate is unchanged by any threshold: E[T] = mean / P.
  o.max_staleness = 2;
  auto exp = delay("exp:mean=1ms", 8);
  const Estimate memoryless = predict_time_per_update(*exp, "async", 8, 1, o);
  CHECK(std::abs(memoryless.value - 1e-3 / 8) < 4 * memoryless.std_error);
  // The rows: the sync family keeps its closed forms; the async family says what it lacks.
  const auto rows = predict(*exp, o);
  REQUIRE(rows.size() == 6);
  CHECK(rows[0].time_per_update.method == "closed form");
  CHECK(*rows[0].staleness == 0.0);
  for (std::size_t i = 3; i < 6; ++i) {
    INFO(rows[i].variant);
    CHECK(rows[i].time_per_update.method == "Monte Carlo");
    CHECK_FALSE(rows[i].staleness);
    CHECK_THAT(rows[i].note, Catch::Contains("max-staleness 2"));
  }
}

// The virtual clock against paper.md's closed forms: 10^5 updates each, within 1%.
TEST_CASE("virtual timing-only runs match the closed forms within 1%", "[theory][virtual]") {
  TheoryOptions o;
  o.engine = virtual_timing_engine();
  o.mc_updates = 100000;
  struct Case {
    const char* spec;
    const char* variant;
    std::size_t K;
  };
  for (const Case& c : {Case{"exp:mean=1ms", "sync", 8}, Case{"exp:mean=1ms", "k-sync", 2},
                        Case{"exp:mean=1ms", "k-batch-sync", 2}, Case{"exp:mean=1ms", "async", 1},
                        Case{"exp:mean=1ms", "k-async", 2}, Case{"exp:mean=1ms", "k-async", 4},
                        Case{"exp:mean=1ms", "k-batch-async", 2},
                        Case{"shifted-exp:shift=1ms,mean=1ms", "sync", 8},
                        Case{"shifted-exp:shift=1ms,mean=1ms", "k-sync", 3},
                        Case{"shifted-exp:shift=1ms,mean=1ms", "async", 1},
                        Case{"shifted-exp:shift=1ms,mean=1ms", "k-batch-async", 4},
                        // SSP with S = 0: a barrier every round, P updates per E[X_{P:P}].
                        Case{"exp:mean=1ms", "ssp:S=0", 1},
                        Case{"shifted-exp:shift=1ms,mean=1ms", "ssp:S=0", 1}}) {
    auto d = delay(c.spec, 8);
    const Estimate theory = predict_time_per_update(*d, c.variant, 8, c.K, o);
    REQUIRE(theory.method == "closed form");
    const Estimate mc = monte_carlo_time_per_update(*d, c.variant, 8, c.K, o);
    INFO(c.spec << " " << c.variant << " K=" << c.K);
    CHECK(mc.value == Approx(theory.value).epsilon(0.01));
  }
}

// Staleness facts of paper.md on the virtual clock, within 1%. 4 x 10^5 updates: the
// standard error of p0 (a binomial fraction) is then ~0.4% of p0 = 1/8.
TEST_CASE("virtual staleness and p0 match paper.md within 1%", "[theory][virtual]") {
  const std::size_t P = 8;
  struct Case {
    const char* variant;
    std::size_t K;
    double staleness;
    double p0;  // < 0: no closed form
  };
  for (const Case& c : {Case{"async", 1, 7.0, 1.0 / 8}, Case{"k-async", 2, 3.0, 2.0 / 8},
                        Case{"k-async", 4, 1.0, 4.0 / 8}, Case{"k-batch-async", 2, 3.5, -1},
                        Case{"k-batch-async", 4, 1.75, -1}}) {
    auto d = delay("exp:mean=1ms", P);
    const auto lr = make_lr_schedule("constant", 1.0, "none");
    RunInputs in;
    in.delay = d.get();
    in.lr = lr.get();
    in.settings.variant = make_variant(c.variant, P, c.K);
    in.settings.timing_only = true;
    in.settings.stop.updates = 400000;
    const RunResult r = run_virtual(in);
    INFO(c.variant << " K=" << c.K);
    CHECK(r.staleness_mean == Approx(c.staleness).epsilon(0.01));
    if (c.p0 > 0) CHECK(r.p0 == Approx(c.p0).epsilon(0.01));
  }
}

namespace {
// Learner 0 never finishes; the others take 1 ms. Its facts say nothing (a plug-in that
// does not know), so only a virtual-clock run can tell that sync stalls.
class OneHangs final : public DelayModel {
 public:
  double sample(std::size_t learner, Rng&) override {
    return learner == 0 ? std::numeric_limits<double>::infinity() : 1e-3;
  }
  std::string spec() const override { return "one-hangs"; }
};

void check_all_never(DelayModel& d, const TheoryOptions& o, const std::string& why) {
  for (const TheoryRow& r : predict(d, o)) {
    INFO(r.variant);
    CHECK_FALSE(r.time_per_update.finite());
    CHECK(std::isinf(r.time_per_update.value));
    CHECK(r.time_per_update.never.find(why) != std::string::npos);
    CHECK_FALSE(r.speedup_vs_sync.has_value());  // infinite / infinite: undefined
    CHECK_FALSE(r.staleness.has_value());
  }
}
}  // namespace

TEST_CASE("delays that never finish predict 'never', not 0, NaN or 1e177 s", "[theory][never]") {
  TheoryOptions o;
  o.engine = virtual_timing_engine();
  o.P = 4;
  o.K = 2;
  o.mc_updates = 2000;
  check_all_never(*delay("hang", 4), o, "never finishes");
  check_all_never(*delay("straggler:base=exp:mean=1ms,slow=hang,p=0.1", 4), o,
                  "probability 0.1");
  check_all_never(*delay("hetero:hang,scales=1,2,3,4", 4), o, "never finishes");

  const std::string dir = std::filesystem::temp_directory_path().string();
  const std::string file = dir + "/racesgd_theory_stop_" + std::to_string(::getpid()) + ".csv";
  std::ofstream(file) << "1\n2\n3\n";
  check_all_never(*delay("trace:file=" + file + ",end=stop,unit=ms", 4), o, "end=stop");
  // end=cycle replays forever: finite.
  CHECK(predict_time_per_update(*delay("trace:file=" + file + ",unit=ms", 4), "sync", 4, 4, o)
            .finite());
  std::filesystem::remove(file);
}

TEST_CASE("a virtual-clock run that stalls is 'never', the others still predict", "[theory][never]") {
  TheoryOptions o;
  o.engine = virtual_timing_engine();
  o.mc_updates = 2000;
  OneHangs d;
  const Estimate sync = predict_time_per_update(d, "sync", 2, 2, o);
  CHECK_FALSE(sync.finite());
  CHECK(sync.method == "Monte Carlo");
  CHECK(sync.never.find("stalled") != std::string::npos);
  // 1-sync cancels learner 0 at every update: learner 1 alone updates every 1 ms.
  const Estimate k1 = predict_time_per_update(d, "k-sync", 2, 1, o);
  REQUIRE(k1.finite());
  CHECK(k1.value == Approx(1e-3));
  CHECK(*speedup(sync, k1) == std::numeric_limits<double>::infinity());
  CHECK(*speedup(k1, sync) == 0.0);
  CHECK_FALSE(measure_time_per_update(d, "sync", 2, 2, o).finite());
}

TEST_CASE("speed-ups are defined only where they mean something", "[theory]") {
  const Estimate never{std::numeric_limits<double>::infinity(), 0, "delay facts", "hang"};
  const Estimate zero{0, 0, "closed form", ""};
  const Estimate two{2, 0, "closed form", ""};
  const Estimate four{4, 0, "closed form", ""};
  CHECK(*speedup(four, two) == 2.0);
  CHECK_FALSE(speedup(never, never).has_value());
  CHECK_FALSE(speedup(zero, zero).has_value());  // delay none: 0 / 0
  CHECK(std::isinf(*speedup(two, zero)));
}

// theory --measure used to call the Monte Carlo predictor again with the same seed, so
// every Monte Carlo row showed meas/pred = 1.0000 exactly.
TEST_CASE("theory --measure is an independent run: close to the prediction, not equal to it",
          "[theory][virtual][measure]") {
  const TheoryOptions o = engine_options(20000);
  CHECK(measurement_seed(o) != o.seed);
  auto d = delay("shifted-exp:shift=1ms,mean=1ms", 8);
  for (const auto& [variant, K] : {std::pair<std::string, std::size_t>{"k-batch-sync", 2},
                                   std::pair<std::string, std::size_t>{"k-async", 2}}) {
    INFO(variant);
    const Estimate pred = predict_time_per_update(*d, variant, 8, K, o);
    REQUIRE(pred.method == "Monte Carlo");
    const Estimate meas = measure_time_per_update(*d, variant, 8, K, o);
    CHECK(meas.method == "virtual clock");
    CHECK(meas.value != pred.value);
    CHECK(meas.std_error > 0);
    const double se = std::sqrt(pred.std_error * pred.std_error + meas.std_error * meas.std_error);
    CHECK(std::fabs(meas.value - pred.value) < 6 * se);
  }
  // Against closed forms: within 2% (20000 updates).
  auto e = delay("exp:mean=1ms", 8);
  for (const auto& [variant, K] : {std::pair<std::string, std::size_t>{"sync", 8},
                                   std::pair<std::string, std::size_t>{"k-sync", 2},
                                   std::pair<std::string, std::size_t>{"async", 1}}) {
    INFO(variant);
    const Estimate pred = predict_time_per_update(*e, variant, 8, K, o);
    REQUIRE(pred.method == "closed form");
    CHECK(measure_time_per_update(*e, variant, 8, K, o).value == Approx(pred.value).epsilon(0.02));
  }
}
