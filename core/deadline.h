// Converting "start + X seconds" to a steady_clock deadline without undefined behaviour.
// duration_cast of a double to int64 nanoseconds is undefined once X exceeds ~292 years
// (1e13 s served a straggler at once: the cast wrapped to a time in the past), and
// start + d overflows when start is late. Both clocks' deadlines go through here.
#pragma once

#include <chrono>

namespace racesgd {

/// start + seconds, saturating: +infinity, NaN and anything past the clock's range give
/// time_point::max() ("never", which InterruptibleSleep waits on without a timer); zero,
/// negative values and -infinity give `start` (already due). Never overflows.
std::chrono::steady_clock::time_point deadline_after(std::chrono::steady_clock::time_point start,
                                                     double seconds);

}  // namespace racesgd
