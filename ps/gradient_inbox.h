// GradientInbox: the many-producer, single-consumer channel from the P learner threads to
// the parameter-server thread. Producers never wait for the consumer; the consumer can
// block until a message arrives, a deadline passes or wake() is called, without spinning,
// or poll inside a window it names (the PS around a gradient's due time).
//
// Queue: oneTBB's tbb::concurrent_queue (unbounded, FIFO per producer, no mutex; producers
// never wait for the consumer; as slots are handed out in order, a push or pop may spin briefly on a
// producer that is mid-push, see docs/concurrency.md). It allocates one page per message
// (a message is larger than 128 bytes, so oneTBB stores one per page): a ~200-byte malloc
// per gradient, next to a gradient computation of tens of microseconds or more; gradient
// storage itself is pooled (GradientPool).
//
// Blocking: a message counter plus a mutex/condition variable used only when the consumer
// actually sleeps. The producer's "bump counter, then check sleeping flag" against the
// consumer's "set sleeping flag, then check counter" is the store-load pattern, so those
// four operations are seq_cst (docs/concurrency.md).
//
// Threads: owns none. push/wake/size_approx: any thread. try_pop/pop_until: the single
// consumer.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include <tbb/concurrent_queue.h>

#include "ps/gradient_pool.h"
#include "ps/versioned_weights.h"

namespace racesgd {

/// One computed gradient on its way from a learner to the PS. Move-only (it owns a pin and
/// a pooled buffer); dropping it unpins the snapshot and recycles the buffer.
struct GradientMessage {
  std::size_t learner = 0;
  Version read_version = 0;
  std::uint32_t batch_size = 0;
  // Seconds on the run's clock. t_pushed is when the push was due -- start + X (X after the
  // compute with delay_after_compute) -- or, for a gradient computed late, when its
  // computation ended: the moment the PS could have it. The transport's own lateness past
  // that (a learner thread's timed wait ending late) is push_lag_s.
  double t_start = 0, t_computed = 0, t_pushed = 0;
  double delay_drawn = 0, delay_served = 0;          // seconds
  double compute_late_s = 0;  // how long after start + X the computation ended (0: in time)
  double push_lag_s = 0;      // how long after t_pushed the transport handed it over (>= 0)
  double loss = 0;                                   // minibatch loss
  std::uint64_t ticket = 0;                          // the learner's ticket when it started
  VersionedWeights::Pin pin;                         // the snapshot the gradient was computed on
  GradientBuffer grad;                               // pooled float buffer, size dim
};

class GradientInbox {
 public:
  GradientInbox() = default;
  GradientInbox(const GradientInbox&) = delete;
  GradientInbox& operator=(const GradientInbox&) = delete;
  /// Messages still queued are destroyed (their pins and buffers released).
  ~GradientInbox() = default;

  /// Enqueues m. Any thread. Never waits for the consumer (it takes the consumer's mutex
  /// only when the consumer is asleep, to wake it). Allocates one small queue page; throws
  /// only std::bad_alloc.
  void push(GradientMessage&& m);

  /// Consumer only. Moves the oldest available message into out; false when empty.
  /// Never blocks, never allocates.
  bool try_pop(GradientMessage& out);

  /// Consumer only. As try_pop, but when empty sleeps until a message arrives (returns
  /// true), or the deadline passes, or wake() is called (both return false). A wake()
  /// that arrives while the consumer is not waiting is remembered: the next pop_until
  /// that finds the inbox empty returns false at once and clears it. Messages win over a
  /// pending wake. Never allocates.
  bool pop_until(GradientMessage& out, std::chrono::steady_clock::time_point deadline);

  /// Where the consumer polls instead of sleeping: from `from` to `to` (time_point::min()
  /// for both: never).
  struct PollWindow {
    std::chrono::steady_clock::time_point from = std::chrono::steady_clock::time_point::min();
    std::chrono::steady_clock::time_point to = std::chrono::steady_clock::time_point::min();
    // Between looks: yield the core (a thread of this process may need it), or keep it --
    // for a window that ends where the consumer itself has work due, which a yield can
    // delay by another thread's whole computation.
    bool yield = true;
  };
  /// Consumer only. As pop_until, but inside `poll` it polls -- looks, yields the core,
  /// looks again -- instead of sleeping: a message that comes then is taken within
  /// microseconds, not after the condition variable's wake-up (tens of microseconds on a
  /// VM). Before the window it sleeps, after it sleeps until `deadline`. For a consumer
  /// that knows when the next message is due (ThreadLearners). Never allocates.
  bool pop_until(GradientMessage& out, std::chrono::steady_clock::time_point deadline,
                 PollWindow poll);

  /// Why a wait for a message returned.
  enum class Waited { message, woken, deadline };
  /// Consumer only. pop_until (with or without a poll window), saying why it returned: a
  /// consumer that ends its waits early for work of its own must tell a wake() from the
  /// end of the wait, which consumes a wake pending then. Never allocates.
  Waited wait_until(GradientMessage& out, std::chrono::steady_clock::time_point deadline);
  Waited wait_until(GradientMessage& out, std::chrono::steady_clock::time_point deadline,
                    PollWindow poll);

  /// Wakes the consumer (e.g. at stop). Any thread. Never allocates.
  void wake();

  /// Messages pushed and not yet popped; momentary. Any thread.
  std::size_t size_approx() const noexcept {
    return static_cast<std::size_t>(count_.load(std::memory_order_relaxed));
  }

 private:
  /// Consumes a pending wake(); false when there is none.
  bool take_wake();

  // std::allocator, not TBB's default cache_aligned_allocator: its pages come from libtbb's
  // uninstrumented allocator, and ThreadSanitizer then reports page reuse as races.
  tbb::concurrent_queue<GradientMessage, std::allocator<GradientMessage>> queue_;
  // Messages pushed minus popped. Incremented after the push, so count_ > 0 seen by the
  // consumer means its try_pop will succeed.
  alignas(64) std::atomic<std::int64_t> count_{0};
  // True while the consumer is (about to be) blocked in the condition variable.
  alignas(64) std::atomic<bool> sleeping_{false};
  std::atomic<bool> wake_pending_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
  static_assert(std::atomic<std::int64_t>::is_always_lock_free);
  static_assert(std::atomic<bool>::is_always_lock_free);
};

}  // namespace racesgd
