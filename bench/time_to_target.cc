#include "bench/time_to_target.h"

#include <cmath>

namespace racesgd {

TimeToTarget time_to_target(const std::vector<CurvePoint>& curve, double target) {
  TimeToTarget out;
  const CurvePoint* before = nullptr;  // the last scored point above the target
  for (const CurvePoint& p : curve) {
    if (std::isnan(p.test_error)) continue;
    if (p.test_error > target) {
      before = &p;
      continue;
    }
    if (!before) {
      out.time_s = p.time_s;
      return out;
    }
    const double t0 = before->time_s, t1 = p.time_s, e0 = before->test_error, e1 = p.test_error;
    out.resolution_s = t1 - t0;
    if (!(e1 > 0) || !(target > 0)) {
      out.time_s = t1;
      return out;
    }
    const double f = (std::log(e0) - std::log(target)) / (std::log(e0) - std::log(e1));
    out.time_s = t0 + (t1 - t0) * f;
    return out;
  }
  return out;
}

}  // namespace racesgd
