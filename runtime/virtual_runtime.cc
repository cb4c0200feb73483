#include "runtime/virtual_runtime.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <utility>
#include <vector>

#include "core/check.h"
#include "core/error.h"
#include "core/rng.h"
#include "ps/parameter_server.h"
#include "ps/versioned_weights.h"
#include "runtime/run_core.h"
#include "runtime/run_log.h"
#include "runtime/run_memory.h"
#include "worker/gradient_task.h"

namespace racesgd {
namespace {

// A minibatch finish. The virtual clock's learners are these events, not a
// LearnerTransport (runtime/learner_transport.h says why).
struct Event {
  double time;
  std::uint64_t seq;  // scheduling order: breaks ties deterministically
  LearnerId learner;
  std::uint64_t ticket;
  bool operator>(const Event& o) const {
    return time != o.time ? time > o.time : seq > o.seq;
  }
};

struct Learner {
  std::uint64_t ticket = 0;
  VersionedWeights::Pin pin;
  Rng delay_rng;
  std::optional<GradientTask> task;
  std::vector<float> grad;
};

// Everything a checkpoint's state must satisfy before any of it is used (InputError).
void validate_resume(const RunCheckpoint& c, const Variant& variant, std::size_t dim) {
  const std::size_t P = variant.P;
  std::set<std::uint64_t> live;
  if (c.clock != "virtual")
    throw InputError("checkpoint: taken on the " + c.clock + " clock, resumed on the virtual one");
  if (c.learners.size() != P)
    throw InputError("checkpoint: " + std::to_string(c.learners.size()) + " learners, the run has " +
                     std::to_string(P));
  if (c.weights.empty()) throw InputError("checkpoint: holds no weights");
  for (std::size_t i = 0; i < c.weights.size(); ++i) {
    if (c.weights[i].w.size() != dim)
      throw InputError("checkpoint: weights of version " + std::to_string(c.weights[i].version) +
                       " have " + std::to_string(c.weights[i].w.size()) + " values, the model has " +
                       std::to_string(dim));
    if (c.weights[i].version > VersionedWeights::kMaxVersion ||
        (i > 0 && c.weights[i].version <= c.weights[i - 1].version))
      throw InputError("checkpoint: weight versions are not strictly increasing");
  }
  if (c.weights.back().version != c.ps.coordinator.version)
    throw InputError("checkpoint: the newest weights are version " +
                     std::to_string(c.weights.back().version) + " but the parameter server is at " +
                     std::to_string(c.ps.coordinator.version));
  for (std::size_t w = 0; w < P; ++w) {
    const LearnerCheckpoint& l = c.learners[w];
    if (l.has_pin && std::none_of(c.weights.begin(), c.weights.end(),
                                  [&](const WeightsCheckpoint& v) { return v.version == l.pinned; }))
      throw InputError("checkpoint: learner " + std::to_string(w) + " reads version " +
                       std::to_string(l.pinned) + ", which is not saved");
    if (c.ps.coordinator.busy.size() == P && c.ps.coordinator.busy[w] && !l.has_pin)
      throw InputError("checkpoint: learner " + std::to_string(w) + " computes without weights");
  }
  for (const EventCheckpoint& e : c.events) {
    if (e.learner >= P || !(e.time >= 0))
      throw InputError("checkpoint: an event of learner " + std::to_string(e.learner) + " at time " +
                       std::to_string(e.time) + " is impossible for " + std::to_string(P) +
                       " learners");
    const LearnerCheckpoint& l = c.learners[e.learner];
    if (e.ticket != l.ticket) continue;  // cancelled: skipped when popped
    // A live event reaches Coordinator::on_arrival, whose invariants must hold.
    const CoordinatorState& co = c.ps.coordinator;
    const bool ok = l.has_pin && l.pinned <= co.version && co.busy.size() == P &&
                    co.started.size() == P && co.started[e.learner] == l.pinned &&
                    co.busy[e.learner] && co.active.size() == P && co.active[e.learner] &&
                    !(variant.is_sync_family() && l.pinned != co.version) &&
                    !(!variant.is_batch() && co.contributed.size() == P && co.contributed[e.learner]);
    if (!ok)
      throw InputError("checkpoint: learner " + std::to_string(e.learner) +
                       "'s minibatch in flight contradicts the coordinator state");
    if (!live.insert(e.learner).second)
      throw InputError("checkpoint: learner " + std::to_string(e.learner) +
                       " has two minibatches in flight");
  }
}

// Checks the inputs, a checkpoint to resume and the memory the run needs. A resumed run
// starts from the oldest saved weights: resume_from re-publishes the newer ones on top.
RunPlan plan_virtual_run(const RunInputs& in) {
  check_run_inputs(in, "virtual");
  const RunSettings& s = in.settings;
  const std::size_t dim = initial_weights(in).size();
  if (!s.timing_only) RACESGD_CHECK(static_cast<Eigen::Index>(dim) == in.model->num_params());
  const RunCheckpoint* resume = in.checkpoint.resume;
  if (resume) validate_resume(*resume, s.variant, dim);
  const std::size_t capacity =
      s.timing_only ? 0
                    : check_run_memory_here(*in.model, run_weight_copies(false, s.variant.P),
                                            s.eval.snapshot_memory);
  // Pins alive at once: one per learner, the PS's current pin, one transient in restart.
  // (Restoring a checkpoint holds at most the same: one pin per learner, the PS's pin on
  // the oldest restored version, the current buffer and the one being written.)
  return RunPlan{capacity,
                 resume ? std::span<const float>(resume->weights.front().w) : initial_weights(in),
                 resume ? resume->weights.front().version : 0,
                 VersionedWeights::pool_size_for(s.variant.P + 2)};
}

// The discrete-event run. Each turn of run()'s loop first checks the stop conditions
// (and whether a checkpoint is due), then takes the next event: the time ticks before it,
// the time limit, and the minibatch finish (on_finish). A learner whose minibatch throws
// (delay model or gradient) fails: the run stops, or with continue_on_learner_failure the
// learner leaves and the others go on.
class VirtualRuntime : private RunCore {
 public:
  explicit VirtualRuntime(const RunInputs& in);
  RunResult run();

 private:
  void resume_from(const RunCheckpoint& c);
  void start();
  void restart(LearnerId w);
  void restart(const Decision& d);
  void fail(LearnerId w, const std::string& what);
  bool should_stop();
  void stop_stalled();
  bool tick();
  void take_eval_ticks(double until);
  bool check_k();
  bool on_finish(const Event& ev);
  void checkpoint_if_due();
  void save_checkpoint();

  std::vector<Learner> learners_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
  std::uint64_t seq_ = 0;
  double now_ = 0;
  bool failed_stop_ = false;        // a learner failed and the run does not go on without it
  bool applied_by_retire_ = false;  // a learner that left completed the pending update
  std::uint64_t loops_ = 0;         // the checkpoint timer looks at the clock every 64 loops
  std::uint64_t events_ = 0;        // progress looks at the clock every 1024 events
  // The version AdaSync's last check scored (none yet: ~0). Not checkpointed: a resumed
  // run scores its first check again, which gives the same loss and K.
  Version k_checked_version_ = ~Version{0};
};

VirtualRuntime::VirtualRuntime(const RunInputs& in)
    : RunCore(in, plan_virtual_run(in), RunClock::simulated), learners_(s_.variant.P) {
  for (LearnerId w = 0; w < learners_.size(); ++w) {
    Learner& L = learners_[w];
    L.delay_rng.reseed(derive_seed(s_.seed, w, StreamPurpose::kDelays));
    L.grad.assign(weights_.dim(), 0.0f);
    if (!s_.timing_only) L.task.emplace(*in.model, *in.train, s_.batch, s_.seed, w);
  }
  if (resume_) resume_from(*resume_);
}

void VirtualRuntime::resume_from(const RunCheckpoint& c) {
  const std::size_t P = learners_.size();
  // Re-publish every version still read, oldest first and under its own number, and pin
  // each learner's right after it is published.
  for (std::size_t i = 0; i < c.weights.size(); ++i) {
    const WeightsCheckpoint& v = c.weights[i];
    if (i > 0)
      weights_.publish_as(v.version, [&](std::span<float> dst, std::span<const float>) {
        std::copy(v.w.begin(), v.w.end(), dst.begin());
      });
    for (LearnerId w = 0; w < P; ++w)
      if (c.learners[w].has_pin && c.learners[w].pinned == v.version)
        learners_[w].pin = weights_.pin_latest();
  }
  ps_.restore(c.ps);
  k_schedule_.restore(c);
  for (LearnerId w = 0; w < P; ++w) {
    const LearnerCheckpoint& l = c.learners[w];
    learners_[w].ticket = l.ticket;
    learners_[w].delay_rng.set_state(l.delay_rng);
    if (learners_[w].task) learners_[w].task->restore_sampler(l.sampler);
  }
  std::span<const std::uint64_t> delay_state(c.delay_state);
  in_.delay->restore_state(delay_state);
  if (!delay_state.empty())
    throw InputError("checkpoint: the saved delay-model state has " +
                     std::to_string(delay_state.size()) + " values more than '" +
                     in_.delay->spec() + "' uses (a checkpoint of another delay model?)");
  // (time, seq) is a total order, so the queue pops in the same order however it is
  // refilled.
  for (const EventCheckpoint& e : c.events)
    queue_.push(Event{e.time, e.seq, static_cast<LearnerId>(e.learner), e.ticket});
  seq_ = c.next_seq;
  log_.resume(c);
}

void VirtualRuntime::start() {
  if (resume_) {
    now_ = resume_->now;
    return;
  }
  restart(ps_.start(0.0));
  log_.record_point(0.0);
}

// Learner w starts a minibatch on the newest weights, finishing after its drawn delay.
void VirtualRuntime::restart(LearnerId w) {
  Learner& L = learners_[w];
  ++L.ticket;  // an event of the previous ticket is now a cancelled minibatch
  L.pin.reset();
  L.pin = weights_.pin_latest();
  double x = 0;
  try {
    x = in_.delay->sample(w, L.delay_rng);
  } catch (const std::exception& e) {
    fail(w, e.what());
    return;
  }
  if (std::isfinite(x)) {
    log_.count_drawn(x);
    queue_.push(Event{now_ + x, seq_++, w, L.ticket});
  }
}

void VirtualRuntime::restart(const Decision& d) {
  for (LearnerId w : d.restart) restart(w);
}

void VirtualRuntime::fail(LearnerId w, const std::string& what) {
  Learner& L = learners_[w];
  ++L.ticket;  // drop its pending event, if any
  L.pin.reset();
  if (!log_.learner_failed(w, what, now_)) {
    failed_stop_ = true;  // the loop stops at its next check
    return;
  }
  const Decision d = ps_.retire(w, now_);
  if (d.apply) applied_by_retire_ = true;  // the loop records a tick that may be due
  restart(d);
}

// Between two events: a tick a learner's departure made due, a checkpoint, and the stops.
bool VirtualRuntime::should_stop() {
  if (std::exchange(applied_by_retire_, false)) log_.on_update(now_);
  if (!log_.target_reached() && !failed_stop_) checkpoint_if_due();
  if (log_.stop_if_interrupted()) return true;
  // Only reached here when resuming from a checkpoint taken at the stop.
  if (log_.updates_reached()) {
    log_.stop(StopReason::updates);
    return true;
  }
  if (log_.target_reached()) {
    log_.stop(StopReason::target_error);
    return true;
  }
  if (failed_stop_) {
    log_.stop_on_failure();
    return true;
  }
  if (queue_.empty()) {
    stop_stalled();
    return true;
  }
  return false;
}

void VirtualRuntime::stop_stalled() {
  if (ps_.coordinator().active() == 0) {
    log_.stop_no_learner_left();
    return;
  }
  std::string who;
  for (const auto& [w, busy_s] : ps_.busy_learners(now_))
    who += (who.empty() ? "" : ", ") + std::to_string(w);
  log_.stop(StopReason::stalled,
            "no learner can finish a minibatch (every pending delay is infinite); "
            "stuck: learner(s) " + (who.empty() ? std::string("none") : who));
}

// The next event: the time ticks falling before it (or the time limit) all see the weights
// as they are now: at most one point for them, the first, and none when no update was
// applied since the last point (it would repeat that point). The rest are skipped at once,
// so a tiny --eval-every costs O(1) per event. AdaSync's checks before the event come in
// time order with them (a point and a check at the same time: the point first, so it shows
// the K that led to it).
bool VirtualRuntime::tick() {
  const Event ev = queue_.top();
  const double until = std::min(ev.time, s_.stop.time_s);
  while (k_schedule_.next_check() <= until && !log_.target_reached()) {
    // Checks that would score the weights the last one scored (a larger K never applies
    // an update, so between two events all checks but the first see one version) give
    // the same loss and K: skipped at once, so a tiny T0 costs O(1) per event.
    if (k_checked_version_ == ps_.version()) {
      k_schedule_.skip_past(until);
      break;
    }
    take_eval_ticks(k_schedule_.next_check());
    if (log_.target_reached()) break;
    now_ = k_schedule_.next_check();
    if (check_k()) return true;
  }
  take_eval_ticks(until);
  if (log_.target_reached()) return false;  // should_stop stops it
  if (ev.time > s_.stop.time_s) {
    now_ = s_.stop.time_s;
    log_.stop(StopReason::time);
    return true;
  }
  queue_.pop();
  return on_finish(ev);
}

void VirtualRuntime::take_eval_ticks(double until) {
  if (!log_.tick_due(until) || log_.target_reached()) return;
  now_ = log_.next_tick();
  log_.take_ticks(now_, until);
}

// AdaSync's check at now_: F of the newest weights, scored while the clock stands still
// (deterministic), and the new K, if it grew, in force from the next arrival on. True when
// the run stops (a K that completes the pending update may reach the update limit).
bool VirtualRuntime::check_k() {
  VersionedWeights::Pin cur = weights_.pin_latest();
  const double f = k_schedule_.loss(cur.weights());
  cur.reset();
  k_checked_version_ = ps_.version();
  const std::size_t K = k_schedule_.on_loss(now_, ps_.version(), f);
  if (K == 0) return false;
  const Decision d = ps_.set_k(K, now_);
  restart(d);
  return d.apply && log_.after_update(now_);
}

// Learner ev.learner's minibatch finishes: its gradient goes to the PS.
bool VirtualRuntime::on_finish(const Event& ev) {
  Learner& L = learners_[ev.learner];
  if (ev.ticket != L.ticket) return false;  // cancelled minibatch
  now_ = ev.time;
  if (L.task) {
    try {
      L.task->compute(L.pin.weights(), L.grad);
    } catch (const std::exception& e) {
      fail(ev.learner, e.what());
      return false;
    }
  }
  const Decision d =
      ps_.on_gradient(GradientArrival{ev.learner, L.pin.version(), L.grad, L.pin.weights(), now_});
  restart(d);
  if (d.apply && log_.after_update(now_)) return true;
  if (in_.progress && (++events_ & 1023) == 0)
    log_.report_progress(Progress{now_, log_.wall_s(), ps_.version(), log_.latest_error()});
  return false;
}

void VirtualRuntime::checkpoint_if_due() {
  const bool by_updates = log_.checkpoint_due_by_updates();
  const bool by_time = (++loops_ & 63) == 0 && log_.checkpoint_due_by_time();
  if (by_updates || by_time) save_checkpoint();
}

// The state between two events: everything the loop reads. Pending snapshots are scored
// first (free on the virtual clock) so the curve needs no weights.
void VirtualRuntime::save_checkpoint() {
  RunCheckpoint c;
  c.now = now_;
  c.ticker_next_time = log_.next_tick();
  c.ps = ps_.state();
  k_schedule_.save(c);
  {
    std::map<Version, std::span<const float>> versions;
    VersionedWeights::Pin cur = weights_.pin_latest();
    versions[cur.version()] = cur.weights();
    for (const Learner& L : learners_)
      if (L.pin.valid()) versions[L.pin.version()] = L.pin.weights();
    for (const auto& [v, w] : versions)
      c.weights.push_back(WeightsCheckpoint{v, std::vector<float>(w.begin(), w.end())});
  }
  for (const Learner& L : learners_) {
    LearnerCheckpoint l;
    l.ticket = L.ticket;
    l.has_pin = L.pin.valid();
    l.pinned = l.has_pin ? L.pin.version() : 0;
    for (int i = 0; i < 4; ++i) l.delay_rng[i] = L.delay_rng.state()[i];
    l.has_sampler = L.task.has_value();
    if (L.task) l.sampler = L.task->sampler_state();
    c.learners.push_back(l);
  }
  in_.delay->save_state(c.delay_state);
  // A signal stops this scoring too: the points left go into the file with their weights.
  log_.score_pending(Progress{now_, log_.wall_s(), ps_.version(), log_.latest_error()});
  c.latest_error = log_.latest_error();
  c.target_reached = log_.target_reached();
  c.next_seq = seq_;
  for (auto copy = queue_; !copy.empty(); copy.pop()) {
    const Event& e = copy.top();
    c.events.push_back(EventCheckpoint{e.time, e.seq, e.learner, e.ticket});
  }
  log_.save_checkpoint(std::move(c));
}

RunResult VirtualRuntime::run() {
  start();
  try {
    while (!should_stop() && !tick()) {
    }
  } catch (const RunError& e) {
    log_.stop(StopReason::diverged, e.what());
  }
  if (log_.checkpoint_at_end()) save_checkpoint();
  for (Learner& L : learners_) L.pin.reset();
  RunResult r = log_.finish(now_, log_.latest_error());
  r.k_changes = k_schedule_.changes();
  return r;
}

}  // namespace

RunResult run_virtual(const RunInputs& in) { return VirtualRuntime(in).run(); }

}  // namespace racesgd
