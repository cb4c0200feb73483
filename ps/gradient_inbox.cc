#include "ps/gradient_inbox.h"

#include <algorithm>
#include <thread>
#include <utility>

namespace racesgd {

void GradientInbox::push(GradientMessage&& m) {
  queue_.push(std::move(m));
  // seq_cst (store-load with the consumer's sleeping_ store / count_ load): either the
  // consumer's predicate sees this increment, or we see sleeping_ == true and notify.
  // As a release RMW it also publishes the queued message to whoever reads the count.
  count_.fetch_add(1, std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_seq_cst)) {
    // Taking the mutex orders the notify after the consumer is inside wait (it holds the
    // mutex from setting sleeping_ until the wait releases it), so it cannot be lost.
    std::lock_guard<std::mutex> lock(mutex_);
    cv_.notify_one();
  }
}

bool GradientInbox::try_pop(GradientMessage& out) {
  if (!queue_.try_pop(out)) return false;
  count_.fetch_sub(1, std::memory_order_relaxed);  // a count, orders nothing on this side
  return true;
}

bool GradientInbox::pop_until(GradientMessage& out,
                              std::chrono::steady_clock::time_point deadline) {
  return wait_until(out, deadline) == Waited::message;
}

GradientInbox::Waited GradientInbox::wait_until(GradientMessage& out,
                                                std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    if (try_pop(out)) return Waited::message;
    // A deadline already passed does not go near the condition variable: its timed wait
    // returned ~30 us late even then (a futex call on a 2-vCPU VM), and a consumer that
    // polled up to its deadline (wait()) would add that to every message it times.
    if (std::chrono::steady_clock::now() >= deadline)
      return take_wake() ? Waited::woken : Waited::deadline;
    std::unique_lock<std::mutex> lock(mutex_);
    sleeping_.store(true, std::memory_order_seq_cst);  // store-load with push, see there
    // seq_cst load of count_: acquire, so a positive count makes the message visible to
    // the try_pop above on the next iteration. wake_pending_ is written under the mutex.
    const bool ready = cv_.wait_until(lock, deadline, [this] {
      return count_.load(std::memory_order_seq_cst) > 0 ||
             wake_pending_.load(std::memory_order_relaxed);
    });
    sleeping_.store(false, std::memory_order_relaxed);  // a stale true costs one spare notify
    if (count_.load(std::memory_order_seq_cst) > 0) continue;  // messages win over a wake
    if (ready) {
      // Woken by wake(): consume it (under the mutex, so no wake() is lost in between).
      wake_pending_.store(false, std::memory_order_relaxed);
      return Waited::woken;
    }
    return Waited::deadline;
  }
}

bool GradientInbox::take_wake() {
  if (!wake_pending_.load(std::memory_order_relaxed)) return false;
  std::lock_guard<std::mutex> lock(mutex_);
  wake_pending_.store(false, std::memory_order_relaxed);
  return true;
}

bool GradientInbox::pop_until(GradientMessage& out, std::chrono::steady_clock::time_point deadline,
                              PollWindow poll) {
  return wait_until(out, deadline, poll) == Waited::message;
}

GradientInbox::Waited GradientInbox::wait_until(GradientMessage& out,
                                                std::chrono::steady_clock::time_point deadline,
                                                PollWindow poll) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point from = std::min(poll.from, deadline);
  const Clock::time_point to = std::min(poll.to, deadline);
  if (Clock::now() < from) {
    const Waited w = wait_until(out, from);
    if (w != Waited::deadline) return w;
  }
  while (Clock::now() < to) {
    // Messages win over a wake, as in wait_until. count_ first: an empty queue's try_pop
    // touches the producers' cache lines.
    if (count_.load(std::memory_order_acquire) > 0 && try_pop(out)) return Waited::message;
    if (take_wake()) return Waited::woken;
    if (poll.yield) std::this_thread::yield();  // a learner on this core computes meanwhile
  }
  return wait_until(out, deadline);
}

void GradientInbox::wake() {
  std::lock_guard<std::mutex> lock(mutex_);
  wake_pending_.store(true, std::memory_order_relaxed);  // the mutex orders it
  cv_.notify_one();
}

}  // namespace racesgd
