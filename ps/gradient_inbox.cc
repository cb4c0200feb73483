#include "ps/gradient_inbox.h"

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
  for (;;) {
    if (try_pop(out)) return true;
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
      return false;
    }
    return false;  // deadline
  }
}

void GradientInbox::wake() {
  std::lock_guard<std::mutex> lock(mutex_);
  wake_pending_.store(true, std::memory_order_relaxed);  // the mutex orders it
  cv_.notify_one();
}

}  // namespace racesgd
