// Timer slack of the calling thread. The learner pool's dispatcher and learner threads set
// 1 us (the dispatcher's timed waits end a learner's wait for its compute time, a learner's
// end its wait for a push: worker/learner_pool.cc), and so does the real runtime's PS
// thread while it runs (its waits end where it starts polling for a gradient due:
// runtime/thread_learners.h), restoring the caller's slack after. bench_delay studies how
// the slack shapes the oversleep of InterruptibleSleep; docs/performance.md, "Delay
// accuracy" and "Just-in-time gradients" (fourth pass), has the measurements.
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

/// Sets the calling thread's timer slack for its lifetime and restores the one it found
/// (a run's PS thread is its caller's: the CLI's main thread, or a library user's).
class ScopedTimerSlack {
 public:
  explicit ScopedTimerSlack(std::chrono::nanoseconds slack) : old_(thread_timer_slack()) {
    set_ = old_.count() > 0 && set_thread_timer_slack(slack);
  }
  ~ScopedTimerSlack() {
    if (set_) set_thread_timer_slack(old_);
  }
  ScopedTimerSlack(const ScopedTimerSlack&) = delete;
  ScopedTimerSlack& operator=(const ScopedTimerSlack&) = delete;

 private:
  std::chrono::nanoseconds old_;
  bool set_ = false;
};

}  // namespace racesgd
