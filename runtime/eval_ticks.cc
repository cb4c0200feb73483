#include "runtime/eval_ticks.h"

#include <cmath>
#include <limits>

namespace racesgd {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// floor(log_r(x)) for x > 0: the index of the last geometric tick at or before x.
double geometric_index(double ratio, double x) { return std::floor(std::log(x) / std::log(ratio)); }

}  // namespace

double next_linear_tick(double every, double t) {
  const double k = std::floor(t / every) + 1;
  double n = k * every;
  if (n <= t) n = (k + 1) * every;  // the rounded quotient landed one tick short
  return n > t ? n : std::nextafter(t, kInf);
}

double next_geometric_tick(double first, double ratio, double t) {
  if (t < first) return first;
  double k = geometric_index(ratio, t / first) + 1;
  double g = first * std::pow(ratio, k);
  // The logarithm's rounding can put k one short: a few more steps at most.
  while (g <= t && std::isfinite(g)) g = first * std::pow(ratio, ++k);
  return g > t ? g : std::nextafter(t, kInf);
}

bool geometric_update_tick(double ratio, std::uint64_t u) {
  if (u <= 1) return u == 1;  // r^0 = 1
  return geometric_index(ratio, static_cast<double>(u)) !=
         geometric_index(ratio, static_cast<double>(u - 1));
}

bool records_geometric_tick(const EvalSchedule& s, const CurvePoint& prev, const CurvePoint& p) {
  if (!(s.geometric_ratio > 1)) return false;
  if (s.geometric_from_s > 0 && p.time_s > prev.time_s &&
      next_geometric_tick(s.geometric_from_s, s.geometric_ratio, prev.time_s) <= p.time_s)
    return true;
  if (!s.geometric_updates || p.updates <= prev.updates) return false;
  if (prev.updates == 0) return true;  // update 1 is a tick
  return geometric_index(s.geometric_ratio, static_cast<double>(prev.updates)) !=
         geometric_index(s.geometric_ratio, static_cast<double>(p.updates));
}

std::size_t geometric_ticks_until(double first, double ratio, double end) {
  if (!(end >= first) || !std::isfinite(end)) return 0;
  return static_cast<std::size_t>(geometric_index(ratio, end / first)) + 1;
}

std::size_t geometric_update_ticks_until(double ratio, std::uint64_t end_updates) {
  // Ticks are distinct updates: while r^k steps by less than 1 every update is one.
  if (!(ratio > 1)) return 0;
  std::size_t n = 0;
  std::uint64_t last = 0;
  for (int k = 0;; ++k) {
    const double g = std::pow(ratio, k);
    if (g > static_cast<double>(end_updates)) return n;
    const auto u = static_cast<std::uint64_t>(std::ceil(g));
    if (u != last && u <= end_updates) ++n;
    last = u;
  }
}

}  // namespace racesgd
