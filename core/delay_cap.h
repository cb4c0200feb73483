// The delay cap: the longest minibatch time X (and the longest duration in a spec string)
// racesgd accepts, and the one clamp every delay draw goes through.
//
// Why 10^6 s (11.6 days): no straggler model means a minibatch longer than that (a learner
// that never returns is `hang`, +infinity, which stays allowed), and the cap keeps both
// clocks exact far beyond any run:
// - virtual clock: every update takes at most K capped draws, so even 2^64 updates keep
//   the clock below 2^64 * K * 10^6 s ~ 10^28 s, nowhere near the +infinity that used to
//   spin the event loop; and one capped draw lifts the clock to at most ~10^6 s, where a
//   double still resolves 10^6 * 2^-52 s ~ 0.2 ns, finer than the `ns` unit specs accept
//   (a 10^9 s cap would resolve only 0.2 us there);
// - real clock: steady_clock counts int64 nanoseconds (~292 years); start + 10^6 s cannot
//   overflow it (core/deadline.h saturates anyway).
// Spec durations above the cap are input errors (SpecArgs::duration), as are trace values
// and hetero scales that push a mean above it; draws above it (the tails of exp, pareto,
// lognormal, a plug-in's arithmetic) are clamped to it by the registry's wrapper
// (delay/delay_model.cc). docs/delay-models.md, "The delay cap".
#pragma once

#include <limits>

namespace racesgd {

inline constexpr double kMaxDelaySeconds = 1e6;

/// Clamps one draw into [0, kMaxDelaySeconds]: negative values (-infinity included) become
/// 0, finite values above the cap become the cap. +infinity ("never finishes") is kept
/// when `may_never_finish`, otherwise it is an overflow of a finite law and becomes the cap.
/// NaN is returned unchanged: it has no meaningful clamp, the caller reports it.
constexpr double clamp_delay_seconds(double x, bool may_never_finish) {
  if (x != x) return x;  // NaN (constexpr-friendly isnan)
  if (x < 0) return 0.0;
  if (x == std::numeric_limits<double>::infinity()) return may_never_finish ? x : kMaxDelaySeconds;
  return x > kMaxDelaySeconds ? kMaxDelaySeconds : x;
}

}  // namespace racesgd
