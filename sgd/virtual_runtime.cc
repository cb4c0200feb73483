#include "sgd/virtual_runtime.h"

#include <chrono>
#include <functional>
#include <cmath>
#include <memory>
#include <optional>
#include <queue>
#include <vector>

#include "core/check.h"
#include "core/error.h"
#include "core/rng.h"
#include "ps/versioned_weights.h"
#include "sgd/eval_recorder.h"
#include "sgd/parameter_server.h"
#include "worker/gradient_task.h"

namespace racesgd {
namespace {

struct Event {
  double time;
  std::uint64_t seq;  // scheduling order: breaks ties deterministically
  WorkerId worker;
  std::uint64_t generation;
  bool operator>(const Event& o) const {
    return time != o.time ? time > o.time : seq > o.seq;
  }
};

struct Learner {
  std::uint64_t generation = 0;
  VersionedWeights::Pin pin;
  Rng delay_rng;
  std::optional<GradientTask> task;
  std::vector<float> grad;
};

constexpr std::size_t kSnapshotCapacity = 512;

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

  // Pins alive at once: one per learner, the PS's current pin, one transient in restart.
  VersionedWeights weights(w0, VersionedWeights::pool_size_for(P + 2));
  ParameterServer ps(s.variant, weights, *in.lr);
  ps.enable_update_log(s.record_updates);

  std::vector<Learner> learners(P);
  for (WorkerId w = 0; w < P; ++w) {
    Learner& L = learners[w];
    L.delay_rng.reseed(derive_seed(s.seed, w, StreamPurpose::kDelays));
    L.grad.assign(dim, 0.0f);
    if (!s.timing_only) L.task.emplace(*in.model, *in.train, s.batch, s.seed, w);
  }

  std::optional<EvalRecorder> recorder;
  Dataset train_eval;
  if (!s.timing_only) {
    recorder.emplace(dim, kSnapshotCapacity);
    train_eval = subsample(*in.train, s.eval.train_samples, s.seed);
  }
  RunResult result;
  std::vector<CurvePoint> timing_curve;  // timing-only: counters without weights

  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue;
  std::uint64_t seq = 0;
  double drawn_sum = 0;
  std::uint64_t drawn_count = 0;

  // A learner whose minibatch throws (delay model or gradient) fails: the run stops, or
  // with continue_on_worker_failure the learner leaves and the others go on.
  bool failed_stop = false;
  std::function<void(WorkerId, double)> restart;
  auto fail_learner = [&](WorkerId w, double now, const std::string& what) {
    Learner& L = learners[w];
    ++L.generation;  // drop its pending event, if any
    L.pin.reset();
    result.failures.push_back(WorkerFailure{w, what, now});
    if (!s.continue_on_worker_failure) {
      failed_stop = true;
      return;
    }
    const Decision d = ps.retire(w, now);
    for (WorkerId r : d.restart) restart(r, now);
  };
  restart = [&](WorkerId w, double now) {
    Learner& L = learners[w];
    ++L.generation;  // an event of the previous generation is now a cancelled minibatch
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
      queue.push(Event{now + x, seq++, w, L.generation});
    }
  };

  double latest_error = -1;
  bool target_reached = false;
  auto record_point = [&](double time) {
    CurvePoint p;
    p.time_s = time;
    p.updates = ps.version();
    p.gradients = ps.gradients_applied();
    p.staleness_mean = ps.tracker().take_interval_mean();
    p.wall_s = wall_now();
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
  {
    const Decision d = ps.start(0.0);
    for (WorkerId w : d.restart) restart(w, 0.0);
  }
  record_point(0.0);
  auto last_progress = Clock::now();
  std::uint64_t events = 0;

  try {
    while (true) {
      if (target_reached) {
        result.stop_reason = "target-error";
        break;
      }
      if (failed_stop) {
        const WorkerFailure& f = result.failures.back();
        result.stop_reason = "worker-failed";
        result.error = "worker " + std::to_string(f.worker) + " failed: " + f.what;
        break;
      }
      if (queue.empty()) {
        result.stop_reason = "stalled";
        std::string who;
        for (const auto& [w, busy_s] : ps.busy_workers(now))
          who += (who.empty() ? "" : ", ") + std::to_string(w);
        result.error = ps.coordinator().active() == 0
                           ? std::string("no learner left: every learner failed")
                           : "no learner can finish a minibatch (every pending delay is infinite); "
                             "stuck: worker(s) " + (who.empty() ? std::string("none") : who);
        break;
      }
      const Event ev = queue.top();
      // Time ticks falling before this event see the weights as they are now.
      while (ticker.next_time() <= ev.time && ticker.next_time() <= s.stop.time_s &&
             !target_reached) {
        now = ticker.next_time();
        record_point(now);
        ticker.advance_time();
      }
      if (target_reached) continue;
      if (ev.time > s.stop.time_s) {
        now = s.stop.time_s;
        result.stop_reason = "time";
        break;
      }
      queue.pop();
      Learner& L = learners[ev.worker];
      if (ev.generation != L.generation) continue;  // cancelled minibatch
      now = ev.time;
      if (L.task) {
        try {
          L.task->compute(L.pin.weights(), L.grad);
        } catch (const std::exception& e) {
          fail_learner(ev.worker, now, e.what());
          continue;
        }
      }
      const Decision d =
          ps.on_gradient(GradientArrival{ev.worker, L.pin.version(), L.grad, L.pin.weights(), now});
      for (WorkerId w : d.restart) restart(w, now);
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

  // The final point, unless the last thing recorded already is one at this moment.
  const std::size_t n_points = recorder ? recorder->size() : timing_curve.size();
  const CurvePoint& last = recorder ? recorder->point(n_points - 1) : timing_curve.back();
  if (result.stop_reason != "diverged" &&
      (last.time_s != now || last.updates != ps.version()))
    record_point(now);

  for (Learner& L : learners) L.pin.reset();
  const double run_wall = wall_now();
  if (recorder) {
    recorder->score_all(*in.model, train_eval, *in.test);
    result.curve = recorder->curve();
  } else {
    result.curve = std::move(timing_curve);
  }
  result.eval_time_s = wall_now() - run_wall;
  result.wall_time_s = wall_now();
  result.run_time_s = now;
  result.updates = ps.version();
  result.gradients_applied = ps.gradients_applied();
  result.gradients_cancelled = ps.tracker().cancelled();
  result.last_update_time_s = ps.last_update_time();
  result.staleness_mean = ps.tracker().mean();
  result.staleness_max = ps.tracker().max();
  result.p0 = ps.tracker().fresh_fraction();
  result.staleness_histogram = ps.tracker().histogram();
  result.per_worker = ps.tracker().per_worker();
  result.mean_lr = ps.gradients_applied() ? ps.lr_sum() / static_cast<double>(ps.gradients_applied()) : 0;
  result.delay_drawn_mean_s = drawn_count ? drawn_sum / static_cast<double>(drawn_count) : 0;
  result.delay_served_mean_s = result.delay_drawn_mean_s;  // the virtual clock serves exactly
  result.update_log = ps.update_log();
  return result;
}

}  // namespace racesgd
