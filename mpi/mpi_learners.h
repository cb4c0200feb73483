// MpiLearners: the LearnerTransport of rank 0 when the learners are MPI ranks (learner w is
// rank w + 1, running mpi/learner_rank.h's loop). RealRuntime, the Coordinator, the
// ParameterServer and the RunLog are the same code as over threads; only this changes.
//
// Two threads touch it. The PS thread calls the LearnerTransport methods; the session's
// communication thread runs progress(), which makes every MPI call: it sends restarts,
// receives gradients into pooled buffers (pre-posted MPI_Irecv per learner) and hands them
// to the PS through a GradientInbox, so the PS never waits on MPI and MPI keeps progressing
// while the PS applies an update. A learner rank sends its gradient as soon as it has
// computed it, stamped with its due time (start + X on rank 0's clock); the communication
// thread holds it until then and hands it over at that moment, so the PS sees it when a
// learner thread would have pushed it, whatever the transfer took inside X. Around each
// learner's compute and due times (from its drew message) the thread polls hot. Between them, per learner, the same atomics as
// LearnerPool's slot (ticket, restart time, deadline): restart(w) bumps the ticket and pokes
// the communication thread, which sends w the newest weights.
//
// Pins (runtime/learner_transport.h): per learner, the communication thread holds the pin
// of the version it sent, from the send until that gradient arrives (the pin moves into the
// message) or a newer restart supersedes it. Weights are sent straight from that pinned,
// immutable snapshot: no copy, no allocation. At most one restart is in flight per learner;
// a restart while one is still on its way is sent when that one completes, on the newest
// weights and the newest ticket (the learner would have read the newest weights anyway), so
// the transport holds at most one pin per learner plus those in messages not yet received.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ps/gradient_inbox.h"
#include "ps/gradient_pool.h"
#include "ps/versioned_weights.h"
#include "runtime/learner_transport.h"

namespace racesgd {

class MpiSession;

struct MpiLearnersConfig {
  std::size_t num_learners = 1;
  std::uint64_t stream_seed = 1;  // the learners' delay and minibatch streams
  std::chrono::steady_clock::time_point t0;  // the run clock's zero (messages' times)
  // How long stop() waits for every learner's bye before it gives up on the silent ones.
  std::chrono::milliseconds stop_wait{5000};
};

class MpiLearners final : public LearnerTransport {
 public:
  /// Starts progress() on the session's communication thread. The session's world must hold
  /// one rank per learner (check_mpi_world).
  MpiLearners(MpiSession& session, VersionedWeights& weights, const MpiLearnersConfig& config);
  ~MpiLearners() override;

  using LearnerTransport::restart;
  void restart(LearnerId w, Clock::time_point at) override;
  /// Also throws RunError when the communication thread failed (an MPI call or a message
  /// that cannot be read as coming from any learner).
  bool receive_until(GradientMessage& out, Clock::time_point deadline) override;
  bool is_current(const GradientMessage& m) const override {
    return m.ticket == slots_[m.learner]->ticket.load(std::memory_order_seq_cst);
  }
  void wake() override { inbox_.wake(); }
  bool has_new_failures() const override { return new_failures_.load(std::memory_order_acquire); }
  std::vector<std::pair<LearnerId, std::string>> take_failures() override;
  Clock::time_point deadline(LearnerId w) const override;
  std::string where(LearnerId w) const override;
  /// Tells every learner rank to stop, waits (at most config.stop_wait) until each said
  /// bye, cancels what is still posted and gives back every pin and buffer. A rank that
  /// stayed silent is named on stderr and the session ends with MPI_Abort after the
  /// outputs are written (its finalize would hang). Idempotent.
  void stop() override;

 private:
  class Loop;  // progress()'s state: MPI requests, buffers, pins (mpi_learners.cc)
  struct alignas(64) Slot {
    std::atomic<std::uint64_t> ticket{0};
    std::atomic<std::int64_t> restarted_at{0};  // steady_clock ticks of the latest restart
    std::atomic<std::int64_t> deadline{0};      // when the push for deadline_for is due
    std::atomic<std::uint64_t> deadline_for{0};
  };

  void progress();  // the communication thread's loop
  void record_failure(LearnerId w, std::string what);
  void poke();

  MpiSession& session_;
  VersionedWeights& weights_;
  MpiLearnersConfig config_;
  std::vector<std::unique_ptr<Slot>> slots_;
  GradientPool buffers_;
  GradientInbox inbox_;

  // PS -> communication thread: restarts (tickets above) and stop; poked_ ends its idle wait.
  std::mutex poke_mutex_;
  std::condition_variable poke_cv_;
  bool poked_ = false;
  std::atomic<bool> stop_requested_{false};

  std::atomic<bool> new_failures_{false};
  std::mutex failures_mutex_;
  std::vector<std::pair<LearnerId, std::string>> failures_;

  std::atomic<bool> broken_{false};  // progress() failed: broken_reason_ says why
  std::string broken_reason_;        // written before broken_ (release)
  std::string silent_;               // learners that never said bye, set by progress()
  std::future<void> progress_done_;
  bool stopped_ = false;
};

}  // namespace racesgd
