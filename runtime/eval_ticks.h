// Evaluation tick arithmetic: where the linear and the geometric ticks of an EvalSchedule
// fall. Each tick is a function of its index alone (k * every, first * ratio^k), never of
// the ticks taken before, so the next tick after any moment is computed in O(1) and a
// ticker restored from a checkpoint's "next tick" continues exactly as an unbroken run.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/run_types.h"

namespace racesgd {

/// The first tick of the grid every, 2 every, 3 every, ... strictly after t (every > 0).
/// Where a step vanishes in rounding far along the clock: the next double after t.
double next_linear_tick(double every, double t);

/// The first tick of first, first r, first r^2, ... strictly after t (first > 0, r > 1);
/// `first` itself when t < first.
double next_geometric_tick(double first, double ratio, double t);

/// True when update `u` (>= 1) is the first update at or past some r^k, k >= 0 (r > 1):
/// updates 1, 2, 3, ... while r^k grows by less than one update per step, then the
/// geometric progression rounded up.
bool geometric_update_tick(double ratio, std::uint64_t u);

/// True when a geometric tick of `s` (in time or in updates) falls after `prev` and at or
/// before `p`: p is the point recorded for it (the first after the tick). The recorder's
/// thinning keeps these; it needs no record of why a point was taken, so a checkpoint's
/// points are classified exactly as the unbroken run's.
bool records_geometric_tick(const EvalSchedule& s, const CurvePoint& prev, const CurvePoint& p);

/// Geometric time ticks in (0, end]; geometric update ticks in [1, end_updates].
std::size_t geometric_ticks_until(double first, double ratio, double end);
std::size_t geometric_update_ticks_until(double ratio, std::uint64_t end_updates);

}  // namespace racesgd
