#include "sgd/theory.h"

#include <cmath>
#include <limits>

#include "core/check.h"
#include "core/rng.h"
#include "sgd/lr_schedule.h"
#include "sgd/variant.h"
#include "sgd/virtual_runtime.h"

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
  const std::uint64_t per_run = std::max<std::uint64_t>(100, o.mc_updates / kRuns);
  const auto lr = make_lr_schedule("constant", 1.0, "none");
  double sum = 0, sum2 = 0;
  for (int r = 0; r < kRuns; ++r) {
    RunInputs in;
    in.delay = &delay;
    in.lr = lr.get();
    in.settings.variant = make_variant(variant, P, K);
    in.settings.timing_only = true;
    in.settings.seed = derive_seed(o.seed, static_cast<std::uint64_t>(r), StreamPurpose::kOther);
    in.settings.stop.updates = per_run;
    const RunResult res = run_virtual(in);
    const double t = res.mean_update_interval_s();
    sum += t;
    sum2 += t * t;
  }
  const double mean = sum / kRuns;
  const double var = std::max(0.0, (sum2 - kRuns * mean * mean) / (kRuns - 1));
  return Estimate{mean, std::sqrt(var / kRuns), "Monte Carlo"};
}

Estimate predict_time_per_update(DelayModel& delay, const std::string& variant, std::size_t P,
                                 std::size_t K, const TheoryOptions& o) {
  const Variant v = make_variant(variant, P, K);
  K = v.K;
  const DelayFacts f = delay.facts();
  if (o.force_monte_carlo || f.family == Family::kHang)
    return monte_carlo_time_per_update(delay, variant, P, K, o);
  const double hk = harmonic(P) - harmonic(P - K);

  if (f.homogeneous && f.family == Family::kExp) {
    const double m = f.mean;
    switch (v.kind) {
      case VariantKind::kKSync:
      case VariantKind::kKAsync:  // memoryless: K-async's order statistics restart fresh
        return {hk * m, 0, "closed form"};
      case VariantKind::kKBatchSync:
      case VariantKind::kKBatchAsync:
        return {static_cast<double>(K) * m / static_cast<double>(P), 0, "closed form"};
    }
  }
  if (f.homogeneous && f.family == Family::kShiftedExp) {
    const double s = f.shift, m = f.mean;
    if (v.kind == VariantKind::kKSync) return {s + hk * m, 0, "closed form"};
    if (v.kind == VariantKind::kKBatchAsync || (v.kind == VariantKind::kKAsync && K == 1))
      return {static_cast<double>(K) * (s + m) / static_cast<double>(P), 0, "closed form"};
  }
  // Renewal theory: in the long run learner i completes 1/E[X_i] minibatches per second and
  // no work is ever discarded, so K-batch-async (and async) updates every K / sum_i 1/E[X_i].
  if (v.kind == VariantKind::kKBatchAsync || (v.kind == VariantKind::kKAsync && K == 1)) {
    double rate = 0;
    bool ok = true;
    for (std::size_t w = 0; w < P && ok; ++w) {
      const double m = mean_of(f.homogeneous ? f : delay.worker_facts(w));
      ok = std::isfinite(m) && m > 0;
      rate += 1.0 / m;
    }
    if (ok) return {static_cast<double>(K) / rate, 0, "renewal theory"};
  }
  // K-sync: E[X_{K:P}] by numerical integration of the order-statistic formula.
  if (v.kind == VariantKind::kKSync && f.homogeneous && f.cdf) {
    double scale = mean_of(f);
    if (!(scale > 0) || !std::isfinite(scale)) scale = f.family == Family::kPareto ? f.scale : 1e-3;
    return {expected_order_statistic(f.cdf, K, P, scale, f.sf), 0, "numerical integration"};
  }
  return monte_carlo_time_per_update(delay, variant, P, K, o);
}

std::vector<TheoryRow> predict(DelayModel& delay, const TheoryOptions& o) {
  const DelayFacts f = delay.facts();
  const Estimate sync = predict_time_per_update(delay, "sync", o.P, o.P, o);
  std::vector<TheoryRow> rows;
  for (const std::string& name : o.variants) {
    const Variant v = make_variant(name, o.P, o.K);
    TheoryRow row;
    row.variant = name;
    row.K = v.K;
    row.time_per_update =
        name == "sync" ? sync : predict_time_per_update(delay, name, o.P, o.K, o);
    row.speedup_vs_sync = sync.value / row.time_per_update.value;
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
    }
    if (v.kind == VariantKind::kKAsync && v.K > 1 && f.family == Family::kHyperExp)
      row.note = "hyperexponential delays are not new-longer-than-used: K-async may be slower than K-sync";
    if (v.kind == VariantKind::kKAsync && v.K > 1 && f.family == Family::kShiftedExp)
      row.note = "bounds: K E[X]/P <= E[T] <= E[X_{K:P}]";
    if (v.kind == VariantKind::kKBatchSync && f.family != Family::kExp)
      row.note = "bound: E[T] <= E[X_{K:P}]";
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace racesgd
