// Time to a target test error, read off an evaluation curve. The curve is known only at
// its points, so the crossing is interpolated between the two points that bracket it
// (log error, linear time: error falls roughly exponentially between close points), and
// the gap between those two points is reported with it as the time's resolution: no
// interpolation can tell apart two runs whose difference is well inside it.
#pragma once

#include <vector>

#include "runtime/run_types.h"

namespace racesgd {

struct TimeToTarget {
  double time_s = -1;        // < 0: the target was not reached
  double resolution_s = 0;   // t1 - t0 of the bracketing points (0 when reached at the first)
  bool reached() const { return time_s >= 0; }
  /// resolution_s as a fraction of time_s (0 when the time is 0).
  double resolution_fraction() const { return time_s > 0 ? resolution_s / time_s : 0.0; }
};

/// The first crossing of `target` by the curve's test error: between the last scored point
/// (t0, e0 > target) and the next scored point (t1, e1 <= target),
///   t = t0 + (t1 - t0) (ln e0 - ln target) / (ln e0 - ln e1);
/// t1 itself when e1 or the target is 0 (no logarithm; the later time, never an earlier
/// one). A first scored point already at or below the target gives its own time with
/// resolution 0. Unscored (NaN) points are passed over.
TimeToTarget time_to_target(const std::vector<CurvePoint>& curve, double target);

}  // namespace racesgd
