// LearnerPool: the P learner threads of the real-clock runtime.
//
// A learner knows nothing of the variants. It waits to be restarted, pins the newest
// weights, draws a minibatch and its straggler delay X, computes the real gradient, waits
// out the rest of X (or X after the compute, by choice) and pushes the gradient to the PS
// inbox tagged with its ticket. The PS (one thread, the real runtime) obeys the
// Coordinator's Decision::restart through one call: restart(w) -- "abandon what you are
// doing (if anything) and start a new minibatch on the newest weights", which issues
// learner w a new ticket. A gradient carrying an old ticket is cancelled work; the PS
// drops it.
//
// Threads: owns P std::jthread learners, started by the constructor. The destructor (or
// stop()) requests stop, interrupts every sleep and joins; it never waits out a delay.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/rng.h"
#include "models/dataset.h"
#include "models/model.h"
#include "ps/gradient_inbox.h"
#include "ps/gradient_pool.h"
#include "ps/versioned_weights.h"
#include "delay/delay_model.h"
#include "worker/compute_plan.h"
#include "worker/interruptible_sleep.h"

namespace racesgd {

struct LearnerPoolConfig {
  std::size_t num_learners = 1;
  std::size_t batch = 64;
  std::uint64_t seed = 1;
  bool delay_after_compute = false;  // sleep X after computing, not until start + X
  ComputeAt compute_at = ComputeAt::deadline;  // when inside X to compute (compute_plan.h)
  bool timing_only = false;          // no gradient computation
  std::chrono::steady_clock::time_point t0;  // the run clock's zero
};

/// Learner w's stream of straggler delays in a run seeded `seed`; its minibatches come from
/// GradientTask's own stream. Every learner, thread or MPI rank, draws from these, so a seed
/// (or a delay trace) gives each learner the same X sequence on either transport.
inline Rng learner_delay_stream(std::uint64_t seed, std::size_t learner) {
  return Rng(derive_seed(seed, learner, StreamPurpose::kDelays));
}

/// Starts one learner thread running `body`. Production uses std::jthread; a test injects
/// a starter that throws on the N-th call, which is the only way to make a thread fail to
/// start (EAGAIN) on demand and so to check the constructor's clean-up.
using ThreadStarter = std::function<std::jthread(std::function<void(std::stop_token)> body)>;

/// Borrowed for the pool's lifetime.
struct LearnerPoolDeps {
  VersionedWeights* weights = nullptr;
  GradientInbox* inbox = nullptr;
  GradientPool* buffers = nullptr;
  DelayModel* delay = nullptr;
  const Model* model = nullptr;      // null with timing_only
  const Dataset* train = nullptr;    // null with timing_only
};

class LearnerPool {
 public:
  /// Starts the threads with `start_thread` (empty: std::jthread); each waits for its first
  /// restart(). Allocates. When a thread cannot start, stops and joins the ones already
  /// started, then rethrows.
  LearnerPool(const LearnerPoolConfig& config, const LearnerPoolDeps& deps,
              const ThreadStarter& start_thread = {});
  ~LearnerPool();
  LearnerPool(const LearnerPool&) = delete;
  LearnerPool& operator=(const LearnerPool&) = delete;

  /// PS thread only. Cancels learner w's minibatch in flight (if any) and has it start a
  /// new one on the newest published weights. Returns the new ticket, which
  /// the learner's next push carries. Lock-free; wakes a sleeping learner.
  std::uint64_t restart(std::size_t w) { return restart(w, std::chrono::steady_clock::now()); }
  /// The same, with the minibatch's clock starting at `at` (not in the future): X counts
  /// from there (LearnerTransport::restart).
  std::uint64_t restart(std::size_t w, std::chrono::steady_clock::time_point at);

  /// The ticket learner w must carry for its gradient to count.
  std::uint64_t ticket(std::size_t w) const;

  /// PS thread only (the one that restarts). When learner w's push for its current
  /// ticket is due: start + X, or X after its compute with delay_after_compute (before
  /// the compute ends: X after it began). Until the learner has drawn X, and when it drew
  /// +infinity (it will never push), the time it was restarted: it is late from its start.
  /// For the stall watchdog, which counts only lateness past these deadlines.
  std::chrono::steady_clock::time_point deadline(std::size_t w) const;

  /// A learner whose minibatch threw (delay model or gradient) records the error, wakes
  /// the PS and ends its thread. PS thread: takes the failures not taken yet.
  std::vector<std::pair<std::size_t, std::string>> take_failures();
  /// Cheap check for take_failures() (any thread).
  bool has_new_failures() const { return new_failures_.load(std::memory_order_acquire); }

  /// Requests stop, wakes and joins every learner. Idempotent.
  void stop();

  std::size_t size() const { return slots_.size(); }

 private:
  struct alignas(64) Slot {
    std::atomic<std::uint64_t> ticket{0};
    std::atomic<std::int64_t> restarted_at{0};  // steady_clock ticks of the latest restart()
    // The learner's push deadline (steady_clock ticks) and the ticket it belongs to:
    // deadline is stored before deadline_for (release), read after it (acquire).
    std::atomic<std::int64_t> deadline{0};
    std::atomic<std::uint64_t> deadline_for{0};
    InterruptibleSleep sleep;
  };
  static_assert(alignof(Slot) == 64);
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
  static_assert(std::atomic<std::int64_t>::is_always_lock_free);

  void run(std::stop_token st, std::size_t w);
  void run_loop(std::stop_token st, std::size_t w);

  LearnerPoolConfig config_;
  LearnerPoolDeps deps_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::atomic<bool> new_failures_{false};
  std::mutex failures_mutex_;  // guards failures_ (rare: only when a learner fails)
  std::vector<std::pair<std::size_t, std::string>> failures_;
  std::vector<std::jthread> threads_;
};

}  // namespace racesgd
