// InterruptibleSleep: how a learner thread serves an injected delay precisely and still
// reacts at once to cancel/stop. A plain sleep_for oversleeps by ~100 us on the build
// machines (timer slack + wake-up latency), so the wait is split in two: a blocking
// condition-variable wait until `spin` before the deadline, then a busy spin on
// steady_clock for the last stretch. interrupt() ends either phase early.
// docs/performance.md ("Delay accuracy") has the measured error and the choice of spin.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace racesgd {

/// One per learner thread. Owner: the learner thread that calls sleep_until() and clear();
/// any thread may call interrupt() and interrupted(). The object must outlive every
/// interrupt() call. Owns no threads. Never allocates, never throws (after construction).
class InterruptibleSleep {
 public:
  static constexpr std::chrono::nanoseconds kDefaultSpin{150'000};

  InterruptibleSleep() = default;
  InterruptibleSleep(const InterruptibleSleep&) = delete;
  InterruptibleSleep& operator=(const InterruptibleSleep&) = delete;

  /// Sleeps until `deadline` unless interrupted: a blocking wait that wakes `spin` early,
  /// then a spin (burns one core for at most `spin` plus the wait's oversleep).
  /// Returns true if the deadline was reached, false if interrupted (including when the
  /// interrupt flag was already set on entry). deadline = time_point::max() waits for an
  /// interrupt only, without spinning. Owner thread only.
  bool sleep_until(std::chrono::steady_clock::time_point deadline) { return sleep_until(deadline, spin_); }
  /// The same with this call's own spin (0: a blocking wait only, which may oversleep).
  bool sleep_until(std::chrono::steady_clock::time_point deadline, std::chrono::nanoseconds spin);

  /// Sets the sticky interrupt flag and wakes the sleeper. Any thread; takes the mutex
  /// briefly (so a sleeper between its flag check and its wait cannot miss the wake-up).
  void interrupt();

  /// Clears the flag; owner thread, before starting a new wait. An interrupt() that races
  /// with clear() may be lost: the caller's protocol must re-check its own state (e.g. a
  /// learner's ticket) after clear().
  void clear();

  /// Whether the flag is set. Any thread.
  bool interrupted() const;

  /// How long before the deadline the blocking wait ends and the spin starts.
  /// 0 = never spin (the wait's oversleep then shows up in full). Owner thread.
  void set_spin(std::chrono::nanoseconds spin) { spin_ = spin; }
  std::chrono::nanoseconds spin() const { return spin_; }

 private:
  std::atomic<bool> interrupted_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::chrono::nanoseconds spin_ = kDefaultSpin;
};

}  // namespace racesgd
