#include "runtime/real_runtime.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "core/deadline.h"
#include "core/error.h"
#include "core/rng.h"
#include "ps/parameter_server.h"
#include "ps/versioned_weights.h"
#include "runtime/learner_transport.h"
#include "runtime/run_core.h"
#include "runtime/run_log.h"
#include "runtime/run_memory.h"
#include "runtime/thread_learners.h"
#include "worker/timer_slack.h"

namespace racesgd {
namespace {

using Clock = std::chrono::steady_clock;

struct LateLearner {
  LearnerId learner;
  double busy_s;  // computing for
  double late_s;  // past its deadline plus the compute allowance
};

// Learners computing a minibatch and past their own deadline, latest first.
std::vector<LateLearner> late_learners(const ParameterServer& ps, const LearnerTransport& learners,
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

std::string stall_message(double silence, const std::vector<LateLearner>& late, double timeout,
                          const LearnerTransport& learners) {
  std::string who;
  for (const LateLearner& l : late) {
    if (l.late_s <= timeout) continue;
    const std::string where = learners.where(l.learner);
    char item[96];
    std::snprintf(item, sizeof item, " (computing for %.1fs, %.1fs past its deadline)", l.busy_s, l.late_s);
    who += (who.empty() ? "" : ", ") + std::to_string(l.learner) +
           (where.empty() ? "" : " on " + where) + item;
  }
  char head[128];
  std::snprintf(head, sizeof head,
                "no update for %.1fs and a learner late by more than --stall-timeout; ", silence);
  return std::string(head) + "stuck: learner(s) " + who;
}

// AdaSync on the real clock: a loss scored off the PS's path, waiting for the PS thread.
// A newer loss replaces one the PS has not taken yet.
class LossMailbox {
 public:
  void post(double loss) {
    std::lock_guard<std::mutex> g(m_);
    loss_ = loss;
    ready_.store(true, std::memory_order_release);
  }
  /// The loss posted since the last take, if any (one relaxed-acquire load when none).
  std::optional<double> take() {
    if (!ready_.load(std::memory_order_acquire)) return std::nullopt;
    std::lock_guard<std::mutex> g(m_);
    ready_.store(false, std::memory_order_relaxed);
    return loss_;
  }

 private:
  std::atomic<bool> ready_{false};
  std::mutex m_;
  double loss_ = 0;
};

// Checks the inputs, the memory the run needs and a checkpoint to resume. A resumed run
// starts from the newest saved weights (its learners restart on them).
RunPlan plan_real_run(const RunInputs& in) {
  check_run_inputs(in, "real");
  const RunSettings& s = in.settings;
  const std::size_t P = s.variant.P;
  const std::size_t dim = initial_weights(in).size();
  const std::size_t capacity =
      s.timing_only ? 0
                    : check_run_memory_here(*in.model, run_weight_copies(true, P),
                                            s.eval.snapshot_memory);
  if (const RunCheckpoint* resume = in.checkpoint.resume) {
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
  const RunCheckpoint* resume = in.checkpoint.resume;
  // Pool: a buffer per pin that can be alive at once (real_clock_readers), plus two.
  return RunPlan{capacity,
                 resume ? std::span<const float>(resume->weights.back().w) : initial_weights(in),
                 resume ? resume->weights.back().version : 0,
                 VersionedWeights::pool_size_for(real_clock_readers(P))};
}

// The run on the real clock. The calling thread is the PS: each turn of run()'s loop checks
// the stop conditions, waits for one gradient (or the next tick, or 100 ms), looks at the
// clock (time limit, ticks, watchdog, checkpoint timer, progress) and applies the gradient.
// The learners are reached only through the LearnerTransport.
class RealRuntime : private RunCore {
 public:
  explicit RealRuntime(const RunInputs& in);
  RunResult run();

 private:
  double now_s() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }
  void resume_from(const RunCheckpoint& c);
  void evaluate(std::stop_token st);
  void probe_losses(std::stop_token st, double first);
  bool take_k_change();
  void start();
  bool should_stop();
  bool take_failures();
  bool receive(GradientMessage& msg);
  bool on_clock();
  bool stalled();
  bool apply(GradientMessage& msg);
  bool after_apply(double at);
  /// Restarts d's learners with X counted from `at` (at the latest now).
  void restart(const Decision& d, Clock::time_point at = Clock::time_point::max());
  void save_checkpoint(double at);
  void stop_threads();

  Clock::time_point t0_;  // the run clock's zero
  Clock::time_point last_decided_{};  // restart()'s latest decision time
  // Online target-error checks run on their own thread so the PS never stalls on them.
  std::atomic<bool> target_reached_;
  std::atomic<double> latest_error_{-1.0};
  std::unique_ptr<LearnerTransport> learners_;
  std::optional<std::jthread> evaluator_;  // declared after learners_: stops first
  // AdaSync: scores F every T0 on its own thread and posts it for the PS thread.
  LossMailbox k_losses_;
  std::atomic<bool> k_final_{false};  // K reached P: nothing more to score
  std::optional<std::jthread> k_prober_;
  double max_compute_s_ = 0;  // the longest gradient computation seen: the watchdog's allowance
  double last_progress_time_;  // last update or departure, run clock
  double now_;                 // run clock as of the last look
};

RealRuntime::RealRuntime(const RunInputs& in)
    : RunCore(in, plan_real_run(in), RunClock::real),
      target_reached_(resume_ && resume_->target_reached),
      last_progress_time_(resume_ ? resume_->now : 0),
      now_(resume_ ? resume_->now : 0) {
  log_.reserve_points();  // ticks stay a memcpy on the PS thread
  if (resume_) resume_from(*resume_);
  // The run clock continues where the checkpoint left it.
  t0_ = Clock::now() - (resume_ ? std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(resume_->now))
                                : Clock::duration::zero());
  log_.start_clock(t0_);

  LearnerPoolConfig wc;
  wc.num_learners = s_.variant.P;
  wc.batch = s_.batch;
  // A resumed run draws new streams (derived from the seed and the resumed version):
  // the learners' streams live on their threads and are not saved (docs/reliability.md).
  wc.seed = resume_ ? derive_seed(s_.seed, resume_->ps.coordinator.version, StreamPurpose::kOther)
                    : s_.seed;
  wc.delay_after_compute = s_.delay_after_compute;
  wc.compute_at = s_.compute_at;
  wc.timing_only = s_.timing_only;
  wc.t0 = t0_;
  if (in.learners) {
    learners_ = in.learners(LearnerSetup{&weights_, wc.num_learners, wc.seed, t0_});
  } else {
    LearnerPoolDeps deps{&weights_, nullptr, nullptr, in.delay, in.model, in.train};
    learners_ = std::make_unique<ThreadLearners>(wc, deps, weights_.dim());
  }
  if (s_.stop.target_error >= 0 && !s_.timing_only)
    evaluator_.emplace([this](std::stop_token st) { evaluate(st); });
  if (std::isfinite(k_schedule_.next_check()))
    k_prober_.emplace([this, first = k_schedule_.next_check()](std::stop_token st) {
      probe_losses(st, first);
    });
}

// Learners restart fresh on the restored weights: minibatches in flight and the pending
// update at the checkpoint are lost (their timing cannot be replayed on a real clock
// anyway), so the coordinator resumes with nothing pending and nobody busy. Their
// statistics were never counted (they count when applied), so nothing to undo.
void RealRuntime::resume_from(const RunCheckpoint& c) {
  ParameterServerState st = ParameterServer::without_pending(c.ps);
  std::fill(st.coordinator.busy.begin(), st.coordinator.busy.end(), 0);
  st.pending_sum.assign(weights_.dim(), 0.0f);
  std::fill(st.idle_since.begin(), st.idle_since.end(), std::numeric_limits<double>::infinity());
  ps_.restore(st);
  k_schedule_.restore(c);
  log_.resume(c);
}

// The evaluator thread: scores each new version until the target error is reached.
void RealRuntime::evaluate(std::stop_token st) {
  Version last = ~Version{0};
  while (!st.stop_requested()) {
    VersionedWeights::Pin pin = weights_.pin_latest();
    if (pin.version() == last) {
      pin.reset();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      continue;
    }
    last = pin.version();
    const double err = in_.model->evaluate(pin.weights(), *in_.test).error;
    latest_error_.store(err, std::memory_order_relaxed);
    if (err <= s_.stop.target_error) {
      target_reached_.store(true, std::memory_order_release);  // PS polls it
      learners_->wake();
      return;
    }
  }
}

// AdaSync's prober: at each check time (T0, 2 T0, ... on the run clock) it scores F of the
// newest weights and posts it; the PS thread takes it between two messages. It shares the
// 2 cores with the learners like the evaluator does: F on the subsample (2,000 rows by
// default) costs milliseconds per T0.
void RealRuntime::probe_losses(std::stop_token st, double first) {
  std::mutex m;
  std::condition_variable_any cv;
  double next = first;
  Version scored = ~Version{0};
  while (true) {
    {
      std::unique_lock<std::mutex> lock(m);
      if (cv.wait_until(lock, st, deadline_after(t0_, next), [] { return false; }) ||
          st.stop_requested())
        return;
    }
    if (k_final_.load(std::memory_order_acquire)) return;  // K = P: nothing can change
    VersionedWeights::Pin pin = weights_.pin_latest();
    // The weights the last check scored give the same loss and K: nothing to post.
    if (pin.version() != scored) {
      scored = pin.version();
      const double f = k_schedule_.loss(pin.weights());
      pin.reset();
      k_losses_.post(f);
    }
    next = next_check_after(k_schedule_.every_s(), now_s());
  }
}

// A loss the prober posted: the schedule's new K, if it grew, in force from the next
// arrival on (recorded at this moment and update). True when the run stops.
bool RealRuntime::take_k_change() {
  const std::optional<double> f = k_losses_.take();
  if (!f) return false;
  const std::size_t K = k_schedule_.on_loss(now_, ps_.version(), *f);
  if (!std::isfinite(k_schedule_.next_check())) k_final_.store(true, std::memory_order_release);
  if (K == 0) return false;
  const Decision d = ps_.set_k(K, now_);
  restart(d);
  return d.apply && after_apply(now_);
}

void RealRuntime::start() {
  if (!resume_) log_.record_point(0.0);
  restart(ps_.start(resume_ ? resume_->now : 0.0));
}

// Before waiting: the limits, the target, a signal and learner failures.
bool RealRuntime::should_stop() {
  if (log_.updates_reached()) {  // e.g. resuming a run that already finished
    log_.stop(StopReason::updates);
    return true;
  }
  if (target_reached_.load(std::memory_order_acquire)) {
    log_.stop(StopReason::target_error);
    return true;
  }
  if (log_.stop_if_interrupted()) return true;
  return learners_->has_new_failures() && take_failures();
}

// A failed learner stops the run, or leaves it (which may complete the pending update).
bool RealRuntime::take_failures() {
  for (auto& [w, what] : learners_->take_failures()) {
    if (!log_.learner_failed(w, what, now_s())) {
      log_.stop_on_failure();
      return true;
    }
    const double at = now_s();
    const Decision d = ps_.retire(w, at);
    restart(d);
    last_progress_time_ = at;
    if (d.apply && after_apply(at)) return true;
  }
  if (ps_.coordinator().active() == 0) {
    log_.stop_no_learner_left();
    return true;
  }
  return false;
}

// Waits for one gradient until the next tick or the time limit, and at least every 100 ms
// to notice interrupts and report progress.
bool RealRuntime::receive(GradientMessage& msg) {
  const double next_stop = std::min(log_.next_tick(), s_.stop.time_s);
  const Clock::time_point deadline =
      std::min(deadline_after(t0_, next_stop), Clock::now() + std::chrono::milliseconds(100));
  const bool got = learners_->receive_until(msg, deadline);
  now_ = now_s();
  return got;
}

// After each wait: the time limit, ticks, the watchdog, the checkpoint timer, progress.
bool RealRuntime::on_clock() {
  if (now_ >= s_.stop.time_s) {  // the final point, at the limit, is recorded by finish
    now_ = s_.stop.time_s;
    log_.stop(StopReason::time);
    return true;
  }
  // One point for however many ticks passed while the PS was busy, taken now.
  if (log_.tick_due(now_)) log_.take_ticks(now_, now_);
  if (take_k_change()) return true;
  if (stalled()) return true;
  if (log_.checkpoint_due_by_time()) save_checkpoint(now_);
  log_.report_progress(Progress{now_, now_, ps_.version(), latest_error_.load(std::memory_order_relaxed)});
  return false;
}

// Progress watchdog: a learner that never returns stalls the variants that need it.
// Silence alone is no stall (a heavy-tailed X legitimately takes minutes): the run stops
// only when no update came for the timeout AND some learner computing is late past its own
// deadline (start + X + the longest compute seen) by the timeout.
bool RealRuntime::stalled() {
  const double silence = now_ - std::max(ps_.last_update_time(), last_progress_time_);
  if (!(s_.stall_timeout_s > 0 && silence > s_.stall_timeout_s)) return false;
  const std::vector<LateLearner> late = late_learners(ps_, *learners_, t0_, now_, max_compute_s_);
  if (late.empty() || late.front().late_s <= s_.stall_timeout_s) return false;
  log_.stop(StopReason::stalled, stall_message(silence, late, s_.stall_timeout_s, *learners_));
  return true;
}

bool RealRuntime::apply(GradientMessage& msg) {
  // A gradient from a ticket since superseded is cancelled work: drop it, as one of a
  // learner that left the run (computed for it before it failed, pushed after).
  if (!learners_->is_current(msg) || !ps_.coordinator().is_active(msg.learner)) {
    msg = GradientMessage{};
    return false;
  }
  log_.count_served(msg);
  max_compute_s_ = std::max(max_compute_s_, msg.t_computed - msg.t_start);
  // The PS may write an update of this gradient alone into its buffer (publish_in).
  const Decision d = ps_.on_gradient(GradientArrival{
      msg.learner, msg.read_version, msg.grad.span(), msg.pin.weights(), now_, &msg.grad});
  // The learners this gradient restarts count their X from its push, the moment the
  // model's PS decides (paper.md: the update happens when its K-th gradient arrives), not
  // from when this thread got to it: the PS thread's wake-up (a futex on 2 busy cores,
  // tens of us) would otherwise add to every update of the sync family, whose learners
  // all restart at each update (docs/performance.md, "Runtime fidelity").
  const Clock::time_point pushed =
      t0_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(msg.t_pushed));
  msg = GradientMessage{};  // pin and buffer back to their pools before anyone restarts
  restart(d, pushed);
  return d.apply && after_apply(now_);
}

// Whatever applied an update (a gradient, or a learner leaving that completed the pending
// one): an evaluation tick may be due and the update limit may be reached.
bool RealRuntime::after_apply(double at) {
  if (log_.after_update(at)) return true;
  // Like the virtual clock: each multiple of every_updates reached, unless the run stops
  // here (the end checkpoint covers that).
  if (log_.checkpoint_due_by_updates()) save_checkpoint(at);
  return false;
}

void RealRuntime::restart(const Decision& d, Clock::time_point at) {
  // Decisions never go back in time: a push stamped before the previous decision (its
  // thread woke late, while a later-stamped one was applied) is taken at that decision.
  const Clock::time_point decided = std::min(std::max(at, last_decided_), Clock::now());
  last_decided_ = decided;
  // Only while K is fixed: a K schedule may raise the gradients the next update waits for
  // after the restart, which the jobs the transport parked would then never deliver.
  const Coordinator& c = ps_.coordinator();
  if (!d.restart.empty())
    learners_->restart(d.restart, decided, c.awaited(), c.update_restarts_all() && !k_schedule_.active());
}

// On the PS thread between two messages. Snapshots not scored yet go into the file with
// their weights: scoring them here would pause the PS for seconds (learners keep computing)
// and distort the race being measured; copying and writing them costs milliseconds
// (docs/reliability.md has the numbers).
void RealRuntime::save_checkpoint(double at) {
  RunCheckpoint c;
  c.now = at;
  // At the time stop the PS may pass a tick without taking it (ticks every 0.01 s sum to
  // 0.09999999999999999 s, below a 0.1 s stop). Saved as due now, it is taken at the same
  // moment on resume, and the file keeps decode_checkpoint's next tick >= clock.
  c.ticker_next_time = std::max(log_.next_tick(), at);
  c.ps = ps_.state();
  k_schedule_.save(c);
  {
    VersionedWeights::Pin cur = weights_.pin_latest();
    c.weights.push_back(
        WeightsCheckpoint{cur.version(), std::vector<float>(cur.weights().begin(), cur.weights().end())});
  }
  c.learners.resize(s_.variant.P);  // their streams are not saved: a resumed run draws new ones
  c.latest_error = latest_error_.load(std::memory_order_relaxed);
  c.target_reached = target_reached_.load(std::memory_order_acquire);
  log_.save_checkpoint(std::move(c));
}

// Stops the learners (dropping gradients pushed after the stop, so their pins and buffers
// go home) and the evaluator.
void RealRuntime::stop_threads() {
  learners_->stop();
  for (auto* t : {&evaluator_, &k_prober_})
    if (*t) {
      (*t)->request_stop();
      (*t)->join();
    }
}

RunResult RealRuntime::run() {
  // This (the caller's) thread is the PS: its timed waits end where it starts polling for
  // a gradient due, so the kernel's default 50 us slack would come on top of the machine's
  // own timer lateness (worker/timer_slack.h).
  const ScopedTimerSlack slack(std::chrono::microseconds(1));
  start();
  GradientMessage msg;
  try {
    while (!should_stop()) {
      const bool got = receive(msg);
      if (on_clock()) break;
      if (got && apply(msg)) break;
    }
  } catch (const TransportError& e) {
    log_.stop(StopReason::transport_failed, e.what());
  } catch (const RunError& e) {
    log_.stop(StopReason::diverged, e.what());
  }
  stop_threads();
  msg = GradientMessage{};
  if (log_.checkpoint_at_end()) save_checkpoint(now_);
  RunResult r = log_.finish(now_, latest_error_.load(std::memory_order_relaxed));
  r.k_changes = k_schedule_.changes();
  return r;
}

}  // namespace

RunResult run_real(const RunInputs& in) { return RealRuntime(in).run(); }

}  // namespace racesgd
