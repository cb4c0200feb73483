#include "worker/learner_pool.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <thread>
#include <utility>

#include "core/check.h"
#include "core/cpu_time.h"
#include "core/deadline.h"
#include "core/rng.h"
#include "worker/batch_scheduling.h"
#include "worker/compute_plan.h"
#include "worker/gradient_task.h"
#include "worker/timer_slack.h"

namespace racesgd {

using Clock = std::chrono::steady_clock;

namespace {
// A gather-cost estimate after one more gather that took `took`: a maximum that decays
// (by an eighth of the gap per gather) when gathers get faster.
Clock::duration decaying_max(Clock::duration cost, Clock::duration took) {
  return std::max(took, cost - (cost - took) / 8);
}

// The calling thread's CPU time so far (zero if it cannot be read).
Clock::duration own_cpu_time() { return thread_cpu_time().value_or(Clock::duration::zero()); }
}  // namespace

LearnerPool::LearnerPool(const LearnerPoolConfig& config, const LearnerPoolDeps& deps,
                         const ThreadStarter& start_thread)
    : config_(config),
      deps_(deps),
      compute_at_(effective_compute_at(config.compute_at, config.delay_after_compute)) {
  RACESGD_CHECK(deps_.weights && deps_.inbox && deps_.buffers && deps_.delay);
  RACESGD_CHECK(config_.timing_only || (deps_.model && deps_.train));
  slots_.reserve(config_.num_learners);
  delay_rngs_.reserve(config_.num_learners);
  draws_ahead_ = !config_.timing_only && config_.restarter_computes && compute_at_ == ComputeAt::deadline &&
                 deps_.delay->may_draw_ahead();
  ahead_.resize(config_.num_learners);
  push_due_.assign(config_.num_learners, Clock::time_point::max());
  round_.assign(config_.num_learners, 0);
  set_ups_.reserve(config_.num_learners);
  deferred_.reserve(config_.num_learners);
  chained_.reserve(config_.num_learners);
  draws_.reserve(config_.num_learners);
  owed_gathers_.reserve(config_.num_learners);
  reserved_.reserve(config_.num_learners);
  parked_.reserve(config_.num_learners);
  due_scratch_.reserve(config_.num_learners);
  held_.reserve(config_.num_learners);
  for (std::size_t w = 0; w < config_.num_learners; ++w) {
    slots_.push_back(std::make_unique<Slot>());
    if (!config_.timing_only)
      slots_.back()->task = std::make_unique<GradientTask>(*deps_.model, *deps_.train, config_.batch, config_.seed, w);
    delay_rngs_.push_back(learner_delay_stream(config_.seed, w));
  }
  // After the tasks, which reject a bad batch size with a message.
  if (!config_.timing_only && config_.restarter_computes && compute_at_ == ComputeAt::deadline)
    own_workspace_ = deps_.model->make_workspace(static_cast<Eigen::Index>(config_.batch));
  threads_.reserve(config_.num_learners);
  const ThreadStarter start = start_thread ? start_thread
                                            : [](std::function<void(std::stop_token)> body) {
                                                return std::jthread(std::move(body));
                                              };
  try {
    for (std::size_t w = 0; w < config_.num_learners; ++w)
      threads_.push_back(start([this, w](std::stop_token st) { run(st, w); }));
    // Computing at the start needs no wake-ups later than the restart itself.
    if (compute_at_ == ComputeAt::deadline)
      dispatcher_ = std::jthread([this](std::stop_token st) { dispatch_loop(st); });
  } catch (...) {
    // A thread could not start (e.g. EAGAIN): the ones already running wait for work in
    // an interruptible sleep that a bare stop request does not wake; stop() interrupts.
    stop();
    throw;
  }
}

LearnerPool::~LearnerPool() { stop(); }

void LearnerPool::stop() {
  if (dispatcher_.joinable()) {
    dispatcher_.request_stop();  // wakes its condition_variable_any wait
    dispatcher_.join();
  }
  for (auto& t : threads_) t.request_stop();
  for (auto& s : slots_) s->sleep.interrupt();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  // Jobs never taken hold pins: back to their pool now, while the weights exist.
  reserved_.clear();
  parked_.clear();
  held_.clear();  // pins and buffers back to their pools
  owed_gathers_.clear();
  for (auto& s : slots_) {
    std::lock_guard lock(s->job_mutex);
    s->job = Job{};
  }
}

std::uint64_t LearnerPool::restart(std::size_t w, Clock::time_point at) {
  const Clock::time_point now = Clock::now();
  round_[w] = ++rounds_;
  SetUp job = set_up(w, draw(w), at, now);
  drop_superseded_own_work();
  if (std::unique_lock task = claim_task(job, now); task.owns_lock()) {
    tell_if_holding(job);
    if (std::optional<Computed> computed = compute_here(job, std::move(task)))
      hold_or_push(job, std::move(*computed));
    return job.ticket;
  }
  start(std::span<const SetUp>(&job, 1), now);
  return job.ticket;
}

void LearnerPool::restart(std::span<const std::size_t> ws, Clock::time_point at, std::size_t awaited,
                          bool rest_superseded) {
  const Clock::time_point now = Clock::now();
  // Every X first (a few ns each, and nothing a learner sees), then the jobs in order of
  // X: the learner due soonest is set up -- and, computing at once, woken -- before the
  // others are touched (setting up one costs the PS ~0.5 us of cache misses on 2 busy
  // cores, so the last of 32 would start ~20 us late; in the sync family at K = 1 the
  // smallest X makes the next update).
  draws_.clear();
  for (const std::size_t w : ws) draws_.emplace_back(w, draw(w));
  std::sort(draws_.begin(), draws_.end(), [](const auto& a, const auto& b) {
    // A failed draw (nullopt) last; +infinity after every finite X.
    return a.second.has_value() && (!b.second.has_value() || *a.second < *b.second);
  });
  ++rounds_;
  for (const std::size_t w : ws) round_[w] = rounds_;
  set_ups_.clear();
  deferred_.clear();
  // This restart supersedes own work of its learners (set_up moves their tickets below).
  std::erase_if(reserved_, [&](const SetUp& r) { return round_[r.learner] == rounds_; });
  std::erase_if(held_, [&](const Held& h) { return round_[h.set.learner] == rounds_; });
  std::erase_if(parked_, [&](const SetUp& p) { return round_[p.learner] == rounds_; });
  drop_superseded_own_work();
  // The job with the smallest X, when this thread may compute it, is computed before the
  // jobs whose compute time comes after it are even set up: its push makes the next update
  // of the sync family at K = 1, and setting up the others (and waking the dispatcher for
  // them) took the PS 14 us on average, 39 us at the 90th percentile, on a 2-vCPU VM. Jobs
  // due within this thread's compute are set up (and woken) first: their learners compute
  // on the other cores meanwhile. (Until set up, a deferred learner's superseded job is
  // still current: its thread may go on with it for that long, and its gradient is dropped.)
  std::optional<SetUp> here;
  std::unique_lock<std::mutex> here_task;
  Clock::time_point defer_after = Clock::time_point::max();
  // The next smallest Xs after that one, up to the gradients awaited, this thread may
  // compute after it when their pushes leave it time to (reserve, below): not woken, nor
  // handed to the dispatcher, until it knows. Only the smallest: the chain ends at the
  // first job that is not in it.
  chained_.clear();
  bool chaining = awaited > 1;
  std::size_t ahead = 0;  // `here` and the jobs woken before any was chained or deferred
  // The jobs from `live` on are parked (set up last, never woken; see park_from).
  const std::size_t live =
      rest_superseded && compute_at_ == ComputeAt::deadline ? park_from(at, awaited) : draws_.size();
  for (std::size_t i = 0; i < live; ++i) {
    const auto& [w, x] = draws_[i];
    if (here && x && planned_for(w, *x, at, now) > defer_after) {
      deferred_.push_back(i);
      chaining = false;
      continue;
    }
    const SetUp job = set_up(w, x, at, now);
    if (set_ups_.empty() && chained_.empty() && (here_task = claim_task(job, now)).owns_lock()) {
      here = job;
      ahead = 1;
      set_ups_.push_back(job);
      defer_after = now + own_lead(w);
      tell_if_holding(job);
      continue;
    }
    // Only while this thread, computing `here` and then the chain back to back, would be
    // done with this one in time (see done_in_time).
    chaining = chaining && here && own_compute_cost_ && chained_.size() + 1 < awaited && reservable(job) &&
               done_in_time(w, now + static_cast<int>(chained_.size() + 2) * *own_compute_cost_, now);
    if (chaining) {
      chained_.push_back(job);
      tell_if_holding(job);
      continue;
    }
    if (here && chained_.empty() && deferred_.empty()) ++ahead;
    set_ups_.push_back(job);
    wake_if_needed(job, now);
  }
  if (!here) {
    // Not due at once: the smallest Xs may still be this thread's, computed when their
    // time comes (do_own_work) instead of by learner threads the dispatcher wakes: that
    // hand-off (two wake-ups) took 88 us at the median, and 1 in 50 of them hundreds, on a
    // 2-vCPU VM, and the lead it needs made the PS compute a third of the jobs at once.
    // The sync family's update at K > 1 waits for K of them, and the PS learned of a
    // learner thread's push 68 us late at the median (a futex wake-up on 2 busy cores,
    // P = 32), so it computes as many of the first as it can be on time for.
    const std::size_t reserved = reserve(set_ups_, awaited, now, /*woken=*/true);
    launch(std::span<const SetUp>(set_ups_).subspan(reserved), now);
    park(live, at, Clock::now());
    if (rest_superseded) draw_ahead(ws);
    return;
  }
  // Those set up already and planned after `now` (within this thread's compute) go to the
  // dispatcher first: launch() at a later time would take them for dispatched.
  launch(set_ups_, now);
  const std::size_t before = set_ups_.size();
  set_ups_.insert(set_ups_.end(), chained_.begin(), chained_.end());
  std::optional<Computed> computed = compute_here(*here, std::move(here_task));
  const Clock::time_point later = Clock::now();
  for (const std::size_t i : deferred_) set_ups_.push_back(set_up(draws_[i].first, draws_[i].second, at, later));
  // The chained jobs, then the deferred ones (planned after this computation), may be this
  // thread's too, as when none is due at once -- as many as are awaited besides `here` and
  // the jobs with smaller X woken before it computed; the others are woken or launched now.
  const std::span<const SetUp> rest = std::span<const SetUp>(set_ups_).subspan(before);
  const std::size_t mine = reserve(rest, awaited > ahead ? awaited - ahead : 0, later, false);
  for (const SetUp& job : rest.first(mine)) tell_if_holding(job);
  const std::span<const SetUp> theirs = rest.subspan(mine);
  start(theirs, later);
  park(live, at, Clock::now());
  if (computed) hold_or_push(*here, std::move(*computed));
  if (rest_superseded) draw_ahead(ws);
}

std::size_t LearnerPool::park_from(Clock::time_point at, std::size_t awaited) {
  // By the time a job of this restart is due, the jobs before it (in order of X) and the
  // pushes still to come of learners this restart left alone (their jobs' gradients count
  // for the same update) that are due by then have been pushed; when those are as many as
  // the update awaits, it comes first and cancels this job and every later one. Learners
  // whose push is not to come here: those restarted now, those parked (never computed
  // unless released), those that pushed (their gradient may have been applied already:
  // not counted, so never too many).
  due_scratch_.clear();
  for (std::size_t v = 0; v < push_due_.size(); ++v) {
    // (A parked job's push is not awaited: max().)
    if (round_[v] == rounds_ || push_due_[v] == Clock::time_point::max()) continue;
    if (!push_pending(v)) continue;
    due_scratch_.push_back(push_due_[v]);
  }
  std::sort(due_scratch_.begin(), due_scratch_.end());
  std::size_t before = 0;  // of due_scratch_, due by the current job's push
  for (std::size_t i = 0; i < draws_.size(); ++i) {
    const std::optional<double>& x = draws_[i].second;
    if (!x) return i;  // failed draws (last): no job either way
    const Clock::time_point due = deadline_after(at, *x);
    while (before < due_scratch_.size() && due_scratch_[before] <= due) ++before;
    if (i + before >= awaited) return i;
  }
  return draws_.size();
}

void LearnerPool::park(std::size_t from, Clock::time_point at, Clock::time_point now) {
  // Set up (their tickets move: superseded jobs in hand are dropped), never woken nor
  // given to the dispatcher -- unless a gradient they wait behind is lost (take_failures
  // releases them).
  for (std::size_t i = from; i < draws_.size(); ++i) {
    parked_.push_back(set_up(draws_[i].first, draws_[i].second, at, now));
    tell_if_holding(parked_.back());
    // Not awaited while parked: the PS neither polls for it (next_due) nor keeps its own
    // work clear of it (others_pushed_before); release_parked puts it back.
    push_due_[draws_[i].first] = Clock::time_point::max();
  }
}

void LearnerPool::drop_superseded_own_work() {
  auto current = [&](const SetUp& j) {
    return slots_[j.learner]->ticket.load(std::memory_order_relaxed) == j.ticket;
  };
  // A reserved job superseded stays in its slot until replaced (set_up did); a gradient
  // held for a superseded ticket is cancelled work: its pin and buffer go home.
  std::erase_if(reserved_, [&](const SetUp& r) { return !current(r); });
  std::erase_if(held_, [&](const Held& h) { return !current(h.set); });
  std::erase_if(parked_, [&](const SetUp& p) { return !current(p); });
}

void LearnerPool::release_parked() {
  drop_superseded_own_work();
  for (const SetUp& p : parked_) push_due_[p.learner] = p.due;
  start(parked_, Clock::now());
  parked_.clear();
}

bool LearnerPool::holds_gradient_of(std::size_t w) const {
  return std::any_of(held_.begin(), held_.end(), [&](const Held& h) { return h.set.learner == w; });
}

Clock::duration LearnerPool::own_lead(std::size_t w) const {
  if (const std::optional<Clock::duration> lead = own_plan_.lead()) return *lead;
  return Clock::duration(std::max<std::int64_t>(0, slots_[w]->lead.load(std::memory_order_relaxed)));
}

std::size_t LearnerPool::reserve(std::span<const SetUp> jobs, std::size_t at_most, Clock::time_point now,
                                 bool woken) {
  if (!reserved_.empty() || !config_.restarter_computes || compute_at_ != ComputeAt::deadline) return 0;
  // Whether the reserved jobs and then `last`, computed back to back from now (this
  // thread's compute cost each), are each done by its push. (Planned just in time below,
  // with the lead, they begin later when they can.)
  auto fits = [&](const SetUp& last) {
    if (!own_compute_cost_) return false;
    Clock::time_point done = now;
    for (const SetUp& r : reserved_)
      if (!done_in_time(r.learner, done += *own_compute_cost_, now)) return false;
    return done_in_time(last.learner, done + *own_compute_cost_, now);
  };
  for (const SetUp& job : jobs) {
    if (reserved_.size() >= at_most || !reservable(job)) break;
    // Woken, a job due at once was dispatched to its learner.
    if (woken && job.planned <= now) break;
    if ((!woken || !reserved_.empty()) && !fits(job)) break;
    reserved_.push_back(job);
  }
  Clock::time_point next = Clock::time_point::max();
  for (auto r = reserved_.rbegin(); r != reserved_.rend(); ++r) {
    r->planned = std::max(now, std::min(push_due_[r->learner], next) - own_lead(r->learner));
    next = r->planned;
  }
  return reserved_.size();
}

bool LearnerPool::reservable(const SetUp& job) const {
  if (!config_.restarter_computes || compute_at_ != ComputeAt::deadline || job.planned == Clock::time_point::max())
    return false;
  // Only with a lead to plan by: its own, else (none yet) the learner's.
  if (!own_plan_.lead() && slots_[job.learner]->lead.load(std::memory_order_relaxed) < 0) return false;
  // Busy from its compute time to the push: no push of a learner outside this restart may
  // be due by then, or it would be taken late (do_reserved checks again).
  return others_pushed_before(push_due_[job.learner]);
}

bool LearnerPool::done_in_time(std::size_t w, Clock::time_point done, Clock::time_point now) const {
  // Its thread would be done by now + its lead at the earliest, and this thread learns of
  // a learner thread's push a wake-up later still (68 us at the median, 2 busy cores).
  const std::int64_t lead = slots_[w]->lead.load(std::memory_order_relaxed);
  return done <= std::max(push_due_[w], now + Clock::duration(std::max<std::int64_t>(0, lead)));
}

Clock::time_point LearnerPool::own_work_at() const {
  Clock::time_point at = reserved_.empty() ? Clock::time_point::max() : reserved_.front().planned;
  for (const Held& h : held_) at = std::min(at, h.c.job.due);
  return at;
}

void LearnerPool::push_held_due(Clock::time_point now) {
  // In order of due time (hold_or_push keeps them so).
  std::size_t n = 0;
  for (; n < held_.size() && held_[n].c.job.due <= now; ++n) push_computed(held_[n].set, std::move(held_[n].c));
  held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(n));
}

void LearnerPool::do_own_work() {
  drop_superseded_own_work();
  // Reserved jobs are computed back to back when their plan says so: each round pushes
  // first what is due meanwhile (the gradient just computed, when it was late).
  while (true) {
    push_held_due(Clock::now());
    if (reserved_.empty() || Clock::now() < reserved_.front().planned) break;
    do_reserved();
  }
  pay_owed_gathers();
}

void LearnerPool::do_reserved() {
  const SetUp r = reserved_.front();
  reserved_.erase(reserved_.begin());
  // A push of another learner restarted since, due before this one's, would wait for this
  // computation: its thread computes this job then, as does one whose task is busy (its
  // thread is gathering -- awake, it takes the job at once -- or computing a superseded
  // job, which it drops, then takes this). Gradients this thread holds are its own to push
  // (stamped when due, however late it gets to them).
  std::unique_lock<std::mutex> task;
  if (others_pushed_before(push_due_[r.learner], r.learner))
    task = std::unique_lock(slots_[r.learner]->task_mutex, std::try_to_lock);
  if (!task.owns_lock()) {
    dispatch(r.learner, r.ticket);
    return;
  }
  const Clock::time_point free_from = own_computed_;
  if (std::optional<Computed> computed = compute_here(r, std::move(task))) {
    // From its plan, or from when this thread was done with the previous job, if later
    // (the chain's: not a late wake-up), unless it began earlier still.
    own_plan_.record(std::min(std::max(r.planned, free_from), computed->began), computed->computed);
    hold_or_push(r, std::move(*computed));
  }
}

Clock::time_point LearnerPool::planned_for(std::size_t w, double x, Clock::time_point at,
                                           Clock::time_point now) const {
  const std::int64_t lead = slots_[w]->lead.load(std::memory_order_relaxed);
  return plan_begin(compute_at_,
                    lead < 0 ? std::nullopt : std::optional<Clock::duration>(Clock::duration(lead)),
                    now, deadline_after(at, x));
}

std::unique_lock<std::mutex> LearnerPool::claim_task(const SetUp& job, Clock::time_point now) {
  if (job.planned > now || !restarter_may_compute(job, now)) return {};
  // Busy: its thread is gathering (it then takes the job dispatched at once, being awake),
  // or computing a superseded job.
  return std::unique_lock(slots_[job.learner]->task_mutex, std::try_to_lock);
}

bool LearnerPool::restarter_may_compute(const SetUp& job, Clock::time_point now) const {
  if (!config_.restarter_computes || compute_at_ != ComputeAt::deadline || !reserved_.empty() ||
      !held_.empty())
    return false;
  // Only a job due within the learner's lead (one due later was planned at once only for
  // want of a lead, and this thread would wait out its X).
  const std::int64_t lead = slots_[job.learner]->lead.load(std::memory_order_relaxed);
  if (lead < 0) return false;
  const Clock::time_point due = push_due_[job.learner];
  if (due - now > Clock::duration(lead)) return false;
  // Busy until the push, and at least for the lead: a learner not restarted here whose
  // push is due by then would be taken late.
  return others_pushed_before(std::max(due, now + Clock::duration(lead)));
}

bool LearnerPool::others_pushed_before(Clock::time_point until, std::size_t except) const {
  for (std::size_t v = 0; v < push_due_.size(); ++v) {
    const bool skip = except == kLatestRound ? round_[v] == rounds_ : v == except;
    if (skip || push_due_[v] >= until) continue;
    // A gradient of the same restart this thread holds is its own to push (stamped when
    // due, however late it gets to it); one of an earlier restart would wait for this
    // thread's computation, as a learner's would.
    const bool own = except != kLatestRound && round_[v] == round_[except] && holds_gradient_of(v);
    if (push_pending(v) && !own) return false;
  }
  return true;
}

std::optional<LearnerPool::Computed> LearnerPool::compute_here(const SetUp& set,
                                                                std::unique_lock<std::mutex> task_lock) {
  Slot& s = *slots_[set.learner];
  Computed c;
  {
    std::lock_guard lock(s.job_mutex);
    // Only this thread sets jobs up, and this one was never dispatched: still in the slot.
    RACESGD_CHECK(s.job.ticket == set.ticket);
    c.job = std::exchange(s.job, Job{});
  }
  s.taken.fetch_add(1, std::memory_order_relaxed);
  s.by_restarter.fetch_add(1, std::memory_order_relaxed);
  try {
    c.grad = deps_.buffers->acquire();
    const Clock::duration cpu = own_cpu_time();
    c.began = Clock::now();
    c.loss = compute(s, c.job, c.grad, own_workspace_.get());
    c.computed = Clock::now();
    // In CPU time, as its gathers (gather_ahead): a preempted computation must not stop
    // the chains of reserved jobs for long.
    const Clock::duration took = own_cpu_time() - cpu;
    own_compute_cost_ = own_compute_cost_ ? decaying_max(*own_compute_cost_, took) : took;
    own_computed_ = c.computed;
    task_lock.unlock();
    return c;
  } catch (const std::exception& e) {
    record_failure(set.learner, e.what());  // as the learner's thread would
    return std::nullopt;
  }
}

bool LearnerPool::gather_ahead(std::size_t w, Clock::time_point due) {
  Slot& s = *slots_[w];
  if (!s.task) return true;  // timing-only: nothing to gather
  if (due - Clock::now() <= 2 * own_gather_cost_) return false;
  std::unique_lock lock(s.task_mutex, std::try_to_lock);
  // Busy: its thread is computing or gathering, and gathers before its next job.
  if (!lock.owns_lock() || s.task->prepared()) return true;
  // Timed in this thread's CPU time: a gather preempted for a millisecond must not make
  // the estimate leave no room for the next one -- nothing would lower it again.
  const Clock::duration began = own_cpu_time();
  s.task->prepare();
  own_gather_cost_ = decaying_max(own_gather_cost_, own_cpu_time() - began);
  return true;
}

void LearnerPool::owe_gather(std::size_t w) {
  if (std::find(owed_gathers_.begin(), owed_gathers_.end(), w) == owed_gathers_.end())
    owed_gathers_.push_back(w);
}

void LearnerPool::pay_owed_gathers() {
  // Never while a gradient waits (e.g. the one this thread just pushed) or a failure is to
  // be taken: the PS sees to those first.
  while (!owed_gathers_.empty() && deps_.inbox->size_approx() == 0 && !has_new_failures()) {
    // Room until the next push due (one past due and not come yet is imminent) or own work.
    const Clock::time_point until = std::min(own_work_at(), next_due(Clock::time_point::min()));
    if (!gather_ahead(owed_gathers_.back(), until)) return;
    owed_gathers_.pop_back();
  }
  if (owed_gathers_.empty() && deps_.inbox->size_approx() == 0 && !has_new_failures()) warm_own_work();
}

bool LearnerPool::minibatch_prepared(std::size_t w) const {
  Slot& s = *slots_[w];
  if (!s.task) return false;
  std::unique_lock lock(s.task_mutex, std::try_to_lock);
  return lock.owns_lock() && s.task->prepared();
}

void LearnerPool::hold_or_push(const SetUp& set, Computed&& c) {
  // The learner's thread sleeps through a job it never had, so it gathers no minibatch
  // after it: gather the next one here while the push is not due yet -- else later, when
  // there is room (pay_owed_gathers) -- or the next job this thread computes for the
  // learner gathers on the critical path (the gather costs about as much as the gradient,
  // worker/gradient_task.h).
  if (!gather_ahead(set.learner, std::min(c.job.due, own_work_at()))) owe_gather(set.learner);
  // Held in order of due time, pushed in that order once due (by do_own_work, or now with
  // any held gradient due before it, when it is due already).
  const Clock::time_point due = c.job.due;
  held_.insert(std::upper_bound(held_.begin(), held_.end(), due,
                                [](Clock::time_point d, const Held& h) { return d < h.c.job.due; }),
               Held{set, std::move(c)});
  if (Clock::now() >= due) push_held_due(Clock::now());
}

void LearnerPool::push_computed(const SetUp& set, Computed&& c) {
  const Clock::time_point due = c.job.due;
  deps_.inbox->push(message(set.learner, std::move(c.job), std::move(c.grad), c.loss, c.began, c.computed, due, false));
  slots_[set.learner]->pushed.store(set.ticket, std::memory_order_relaxed);
}

double LearnerPool::compute(Slot& s, const Job& job, GradientBuffer& grad, Workspace* scratch) {
  if (s.task) {
    return scratch ? s.task->compute(job.pin.weights(), grad.span(), *scratch)
                   : s.task->compute(job.pin.weights(), grad.span());
  }
  std::fill(grad.span().begin(), grad.span().end(), 0.0f);  // timing-only: a zero gradient
  return 0;
}

GradientMessage LearnerPool::message(std::size_t w, Job&& job, GradientBuffer&& grad, double loss,
                                     Clock::time_point began, Clock::time_point computed,
                                     Clock::time_point due, bool after) const {
  auto seconds = [&](Clock::time_point t) {
    return std::chrono::duration<double>(t - config_.t0).count();
  };
  // The push happens when it is due, or when a late computation ends: a gradient ready and
  // its X served is the PS's from then on. How late this thread's timed wait ended past
  // that (40-90 us at the median on the VMs measured, a core permitting) is the emulation's,
  // not the modelled learner's: it is recorded (push_lag_s), not added to the update's time,
  // as the PS's own wake-up is not (runtime/real_runtime.cc counts X from t_pushed).
  const Clock::time_point now = Clock::now();
  const Clock::time_point pushed = std::min(now, std::max(due, computed));
  GradientMessage m;
  m.learner = w;
  m.read_version = job.pin.version();
  m.batch_size = static_cast<std::uint32_t>(config_.batch);
  m.t_start = seconds(began);
  m.t_computed = seconds(computed);
  m.t_pushed = seconds(pushed);
  m.push_lag_s = std::chrono::duration<double>(now - pushed).count();
  m.delay_drawn = job.x;
  m.delay_served = std::chrono::duration<double>(pushed - (after ? computed : job.start)).count();
  m.compute_late_s = after ? 0.0 : seconds_late(computed, job.due);
  m.loss = loss;
  m.ticket = job.ticket;
  m.pin = std::move(job.pin);
  m.grad = std::move(grad);
  return m;
}

std::optional<double> LearnerPool::draw(std::size_t w) {
  Ahead& a = ahead_[w];
  std::optional<double> x;
  if (a.drawn) {
    a.drawn = false;
    x = a.x;
    if (warm_next_ == w) warm_next_.reset();  // drawn for a restart other than the next
  } else {
    x = sample(w, a.error);
  }
  // The learner's minibatch fails before it begins: reported like a gradient that threw
  // (when this draw is used, not when it was drawn ahead); the learner keeps waiting (a
  // retired learner is never restarted again).
  if (!x) record_failure(w, a.error);
  return x;
}

std::optional<double> LearnerPool::sample(std::size_t w, std::string& error) {
  try {
    return deps_.delay->sample(w, delay_rngs_[w]);
  } catch (const std::exception& e) {
    error = e.what();
    return std::nullopt;
  }
}

void LearnerPool::draw_ahead(std::span<const std::size_t> ws) {
  warm_next_.reset();
  if (!draws_ahead_) return;
  for (const std::size_t w : ws) {
    Ahead& a = ahead_[w];
    if (!a.drawn) {
      a.x = sample(w, a.error);
      a.drawn = true;
    }
  }
  // The smallest of every learner's drawn ahead: K-batch-sync restarts one learner alone
  // between updates, and the next update restarts them all.
  std::optional<double> smallest;
  for (std::size_t w = 0; w < ahead_.size(); ++w) {
    const Ahead& a = ahead_[w];
    if (a.drawn && a.x && (!smallest || *a.x < *smallest)) {
      smallest = a.x;
      warm_next_ = w;
    }
  }
}

void LearnerPool::warm_own_work() {
  if (config_.timing_only) return;
  // This thread's next computation: the first reserved job (once per ticket), else the
  // next restart's first (drawn ahead: draw_ahead).
  std::optional<std::size_t> w;
  const bool reserved = !reserved_.empty();
  if (reserved) {
    const SetUp& r = reserved_.front();
    if (warmed_ == std::pair{r.learner, r.ticket}) return;
    w = r.learner;
  } else {
    w = warm_next_;
    // Its thread may be about to compute an awaited job of this round (K > 1): the task
    // is its then.
    if (w && push_due_[*w] != Clock::time_point::max() && push_pending(*w)) return;
  }
  if (!w) return;
  const Clock::time_point until = std::min(own_work_at(), next_due(Clock::time_point::min()));
  if (until - Clock::now() <= 2 * own_warm_cost_) return;
  Slot& s = *slots_[*w];
  std::unique_lock lock(s.task_mutex, std::try_to_lock);
  // Busy (its thread is gathering, or computing a superseded job), or none prepared yet
  // (its thread gathers after its job, this thread after computing for it): again at the
  // next call.
  if (!lock.owns_lock()) return;
  const Clock::duration began = own_cpu_time();
  if (!s.task->warm()) return;
  own_warm_cost_ = decaying_max(own_warm_cost_, own_cpu_time() - began);
  ++warmed_count_;
  if (reserved)
    warmed_ = {reserved_.front().learner, reserved_.front().ticket};
  else
    warm_next_.reset();
}

LearnerPool::SetUp LearnerPool::set_up(std::size_t w, std::optional<double> drawn, Clock::time_point at,
                                       Clock::time_point now) {
  Slot& s = *slots_[w];
  push_due_[w] = Clock::time_point::max();
  // relaxed: published by the seq_cst fetch_add below, which the learner loads before it.
  s.restarted_at.store(at.time_since_epoch().count(), std::memory_order_relaxed);
  // seq_cst: the learner compares its job's ticket with this one after computing (a
  // cancelled job's gradient is never pushed; docs/concurrency.md).
  const std::uint64_t a = s.ticket.fetch_add(1, std::memory_order_seq_cst) + 1;
  SetUp out{w, a, Clock::time_point::max(), false, Clock::time_point::max()};
  if (!drawn) {  // its delay model threw: no job, but an older one in hand is dropped
    out.holding = s.holding.load(std::memory_order_seq_cst) != 0;
    return out;
  }
  const double x = *drawn;
  // The minibatch's clock starts when the PS decided to restart this learner (for a
  // restart caused by a gradient: that gradient's push, runtime/real_runtime.cc), and X is
  // the learner's whole turn-around (paper.md), so waking up and computing are part of X,
  // like network and compute time would be on a real cluster.
  Job job;
  job.ticket = a;
  job.pin = deps_.weights->pin_latest();
  job.x = x;
  job.start = at;
  // +infinity (hang) gives time_point::max(): such a learner waits for a cancel or stop.
  job.due = deadline_after(at, x);
  const bool after = config_.delay_after_compute && std::isfinite(x);
  if (!after) {
    // Announce when this push is due (the watchdog measures lateness past it); +infinity
    // never comes, so such a learner is due at its start. With X after the compute the
    // learner announces once it has computed.
    s.deadline.store((std::isfinite(x) ? job.due : at).time_since_epoch().count(),
                     std::memory_order_relaxed);
    s.deadline_for.store(a, std::memory_order_release);
  }
  push_due_[w] = after ? Clock::time_point::max() : job.due;
  out.due = push_due_[w];
  const std::int64_t lead = s.lead.load(std::memory_order_relaxed);
  job.planned = plan_begin(compute_at_,
                           lead < 0 ? std::nullopt : std::optional<Clock::duration>(Clock::duration(lead)),
                           now, job.due);
  out.planned = job.planned;
  {
    std::lock_guard lock(s.job_mutex);
    std::swap(s.job, job);  // the replaced job's pin is released below, outside the lock
  }
  // A learner holding an older job (computing it, or waiting out its X) must be told, or
  // it would push that job at its due time (wake_if_needed, right after this). seq_cst,
  // with the learner's store of `holding` before its own seq_cst ticket load (Dekker):
  // either it sees the new ticket after its compute, or this load sees its job.
  out.holding = s.holding.load(std::memory_order_seq_cst) != 0;
  return out;
}

void LearnerPool::wake_if_needed(const SetUp& job, Clock::time_point now) {
  if (job.planned <= now)
    dispatch(job.learner, job.ticket);  // interrupts a job in hand too
  else
    tell_if_holding(job);
}

void LearnerPool::tell_if_holding(const SetUp& job) {
  if (job.holding) slots_[job.learner]->sleep.interrupt();  // it drops the superseded job
}

void LearnerPool::start(std::span<const SetUp> jobs, Clock::time_point now) {
  for (const SetUp& job : jobs) wake_if_needed(job, now);
  launch(jobs, now);
}

void LearnerPool::launch(std::span<const SetUp> jobs, Clock::time_point now) {
  // The rest, for the dispatcher, under one lock and with at most one notify.
  bool earliest = false;
  {
    std::lock_guard lock(wakes_mutex_);
    for (auto j = jobs.begin(); j != jobs.end(); ++j) {
      if (j->planned <= now || j->planned == Clock::time_point::max()) continue;
      // Cancelled jobs' wake-ups pile up (every synchronous restart adds P): drop them
      // before the heap outgrows a few per learner.
      if (wakes_.size() > 4 * slots_.size() + 64) {
        std::vector<Wake> live;
        for (; !wakes_.empty(); wakes_.pop())
          if (wakes_.top().ticket == slots_[wakes_.top().learner]->ticket.load(std::memory_order_relaxed))
            live.push_back(wakes_.top());
        for (const Wake& k : live) wakes_.push(k);
      }
      earliest = earliest || wakes_.empty() || j->planned < wakes_.top().at;
      wakes_.push(Wake{j->planned, j->learner, j->ticket});
    }
  }
  if (earliest) wakes_cv_.notify_one();
}

void LearnerPool::dispatch(std::size_t w, std::uint64_t ticket) {
  Slot& s = *slots_[w];
  std::uint64_t cur = s.dispatched.load(std::memory_order_relaxed);
  while (cur < ticket &&
         !s.dispatched.compare_exchange_weak(cur, ticket, std::memory_order_release,
                                             std::memory_order_relaxed)) {
  }
  s.sleep.interrupt();
}

void LearnerPool::dispatch_loop(std::stop_token st) {
  // Linux lets a timed wait end up to the thread's timer slack (50 us by default) late, and
  // that lateness comes on top of every learner's wake-up: ask for 1 us. (The plan's lead
  // absorbs what is left; this keeps it small.)
  set_thread_timer_slack(std::chrono::microseconds(1));
  std::unique_lock lock(wakes_mutex_);
  while (!st.stop_requested()) {
    if (wakes_.empty()) {
      wakes_cv_.wait(lock, st, [&] { return !wakes_.empty(); });
      continue;
    }
    const Wake next = wakes_.top();
    if (Clock::now() < next.at) {
      // Until the earliest wake-up, or an earlier one pushed meanwhile.
      wakes_cv_.wait_until(lock, st, next.at,
                           [&] { return wakes_.empty() || wakes_.top().at < next.at; });
      continue;
    }
    wakes_.pop();
    if (slots_[next.learner]->ticket.load(std::memory_order_relaxed) != next.ticket) continue;
    lock.unlock();
    dispatch(next.learner, next.ticket);
    lock.lock();
  }
}

void LearnerPool::record_failure(std::size_t w, const std::string& what) {
  {
    std::lock_guard lock(failures_mutex_);
    failures_.emplace_back(w, what);
    new_failures_.store(true, std::memory_order_release);  // PS polls it after wake()
  }
  deps_.inbox->wake();
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

bool LearnerPool::push_pending(std::size_t w) const {
  const Slot& s = *slots_[w];
  return s.pushed.load(std::memory_order_relaxed) != s.ticket.load(std::memory_order_relaxed);
}

Clock::time_point LearnerPool::next_due(Clock::time_point not_before) const {
  Clock::time_point next = Clock::time_point::max();
  for (std::size_t w = 0; w < push_due_.size(); ++w) {
    const Clock::time_point due = push_due_[w];
    if (due < not_before || due >= next) continue;
    if (push_pending(w)) next = due;
  }
  return next;
}

std::vector<std::pair<std::size_t, std::string>> LearnerPool::take_failures() {
  std::vector<std::pair<std::size_t, std::string>> out;
  {
    std::lock_guard lock(failures_mutex_);
    new_failures_.store(false, std::memory_order_relaxed);
    out = std::exchange(failures_, {});
  }
  // A failed learner's job never pushes (its thread has ended, or the PS retires it): no
  // longer due, or restarter_may_compute would wait for it for the rest of the run. Nor
  // does a gradient this thread computed or was to compute for it with its task: the
  // learner leaves the run.
  for (const auto& f : out) {
    push_due_[f.first] = Clock::time_point::max();
    std::erase(owed_gathers_, f.first);
    std::erase_if(held_, [&](const Held& h) { return h.set.learner == f.first; });
    std::erase_if(reserved_, [&](const SetUp& r) { return r.learner == f.first; });
    std::erase_if(parked_, [&](const SetUp& p) { return p.learner == f.first; });
  }
  // The failed learner may be one whose gradient the parked jobs wait behind (to come,
  // held here, or pushed already and dropped by the runtime): they run after all.
  if (!out.empty()) release_parked();
  return out;
}

void LearnerPool::run(std::stop_token st, std::size_t w) {
  try {
    run_loop(st, w);
  } catch (const std::exception& e) {
    record_failure(w, e.what());
  }
}

void LearnerPool::run_loop(std::stop_token st, std::size_t w) {
  Slot& slot = *slots_[w];
  ComputePlan plan(compute_at_);
  std::uint64_t done = 0;  // the last job taken
  // Its timed waits end at a push's due time minus the spin: Linux's default slack (50 us)
  // would come on top of the VM's own timer lateness (docs/performance.md, "Just-in-time
  // gradients", fourth pass).
  set_thread_timer_slack(std::chrono::microseconds(1));
  // Its wake-ups must not preempt the PS thread, which computes the job due at once that
  // makes the next update (worker/batch_scheduling.h).
  set_thread_batch_scheduling();
  // How long gathering a minibatch takes (a decaying maximum of the gathers timed), to know
  // whether the next one fits in the wait before a push.
  Clock::duration gather_cost = kFirstGatherCost;
  // Gathers the next minibatch unless one is ready. The task is shared with the
  // restarting thread (claim_task, compute_here): under its mutex.
  auto gather = [&] {
    if (!slot.task) return;
    std::lock_guard lock(slot.task_mutex);
    if (slot.task->prepared()) return;
    const Clock::time_point began = Clock::now();
    slot.task->prepare();
    const Clock::duration took = Clock::now() - began;
    gather_cost = decaying_max(gather_cost, took);
  };
  // Whether a gather is still to do; false when the restarting thread holds the task (it
  // is computing this learner's next job with it, which uses the prepared minibatch up).
  auto gather_pending = [&] {
    if (!slot.task) return false;
    std::unique_lock lock(slot.task_mutex, std::try_to_lock);
    return lock.owns_lock() && !slot.task->prepared();
  };

  while (true) {
    slot.holding.store(0, std::memory_order_seq_cst);  // no job in hand (any more)
    // The next minibatch's rows are gathered while nothing is due, not at its compute
    // time (worker/gradient_task.h): here unless the wait before the last push had room
    // for it. A no-op when one is ready.
    gather();
    // Clear, then look at both signals: stop() and dispatch() set their flag before they
    // interrupt, and clear() shares the interrupt's mutex, so neither can slip in between
    // (checking stop before the clear lost stop()'s interrupt: a hang at shutdown).
    slot.sleep.clear();
    if (st.stop_requested()) break;
    Job job;
    if (const std::uint64_t d = slot.dispatched.load(std::memory_order_acquire); d != done) {
      std::lock_guard lock(slot.job_mutex);
      if (slot.job.ticket == d) job = std::move(slot.job);  // else: replaced by a newer one
    }
    if (job.ticket == 0) {
      slot.sleep.sleep_until(Clock::time_point::max());  // wait for a job or stop
      continue;
    }
    done = job.ticket;
    slot.taken.fetch_add(1, std::memory_order_relaxed);
    const std::uint64_t mine = job.ticket;
    slot.holding.store(mine, std::memory_order_seq_cst);
    auto cancelled = [&] {
      return st.stop_requested() || slot.ticket.load(std::memory_order_seq_cst) != mine;
    };
    // Waits until `t` unless cancelled or stopped first (then false).
    auto wait_until = [&](Clock::time_point t, std::chrono::nanoseconds spin) {
      while (true) {
        if (slot.sleep.sleep_until(t, spin)) return true;
        // Interrupted: clear first, then look, so a restart racing with us is not missed.
        slot.sleep.clear();
        if (cancelled()) return false;
      }
    };
    if (cancelled()) continue;  // restarted again after this job was dispatched

    GradientBuffer grad = deps_.buffers->acquire();
    Clock::time_point compute_began;
    double loss = 0;
    {
      std::lock_guard lock(slot.task_mutex);  // the restarting thread may hold it a while
      if (cancelled()) continue;
      compute_began = Clock::now();
      loss = compute(slot, job, grad);
    }
    const Clock::time_point computed = Clock::now();
    // From the planned compute time (the dispatcher's wake-up lateness included) or, when
    // it began at once, from then.
    plan.record(std::min(job.planned, compute_began), computed);
    if (const std::optional<Clock::duration> l = plan.lead())
      slot.lead.store(l->count(), std::memory_order_relaxed);
    if (cancelled()) continue;  // pin and buffer return to their pools here
    const bool after = config_.delay_after_compute && std::isfinite(job.x);
    const Clock::time_point due = after ? deadline_after(computed, job.x) : job.due;
    if (after) {
      slot.deadline.store(due.time_since_epoch().count(), std::memory_order_relaxed);
      slot.deadline_for.store(mine, std::memory_order_release);
    }
    // Gather the next minibatch now, while waiting out X, when that leaves the whole spin
    // before the push: after the push this thread then has nothing left to do and frees
    // its core at once for the PS, which takes the gradient, and for the learner whose
    // job the update starts due now (the sync family at K = 1).
    if (due - Clock::now() > slot.sleep.spin() + 2 * gather_cost) gather();
    if (!wait_until(due, slot.sleep.spin())) continue;

    deps_.inbox->push(message(w, std::move(job), std::move(grad), loss, compute_began, computed, due, after));
    slot.pushed.store(mine, std::memory_order_relaxed);
    // A gather still to do holds this core for tens of us: first let the PS (polling on
    // this core, or just woken by the push onto it) take the gradient.
    if (gather_pending()) std::this_thread::yield();
  }
}

}  // namespace racesgd
