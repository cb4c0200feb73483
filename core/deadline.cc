#include "core/deadline.h"

#include <cmath>
#include <cstdint>
#include <limits>

namespace racesgd {

std::chrono::steady_clock::time_point deadline_after(std::chrono::steady_clock::time_point start,
                                                     double seconds) {
  using Clock = std::chrono::steady_clock;
  using Rep = Clock::rep;
  static_assert(std::numeric_limits<Rep>::is_integer && std::numeric_limits<Rep>::is_signed);
  if (std::isnan(seconds)) return Clock::time_point::max();
  if (!(seconds > 0)) return start;
  // Work in ticks, in double, where nothing overflows; then compare before converting.
  const double ticks = seconds * static_cast<double>(Clock::period::den) /
                       static_cast<double>(Clock::period::num);
  const Rep start_ticks = start.time_since_epoch().count();
  const Rep max_ticks = std::numeric_limits<Rep>::max();
  // Room left before the clock's maximum. max - start overflows only for start < 0, where
  // the room exceeds max itself, so the largest finite Rep bounds it.
  const double room = start_ticks >= 0 ? static_cast<double>(max_ticks - start_ticks)
                                       : static_cast<double>(max_ticks);
  // 2^63 as a double is exactly one past max: `ticks < room` keeps the cast below in range
  // (a double just below 2^63 converts exactly), and the integer check then catches the
  // last rounding step of `room`.
  if (!(ticks < room)) return Clock::time_point::max();
  const auto d = static_cast<Rep>(ticks);
  if (start_ticks > 0 && d > max_ticks - start_ticks) return Clock::time_point::max();
  return start + Clock::duration(d);
}

}  // namespace racesgd
