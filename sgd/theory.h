// Theory calculator: the expected time per update E[T] of each variant (paper.md), the
// expected staleness and p0, and the speed-up over sync -- by closed form where paper.md
// has one, by numerical integration of the order-statistic formula where the delay law's
// cdf is known, by renewal theory for the async family, and otherwise by Monte Carlo on
// the virtual clock (with a standard error). Each prediction says which method gave it.
// A delay under which learners get stuck for good (hang, straggler:...,slow=hang, a trace
// with end=stop) has E[T] = +infinity: the prediction says "never" and why, rather than a
// number. measure_time_per_update is the independent check of a prediction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "delay/delay_model.h"
#include "sgd/variant.h"

namespace racesgd {

/// H_n = 1 + 1/2 + ... + 1/n (H_0 = 0).
double harmonic(std::size_t n);

/// E[X_{K:P}] = integral_0^inf sum_{i<K} C(P,i) F(t)^i (1-F(t))^(P-i) dt for i.i.d. X with
/// cdf F, integrated adaptively over a geometric grid around `scale` (a typical value of X,
/// e.g. its mean). Accurate to ~1e-9 relative for smooth or step cdfs.
/// `sf` (P(X > t)), when given, is used for 1 - F: in a heavy tail 1 - cdf(t) is rounding
/// noise, which an adaptive integrator cannot converge on.
double expected_order_statistic(const std::function<double(double)>& cdf, std::size_t K,
                                std::size_t P, double scale,
                                const std::function<double(double)>& sf = {});

struct Estimate {
  double value = 0;      // seconds; +infinity when `never` is set
  double std_error = 0;  // 0 for exact methods
  std::string method;    // "closed form", "numerical integration", "renewal theory",
                         // "Monte Carlo", "delay facts" (never), "virtual clock" (measured)
  std::string never;     // non-empty: E[T] is infinite (updates stop), and why

  bool finite() const { return never.empty(); }
};

struct TheoryRow {
  std::string variant;
  std::size_t K = 1;
  Estimate time_per_update;          // E[T], seconds
  /// E[T_sync] / E[T]: +infinity when only sync never updates, 0 when only this variant
  /// never does, empty when neither updates (undefined).
  std::optional<double> speedup_vs_sync;
  std::optional<double> staleness;   // steady-state mean staleness
  std::optional<double> p0;          // fraction of fresh gradients, where known
  std::string note;
};

/// One timing-only run as the theory needs it: how many updates took how long.
struct TimingRun {
  std::uint64_t updates = 0;
  double last_update_time_s = 0;        // run clock at the last update
  std::string stalled;                  // non-empty: the run stalled for good, and why
  /// (run time, updates) at every `every`-th update, when the run was asked for them.
  std::vector<std::pair<double, std::uint64_t>> ticks;
  double mean_update_interval_s() const {
    return updates ? last_update_time_s / static_cast<double>(updates) : 0.0;
  }
};

/// Runs `variant` (its P, K and policies) for `updates` updates from `seed` with the
/// learners' delays drawn from `delay`, and records a tick every `every` updates (0: none).
/// Throws RunError when the run stops for any reason other than its update count or a stall.
using TimingEngine = std::function<TimingRun(DelayModel& delay, const Variant& variant,
                                             std::uint64_t seed, std::uint64_t updates,
                                             std::uint64_t every)>;

struct TheoryOptions {
  std::size_t P = 8;
  std::size_t K = 2;
  std::vector<std::string> variants = {"sync", "k-sync", "k-batch-sync", "async", "k-async",
                                       "k-batch-async"};
  std::uint64_t mc_updates = 200000;  // Monte Carlo budget per estimate (10 batches)
  std::uint64_t seed = 1;
  bool force_monte_carlo = false;     // measure every variant on the timing engine
  /// Ringmaster's R for the async family (0: none; the sync family never takes one): no
  /// closed form knows it, so those variants' E[T] comes from Monte Carlo.
  std::uint64_t max_staleness = 0;
  TimingEngine engine;                // Monte Carlo and measurements (required for those)
};

/// E[T_sync] / E[T] of two estimates: +infinity when only sync never updates (or E[T] is
/// 0 and E[T_sync] is not), 0 when only the variant never does, empty when it is undefined
/// (both never, or both 0 as with delay none).
std::optional<double> speedup(const Estimate& sync, const Estimate& variant);

/// Predicts every requested variant. `delay` is sampled for Monte Carlo estimates.
std::vector<TheoryRow> predict(DelayModel& delay, const TheoryOptions& options);

/// E[T] of one variant, and how it was obtained.
Estimate predict_time_per_update(DelayModel& delay, const std::string& variant, std::size_t P,
                                 std::size_t K, const TheoryOptions& options);

/// Mean time per update measured on the virtual clock in timing-only mode: 10 independent
/// runs (seeds derived from options.seed) of mc_updates/10 updates each; the standard
/// error is across the runs. A run that stalls (every learner's pending delay infinite)
/// gives an Estimate that is `never`. Throws RunError when a run stops otherwise (a
/// learner failed: the faulty model).
Estimate monte_carlo_time_per_update(DelayModel& delay, const std::string& variant,
                                     std::size_t P, std::size_t K, const TheoryOptions& options);

/// The seed measure_time_per_update runs with: derived from options.seed for a purpose no
/// Monte Carlo run uses, so a measurement never replays a prediction's draws.
std::uint64_t measurement_seed(const TheoryOptions& options);

/// What `theory --measure` reports: the mean time per update of ONE virtual-clock
/// timing-only run of options.mc_updates updates with measurement_seed(options) -- an
/// experiment like `train --clock virtual --timing-only`, independent of every prediction
/// (closed forms are checked by it; Monte Carlo predictions, from 10 short runs with other
/// seeds, agree with it only within their standard errors). std_error from 10 batch means
/// of the run. `never` when the run stalls; RunError when a learner fails.
Estimate measure_time_per_update(DelayModel& delay, const std::string& variant, std::size_t P,
                                 std::size_t K, const TheoryOptions& options);

}  // namespace racesgd
