#include "runtime/virtual_runtime.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <functional>
#include <cmath>
#include <memory>
#include <optional>
#include <queue>
#include <utility>
#include <vector>

#include "core/check.h"
#include "core/error.h"
#include "core/rng.h"
#include "ps/versioned_weights.h"
#include "runtime/eval_recorder.h"
#include "ps/parameter_server.h"
#include "runtime/run_memory.h"
#include "worker/gradient_task.h"

namespace racesgd {
namespace {

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

}  // namespace

RunResult run_virtual(const RunInputs& in) {
  const RunSettings& s = in.settings;
  const std::size_t P = s.variant.P;
  if (!in.delay || !in.lr) throw InputError("virtual run: a delay model and an lr schedule are required");
  if (!s.timing_only && (!in.model || !in.train || !in.test))
    throw InputError("virtual run: a model and data are required unless --timing-only");

  using Clock = std::chrono::steady_clock;
  const auto wall_start = Clock::now();
  auto wall_now = [&] { return std::chrono::duration<double>(Clock::now() - wall_start).count(); };

  // Timing-only runs carry a one-element weight vector so the PS arithmetic stays cheap.
  const std::vector<float> tiny_w0(1, 0.0f);
  const std::span<const float> w0 = s.timing_only ? std::span<const float>(tiny_w0) : in.w0;
  if (!s.timing_only)
    RACESGD_CHECK(static_cast<Eigen::Index>(w0.size()) == in.model->num_params());
  const std::size_t dim = w0.size();

  const RunCheckpoint* resume = in.checkpoint.resume;
  if (resume) validate_resume(*resume, s.variant, dim);
  // Before anything of size d is allocated: a model too big is an InputError, not bad_alloc.
  const std::size_t snapshot_capacity =
      s.timing_only ? 0
                    : check_run_memory_here(*in.model, run_weight_copies(false, P),
                                            s.eval.snapshot_memory);

  // Pins alive at once: one per learner, the PS's current pin, one transient in restart.
  // (Restoring a checkpoint holds at most the same: one pin per learner, the PS's pin on
  // the oldest restored version, the current buffer and the one being written.)
  VersionedWeights weights(resume ? std::span<const float>(resume->weights.front().w) : w0,
                           VersionedWeights::pool_size_for(P + 2),
                           resume ? resume->weights.front().version : 0);
  ParameterServer ps(s.variant, weights, *in.lr);
  ps.enable_update_log(s.record_updates);

  std::vector<Learner> learners(P);
  for (LearnerId w = 0; w < P; ++w) {
    Learner& L = learners[w];
    L.delay_rng.reseed(derive_seed(s.seed, w, StreamPurpose::kDelays));
    L.grad.assign(dim, 0.0f);
    if (!s.timing_only) L.task.emplace(*in.model, *in.train, s.batch, s.seed, w);
  }
  if (resume) {
    // Re-publish every version still read, oldest first and under its own number, and
    // pin each learner's right after it is published.
    for (std::size_t i = 0; i < resume->weights.size(); ++i) {
      const WeightsCheckpoint& v = resume->weights[i];
      if (i > 0)
        weights.publish_as(v.version, [&](std::span<float> dst, std::span<const float>) {
          std::copy(v.w.begin(), v.w.end(), dst.begin());
        });
      for (LearnerId w = 0; w < P; ++w)
        if (resume->learners[w].has_pin && resume->learners[w].pinned == v.version)
          learners[w].pin = weights.pin_latest();
    }
    ps.restore(resume->ps);
    for (LearnerId w = 0; w < P; ++w) {
      const LearnerCheckpoint& c = resume->learners[w];
      learners[w].ticket = c.ticket;
      learners[w].delay_rng.set_state(c.delay_rng);
      if (learners[w].task) learners[w].task->restore_sampler(c.sampler);
    }
    std::span<const std::uint64_t> delay_state(resume->delay_state);
    in.delay->restore_state(delay_state);
    if (!delay_state.empty())
      throw InputError("checkpoint: the saved delay-model state has " +
                       std::to_string(delay_state.size()) + " values more than '" +
                       in.delay->spec() + "' uses (a checkpoint of another delay model?)");
  }

  std::optional<EvalRecorder> recorder;
  Dataset train_eval;
  if (!s.timing_only) {
    recorder.emplace(dim, snapshot_capacity);
    train_eval = subsample(*in.train, s.eval.train_samples, s.seed);
  }
  RunResult result;
  std::vector<CurvePoint> timing_curve;  // timing-only: counters without weights

  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue;
  std::uint64_t seq = 0;
  double drawn_sum = 0;
  std::uint64_t drawn_count = 0;
  if (resume) {
    // (time, seq) is a total order, so the queue pops in the same order however it is
    // refilled.
    for (const EventCheckpoint& e : resume->events)
      queue.push(Event{e.time, e.seq, static_cast<LearnerId>(e.learner), e.ticket});
    seq = resume->next_seq;
    drawn_sum = resume->delays.drawn_sum;
    drawn_count = resume->delays.count;
    if (recorder) {
      recorder->restore(resume->curve);
    } else {
      for (const EvalRecorder::Saved& p : resume->curve) timing_curve.push_back(p.point);
    }
    result.failures = resume->failures;
  }

  // A learner whose minibatch throws (delay model or gradient) fails: the run stops, or
  // with continue_on_learner_failure the learner leaves and the others go on.
  bool failed_stop = false;
  std::function<void(LearnerId, double)> restart;
  bool applied_by_retire = false;
  auto fail_learner = [&](LearnerId w, double now, const std::string& what) {
    Learner& L = learners[w];
    ++L.ticket;  // drop its pending event, if any
    L.pin.reset();
    result.failures.push_back(LearnerFailure{w, what, now});
    if (!s.continue_on_learner_failure) {
      failed_stop = true;
      return;
    }
    const Decision d = ps.retire(w, now);
    if (d.apply) applied_by_retire = true;  // the loop records a tick that may be due
    for (LearnerId r : d.restart) restart(r, now);
  };
  restart = [&](LearnerId w, double now) {
    Learner& L = learners[w];
    ++L.ticket;  // an event of the previous ticket is now a cancelled minibatch
    L.pin.reset();
    L.pin = weights.pin_latest();
    double x = 0;
    try {
      x = in.delay->sample(w, L.delay_rng);
    } catch (const std::exception& e) {
      fail_learner(w, now, e.what());
      return;
    }
    if (std::isfinite(x)) {
      drawn_sum += x;
      ++drawn_count;
      queue.push(Event{now + x, seq++, w, L.ticket});
    }
  };

  double latest_error = resume ? resume->latest_error : -1;
  bool target_reached = resume ? resume->target_reached : false;
  auto record_point = [&](double time) {
    const CurvePoint p = take_curve_counters(ps, time, wall_now());
    if (!recorder) {
      timing_curve.push_back(p);
      return;
    }
    VersionedWeights::Pin cur = weights.pin_latest();
    recorder->record(p, cur.weights());
    if (s.stop.target_error >= 0) {
      // The virtual clock stands still while we score: online evaluation is free here.
      const std::size_t i = recorder->size() - 1;
      recorder->score(i, *in.model, train_eval, *in.test);
      latest_error = recorder->point(i).test_error;
      if (latest_error <= s.stop.target_error) target_reached = true;
    }
  };

  EvalTicker ticker(s.eval);
  double now = 0;
  if (resume) {
    ticker.restore_next_time(resume->ticker_next_time);
    now = resume->now;
  } else {
    const Decision d = ps.start(0.0);
    for (LearnerId w : d.restart) restart(w, 0.0);
    record_point(0.0);
  }
  auto last_progress = Clock::now();
  std::uint64_t events = 0;

  // The state between two events: everything the loop below reads. Pending snapshots are
  // scored first (free on the virtual clock) so the curve needs no weights.
  const CheckpointHooks& hooks = in.checkpoint;
  auto save_checkpoint = [&] {
    RunCheckpoint c;
    c.clock = "virtual";
    c.now = now;
    c.ticker_next_time = ticker.next_time();
    c.ps = ps.state();
    {
      std::map<Version, std::span<const float>> versions;
      VersionedWeights::Pin cur = weights.pin_latest();
      versions[cur.version()] = cur.weights();
      for (const Learner& L : learners)
        if (L.pin.valid()) versions[L.pin.version()] = L.pin.weights();
      for (const auto& [v, w] : versions)
        c.weights.push_back(WeightsCheckpoint{v, std::vector<float>(w.begin(), w.end())});
    }
    for (const Learner& L : learners) {
      LearnerCheckpoint l;
      l.ticket = L.ticket;
      l.has_pin = L.pin.valid();
      l.pinned = l.has_pin ? L.pin.version() : 0;
      for (int i = 0; i < 4; ++i) l.delay_rng[i] = L.delay_rng.state()[i];
      l.has_sampler = L.task.has_value();
      if (L.task) l.sampler = L.task->sampler_state();
      c.learners.push_back(l);
    }
    in.delay->save_state(c.delay_state);
    if (recorder) {
      // A signal stops this scoring too: the points left go into the file with their weights.
      recorder->score_all(*in.model, train_eval, *in.test,
                          scoring_control(in, Progress{now, wall_now(), ps.version(), latest_error}));
      c.curve = recorder->saved();
    } else {
      for (const CurvePoint& p : timing_curve) c.curve.push_back({p, true, {}});
    }
    c.delays.drawn_sum = drawn_sum;
    c.delays.count = drawn_count;
    c.latest_error = latest_error;
    c.target_reached = target_reached;
    c.failures = result.failures;
    c.next_seq = seq;
    auto copy = queue;
    for (; !copy.empty(); copy.pop()) {
      const Event& e = copy.top();
      c.events.push_back(EventCheckpoint{e.time, e.seq, e.learner, e.ticket});
    }
    const auto t_start = Clock::now();
    try {
      hooks.save(c);
      ++result.checkpoints_written;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "racesgd: checkpoint not written: %s\n", e.what());
    }
    result.checkpoint_time_s += std::chrono::duration<double>(Clock::now() - t_start).count();
  };
  Version last_checkpoint_version = ps.version();
  double last_checkpoint_wall = wall_now();
  std::uint64_t loops = 0;

  try {
    while (true) {
      // A learner that left may have completed the pending update (K shrank): its tick.
      if (std::exchange(applied_by_retire, false) && ticker.update_due(ps.version()))
        record_point(now);
      if (hooks.save && !target_reached && !failed_stop) {
        const bool by_updates = hooks.every_updates > 0 && ps.version() != last_checkpoint_version &&
                                ps.version() % hooks.every_updates == 0;
        const bool by_time = hooks.every_s > 0 && (++loops & 63) == 0 &&
                             wall_now() - last_checkpoint_wall >= hooks.every_s;
        if (by_updates || by_time) {
          save_checkpoint();
          last_checkpoint_version = ps.version();
          last_checkpoint_wall = wall_now();
        }
      }
      if (in.interrupt && in.interrupt->load(std::memory_order_relaxed)) {  // a flag, no data
        result.stop_reason = "interrupted";
        result.error = "interrupted by a signal";
        break;
      }
      // Only reached here when resuming from a checkpoint taken at the stop.
      if (ps.version() >= s.stop.updates) {
        result.stop_reason = "updates";
        break;
      }
      if (target_reached) {
        result.stop_reason = "target-error";
        break;
      }
      if (failed_stop) {
        const LearnerFailure& f = result.failures.back();
        result.stop_reason = "learner-failed";
        result.error = "learner " + std::to_string(f.learner) + " failed: " + f.what;
        break;
      }
      if (queue.empty()) {
        result.stop_reason = "stalled";
        std::string who;
        for (const auto& [w, busy_s] : ps.busy_learners(now))
          who += (who.empty() ? "" : ", ") + std::to_string(w);
        result.error = ps.coordinator().active() == 0
                           ? std::string("no learner left: every learner failed")
                           : "no learner can finish a minibatch (every pending delay is infinite); "
                             "stuck: learner(s) " + (who.empty() ? std::string("none") : who);
        break;
      }
      const Event ev = queue.top();
      // Time ticks falling before this event (or the time limit) all see the weights as
      // they are now: at most one point for them, the first, and none when no update was
      // applied since the last point (it would repeat that point). The rest are skipped
      // at once, so a tiny --eval-every costs O(1) per event.
      if (const double until = std::min(ev.time, s.stop.time_s);
          ticker.next_time() <= until && !target_reached) {
        now = ticker.next_time();
        if (has_new_update(last_point(recorder, timing_curve), ps.version())) record_point(now);
        ticker.skip_past(until);
      }
      if (target_reached) continue;
      if (ev.time > s.stop.time_s) {
        now = s.stop.time_s;
        result.stop_reason = "time";
        break;
      }
      queue.pop();
      Learner& L = learners[ev.learner];
      if (ev.ticket != L.ticket) continue;  // cancelled minibatch
      now = ev.time;
      if (L.task) {
        try {
          L.task->compute(L.pin.weights(), L.grad);
        } catch (const std::exception& e) {
          fail_learner(ev.learner, now, e.what());
          continue;
        }
      }
      const Decision d =
          ps.on_gradient(GradientArrival{ev.learner, L.pin.version(), L.grad, L.pin.weights(), now});
      for (LearnerId w : d.restart) restart(w, now);
      if (d.apply) {
        if (ticker.update_due(ps.version())) record_point(now);
        if (ps.version() >= s.stop.updates) {
          result.stop_reason = "updates";
          break;
        }
      }
      if (in.progress && (++events & 1023) == 0 &&
          Clock::now() - last_progress > std::chrono::milliseconds(250)) {
        last_progress = Clock::now();
        in.progress(Progress{now, wall_now(), ps.version(), latest_error});
      }
    }
  } catch (const RunError& e) {
    result.stop_reason = "diverged";
    result.error = e.what();
  }
  // A run that stopped by its rule or a signal can be resumed (to the same end, or after
  // an interrupt to its rule). Never a diverged one: its weights hold NaN/Inf.
  if (hooks.save && hooks.at_end &&
      (result.stop_reason == "time" || result.stop_reason == "updates" ||
       result.stop_reason == "target-error" || result.stop_reason == "interrupted"))
    save_checkpoint();

  // The final point, unless the last thing recorded already is one at this moment.
  // A diverged run ends at its last published weights (finite: the refused update never
  // was published).
  if (needs_final_point(last_point(recorder, timing_curve), ps.published_version(), now))
    record_point(now);

  for (Learner& L : learners) L.pin.reset();
  const double run_wall = wall_now();
  finish_curve(recorder, timing_curve, in.model, train_eval, in.test,
               scoring_control(in, Progress{now, run_wall, ps.version(), latest_error}), result);
  result.eval_time_s = wall_now() - run_wall;
  result.wall_time_s = wall_now();
  result.run_time_s = now;
  collect_ps_statistics(ps, result);
  result.delay_drawn_mean_s = drawn_count ? drawn_sum / static_cast<double>(drawn_count) : 0;
  result.delay_served_mean_s = result.delay_drawn_mean_s;  // the virtual clock serves exactly
  return result;
}

}  // namespace racesgd
