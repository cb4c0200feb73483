// ThreadLearners: the learners as P threads of this process -- the LearnerTransport the
// real-clock runtime uses today. Owns the learner threads (LearnerPool), the gradient
// buffers they fill (GradientPool) and the inbox they push to (GradientInbox).
// Constructed and driven by RealRuntime; see worker/learner_pool.h for the threads and
// docs/concurrency.md for the memory orders.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>

#include "ps/gradient_inbox.h"
#include "ps/gradient_pool.h"
#include "runtime/learner_transport.h"
#include "worker/learner_pool.h"

namespace racesgd {

class ThreadLearners final : public LearnerTransport {
 public:
  /// Starts the learner threads (each waits for its first restart). `deps.inbox` and
  /// `deps.buffers` are ignored: the transport owns both. Allocates 2P + 3 gradient
  /// buffers of `dim` floats (per learner one while computing and one in the inbox, one
  /// for the gradient the PS computes itself, plus two spare; the pool allocates more if
  /// ever needed).
  ThreadLearners(const LearnerPoolConfig& config, LearnerPoolDeps deps, std::size_t dim);
  ~ThreadLearners() override { stop(); }

  void restart(LearnerId w, Clock::time_point at) override { pool_.restart(w, at); }
  void restart(std::span<const LearnerId> ws, Clock::time_point at, std::size_t awaited,
               bool rest_superseded) override {
    pool_.restart(ws, at, awaited, rest_superseded);
  }
  /// Sleeps until shortly before the next push is due, then polls the inbox until it
  /// comes (or a while after it was due): waking the PS thread from its condition
  /// variable took 50 us (median) on a 2-vCPU VM, and the sync family's every update waited
  /// for it (docs/performance.md, "Just-in-time gradients", third pass). Only while a
  /// core is free for it (see poll_allowed): on cores the learners keep busy, the PS's
  /// polling took their time and made the updates slower, not faster.
  bool receive_until(GradientMessage& out, Clock::time_point deadline) override;
  bool is_current(const GradientMessage& m) const override {
    return m.ticket == pool_.ticket(m.learner);
  }
  void wake() override { inbox_.wake(); }
  bool has_new_failures() const override { return pool_.has_new_failures(); }
  std::vector<std::pair<LearnerId, std::string>> take_failures() override {
    return pool_.take_failures();
  }
  Clock::time_point deadline(LearnerId w) const override { return pool_.deadline(w); }
  void stop() override;

  /// How long before a push is due the PS starts polling (the condition variable's timed
  /// wait ends late: 40-90 us at the median with the PS's 1 us timer slack on the VMs
  /// measured, docs/performance.md "Just-in-time gradients", fourth pass; a gradient that
  /// comes first wakes it anyway), and how long past it it keeps polling for a learner
  /// computing late.
  static constexpr std::chrono::microseconds kPollBefore{100};
  static constexpr std::chrono::microseconds kPollAfter{200};
  /// The PS polls while the rest of the process (learners, dispatcher, evaluator) used
  /// less than this share of the cores other than the PS's own (of those its affinity
  /// allows), over the last kCpuWindow of wall time. At P = 32 on 2 cores (K = 1: ~1.1 cores busy besides the PS) polling
  /// made updates 10% slower; at P = 8 and 16 (~0.6 cores) it made them 1% faster.
  static constexpr double kPollBelowCpuShare = 0.75;
  static constexpr std::chrono::milliseconds kCpuWindow{50};

 private:
  /// Whether the PS may poll now: re-measured every kCpuWindow (PS thread).
  bool poll_allowed(Clock::time_point now);

  // Declaration order is destruction order reversed: the threads stop first, then queued
  // messages give their buffers back to the pool.
  GradientPool buffers_;
  GradientInbox inbox_;
  LearnerPool pool_;
  // poll_allowed()'s last measurement: when, the process's and this thread's CPU time.
  Clock::time_point cpu_checked_{};
  std::optional<std::chrono::nanoseconds> process_cpu_, own_cpu_;  // at cpu_checked_
  bool poll_ = true;  // until the first measurement, kCpuWindow in
};

}  // namespace racesgd
