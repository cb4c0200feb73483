#include "delay/delay_model.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "core/rng.h"

using racesgd::DelayContext;
using racesgd::DelayFacts;
using racesgd::DelayModel;
using racesgd::make_delay_model;
using racesgd::Rng;
using Family = DelayFacts::Family;

namespace {

DelayContext learners(std::size_t n) {
  DelayContext ctx;
  ctx.num_learners = n;
  return ctx;
}

struct Moments {
  double mean = 0, var = 0;
};

Moments sample_moments(DelayModel& m, std::size_t learner, std::uint64_t seed, int n,
                       std::vector<double>* keep = nullptr) {
  Rng rng(seed);
  double sum = 0, sum2 = 0;
  for (int i = 0; i < n; ++i) {
    const double x = m.sample(learner, rng);
    REQUIRE(x >= 0.0);
    sum += x;
    sum2 += x * x;
    if (keep) keep->push_back(x);
  }
  Moments r;
  r.mean = sum / n;
  r.var = sum2 / n - r.mean * r.mean;
  return r;
}

// Monte Carlo against the model's own facts (which the next test pins to the textbook
// formulas): the mean within 6 standard errors, the variance within `var_tol` (relative),
// and the empirical cdf within 0.01 of facts().cdf at the deciles of the sample.
void check_against_facts(const std::string& spec, double var_tol = 0.05) {
  INFO("spec: " << spec);
  auto m = make_delay_model(spec, learners(1));
  const DelayFacts f = m->facts();
  REQUIRE(f.mean_value.has_value());
  const int n = 200000;
  std::vector<double> xs;
  xs.reserve(n);
  const Moments mo = sample_moments(*m, 0, 12345, n, &xs);
  const double var = f.variance.value_or(0);
  CHECK(std::abs(mo.mean - *f.mean_value) <= 6 * std::sqrt(var / n) + 1e-12);
  if (f.variance) CHECK(mo.var == Approx(*f.variance).epsilon(var_tol).margin(1e-15));
  REQUIRE(f.cdf);
  std::sort(xs.begin(), xs.end());
  for (int d = 1; d <= 9; ++d) {
    const double q = xs[static_cast<std::size_t>(n) * d / 10];
    const double empirical =
        static_cast<double>(std::upper_bound(xs.begin(), xs.end(), q) - xs.begin()) / n;
    CHECK(f.cdf(q) == Approx(empirical).margin(0.01));  // also right at atoms (const parts)
  }
}

}  // namespace

TEST_CASE("delay: sample moments and cdf agree with facts for every built-in", "[delay]") {
  check_against_facts("uniform:min=1ms,max=3ms");
  check_against_facts("exp:mean=5ms");
  check_against_facts("shifted-exp:shift=2ms,mean=3ms");
  check_against_facts("lognormal:median=5ms,sigma=0.5");
  check_against_facts("hyperexp:p=0.5,mean1=1ms,mean2=20ms");
  check_against_facts("straggler:base=exp:mean=1ms,slow=exp:mean=20ms,p=0.1");
  check_against_facts("straggler:base=(uniform:min=1ms,max=2ms),slow=const:value=30ms,p=0.2");
  check_against_facts("hetero:(shifted-exp:shift=1ms,mean=2ms),scales=3");
}

TEST_CASE("delay: every built-in may be drawn ahead (its draws depend on its stream alone)", "[delay]") {
  for (const char* spec : {"none", "hang", "const:value=1ms", "uniform:min=1ms,max=3ms", "exp:mean=5ms",
                           "shifted-exp:shift=2ms,mean=3ms", "pareto:scale=1ms,alpha=2",
                           "lognormal:median=5ms,sigma=0.5", "hyperexp:p=0.5,mean1=1ms,mean2=20ms",
                           "straggler:base=exp:mean=1ms,slow=exp:mean=20ms,p=0.1",
                           "hetero:(shifted-exp:shift=1ms,mean=2ms),scales=3",
                           "faulty:base=exp:mean=1ms,learner=0,after=3"}) {
    INFO(spec);
    CHECK(make_delay_model(spec, learners(1))->may_draw_ahead());
  }
}

TEST_CASE("delay: pareto mean converges, cdf matches, infinite variance is not reported",
          "[delay]") {
  // alpha = 2.5: finite variance but infinite fourth moment, so only the mean and the
  // quantiles are checked, with a generous margin.
  auto m = make_delay_model("pareto:scale=1ms,alpha=2.5", learners(1));
  const DelayFacts f = m->facts();
  CHECK(f.family == Family::kPareto);
  CHECK(*f.mean_value == Approx(2.5e-3 / 1.5));
  REQUIRE(f.variance.has_value());
  CHECK(*f.variance == Approx(1e-6 * 2.5 / (1.5 * 1.5 * 0.5)));
  std::vector<double> xs;
  const Moments mo = sample_moments(*m, 0, 99, 400000, &xs);
  CHECK(mo.mean == Approx(*f.mean_value).epsilon(0.02));
  std::sort(xs.begin(), xs.end());
  CHECK(xs.front() >= 1e-3);
  for (int d = 1; d <= 9; ++d)
    CHECK(f.cdf(xs[xs.size() * d / 10]) == Approx(d / 10.0).margin(0.01));

  auto heavy = make_delay_model("pareto:scale=1ms,alpha=1.5", learners(1));
  CHECK(heavy->facts().mean_value.has_value());
  CHECK_FALSE(heavy->facts().variance.has_value());
}

TEST_CASE("delay: facts carry the family, closed-form parameters and textbook values", "[delay]") {
  const auto ctx = learners(1);
  {
    const DelayFacts f = make_delay_model("exp:mean=5ms", ctx)->facts();
    CHECK(f.family == Family::kExp);
    CHECK(f.mean == Approx(5e-3));
    CHECK(f.cdf(5e-3) == Approx(1 - std::exp(-1.0)));
    CHECK(*f.mean_value == Approx(5e-3));
    CHECK(*f.variance == Approx(25e-6));
    CHECK(f.homogeneous);
  }
  {
    const DelayFacts f = make_delay_model("shifted-exp:shift=2ms,mean=3ms", ctx)->facts();
    CHECK(f.family == Family::kShiftedExp);
    CHECK(f.shift == Approx(2e-3));
    CHECK(f.mean == Approx(3e-3));  // the exponential part only, as in paper.md
    CHECK(*f.mean_value == Approx(5e-3));
    CHECK(f.cdf(2e-3) == 0.0);
    CHECK(f.cdf(5e-3) == Approx(1 - std::exp(-1.0)));
  }
  {
    const DelayFacts f = make_delay_model("none", ctx)->facts();
    CHECK(f.family == Family::kNone);
    CHECK(*f.mean_value == 0.0);
  }
  {
    const DelayFacts f = make_delay_model("const:value=5ms", ctx)->facts();
    CHECK(f.family == Family::kConst);
    CHECK(f.value == Approx(5e-3));
    CHECK(f.cdf(4.9e-3) == 0.0);
    CHECK(f.cdf(5e-3) == 1.0);
  }
  {
    const DelayFacts f = make_delay_model("uniform:min=1ms,max=3ms", ctx)->facts();
    CHECK(f.family == Family::kUniform);
    CHECK(f.min == Approx(1e-3));
    CHECK(f.max == Approx(3e-3));
    CHECK(f.cdf(2e-3) == Approx(0.5));
    CHECK(*f.variance == Approx(4e-6 / 12));
  }
  {
    const DelayFacts f = make_delay_model("lognormal:median=5ms,sigma=0.5", ctx)->facts();
    CHECK(f.family == Family::kLogNormal);
    CHECK(f.cdf(5e-3) == Approx(0.5));
    CHECK(*f.mean_value == Approx(5e-3 * std::exp(0.125)));
  }
  {
    const DelayFacts f = make_delay_model("hyperexp:p=0.25,mean1=1ms,mean2=20ms", ctx)->facts();
    CHECK(f.family == Family::kHyperExp);
    CHECK(f.p == 0.25);
    CHECK(*f.mean_value == Approx(0.25e-3 + 15e-3));
  }
  {
    // Two exponentials mixed by the straggler model are a hyperexponential (p = base's).
    const DelayFacts f =
        make_delay_model("straggler:base=exp:mean=1ms,slow=exp:mean=20ms,p=0.1", ctx)->facts();
    CHECK(f.family == Family::kHyperExp);
    CHECK(f.p == Approx(0.9));
    CHECK(f.mean1 == Approx(1e-3));
    CHECK(f.mean2 == Approx(20e-3));
  }
  {
    const DelayFacts f = make_delay_model("hang", ctx)->facts();
    CHECK(f.family == Family::kHang);
    CHECK_FALSE(f.mean_value.has_value());
    CHECK(f.cdf(1e9) == 0.0);
  }
}

TEST_CASE("delay: none, const and hang draw their constant", "[delay]") {
  Rng rng(1);
  CHECK(make_delay_model("none", learners(1))->sample(0, rng) == 0.0);
  CHECK(make_delay_model("const:value=250us", learners(1))->sample(0, rng) == Approx(250e-6));
  CHECK(std::isinf(make_delay_model("hang", learners(1))->sample(0, rng)));
}

TEST_CASE("delay: a seed fixes the sequence, other seeds change it", "[delay]") {
  for (const char* spec : {"exp:mean=5ms", "pareto:scale=1ms,alpha=2.5",
                           "straggler:base=exp:mean=1ms,slow=exp:mean=20ms,p=0.3",
                           "lognormal:median=5ms,sigma=0.5", "bursty:calm=1ms,burst=9ms"}) {
    INFO(spec);
    auto a = make_delay_model(spec, learners(1));
    auto b = make_delay_model(spec, learners(1));
    auto c = make_delay_model(spec, learners(1));
    Rng ra(7), rb(7), rc(8);
    int differ = 0;
    for (int i = 0; i < 1000; ++i) {
      const double x = a->sample(0, ra);
      CHECK(x == b->sample(0, rb));
      differ += x != c->sample(0, rc);
    }
    CHECK(differ > 900);
  }
}

TEST_CASE("delay: learners' draws are independent and do not disturb each other", "[delay]") {
  using racesgd::derive_seed;
  using racesgd::StreamPurpose;
  for (const char* spec : {"exp:mean=5ms", "straggler:base=exp:mean=1ms,slow=exp:mean=20ms,p=0.3",
                           "bursty:calm=1ms,burst=20ms,enter=0.1,leave=0.3"}) {
    INFO(spec);
    // Interleaved draws for learners 0 and 1 equal each learner's draws alone.
    auto shared = make_delay_model(spec, learners(2));
    auto alone0 = make_delay_model(spec, learners(2));
    auto alone1 = make_delay_model(spec, learners(2));
    Rng s0(derive_seed(5, 0, StreamPurpose::kDelays)),
        s1(derive_seed(5, 1, StreamPurpose::kDelays));
    Rng a0(derive_seed(5, 0, StreamPurpose::kDelays)),
        a1(derive_seed(5, 1, StreamPurpose::kDelays));
    const int n = 100000;
    std::vector<double> x0, x1;
    for (int i = 0; i < n; ++i) {
      x0.push_back(shared->sample(0, s0));
      x1.push_back(shared->sample(1, s1));
    }
    for (int i = 0; i < n; ++i) REQUIRE(alone0->sample(0, a0) == x0[i]);
    for (int i = 0; i < n; ++i) REQUIRE(alone1->sample(1, a1) == x1[i]);
    // Sample correlation between the two learners' sequences ~ N(0, 1/n): |r| < 6/sqrt(n).
    double m0 = 0, m1 = 0;
    for (int i = 0; i < n; ++i) m0 += x0[i], m1 += x1[i];
    m0 /= n, m1 /= n;
    double c = 0, v0 = 0, v1 = 0;
    for (int i = 0; i < n; ++i) {
      c += (x0[i] - m0) * (x1[i] - m1);
      v0 += (x0[i] - m0) * (x0[i] - m0);
      v1 += (x1[i] - m1) * (x1[i] - m1);
    }
    CHECK(std::abs(c / std::sqrt(v0 * v1)) < 6.0 / std::sqrt(n));
  }
}

TEST_CASE("delay: hetero scales each learner's draws", "[delay]") {
  auto m = make_delay_model("hetero:const:value=1ms,scales=1,2,0.5", learners(3));
  Rng rng(3);
  CHECK(m->sample(0, rng) == Approx(1e-3));
  CHECK(m->sample(1, rng) == Approx(2e-3));
  CHECK(m->sample(2, rng) == Approx(0.5e-3));

  auto e = make_delay_model("hetero:exp:mean=1ms,scales=1,4", learners(2));
  CHECK(sample_moments(*e, 0, 1, 100000).mean == Approx(1e-3).epsilon(0.03));
  CHECK(sample_moments(*e, 1, 2, 100000).mean == Approx(4e-3).epsilon(0.03));
  // Same stream, same underlying draw: learner 1's value is exactly 4x learner 0's.
  Rng r0(11), r1(11);
  CHECK(e->sample(1, r1) == Approx(4 * e->sample(0, r0)));

  const DelayFacts f = e->facts();
  CHECK_FALSE(f.homogeneous);
  CHECK(*f.mean_value == Approx(2.5e-3));  // pooled: a uniformly chosen learner
  CHECK(e->learner_facts(1).family == Family::kExp);
  CHECK(e->learner_facts(1).mean == Approx(4e-3));
  CHECK(e->learner_facts(1).cdf(4e-3) == Approx(1 - std::exp(-1.0)));

  const DelayFacts same =
      make_delay_model("hetero:(shifted-exp:shift=1ms,mean=2ms),scales=2,2", learners(2))->facts();
  CHECK(same.homogeneous);
  CHECK(same.family == Family::kShiftedExp);
  CHECK(same.shift == Approx(2e-3));
  CHECK(same.mean == Approx(4e-3));
}

TEST_CASE("delay: straggler draws from slow with probability p", "[delay]") {
  auto m =
      make_delay_model("straggler:base=const:value=1ms,slow=const:value=10ms,p=0.1", learners(1));
  Rng rng(17);
  const int n = 100000;
  int slow = 0;
  for (int i = 0; i < n; ++i) {
    const double x = m->sample(0, rng);
    REQUIRE((x == Approx(1e-3) || x == Approx(10e-3)));
    slow += x > 5e-3;
  }
  // sd of the fraction = sqrt(0.09 / n) ~ 0.00095
  CHECK(static_cast<double>(slow) / n == Approx(0.1).margin(0.006));
  CHECK(*m->facts().mean_value == Approx(1.9e-3));
  // Nested parenthesised specs with commas.
  auto q = make_delay_model(
      "straggler:base=(shifted-exp:shift=1ms,mean=2ms),slow=(uniform:min=1s,max=2s),p=0",
      learners(1));
  for (int i = 0; i < 1000; ++i) REQUIRE(q->sample(0, rng) < 1.0);
}

TEST_CASE("delay: spec() is canonical and round-trips", "[delay]") {
  const auto ctx = learners(2);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"none", "none"},
      {"hang", "hang"},
      {"const:value=0.005s", "const:value=5ms"},
      {"uniform:min=1ms,max=3ms", "uniform:min=1ms,max=3ms"},
      {"exp:mean=5000us", "exp:mean=5ms"},
      {"shifted-exp:mean=3ms,shift=2ms", "shifted-exp:shift=2ms,mean=3ms"},
      {"pareto:alpha=2.5,scale=1ms", "pareto:scale=1ms,alpha=2.5"},
      {"lognormal:median=5ms,sigma=0.5", "lognormal:median=5ms,sigma=0.5"},
      {"hyperexp:p=0.5,mean1=1ms,mean2=20ms", "hyperexp:p=0.5,mean1=1ms,mean2=20ms"},
      {"straggler:base=exp:mean=1ms,slow=(shifted-exp:shift=1ms,mean=2ms),p=0.1",
       "straggler:base=exp:mean=1ms,slow=(shifted-exp:shift=1ms,mean=2ms),p=0.1"},
      {"hetero:(shifted-exp:shift=1ms,mean=2ms),scales=1,4",
       "hetero:(shifted-exp:shift=1ms,mean=2ms),scales=1,4"},
      {"bursty:calm=1ms,burst=20ms", "bursty:calm=1ms,burst=20ms,enter=0.05,leave=0.3"},
  };
  for (const auto& [in, canonical] : cases) {
    INFO(in);
    const std::string s = make_delay_model(in, ctx)->spec();
    CHECK(s == canonical);
    CHECK(make_delay_model(s, ctx)->spec() == canonical);
  }
}

TEST_CASE("delay: the help list names every built-in, sorted", "[delay]") {
  const auto help = racesgd::delay_model_help();
  std::vector<std::string> names;
  for (const auto& [name, text] : help) {
    names.push_back(name);
    CHECK_FALSE(text.empty());
  }
  CHECK(std::is_sorted(names.begin(), names.end()));
  for (const char* builtin : {"none", "const", "uniform", "exp", "shifted-exp", "pareto",
                              "lognormal", "hyperexp", "straggler", "hetero", "trace", "hang"})
    CHECK(std::find(names.begin(), names.end(), builtin) != names.end());
}
