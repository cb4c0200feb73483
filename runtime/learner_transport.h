// LearnerTransport: what the real-clock runtime needs from "the learners", wherever they
// run -- the seam between the PS loop (RealRuntime) and the learners. Today the learners
// are threads of this process (ThreadLearners: LearnerPool + GradientInbox); the next
// transport puts them in MPI ranks. RealRuntime talks to its learners only through this.
//
// The contract, per learner w: restart(w) cancels w's minibatch in flight, if any, and has
// it start a new one on the newest published weights under a new ticket; its gradient
// arrives as one GradientMessage (learner, version read and a pin on it, ticket, gradient,
// timestamps, delays); a message whose ticket is no longer current is cancelled work, to
// be dropped. A learner whose minibatch throws reports a failure and does no more work.
// There is no separate "cancel": the Coordinator only ever cancels a learner by
// restarting it, and a learner that leaves (retire) has already failed.
//
// What an implementation owes the PS beyond the calls: the message's pin is a pin of the
// PS's own VersionedWeights on the version the learner read (the ParameterServer reads
// those weights for staleness-aware learning rates), so a transport whose learners live
// elsewhere keeps a reference to the VersionedWeights and holds, per learner, the pin of
// the version it sent from restart until that gradient arrives or is superseded. A
// transport holds at most two pins per learner at once (the one in flight and the one in a
// message not yet received): the weights' pool is sized for that (plan_real_run).
//
// Cost: one virtual call per message or restart, never per gradient element.
//
// The virtual clock does not use this seam: its learners are simulated events in the
// runtime's own queue (a finish time, a ticket), computed inline on the loop's thread, and
// a checkpoint saves their streams and pins. Forcing them behind restart/receive would
// split the event queue from the clock that orders it for no second implementation.
//
// Threads: every call from the PS thread, except wake() (any thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "ps/gradient_inbox.h"
#include "ps/versioned_weights.h"
#include "sgd/coordinator.h"

namespace racesgd {

/// The transport itself broke (not a learner's minibatch, not the model): an MPI call
/// failed, a peer sent garbage or vanished. receive_until throws it; the run stops with
/// StopReason::transport_failed and keeps what it recorded.
class TransportError : public RunError {
 public:
  using RunError::RunError;
};

class LearnerTransport {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~LearnerTransport() = default;

  /// Cancels learner w's minibatch in flight (if any) and has it start a new one on the
  /// newest published weights. Its X counts from `at`, when the PS decided: every learner
  /// one decision restarts shares that moment, as on the virtual clock (restarting P
  /// learners one after another takes the PS tens of microseconds).
  virtual void restart(LearnerId w, Clock::time_point at) = 0;
  /// restart(w, at) for each learner of one decision (distinct ids). A transport may
  /// order the work inside (ThreadLearners wakes the learner due soonest first, and its PS
  /// thread computes up to `awaited` -- the gradients the next update waits for,
  /// Coordinator::awaited() -- of the smallest X itself; with `rest_superseded`, the next
  /// update cancelling every job it does not take (Coordinator::update_restarts_all())
  /// and waiting for no more than `awaited` gradients until then, it runs none of the jobs
  /// due after all of those: the smaller Xs of `ws` and pushes still to come of others;
  /// only when computing at the deadline).
  virtual void restart(std::span<const LearnerId> ws, Clock::time_point at, std::size_t awaited,
                       bool rest_superseded) {
    (void)awaited;
    (void)rest_superseded;
    for (const LearnerId w : ws) restart(w, at);
  }
  /// The next gradient into `out`: true; false when `deadline` passed or wake() was
  /// called first.
  virtual bool receive_until(GradientMessage& out, Clock::time_point deadline) = 0;
  /// False when `m` was computed under a ticket since superseded (cancelled work).
  virtual bool is_current(const GradientMessage& m) const = 0;
  /// Ends a receive_until early (e.g. the target error was reached). Any thread.
  virtual void wake() = 0;

  /// Cheap check for take_failures().
  virtual bool has_new_failures() const = 0;
  /// The learners that failed since the last call, with what went wrong.
  virtual std::vector<std::pair<LearnerId, std::string>> take_failures() = 0;
  /// When learner w's gradient for its current ticket is due (start + X; the restart
  /// time until X is drawn). For the stall watchdog, which counts lateness past it.
  virtual Clock::time_point deadline(LearnerId w) const = 0;
  /// Where learner w runs, for messages that name it (e.g. "rank 4"); empty when the
  /// learner id says it all (threads of this process).
  virtual std::string where(LearnerId) const { return {}; }

  /// Stops every learner and drops the messages still on their way (their pins and
  /// buffers go home). Idempotent.
  virtual void stop() = 0;
};

/// What RealRuntime hands a transport it builds: the PS's weights (the transport pins
/// them) and what the learners need that only the runtime knows.
struct LearnerSetup {
  VersionedWeights* weights = nullptr;
  std::size_t num_learners = 0;
  /// Seeds the learners' delay and minibatch streams: the run seed, or on a resumed run
  /// one derived from it and the resumed version (streams are not saved).
  std::uint64_t stream_seed = 0;
  LearnerTransport::Clock::time_point t0;  // the run clock's zero
};

/// Builds the learners of a real-clock run (RunInputs::learners); empty: threads of this
/// process (ThreadLearners). Called once, on the PS thread, after the weights exist.
using LearnerTransportFactory =
    std::function<std::unique_ptr<LearnerTransport>(const LearnerSetup&)>;

}  // namespace racesgd
