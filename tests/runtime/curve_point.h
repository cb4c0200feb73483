// A curve point with only its time and update count set, for the evaluation tests.
#pragma once

#include <cstdint>

#include "runtime/run_types.h"

namespace racesgd::testing {

inline CurvePoint at(double t, std::uint64_t updates) {
  CurvePoint p;
  p.time_s = t;
  p.updates = updates;
  return p;
}

}  // namespace racesgd::testing
