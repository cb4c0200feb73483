#include "worker/interruptible_sleep.h"

namespace racesgd {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();  // lets the sibling hyper-thread run; lowers spin power
#endif
}

}  // namespace

bool InterruptibleSleep::sleep_until(std::chrono::steady_clock::time_point deadline,
                                     std::chrono::nanoseconds spin) {
  using Clock = std::chrono::steady_clock;
  // acquire: pairs with the release store in interrupt(), so whatever the interrupter
  // wrote before interrupting (cancel reason, new version) is visible once we see the flag.
  auto flag_set = [this] { return interrupted_.load(std::memory_order_acquire); };
  if (flag_set()) return false;

  if (deadline == Clock::time_point::max()) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, flag_set);
    return false;
  }

  const Clock::time_point wake = deadline - spin;
  if (Clock::now() < wake) {
    std::unique_lock lock(mutex_);
    // libstdc++ waits on CLOCK_MONOTONIC (pthread_cond_clockwait) for steady_clock, so a
    // wall-clock jump cannot stretch the wait.
    if (cv_.wait_until(lock, wake, flag_set)) return false;
  }
  while (Clock::now() < deadline) {
    if (flag_set()) return false;
    cpu_relax();
  }
  return true;
}

void InterruptibleSleep::interrupt() {
  std::lock_guard lock(mutex_);
  // release: publishes the interrupter's earlier writes to the sleeper (see sleep_until).
  // Stored under the mutex so that a sleeper that checked the predicate and is about to
  // block cannot miss the notify.
  interrupted_.store(true, std::memory_order_release);
  // Notified under the mutex: once the sleeper can observe the flag it may return and its
  // owner may destroy this object, so nothing may touch cv_ after the unlock.
  cv_.notify_one();
}

void InterruptibleSleep::clear() {
  // Under the mutex, like interrupt(): the two stores then fall in the mutex's total order.
  // If interrupt() came first, its unlock synchronises with this lock, so whatever the
  // interrupter wrote before interrupt() (e.g. a new ticket) is visible to the owner's
  // re-check after clear(); if clear() came first, the flag ends up set. A relaxed store
  // outside the mutex could be ordered after a concurrent interrupt() (x86 store buffer)
  // and erase it: a lost wake-up.
  std::lock_guard lock(mutex_);
  interrupted_.store(false, std::memory_order_relaxed);
}

bool InterruptibleSleep::interrupted() const {
  return interrupted_.load(std::memory_order_acquire);  // same pairing as sleep_until
}

}  // namespace racesgd
