// Batch scheduling of the calling thread: Linux's SCHED_BATCH policy, which any thread may
// choose for itself without privileges. The scheduler then never lets the thread's
// wake-ups preempt a running thread: a woken batch thread takes an idle core, or waits
// for the running thread's slice to end or for it to block or yield.
//
// The learner threads run so (worker/learner_pool.cc). With P learners on 2 cores, the
// wake-ups of learners due to compute or push (several per update at P = 32) preempted
// the PS thread while it applied an update and computed the gradient due at once that
// makes the next one: a median 100 us from a gradient's push to that computation, 22 us
// with batch learners (docs/performance.md, "Just-in-time gradients", fifth pass).
#pragma once

#if defined(__linux__)
#include <sched.h>
#endif

namespace racesgd {

/// Puts the calling thread under SCHED_BATCH (its nice value is kept). Returns false where
/// unsupported or refused (e.g. a seccomp filter): the thread then keeps its policy.
inline bool set_thread_batch_scheduling() {
#if defined(__linux__)
  sched_param p{};
  p.sched_priority = 0;
  return sched_setscheduler(0, SCHED_BATCH, &p) == 0;  // 0: the calling thread
#else
  return false;
#endif
}

/// Whether the calling thread runs under SCHED_BATCH.
inline bool thread_batch_scheduled() {
#if defined(__linux__)
  return sched_getscheduler(0) == SCHED_BATCH;
#else
  return false;
#endif
}

}  // namespace racesgd
