// ParameterServer: the PS side of one run, shared by the real-thread runtime and the
// virtual-clock engine. It turns gradient arrivals into Coordinator decisions, per-gradient
// learning rates, accumulated updates published to VersionedWeights, and staleness / idle /
// cancellation accounting. Single-threaded: owned by the PS thread or the event loop.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "ps/versioned_weights.h"
#include "sgd/compensation.h"
#include "sgd/coordinator.h"
#include "sgd/lr_schedule.h"
#include "sgd/staleness_tracker.h"
#include "sgd/update_accumulator.h"

namespace racesgd {

struct GradientArrival {
  LearnerId learner = 0;
  Version read = 0;
  std::span<const float> grad;          // the minibatch gradient
  std::span<const float> read_weights;  // w_read (kept alive by the caller's pin)
  double time = 0;                      // run clock, seconds
  // grad's pooled buffer, when the PS may take its storage: an update this gradient
  // completes (alone, or as the last of several) is then written into it
  // (VersionedWeights::publish_in), and after on_gradient the buffer holds stale floats,
  // not the gradient. Null: grad is only read.
  GradientBuffer* storage = nullptr;
};

/// One applied update, for semantics tests and traces (recorded only when enabled).
struct UpdateRecord {
  Version version = 0;  // version published by this update
  double time = 0;
  std::vector<std::pair<LearnerId, Version>> contributions;  // (learner, version read)
  std::vector<LearnerId> cancelled;                          // stragglers cancelled by it
};

/// A gradient accepted into the update still pending. Its statistics (staleness, learning
/// rate, the learner's count) are recorded only when that update is applied: a pending
/// update dropped (a real-clock resume) or refused (NaN/Inf) counts nowhere.
struct PendingGradient {
  LearnerId learner = 0;
  Version read = 0;
  std::uint64_t staleness = 0;
  double lr = 0;
};

/// How a run diverged: the update the PS refused and the gradient that made it refuse
/// (the last one accepted), for the message and its likely cause.
struct Divergence {
  Version update = 0;           // the refused update (published_version() + 1)
  LearnerId learner = 0;
  Version read = 0;
  std::uint64_t staleness = 0;
  double lr = 0;                // that gradient's learning rate
  bool in_gradient = false;     // the gradient held NaN/Inf (else: the new weights did)
};

/// Everything a ParameterServer remembers between events, for checkpoints (the weights
/// themselves live in VersionedWeights; the update log is not saved).
struct ParameterServerState {
  CoordinatorState coordinator;
  std::vector<float> pending_sum;    // the accumulator: sum_i lr_i g_i of pending gradients
  std::uint64_t pending_count = 0;   // gradients in pending_sum
  std::vector<PendingGradient> pending;  // their statistics, size pending_count
  StalenessTracker::State tracker;   // applied gradients only
  std::vector<double> idle_since;    // per learner: time it started waiting, or +inf
  std::vector<double> busy_since;    // per learner
  double last_update_time = 0;
  double lr_sum = 0;                 // applied gradients only
  std::vector<float> compensation_mean_square;  // DelayCompensation's (dc-adaptive), else empty
};

class ParameterServer {
 public:
  /// `compensation`: how each accepted gradient is corrected for its staleness before it is
  /// folded in (sgd/compensation.h; none by default). Compensation reads the weights the
  /// gradient was computed on: GradientArrival::read_weights must then be given.
  ParameterServer(const Variant& variant, VersionedWeights& weights, const LrSchedule& lr,
                  const CompensationConfig& compensation = {});

  /// All learners start on version 0 at `time`.
  Decision start(double time);

  /// Processes one gradient. Throws RunError when the gradient or the new weights hold
  /// NaN/Inf, naming the update and the learner: that update is refused -- never
  /// published, its gradients counted nowhere -- and divergence() says why.
  Decision on_gradient(const GradientArrival& a);

  /// Learner w failed and leaves the run (see Coordinator::retire). May apply the pending
  /// update; throws RunError like on_gradient when that produces NaN/Inf.
  Decision retire(LearnerId w, double time);

  /// A K schedule's new K, between two events (Coordinator::set_k). The gradients pending
  /// count towards it; when they already reach it the update is applied now (and may
  /// throw RunError like on_gradient).
  Decision set_k(std::size_t K, double time);

  /// Learners computing a minibatch, longest first, with how long they have been at it:
  /// the suspects when no update comes.
  std::vector<std::pair<LearnerId, double>> busy_learners(double now) const;

  Version version() const { return coordinator_.version(); }
  /// The newest version actually published (differs from version() only inside a failed
  /// update: a NaN gradient that completed an update the PS then refused to publish).
  Version published_version() const { return weights_.latest_version(); }
  /// Gradients accepted into the update still pending (not applied yet).
  std::size_t pending_gradients() const { return pending_.size(); }
  const Coordinator& coordinator() const { return coordinator_; }
  /// Statistics of applied gradients only (see PendingGradient).
  const StalenessTracker& tracker() const { return tracker_; }
  StalenessTracker& tracker() { return tracker_; }
  std::uint64_t gradients_applied() const { return tracker_.applied(); }
  double last_update_time() const { return last_update_time_; }
  /// Sum of the learning rates of all applied gradients (for the mean lr in summaries).
  double lr_sum() const { return lr_sum_; }
  /// Set once an update was refused (the RunError was thrown).
  const std::optional<Divergence>& divergence() const { return divergence_; }

  /// A copy of the state (allocates d floats).
  ParameterServerState state() const;
  /// Continues from a saved state. The weights must already hold the saved version as
  /// their latest (CHECK). Throws InputError when the state does not fit this PS (other
  /// P, K or dimension); a PS that threw must not be used further.
  void restore(const ParameterServerState& s);
  /// The state with the pending update dropped: its gradients, their statistics and the
  /// learners' contributions forgotten (what a real-clock resume continues from).
  static ParameterServerState without_pending(ParameterServerState s);

  void enable_update_log(bool on) { log_updates_ = on; }
  const std::vector<UpdateRecord>& update_log() const { return update_log_; }

 private:
  void account_restarts(const Decision& d, double time);
  /// `alone`: the gradient of an update that applies it by itself (nothing accumulated),
  /// folded in the publishing pass; empty when the accumulator holds the update.
  /// `storage`: the completing gradient's own buffer (alone, or the last of several), into
  /// which the new version is written.
  void apply_update(const Decision& d, double time, std::span<const float> alone = {},
                    GradientBuffer* storage = nullptr);
  [[noreturn]] void refuse(Divergence d);

  Coordinator coordinator_;
  VersionedWeights& weights_;
  const LrSchedule& lr_;
  UpdateAccumulator accumulator_;
  StalenessTracker tracker_;
  DelayCompensation compensation_;
  std::vector<float> compensated_;  // a gradient compensated outside its own buffer
  VersionedWeights::Pin current_;   // the newest version, for ||w_j - w_tau||^2 and compensation
  std::vector<double> idle_since_;  // per learner: time it started waiting, or +inf
  std::vector<double> busy_since_;  // per learner: time its current minibatch started
  double last_update_time_ = 0;
  double lr_sum_ = 0;
  std::vector<PendingGradient> pending_;  // reserved for P: accepting never allocates
  std::optional<Divergence> divergence_;
  bool log_updates_ = false;
  std::vector<UpdateRecord> update_log_;
};

}  // namespace racesgd
