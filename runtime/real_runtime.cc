#include "runtime/real_runtime.h"

#include <atomic>
#include <chrono>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <thread>

#include "core/check.h"
#include "core/deadline.h"
#include "core/error.h"
#include "ps/gradient_inbox.h"
#include "ps/gradient_pool.h"
#include "core/rng.h"
#include "ps/versioned_weights.h"
#include "runtime/eval_recorder.h"
#include "ps/parameter_server.h"
#include "runtime/run_memory.h"
#include "worker/learner_pool.h"

namespace racesgd {
namespace {

using Clock = std::chrono::steady_clock;


struct LateLearner {
  LearnerId learner;
  double busy_s;  // computing for
  double late_s;  // past its deadline plus the compute allowance
};

// Learners computing a minibatch and past their own deadline, latest first.
std::vector<LateLearner> late_learners(const ParameterServer& ps, const LearnerPool& learners,
                                       Clock::time_point t0, double now, double allowance_s) {
  std::vector<LateLearner> out;
  for (const auto& [w, busy_s] : ps.busy_learners(now)) {
    const Clock::time_point due = learners.deadline(w);
    const double due_s = std::chrono::duration<double>(due - t0).count() + allowance_s;
    if (now > due_s) out.push_back(LateLearner{w, busy_s, now - due_s});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const LateLearner& a, const LateLearner& b) { return a.late_s > b.late_s; });
  return out;
}

std::string stall_message(double silence, const std::vector<LateLearner>& late, double timeout) {
  std::string who;
  for (const LateLearner& l : late) {
    if (l.late_s <= timeout) continue;
    char item[96];
    std::snprintf(item, sizeof item, "%zu (computing for %.1fs, %.1fs past its deadline)",
                  l.learner, l.busy_s, l.late_s);
    who += (who.empty() ? "" : ", ") + std::string(item);
  }
  char head[128];
  std::snprintf(head, sizeof head,
                "no update for %.1fs and a learner late by more than --stall-timeout; ", silence);
  return std::string(head) + "stuck: learner(s) " + who;
}

}  // namespace

RunResult run_real(const RunInputs& in) {
  const RunSettings& s = in.settings;
  const std::size_t P = s.variant.P;
  if (!in.delay || !in.lr) throw InputError("real run: a delay model and an lr schedule are required");
  if (!s.timing_only && (!in.model || !in.train || !in.test))
    throw InputError("real run: a model and data are required unless --timing-only");

  const std::vector<float> tiny_w0(1, 0.0f);
  const std::span<const float> w0 = s.timing_only ? std::span<const float>(tiny_w0) : in.w0;
  const std::size_t dim = w0.size();
  // Before anything of size d is allocated: a model too big is an InputError, not bad_alloc.
  const std::size_t snapshot_capacity =
      s.timing_only ? 0
                    : check_run_memory_here(*in.model, run_weight_copies(true, P),
                                            s.eval.snapshot_memory);

  // Pool: 2P + 5 buffers, a per-pin count (per learner one while computing and one in an
  // inbox message, the PS's current pin, the evaluator's, the snapshot copy's) that holds
  // P + 1 spare: counting distinct non-current versions at the writer's scan, P + 4 suffice
  // (docs/concurrency.md "Pool size"; in the sync family a learner can hold more pins).
  const RunCheckpoint* resume = in.checkpoint.resume;
  if (resume) {
    if (resume->clock != "real")
      throw InputError("checkpoint: taken on the " + resume->clock +
                       " clock, resumed on the real one");
    if (resume->learners.size() != P || resume->weights.empty() ||
        resume->weights.back().w.size() != dim ||
        resume->weights.back().version != resume->ps.coordinator.version ||
        resume->weights.back().version > VersionedWeights::kMaxVersion)
      throw InputError("checkpoint: its learners or weights do not fit this run (" +
                       std::to_string(P) + " learners, " + std::to_string(dim) + " weights)");
  }
  VersionedWeights weights(resume ? std::span<const float>(resume->weights.back().w) : w0,
                           VersionedWeights::pool_size_for(2 * P + 3),
                           resume ? resume->weights.back().version : 0);
  GradientPool buffers(dim, 2 * P + 2);
  GradientInbox inbox;
  ParameterServer ps(s.variant, weights, *in.lr);
  ps.enable_update_log(s.record_updates);

  std::optional<EvalRecorder> recorder;
  Dataset train_eval;
  if (!s.timing_only) {
    recorder.emplace(dim, snapshot_capacity);
    recorder->reserve(expected_points(s.stop, s.eval));  // ticks stay a memcpy on the PS thread
    train_eval = subsample(*in.train, s.eval.train_samples, s.seed);
  }
  std::vector<CurvePoint> timing_curve;
  RunResult result;
  if (resume) {
    // Learners restart fresh on the restored weights: minibatches in flight and the
    // pending update at the checkpoint are lost (their timing cannot be replayed on a
    // real clock anyway), so the coordinator resumes with nothing pending and nobody busy.
    // Their statistics were never counted (they count when applied), so nothing to undo.
    ParameterServerState st = ParameterServer::without_pending(resume->ps);
    std::fill(st.coordinator.busy.begin(), st.coordinator.busy.end(), 0);
    st.pending_sum.assign(dim, 0.0f);
    std::fill(st.idle_since.begin(), st.idle_since.end(), std::numeric_limits<double>::infinity());
    ps.restore(st);
    if (recorder) {
      recorder->restore(resume->curve);
    } else {
      for (const EvalRecorder::Saved& p : resume->curve) timing_curve.push_back(p.point);
    }
    result.failures = resume->failures;
  }

  // The run clock continues where the checkpoint left it.
  const Clock::time_point t0 =
      Clock::now() - (resume ? std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(resume->now))
                             : Clock::duration::zero());
  auto now_s = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };

  // Online target-error checks run on their own thread so the PS never stalls on them.
  std::atomic<bool> target_reached{resume ? resume->target_reached : false};
  std::atomic<double> latest_error{-1.0};
  std::optional<std::jthread> evaluator;
  if (s.stop.target_error >= 0 && !s.timing_only) {
    evaluator.emplace([&](std::stop_token st) {
      Version last = ~Version{0};
      while (!st.stop_requested()) {
        VersionedWeights::Pin pin = weights.pin_latest();
        if (pin.version() == last) {
          pin.reset();
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
          continue;
        }
        last = pin.version();
        const double err = in.model->evaluate(pin.weights(), *in.test).error;
        latest_error.store(err, std::memory_order_relaxed);
        if (err <= s.stop.target_error) {
          target_reached.store(true, std::memory_order_release);  // PS polls it
          inbox.wake();
          return;
        }
      }
    });
  }

  auto record_point = [&](double time) {
    const CurvePoint p = take_curve_counters(ps, time, now_s());
    if (!recorder) {
      timing_curve.push_back(p);
      return;
    }
    VersionedWeights::Pin cur = weights.pin_latest();
    recorder->record(p, cur.weights());
  };

  LearnerPoolConfig wc;
  wc.num_learners = P;
  wc.batch = s.batch;
  // A resumed run draws new streams (derived from the seed and the resumed version):
  // the learners' streams live on their threads and are not saved (docs/reliability.md).
  wc.seed = resume ? derive_seed(s.seed, resume->ps.coordinator.version, StreamPurpose::kOther)
                   : s.seed;
  wc.delay_after_compute = s.delay_after_compute;
  wc.timing_only = s.timing_only;
  wc.t0 = t0;
  LearnerPoolDeps deps{&weights, &inbox, &buffers, in.delay, in.model, in.train};
  LearnerPool learners(wc, deps);

  EvalTicker ticker(s.eval);
  if (resume) {
    ticker.restore_next_time(resume->ticker_next_time);
  } else {
    record_point(0.0);
  }
  {
    const double start = resume ? resume->now : 0.0;
    const Decision d = ps.start(start);
    for (LearnerId w : d.restart) learners.restart(w);
  }

  double drawn_sum = 0, served_sum = 0, compute_sum = 0;
  std::uint64_t delay_count = 0, exceeded = 0;
  if (resume) {
    drawn_sum = resume->delays.drawn_sum;
    served_sum = resume->delays.served_sum;
    compute_sum = resume->delays.compute_sum;
    delay_count = resume->delays.count;
    exceeded = resume->delays.exceeded;
  }
  double max_compute_s = 0;  // the longest gradient computation seen: the watchdog's allowance
  auto last_progress = Clock::now();
  double last_progress_time = resume ? resume->now : 0;  // last update or departure, run clock

  // On the PS thread between two messages. Snapshots not scored yet go into the file with
  // their weights: scoring them here would pause the PS for seconds (learners keep
  // computing) and distort the race being measured; copying and writing them costs
  // milliseconds (docs/reliability.md has the numbers).
  const CheckpointHooks& hooks = in.checkpoint;
  auto save_checkpoint = [&](double at) {
    RunCheckpoint c;
    c.clock = "real";
    c.now = at;
    // At the time stop the PS may pass a tick without taking it (ticks every 0.01 s sum to
    // 0.09999999999999999 s, below a 0.1 s stop). Saved as due now, it is taken at the same
    // moment on resume, and the file keeps decode_checkpoint's next tick >= clock.
    c.ticker_next_time = std::max(ticker.next_time(), at);
    c.ps = ps.state();
    {
      VersionedWeights::Pin cur = weights.pin_latest();
      c.weights.push_back(
          WeightsCheckpoint{cur.version(), std::vector<float>(cur.weights().begin(), cur.weights().end())});
    }
    c.learners.resize(P);  // their streams are not saved: a resumed run draws new ones
    if (recorder) {
      c.curve = recorder->saved();
    } else {
      for (const CurvePoint& p : timing_curve) c.curve.push_back({p, true, {}});
    }
    c.delays = DelayTally{drawn_sum, served_sum, compute_sum, delay_count, exceeded};
    c.latest_error = latest_error.load(std::memory_order_relaxed);
    c.target_reached = target_reached.load(std::memory_order_acquire);
    c.failures = result.failures;
    const auto t_start = Clock::now();
    try {
      hooks.save(c);
      ++result.checkpoints_written;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "racesgd: checkpoint not written: %s\n", e.what());
    }
    result.checkpoint_time_s += std::chrono::duration<double>(Clock::now() - t_start).count();
  };
  auto last_checkpoint = Clock::now();
  GradientMessage msg;
  double now = resume ? resume->now : 0;
  // Whatever applied an update (a gradient, or a learner leaving that completed the
  // pending one): an evaluation tick may be due and the update limit may be reached.
  auto after_apply = [&](double at) {
    if (ticker.update_due(ps.version())) record_point(at);
    if (ps.version() >= s.stop.updates) {
      result.stop_reason = "updates";
      return true;
    }
    // Like the virtual clock: each multiple of every_updates reached, unless the run stops
    // here (at_end covers that).
    if (hooks.save && hooks.every_updates > 0 && ps.version() % hooks.every_updates == 0)
      save_checkpoint(at);
    return false;
  };
  try {
    while (true) {
      if (ps.version() >= s.stop.updates) {  // e.g. resuming a run that already finished
        result.stop_reason = "updates";
        break;
      }
      if (target_reached.load(std::memory_order_acquire)) {
        result.stop_reason = "target-error";
        break;
      }
      if (in.interrupt && in.interrupt->load(std::memory_order_relaxed)) {
        result.stop_reason = "interrupted";
        result.error = "interrupted by a signal";
        break;
      }
      if (learners.has_new_failures()) {
        bool stop = false;
        for (auto& [w, what] : learners.take_failures()) {
          result.failures.push_back(LearnerFailure{w, what, now_s()});
          if (!s.continue_on_learner_failure) {
            result.stop_reason = "learner-failed";
            result.error = "learner " + std::to_string(w) + " failed: " + what;
            stop = true;
            break;
          }
          const double at = now_s();
          const Decision d = ps.retire(w, at);
          for (LearnerId r : d.restart) learners.restart(r);
          last_progress_time = at;
          if (d.apply && after_apply(at)) {
            stop = true;
            break;
          }
        }
        if (stop) break;
        if (ps.coordinator().active() == 0) {
          result.stop_reason = "stalled";
          result.error = "no learner left: every learner failed";
          break;
        }
      }
      const double next_stop = std::min(ticker.next_time(), s.stop.time_s);
      // Wake at least every 100 ms to notice interrupts and report progress.
      const Clock::time_point deadline =
          std::min(deadline_after(t0, next_stop), Clock::now() + std::chrono::milliseconds(100));
      const bool got = inbox.pop_until(msg, deadline);
      now = now_s();
      if (now >= s.stop.time_s) {  // the final point, at the limit, is recorded after the loop
        now = s.stop.time_s;
        result.stop_reason = "time";
        break;
      }
      // One point for however many ticks passed while the PS was busy, taken now, and
      // none when no update was applied since the last point (it would repeat that point).
      if (ticker.next_time() <= now) {
        if (has_new_update(last_point(recorder, timing_curve), ps.version())) record_point(now);
        ticker.skip_past(now);
      }
      // Progress watchdog: a learner that never returns stalls the variants that need it.
      // Silence alone is no stall (a heavy-tailed X legitimately takes minutes): the run
      // stops only when no update came for the timeout AND some learner computing is late
      // past its own deadline (start + X + the longest compute seen) by the timeout.
      const double silence = now - std::max(ps.last_update_time(), last_progress_time);
      if (s.stall_timeout_s > 0 && silence > s.stall_timeout_s) {
        const std::vector<LateLearner> late = late_learners(ps, learners, t0, now, max_compute_s);
        if (!late.empty() && late.front().late_s > s.stall_timeout_s) {
          result.stop_reason = "stalled";
          result.error = stall_message(silence, late, s.stall_timeout_s);
          break;
        }
      }
      if (hooks.save && hooks.every_s > 0 &&
          std::chrono::duration<double>(Clock::now() - last_checkpoint).count() >= hooks.every_s) {
        save_checkpoint(now);
        last_checkpoint = Clock::now();
      }
      if (in.progress && Clock::now() - last_progress > std::chrono::milliseconds(250)) {
        last_progress = Clock::now();
        in.progress(Progress{now, now, ps.version(), latest_error.load(std::memory_order_relaxed)});
      }
      if (!got) continue;
      // A gradient from an ticket since superseded is cancelled work: drop it.
      if (msg.ticket != learners.ticket(msg.learner)) {
        msg = GradientMessage{};
        continue;
      }
      drawn_sum += msg.delay_drawn;
      served_sum += msg.delay_served;
      compute_sum += msg.t_computed - msg.t_start;
      max_compute_s = std::max(max_compute_s, msg.t_computed - msg.t_start);
      if (!s.delay_after_compute && msg.t_computed - msg.t_start > msg.delay_drawn) ++exceeded;
      ++delay_count;
      const LearnerId from = msg.learner;
      const Decision d = ps.on_gradient(GradientArrival{
          from, msg.read_version, msg.grad.span(), msg.pin.weights(), now});
      msg = GradientMessage{};  // pin and buffer back to their pools before anyone restarts
      for (LearnerId w : d.restart) learners.restart(w);
      if (d.apply && after_apply(now)) break;
    }
  } catch (const RunError& e) {
    result.stop_reason = "diverged";
    result.error = e.what();
  }
  learners.stop();
  if (evaluator) {
    evaluator->request_stop();
    evaluator->join();
  }
  msg = GradientMessage{};
  // Drain gradients pushed after the stop so their pins and buffers go home.
  while (inbox.try_pop(msg)) msg = GradientMessage{};

  if (hooks.save && hooks.at_end &&
      (result.stop_reason == "time" || result.stop_reason == "updates" ||
       result.stop_reason == "target-error" || result.stop_reason == "interrupted"))
    save_checkpoint(now);
  // The final point, unless the last one recorded already shows this moment's state.
  // A diverged run ends at its last published weights (finite: the refused update never
  // was published).
  if (needs_final_point(last_point(recorder, timing_curve), ps.published_version(), now))
    record_point(now);
  const double run_wall = now_s();
  finish_curve(recorder, timing_curve, in.model, train_eval, in.test,
               scoring_control(in, Progress{now, run_wall, ps.version(),
                                            latest_error.load(std::memory_order_relaxed)}),
               result);
  result.eval_time_s = now_s() - run_wall;
  result.wall_time_s = now_s();
  result.run_time_s = now;
  collect_ps_statistics(ps, result);
  const double n = static_cast<double>(delay_count);
  result.delay_drawn_mean_s = delay_count ? drawn_sum / n : 0;
  result.delay_served_mean_s = delay_count ? served_sum / n : 0;
  result.compute_mean_s = delay_count ? compute_sum / n : 0;
  result.compute_exceeded_delay = exceeded;
  return result;
}

}  // namespace racesgd
