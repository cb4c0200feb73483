// Coordinator: the variant logic of paper.md as a clock-agnostic state machine. It reacts
// to two events -- the run starts, a gradient arrives -- and answers with a Decision: every
// arriving gradient joins the pending update (runtimes drop cancelled work before it gets
// here); the Decision says whether the update is applied now, which learners are
// cancelled and which (re)start a minibatch on the newest weights. It never sleeps, reads
// no clock and touches no weights, so the real-thread runtime and the virtual-clock engine
// drive the very same code.
//
// Invariant that makes per-arrival accumulation exact: the PS version only changes inside
// a Decision with apply = true, and the set of pending gradients is emptied by it. So the
// version current when a gradient arrives is the version it will be applied to, and its
// staleness (current - read) is final on arrival.
//
// With a staleness cutoff R (Ringmaster, sgd/staleness_cutoff.h) every update also cancels
// and restarts, on the new weights, each learner whose computation it made R versions old:
// the Coordinator remembers the version each learner was (re)started on, the newest at
// that decision. A learner reads that version or, on the real clock, a newer one if an
// update came before its thread pinned; so no gradient with staleness >= R ever arrives.
//
// Not thread-safe: one PS thread (or the event loop) owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sgd/variant.h"

namespace racesgd {

using LearnerId = std::size_t;
using Version = std::uint64_t;

struct Arrival {
  LearnerId learner = 0;
  Version read = 0;  // version the gradient was computed on
};

struct Decision {
  std::uint64_t staleness = 0;     // current version - read (on_arrival's decisions only)
  bool apply = false;              // apply the update now (after accumulating this gradient)
  std::vector<LearnerId> cancel;    // learners whose minibatch in flight is abandoned
  std::vector<LearnerId> restart;   // learners that start a new minibatch on the newest
                                   // version (the one after the apply, if any)
};

/// Everything a Coordinator remembers between events, for checkpoints. Per-learner flags
/// are 0/1.
struct CoordinatorState {
  Version version = 0;
  std::size_t pending = 0;
  std::size_t k = 0;                 // effective K
  std::size_t target_k = 0;          // K in force before learners left (0: the variant's K)
  std::vector<char> busy;            // size P
  std::vector<char> contributed;     // size P
  std::vector<char> active;          // size P
  std::vector<std::uint64_t> clocks;  // SSP: minibatches each learner finished (else empty)
  std::vector<Version> started;      // size P: version of each learner's last (re)start
};

class Coordinator {
 public:
  explicit Coordinator(Variant variant);

  /// Every learner starts on version 0.
  Decision on_start();

  /// A gradient from a learner that was computing. CHECK-fails on an arrival from a learner
  /// not computing, (sync family) on a version other than the current one, or (with a
  /// staleness cutoff) at staleness >= R: runtimes drop cancelled work before it gets here.
  Decision on_arrival(const Arrival& a);

  /// A K schedule (sgd/k_schedule.h) sets the K that updates wait for from now on, in
  /// [the variant's K, P] (CHECK; never below the variant's K, so never below the start).
  /// Called between two events: the gradients pending stay pending and count towards the
  /// new K (none is lost or applied twice). A larger K never completes an update; a
  /// smaller one (AdaSync never asks for one) that the pending gradients already reach
  /// makes the decision apply the update, like an arrival would.
  /// The sync-family kinds and K-async then wait for K distinct learners, the batch kinds
  /// for K gradients. CHECK-fails for ssp (its updates are one gradient each).
  Decision set_k(std::size_t K);

  /// Learner w failed and leaves the run: it is never restarted again, and K shrinks to
  /// the number of learners left when fewer than K remain (sync stays "all of them").
  /// When that completes the pending update the decision applies it, like an arrival
  /// would. CHECK-fails if w already left.
  Decision retire(LearnerId w);

  const Variant& variant() const { return variant_; }
  /// K in force: the variant's K (or the schedule's, see set_k), or fewer once learners
  /// have left.
  std::size_t effective_k() const { return k_; }
  /// The K set last (the variant's, or by set_k), before learners left.
  std::size_t target_k() const { return target_k_; }
  std::size_t active() const { return active_count_; }
  bool is_active(LearnerId w) const { return active_[w] != 0; }
  Version version() const { return version_; }
  std::size_t pending() const { return pending_; }
  /// How many more gradients the next update waits for: K in force less those pending
  /// (0 when none can complete it, no learner being left). A runtime may compute that
  /// many of the restarted learners' gradients itself (worker/learner_pool.h).
  std::size_t awaited() const { return active_count_ > 0 && pending_ < k_ ? k_ - pending_ : 0; }
  /// Whether every update cancels and restarts every learner still in the run (the sync
  /// family: sync, K-sync, K-batch-sync): while K stays (no set_k), a job of a restart is
  /// then needed only if its gradient is among the first awaited() of the next update. A
  /// runtime that computes those itself need not run the others' (worker/learner_pool.h).
  bool update_restarts_all() const { return variant_.is_sync_family(); }
  /// True while learner w computes a minibatch (false while it waits for new weights).
  bool busy(LearnerId w) const { return busy_[w] != 0; }
  /// SSP: minibatches learner w has finished (0 for the other variants).
  std::uint64_t clock(LearnerId w) const { return clocks_.empty() ? 0 : clocks_[w]; }
  /// SSP: the largest minus the smallest clock of the learners still in the run.
  std::uint64_t clock_spread() const;
  /// The newest version when learner w was last (re)started: what it reads, or older.
  Version started(LearnerId w) const { return started_[w]; }

  /// A copy of the state (allocates).
  CoordinatorState state() const;
  /// Continues from a saved state of a coordinator with the same variant. Throws
  /// InputError, leaving this coordinator unchanged, when the state cannot belong to it
  /// (sizes other than P, flags other than 0/1, K or pending out of range, a target K
  /// outside [the variant's K, P], a start version
  /// past the current one or, with a cutoff, a learner computing R or more versions back).
  void restore(const CoordinatorState& s);

 private:
  void restart_all_into(Decision& d);
  void complete_into(Decision& d);
  /// SSP: restarts every waiting learner within the bound of the slowest.
  void release_within_bound_into(Decision& d);
  void cancel_expired_into(Decision& d);
  void stamp_restarts(const Decision& d);

  Variant variant_;
  Version version_ = 0;
  std::size_t pending_ = 0;           // gradients arrived towards the next update
  std::vector<char> busy_;            // per learner: computing a minibatch
  std::vector<char> contributed_;     // per learner: already in the pending set (K-sync/K-async)
  std::vector<char> active_;          // per learner: still in the run (not failed)
  std::vector<Version> started_;      // per learner: newest version at its last restart
  std::size_t active_count_;
  std::size_t target_k_;              // the variant's K or the schedule's (set_k)
  std::size_t k_;                     // effective K: min(target_k_, active learners)
  std::vector<std::uint64_t> clocks_;  // SSP: minibatches finished per learner (else empty)
};

}  // namespace racesgd
