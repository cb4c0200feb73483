// Timer slack of the calling thread. The learner pool's dispatcher sets 1 us (its timed
// waits end a learner's wait for its compute time: worker/learner_pool.cc); bench_delay
// studies how it shapes the oversleep of InterruptibleSleep. The learner threads keep the
// kernel default, which the default spin (InterruptibleSleep::kDefaultSpin) was chosen for;
// docs/performance.md, "Delay accuracy", has the measurements.
#pragma once

#include <chrono>

#if defined(__linux__)
#include <sys/prctl.h>
#endif

namespace racesgd {

/// Sets the calling thread's timer slack: how late Linux may fire the thread's timers so it
/// can batch wake-ups (default 50 us). With 1 ns the blocking phase of sleep_until wakes
/// ~30-50 us closer to its target, so a shorter spin (less CPU) gives the same precision.
/// Affects only the calling thread. Returns false if unsupported or slack <= 0.
inline bool set_thread_timer_slack(std::chrono::nanoseconds slack) {
#if defined(__linux__)
  if (slack.count() <= 0) return false;  // 0 would mean "reset to the default"
  return prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(slack.count()), 0, 0, 0) == 0;
#else
  (void)slack;
  return false;
#endif
}

/// The calling thread's timer slack, or a negative value where unsupported.
inline std::chrono::nanoseconds thread_timer_slack() {
#if defined(__linux__)
  return std::chrono::nanoseconds(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
#else
  return std::chrono::nanoseconds(-1);
#endif
}

}  // namespace racesgd
