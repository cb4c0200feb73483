#include "sgd/theory.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include "core/check.h"
#include "core/error.h"
#include "core/rng.h"
#include "sgd/variant.h"

namespace racesgd {
namespace {

using Family = DelayFacts::Family;

double log_choose(std::size_t n, std::size_t k) {
  return std::lgamma(static_cast<double>(n) + 1) - std::lgamma(static_cast<double>(k) + 1) -
         std::lgamma(static_cast<double>(n - k) + 1);
}

// P(X_{K:P} > t) = P(fewer than K of P are <= t), from F = P(X <= t) and G = P(X > t).
double survival_kth(double F, double G, std::size_t K, std::size_t P) {
  if (F <= 0 || G >= 1) return 1.0;
  if (G <= 0) return 0.0;
  // Take log F from whichever of F and G is known more precisely (F rounds to 1 far out in
  // a heavy tail, where G = P(X > t) still holds the information).
  const double lf = F > 0.5 ? std::log1p(-G) : std::log(F), l1f = std::log(G);
  double s = 0;
  for (std::size_t i = 0; i < K; ++i)
    s += std::exp(log_choose(P, i) + static_cast<double>(i) * lf + static_cast<double>(P - i) * l1f);
  return std::min(1.0, s);
}

double simpson(const std::function<double(double)>& f, double a, double b, double fa, double fm,
               double fb, double whole, double tol, int depth) {
  const double m = 0.5 * (a + b);
  const double lm = 0.5 * (a + m), rm = 0.5 * (m + b);
  const double flm = f(lm), frm = f(rm);
  const double left = (m - a) / 6 * (fa + 4 * flm + fm);
  const double right = (b - m) / 6 * (fm + 4 * frm + fb);
  const double diff = left + right - whole;
  // Stop at the tolerance, at the depth limit, or once the difference is rounding noise:
  // halving an absolute tolerance forever would otherwise recurse to the full depth on
  // every branch (2^depth evaluations; seen with Pareto tails).
  if (depth <= 0 || std::fabs(diff) <= 15 * tol ||
      std::fabs(diff) <= 1e-11 * std::fabs(left + right))
    return left + right + diff / 15;
  return simpson(f, a, m, fa, flm, fm, left, tol / 2, depth - 1) +
         simpson(f, m, b, fm, frm, fb, right, tol / 2, depth - 1);
}

double integrate(const std::function<double(double)>& f, double a, double b, double tol) {
  const double fa = f(a), fb = f(b), fm = f(0.5 * (a + b));
  const double whole = (b - a) / 6 * (fa + 4 * fm + fb);
  return simpson(f, a, b, fa, fm, fb, whole, tol, 32);
}

double mean_of(const DelayFacts& f) {
  if (f.mean_value) return *f.mean_value;
  return std::numeric_limits<double>::quiet_NaN();
}

Estimate never_estimate(std::string method, std::string why) {
  return Estimate{std::numeric_limits<double>::infinity(), 0, std::move(method), std::move(why)};
}

// Why one learner's delay law can leave it stuck for good, or "" when its facts say no.
std::string stuck_reason(const DelayFacts& f) {
  if (f.runs_out) return "learners stop finishing once the trace runs out (end=stop)";
  if (!f.p_never || !(*f.p_never > 0)) return "";
  if (*f.p_never >= 1) return "a learner never finishes a minibatch (X = +infinity)";
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "a minibatch never finishes with probability %g, so every learner is stuck "
                "eventually",
                *f.p_never);
  return buf;
}

// Why variant `v` stops updating for good under `delay`, or "" when the facts do not say
// so. Once every learner can draw +infinity, all of them are stuck at once sooner or later
// (each restart may draw it, and nothing cancels a learner while no update comes): every
// variant then makes finitely many updates, so its long-run E[T] is infinite. When only
// some learners can, only the variants whose every update waits for all P learners stop.
std::string never_reason(const DelayModel& delay, const Variant& v, std::size_t P) {
  const DelayFacts f = delay.facts();
  if (f.homogeneous) return stuck_reason(f);
  std::size_t stuck = 0;
  std::string first;
  for (std::size_t w = 0; w < P; ++w) {
    const std::string why = stuck_reason(delay.learner_facts(w));
    if (why.empty()) continue;
    if (stuck++ == 0) first = "learner " + std::to_string(w) + ": " + why;
  }
  if (stuck == P) return first;
  const bool waits_for_all =
      v.K == P && (v.kind == VariantKind::kKSync || v.kind == VariantKind::kKAsync);
  if (stuck > 0 && waits_for_all) return first + ", and every update waits for all P learners";
  return "";
}

// The variant the theory predicts: the options' staleness threshold applies to the async
// family only (the sync family never applies a stale gradient).
Variant theory_variant(const std::string& name, std::size_t P, std::size_t K,
                       const TheoryOptions& o) {
  const Variant v = make_variant(name, P, K);
  return v.is_sync_family() ? v : make_variant(name, P, K, o.max_staleness);
}

// The engine's timing-only run; a RunError when the options carry no engine.
TimingRun timing_run(DelayModel& delay, const Variant& v, std::uint64_t seed,
                     std::uint64_t updates, std::uint64_t every, const TheoryOptions& o) {
  if (!o.engine)
    throw RunError("theory: " + v.name + " needs a timing engine (TheoryOptions::engine) for a "
                   "Monte Carlo estimate or a measurement");
  return o.engine(delay, v, seed, updates, every);
}

}  // namespace

double harmonic(std::size_t n) {
  double h = 0;
  for (std::size_t i = 1; i <= n; ++i) h += 1.0 / static_cast<double>(i);
  return h;
}

double expected_order_statistic(const std::function<double(double)>& cdf, std::size_t K,
                                std::size_t P, double scale,
                                const std::function<double(double)>& sf) {
  RACESGD_CHECK(K >= 1 && K <= P);
  RACESGD_CHECK(scale > 0 && std::isfinite(scale));
  auto S = [&](double t) {
    const double F = cdf(t);
    return survival_kth(F, sf ? sf(t) : 1.0 - F, K, P);
  };
  // Geometric grid [0, s 2^-40], [s 2^(k-1), s 2^k]: resolves both tiny and huge values;
  // adaptive Simpson inside each cell handles kinks and steps.
  const double tol = 1e-14 * scale;
  double total = integrate(S, 0.0, scale * std::ldexp(1.0, -40), tol);
  for (int k = -39; k <= 600; ++k) {
    const double a = scale * std::ldexp(1.0, k - 1), b = scale * std::ldexp(1.0, k);
    const double piece = integrate(S, a, b, tol);
    total += piece;
    // What lies beyond b is about b S(b) / (alpha - 1) for a power-law tail: stop once
    // b S(b) is negligible, not merely S(b) (a Pareto tail with alpha near 1 is long).
    if (k > 2 && b * S(b) < 1e-12 * total) break;
  }
  return total;
}

Estimate monte_carlo_time_per_update(DelayModel& delay, const std::string& variant,
                                     std::size_t P, std::size_t K, const TheoryOptions& o) {
  constexpr int kRuns = 10;
  const Variant v = theory_variant(variant, P, K, o);
  const std::uint64_t per_run = std::max<std::uint64_t>(100, o.mc_updates / kRuns);
  double sum = 0, sum2 = 0;
  for (int r = 0; r < kRuns; ++r) {
    const std::uint64_t seed =
        derive_seed(o.seed, static_cast<std::uint64_t>(r), StreamPurpose::kOther);
    const TimingRun res = timing_run(delay, v, seed, per_run, 0, o);
    if (!res.stalled.empty()) return never_estimate("Monte Carlo", res.stalled);
    const double t = res.mean_update_interval_s();
    sum += t;
    sum2 += t * t;
  }
  const double mean = sum / kRuns;
  const double var = std::max(0.0, (sum2 - kRuns * mean * mean) / (kRuns - 1));
  return Estimate{mean, std::sqrt(var / kRuns), "Monte Carlo", ""};
}

std::uint64_t measurement_seed(const TheoryOptions& o) {
  return derive_seed(o.seed, 0, StreamPurpose::kMeasurement);
}

Estimate measure_time_per_update(DelayModel& delay, const std::string& variant, std::size_t P,
                                 std::size_t K, const TheoryOptions& o) {
  constexpr std::uint64_t kBatches = 10;
  const std::uint64_t per_batch = std::max<std::uint64_t>(100, o.mc_updates / kBatches);
  const TimingRun res = timing_run(delay, theory_variant(variant, P, K, o), measurement_seed(o),
                                   per_batch * kBatches, per_batch, o);
  if (!res.stalled.empty()) return never_estimate("virtual clock", res.stalled);
  // Batch means over the run's 10 stretches of per_batch updates: consecutive updates are
  // correlated, batches of >= 100 nearly not, so their spread gives the standard error.
  std::vector<double> means;
  double prev_t = 0;
  std::uint64_t prev_u = 0;
  for (const auto& [time_s, updates] : res.ticks) {
    if (updates <= prev_u || updates % per_batch != 0) continue;
    means.push_back((time_s - prev_t) / static_cast<double>(updates - prev_u));
    prev_t = time_s;
    prev_u = updates;
  }
  double se = 0;
  if (means.size() > 1) {
    double m = 0, ss = 0;
    for (double x : means) m += x;
    m /= static_cast<double>(means.size());
    for (double x : means) ss += (x - m) * (x - m);
    const double n = static_cast<double>(means.size());
    se = std::sqrt(ss / (n - 1) / n);
  }
  return Estimate{res.mean_update_interval_s(), se, "virtual clock", ""};
}

Estimate predict_time_per_update(DelayModel& delay, const std::string& variant, std::size_t P,
                                 std::size_t K, const TheoryOptions& o) {
  const Variant v = theory_variant(variant, P, K, o);
  K = v.K;
  const DelayFacts f = delay.facts();
  const std::string never = never_reason(delay, v, P);
  if (!never.empty()) return never_estimate("delay facts", never);
  // The closed forms and renewal theory assume no work is discarded; a threshold discards.
  if (o.force_monte_carlo || v.cutoff.enabled())
    return monte_carlo_time_per_update(delay, variant, P, K, o);
  const double hk = harmonic(P) - harmonic(P - K);

  if (f.homogeneous && f.family == Family::kExp) {
    const double m = f.mean;
    switch (v.kind) {
      case VariantKind::kKSync:
      case VariantKind::kKAsync:  // memoryless: K-async's order statistics restart fresh
        return {hk * m, 0, "closed form", ""};
      case VariantKind::kKBatchSync:
      case VariantKind::kKBatchAsync:
        return {static_cast<double>(K) * m / static_cast<double>(P), 0, "closed form", ""};
      case VariantKind::kSsp:
        break;  // S = 0 below; S > 0 by Monte Carlo
    }
  }
  // SSP with S = 0: every round waits for the slowest of P and applies P updates, so
  // E[T] = E[X_{P:P}] / P (paper.md); S > 0 has no closed form (Monte Carlo; S -> infinity
  // tends to async's E[T]).
  if (v.is_ssp() && v.staleness_bound == 0 && f.homogeneous) {
    const double P_ = static_cast<double>(P);
    if (f.family == Family::kExp) return {harmonic(P) * f.mean / P_, 0, "closed form", ""};
    if (f.family == Family::kShiftedExp)
      return {(f.shift + harmonic(P) * f.mean) / P_, 0, "closed form", ""};
    if (f.cdf) {
      double scale = mean_of(f);
      if (!(scale > 0) || !std::isfinite(scale)) scale = f.family == Family::kPareto ? f.scale : 1e-3;
      return {expected_order_statistic(f.cdf, P, P, scale, f.sf) / P_, 0, "numerical integration", ""};
    }
  }
  if (f.homogeneous && f.family == Family::kShiftedExp) {
    const double s = f.shift, m = f.mean;
    if (v.kind == VariantKind::kKSync) return {s + hk * m, 0, "closed form", ""};
    if (v.kind == VariantKind::kKBatchAsync || (v.kind == VariantKind::kKAsync && K == 1))
      return {static_cast<double>(K) * (s + m) / static_cast<double>(P), 0, "closed form", ""};
  }
  // Renewal theory: in the long run learner i completes 1/E[X_i] minibatches per second and
  // no work is ever discarded, so K-batch-async (and async) updates every K / sum_i 1/E[X_i].
  if (v.kind == VariantKind::kKBatchAsync || (v.kind == VariantKind::kKAsync && K == 1)) {
    double rate = 0;
    bool ok = true;
    for (std::size_t w = 0; w < P && ok; ++w) {
      const double m = mean_of(f.homogeneous ? f : delay.learner_facts(w));
      ok = std::isfinite(m) && m > 0;
      rate += 1.0 / m;
    }
    if (ok) return {static_cast<double>(K) / rate, 0, "renewal theory", ""};
  }
  // K-sync: E[X_{K:P}] by numerical integration of the order-statistic formula.
  if (v.kind == VariantKind::kKSync && f.homogeneous && f.cdf) {
    double scale = mean_of(f);
    if (!(scale > 0) || !std::isfinite(scale)) scale = f.family == Family::kPareto ? f.scale : 1e-3;
    return {expected_order_statistic(f.cdf, K, P, scale, f.sf), 0, "numerical integration", ""};
  }
  return monte_carlo_time_per_update(delay, variant, P, K, o);
}

std::optional<double> speedup(const Estimate& sync, const Estimate& variant) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (!sync.finite() && !variant.finite()) return std::nullopt;  // neither updates
  if (!sync.finite()) return kInf;
  if (!variant.finite()) return 0.0;
  if (variant.value > 0) return sync.value / variant.value;
  return sync.value > 0 ? std::optional<double>(kInf) : std::nullopt;  // 0 / 0: no delay
}

std::vector<TheoryRow> predict(DelayModel& delay, const TheoryOptions& o) {
  const DelayFacts f = delay.facts();
  const Estimate sync = predict_time_per_update(delay, "sync", o.P, o.P, o);
  std::vector<TheoryRow> rows;
  for (const std::string& name : o.variants) {
    const Variant v = theory_variant(name, o.P, o.K, o);
    TheoryRow row;
    row.variant = name;
    row.K = v.K;
    row.time_per_update =
        name == "sync" ? sync : predict_time_per_update(delay, name, o.P, o.K, o);
    row.speedup_vs_sync = speedup(sync, row.time_per_update);
    const double P = static_cast<double>(o.P), K = static_cast<double>(v.K);
    switch (v.kind) {
      case VariantKind::kKSync:
      case VariantKind::kKBatchSync:
        row.staleness = 0.0;
        row.p0 = 1.0;
        break;
      case VariantKind::kKAsync:
        row.staleness = (P - K) / K;
        if (f.homogeneous && f.family == Family::kExp) row.p0 = K / P;
        break;
      case VariantKind::kKBatchAsync:
        row.staleness = (P - 1) / K;
        if (f.homogeneous && f.family == Family::kExp && v.K == 1) row.p0 = 1 / P;
        break;
      case VariantKind::kSsp:
        // The staleness depends on the arrival order within the bound: no closed form here
        // (measure it: train --variant ssp --clock virtual --timing-only).
        break;
    }
    if (!row.time_per_update.finite()) {  // no steady state: updates stop
      row.staleness.reset();
      row.p0.reset();
      rows.push_back(std::move(row));
      continue;
    }
    if (v.kind == VariantKind::kKAsync && v.K > 1 && f.family == Family::kHyperExp)
      row.note = "hyperexponential delays are not new-longer-than-used: K-async may be slower than K-sync";
    if (v.kind == VariantKind::kKAsync && v.K > 1 && f.family == Family::kShiftedExp)
      row.note = "bounds: K E[X]/P <= E[T] <= E[X_{K:P}]";
    if (v.kind == VariantKind::kKBatchSync && f.family != Family::kExp)
      row.note = "bound: E[T] <= E[X_{K:P}]";
    if (v.cutoff.enabled()) {  // staleness below R, but no formula says where; nor the bounds
      row.staleness.reset();
      row.p0.reset();
      row.note = "max-staleness " + std::to_string(v.cutoff.R) +
                 ": staleness below it, not modelled (train --clock virtual --timing-only measures it)";
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace racesgd
