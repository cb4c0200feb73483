#include "worker/learner_pool.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "core/check.h"
#include "core/deadline.h"
#include "core/rng.h"
#include "worker/compute_plan.h"
#include "worker/gradient_task.h"

namespace racesgd {

using Clock = std::chrono::steady_clock;

LearnerPool::LearnerPool(const LearnerPoolConfig& config, const LearnerPoolDeps& deps,
                         const ThreadStarter& start_thread)
    : config_(config), deps_(deps) {
  RACESGD_CHECK(deps_.weights && deps_.inbox && deps_.buffers && deps_.delay);
  RACESGD_CHECK(config_.timing_only || (deps_.model && deps_.train));
  slots_.reserve(config_.num_learners);
  for (std::size_t w = 0; w < config_.num_learners; ++w) slots_.push_back(std::make_unique<Slot>());
  threads_.reserve(config_.num_learners);
  const ThreadStarter start = start_thread ? start_thread
                                            : [](std::function<void(std::stop_token)> body) {
                                                return std::jthread(std::move(body));
                                              };
  try {
    for (std::size_t w = 0; w < config_.num_learners; ++w)
      threads_.push_back(start([this, w](std::stop_token st) { run(st, w); }));
  } catch (...) {
    // A thread could not start (e.g. EAGAIN): the ones already running wait for work in
    // an interruptible sleep that a bare stop request does not wake; stop() interrupts.
    stop();
    throw;
  }
}

LearnerPool::~LearnerPool() { stop(); }

void LearnerPool::stop() {
  for (auto& t : threads_) t.request_stop();
  for (auto& s : slots_) s->sleep.interrupt();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

std::uint64_t LearnerPool::restart(std::size_t w, Clock::time_point at) {
  Slot& s = *slots_[w];
  // relaxed: published by the seq_cst fetch_add below, which the learner loads before it.
  s.restarted_at.store(at.time_since_epoch().count(), std::memory_order_relaxed);
  // seq_cst: pairs with the learner's clear()-then-load in run(); together with the
  // sticky interrupt flag this rules out a lost wake-up (see docs/concurrency.md).
  const std::uint64_t a = s.ticket.fetch_add(1, std::memory_order_seq_cst) + 1;
  s.sleep.interrupt();
  return a;
}

std::uint64_t LearnerPool::ticket(std::size_t w) const {
  return slots_[w]->ticket.load(std::memory_order_seq_cst);
}

Clock::time_point LearnerPool::deadline(std::size_t w) const {
  const Slot& s = *slots_[w];
  // Only this (the PS) thread restarts learners, so the ticket cannot move while we look; the
  // learner writes a deadline for it, then publishes deadline_for.
  if (s.deadline_for.load(std::memory_order_acquire) == ticket(w))
    return Clock::time_point(Clock::duration(s.deadline.load(std::memory_order_relaxed)));
  return Clock::time_point(Clock::duration(s.restarted_at.load(std::memory_order_relaxed)));
}

std::vector<std::pair<std::size_t, std::string>> LearnerPool::take_failures() {
  std::lock_guard lock(failures_mutex_);
  new_failures_.store(false, std::memory_order_relaxed);
  return std::exchange(failures_, {});
}

void LearnerPool::run(std::stop_token st, std::size_t w) {
  try {
    run_loop(st, w);
  } catch (const std::exception& e) {
    {
      std::lock_guard lock(failures_mutex_);
      failures_.emplace_back(w, e.what());
      new_failures_.store(true, std::memory_order_release);  // PS polls it after wake()
    }
    deps_.inbox->wake();
  }
}

void LearnerPool::run_loop(std::stop_token st, std::size_t w) {
  Slot& slot = *slots_[w];
  Rng delay_rng = learner_delay_stream(config_.seed, w);
  std::optional<GradientTask> task;
  if (!config_.timing_only) task.emplace(*deps_.model, *deps_.train, config_.batch, config_.seed, w);
  auto seconds = [&](Clock::time_point t) {
    return std::chrono::duration<double>(t - config_.t0).count();
  };
  ComputePlan plan(effective_compute_at(config_.compute_at, config_.delay_after_compute));
  std::uint64_t seen = 0;

  while (true) {
    // Clear, then look at both signals: stop() and restart() set their flag before they
    // interrupt, and clear() shares the interrupt's mutex, so neither can slip in between
    // (checking stop before the clear lost stop()'s interrupt: a hang at shutdown).
    slot.sleep.clear();
    if (st.stop_requested()) break;
    const std::uint64_t mine = slot.ticket.load(std::memory_order_seq_cst);
    if (mine == seen) {
      slot.sleep.sleep_until(Clock::time_point::max());  // wait for work or stop
      continue;
    }
    seen = mine;
    auto cancelled = [&] {
      return st.stop_requested() || slot.ticket.load(std::memory_order_seq_cst) != mine;
    };

    // The minibatch's clock starts when the PS decided to restart this learner (for a
    // restart caused by a gradient: that gradient's push, runtime/real_runtime.cc), and
    // X is the learner's whole turn-around (paper.md), so waking up and computing are
    // part of X, like network and compute time would be on a real cluster.
    const Clock::time_point start{Clock::duration(slot.restarted_at.load(std::memory_order_relaxed))};
    VersionedWeights::Pin pin = deps_.weights->pin_latest();
    const double x = deps_.delay->sample(w, delay_rng);
    // Announce when this push is due (the watchdog measures lateness past it); +infinity
    // never comes, so such a learner is due at its start.
    const auto x_ticks = std::isfinite(x) ? std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(std::min(x, 1e8)))
                                          : Clock::duration::zero();
    auto announce = [&](Clock::time_point due) {
      slot.deadline.store(due.time_since_epoch().count(), std::memory_order_relaxed);
      slot.deadline_for.store(mine, std::memory_order_release);
    };
    const bool after = config_.delay_after_compute && std::isfinite(x);
    announce((after ? Clock::now() : start) + x_ticks);
    // Waits until `t` unless cancelled or stopped first (then false).
    auto wait_until = [&](Clock::time_point t, std::chrono::nanoseconds spin) {
      while (true) {
        if (slot.sleep.sleep_until(t, spin)) return true;
        // Interrupted: clear first, then look, so a restart racing with us is not missed.
        slot.sleep.clear();
        if (cancelled()) return false;
      }
    };
    // +infinity (hang) gives time_point::max(): such a learner waits for a cancel or stop.
    const Clock::time_point due = deadline_after(start, x);
    // Just in time (worker/compute_plan.h): no spin, the plan's lead covers the wake-up.
    const Clock::time_point planned = plan.begin(Clock::now(), due);
    if (!wait_until(planned, std::chrono::nanoseconds::zero())) continue;  // never computed
    GradientBuffer grad = deps_.buffers->acquire();
    const Clock::time_point compute_began = Clock::now();
    double loss = 0;
    if (task)
      loss = task->compute(pin.weights(), grad.span());
    else
      std::fill(grad.span().begin(), grad.span().end(), 0.0f);  // timing-only: a zero gradient
    const Clock::time_point computed = Clock::now();
    plan.record(planned, computed);
    if (cancelled()) continue;  // pin and buffer return to their pools here
    if (after) announce(computed + x_ticks);
    if (!wait_until(after ? deadline_after(computed, x) : due, slot.sleep.spin())) continue;

    const Clock::time_point pushed = Clock::now();
    GradientMessage m;
    m.learner = w;
    m.read_version = pin.version();
    m.batch_size = static_cast<std::uint32_t>(config_.batch);
    m.t_start = seconds(compute_began);
    m.t_computed = seconds(computed);
    m.t_pushed = seconds(pushed);
    m.delay_drawn = x;
    m.delay_served = std::chrono::duration<double>(pushed - (after ? computed : start)).count();
    m.compute_late_s = after ? 0.0 : seconds_late(computed, due);
    m.loss = loss;
    m.ticket = mine;
    m.pin = std::move(pin);
    m.grad = std::move(grad);
    deps_.inbox->push(std::move(m));
  }
}

}  // namespace racesgd
