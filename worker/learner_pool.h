// LearnerPool: the P learner threads of the real-clock runtime.
//
// A learner knows nothing of the variants. The PS (one thread, the real runtime) obeys the
// Coordinator's Decision::restart through one call: restart(w) -- "abandon what you are
// doing (if anything) and start a new minibatch on the newest weights", which issues
// learner w a new ticket. A gradient carrying an old ticket is cancelled work; the PS
// drops it.
//
// restart(w) does the start of the minibatch on the calling (PS) thread: it pins the newest
// weights, draws X from learner w's delay stream, announces the push's due time
// (start + X) and plans when the gradient must be computed to be ready by then (the lead
// learner w published, worker/compute_plan.h). The learner thread is woken only at that
// compute time -- at once when it is now, else by the pool's dispatcher thread -- takes the
// job, computes the real gradient on the pinned weights, waits out the rest of X (or X
// after the compute, by choice) and pushes the gradient to the PS inbox tagged with its
// ticket. So a synchronous restart of all P learners wakes none of them: only the ones
// whose compute time comes before the next restart ever run (issue 13: with P learners on
// 2 cores, P threads woken at every update queued up and made the first of them late).
//
// The smallest X of a restart of several learners is on the critical path of the sync
// family: its push makes the next update. Handing it to the learner thread costs one or
// two wake-ups (the dispatcher's and the learner's: 88 us at the median on a 2-vCPU VM,
// hundreds of us now and then) before a compute that must fit in X. So the restarting
// thread computes that job itself, with the learner's own GradientTask (same minibatch
// stream) when the learner is not using it (LearnerPoolConfig::restarter_computes): at
// once when its compute time has come (before setting up the jobs not due at once), else
// at that time (the job is reserved: do_own_work, which ThreadLearners calls while it
// waits for gradients). The gradient is held and pushed when due, as the learner would.
// It does so only when no push of a learner outside that restart is due meanwhile, which
// it would otherwise take late. When the caller's next update waits for several gradients
// (the sync family at K > 1: restart(ws, at, awaited)), it computes the next smallest Xs
// too, one after the other, as long as it would be done with each in time: a learner
// thread's push reached the PS a futex wake-up late (68 us at the median at P = 32 on 2
// busy cores), on the critical path of every such update.
//
// In the sync family (restart(ws, at, awaited, rest_superseded)) the update the awaited
// gradients make cancels every other job of the restart. Learner threads woken for those
// -- at the smallest Xs after the awaited ones, a few per update at P = 32 on 2 cores --
// computed only gradients that are dropped, and slowed the PS's own computations (74 us at
// the median against 45 us alone at K = 1, AMD EPYC family 25 VM) and its wake-ups; at
// K = 2 they took 5 of the process's 11 CPU seconds per 8 s run. So a job due after all
// the gradients the update awaits (the smaller Xs of the restart, and the pushes still to
// come of learners it left alone: K-batch-sync restarts one learner between updates) is
// set up last and parked, never woken: in the modelled order it never counts; run late by
// the emulation, a thread woken for it would only race the awaited ones. (If one of those
// gradients is lost -- its learner failed -- the parked jobs
// run after all: take_failures.)
//
// The restarting thread computes for a different learner almost every time, and that
// learner's workspace and minibatch had left its cache since its last turn (a softmax
// gradient took 60-100 us in a P = 32 run against 45 us warm). So it computes in one
// workspace of its own and, while it waits, reads the minibatch of its next computation
// through: the first reserved job's, else the smallest X of the next restart, which a
// sync-family restart draws an update early when the delay model allows it
// (DelayModel::may_draw_ahead: the same values in the same order).
//
// Every push is stamped (GradientMessage::t_pushed) when it was due -- or when its
// computation ended, if later -- not when the thread got to push it: how late a timed
// wait ends is the emulation's, not the modelled learner's; it is recorded as push_lag_s.
//
// Threads: owns P std::jthread learners (batch-scheduled, worker/batch_scheduling.h) and
// (with ComputeAt::deadline) one dispatcher, started by the constructor; restart() may
// compute one gradient on the calling thread. The destructor (or stop()) requests stop, interrupts every
// sleep and joins; it never waits out a delay.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <queue>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "models/dataset.h"
#include "models/model.h"
#include "ps/gradient_inbox.h"
#include "ps/gradient_pool.h"
#include "ps/versioned_weights.h"
#include "delay/delay_model.h"
#include "worker/compute_plan.h"
#include "worker/gradient_task.h"
#include "worker/interruptible_sleep.h"

namespace racesgd {

struct LearnerPoolConfig {
  std::size_t num_learners = 1;
  std::size_t batch = 64;
  std::uint64_t seed = 1;
  bool delay_after_compute = false;  // sleep X after computing, not until start + X
  ComputeAt compute_at = ComputeAt::deadline;  // when inside X to compute (compute_plan.h)
  bool timing_only = false;          // no gradient computation
  // A job due at once (compute_at deadline) is computed by the restarting thread itself
  // when it can be (see the top of this file); false: always by the learner's thread.
  bool restarter_computes = true;
  std::chrono::steady_clock::time_point t0;  // the run clock's zero
};

/// Learner w's stream of straggler delays in a run seeded `seed`; its minibatches come from
/// GradientTask's own stream. Every learner, thread or MPI rank, draws from these, so a seed
/// (or a delay trace) gives each learner the same X sequence on either transport.
inline Rng learner_delay_stream(std::uint64_t seed, std::size_t learner) {
  return Rng(derive_seed(seed, learner, StreamPurpose::kDelays));
}

/// Starts one learner thread running `body`. Production uses std::jthread; a test injects
/// a starter that throws on the N-th call, which is the only way to make a thread fail to
/// start (EAGAIN) on demand and so to check the constructor's clean-up.
using ThreadStarter = std::function<std::jthread(std::function<void(std::stop_token)> body)>;

/// Borrowed for the pool's lifetime.
struct LearnerPoolDeps {
  VersionedWeights* weights = nullptr;
  GradientInbox* inbox = nullptr;
  GradientPool* buffers = nullptr;
  DelayModel* delay = nullptr;
  const Model* model = nullptr;      // null with timing_only
  const Dataset* train = nullptr;    // null with timing_only
};

class LearnerPool {
 public:
  /// Makes each learner's GradientTask (its errors, e.g. a batch larger than the data set,
  /// throw from here) and starts the threads with `start_thread` (empty: std::jthread);
  /// each waits for its first restart(). Allocates. When a thread cannot start, stops and
  /// joins the ones already started, then rethrows.
  LearnerPool(const LearnerPoolConfig& config, const LearnerPoolDeps& deps,
              const ThreadStarter& start_thread = {});
  ~LearnerPool();
  LearnerPool(const LearnerPool&) = delete;
  LearnerPool& operator=(const LearnerPool&) = delete;

  /// PS thread only. Cancels learner w's minibatch in flight (if any) and has it start a
  /// new one on the newest published weights. Returns the new ticket, which
  /// the learner's next push carries. Pins, draws X (a delay model that throws records a
  /// failure of learner w, as take_failures says) and wakes learner w only when its
  /// computation is due now; else the dispatcher wakes it then. A job due now may instead
  /// be computed on the calling thread (restarter_computes) before this returns; its
  /// gradient is pushed at once when already due, else held until the caller's
  /// do_own_work() pushes it (a caller that never calls do_own_work() gets no gradient
  /// from a job computed here before its due time).
  std::uint64_t restart(std::size_t w) { return restart(w, std::chrono::steady_clock::now()); }
  /// The same, with the minibatch's clock starting at `at` (not in the future): X counts
  /// from there (LearnerTransport::restart).
  std::uint64_t restart(std::size_t w, std::chrono::steady_clock::time_point at);
  /// restart(w, at) for every learner of `ws` (distinct), as one step: all X are drawn
  /// first, then the jobs are set up in order of X, each learner whose computation is due
  /// at once woken as soon as its job is (the sync family restarts all P at each update,
  /// and the smallest X makes the next one), then learners holding a superseded job are
  /// told, and the dispatcher gets the other compute times under one lock. The smallest
  /// X may be computed here (as restart(w)), and up to `awaited` of the smallest (the
  /// gradients the caller's next update waits for; 1 by default) reserved for
  /// do_own_work(): those after a job computed here are held back (neither woken nor given
  /// to the dispatcher) until it is done, then reserved or woken. With `rest_superseded`
  /// (the caller's next update cancels every job of `ws` it does not take: the sync
  /// family) the jobs due after all the gradients it awaits -- those of smaller Xs, and
  /// pushes still to come of learners not in `ws` -- are set up last and parked, never
  /// woken (see the top of this file; only when computing at the deadline). The caller must not raise the gradients its next update awaits
  /// before it comes (a K schedule). PS thread only.
  void restart(std::span<const std::size_t> ws, std::chrono::steady_clock::time_point at,
               std::size_t awaited = 1, bool rest_superseded = false);

  /// The ticket learner w must carry for its gradient to count.
  std::uint64_t ticket(std::size_t w) const;

  /// PS thread only (the one that restarts). When learner w's push for its current
  /// ticket is due: start + X, or X after its compute with delay_after_compute (until the
  /// compute ends: the time it was restarted). When it drew +infinity (it will never
  /// push), or its delay model threw, the time it was restarted: it is late from its
  /// start. For the stall watchdog, which counts only lateness past these deadlines.
  std::chrono::steady_clock::time_point deadline(std::size_t w) const;

  /// PS thread only. The earliest time, not before `not_before`, at which a learner's
  /// push for its current ticket is due and has not come yet; time_point::max() when none
  /// is (jobs with X = +infinity, or X served after the compute, are not counted). Lets
  /// the PS poll for a gradient about to come instead of sleeping (ThreadLearners). O(P).
  std::chrono::steady_clock::time_point next_due(std::chrono::steady_clock::time_point not_before) const;

  /// A learner whose minibatch threw (its gradient; or its delay model, inside restart)
  /// records the error and wakes the PS; a gradient failure on its thread ends the thread
  /// (one computed by the restarting thread does not). PS thread: takes the failures not
  /// taken yet; their learners' pushes are no longer awaited (next_due), gradients this
  /// thread holds or reserved for them are dropped, and the jobs parked behind such a
  /// gradient (restart with rest_superseded) are woken.
  std::vector<std::pair<std::size_t, std::string>> take_failures();
  /// PS thread only. When this (the restarting) thread has work of its own next:
  /// computing the first job a restart reserved for it, or pushing a gradient it computed
  /// whose push was not due yet; time_point::max() when none. ThreadLearners waits for
  /// gradients until then at most, then calls do_own_work().
  std::chrono::steady_clock::time_point own_work_at() const;
  /// PS thread only. Does the work of own_work_at() whose time has come, until none is
  /// left: pushes the held gradients now due (in order of due time); computes the next
  /// reserved job (or, when its learner's thread holds the task or a push it would delay
  /// is due, wakes that thread for it). Then, while the inbox is empty, no failure is to be
  /// taken, and no push nor own work is due within twice its gather cost (CPU time: the
  /// room is wall time, so a gather preempted for longer may delay a push; the PS's
  /// gathers are rare and short), gathers the next minibatch of a learner whose one this
  /// thread used up computing its job (that learner's thread sleeps through the job, so it
  /// would gather none until its next job: on the critical path, when this thread
  /// computes that job too). Then, with room likewise, reads the prepared minibatch of its
  /// own next computation through (warm_own_work).
  void do_own_work();
  /// Whether learner w has its next minibatch gathered (false while its task is busy, and
  /// in a timing-only pool). PS thread only: its try_lock could make the PS's own try_lock
  /// of the task fail. Diagnostics and tests.
  bool minibatch_prepared(std::size_t w) const;

  /// Cheap check for take_failures() (any thread).
  bool has_new_failures() const { return new_failures_.load(std::memory_order_acquire); }

  /// Requests stop, wakes and joins every learner. Idempotent.
  void stop();

  std::size_t size() const { return slots_.size(); }
  /// How many of learner w's jobs were taken to be computed, by its thread or by the
  /// restarting one (restarts whose compute time came before they were cancelled). Any
  /// thread; for tests and diagnostics.
  std::uint64_t jobs_taken(std::size_t w) const {
    return slots_[w]->taken.load(std::memory_order_relaxed);
  }
  /// How many of those the restarting thread computed itself (restarter_computes).
  std::uint64_t jobs_computed_by_restarter(std::size_t w) const {
    return slots_[w]->by_restarter.load(std::memory_order_relaxed);
  }
  /// How many minibatches the restarting thread read through before computing them
  /// (warm_own_work). The restarting thread only; for tests and diagnostics.
  std::uint64_t minibatches_warmed() const { return warmed_count_; }

 private:
  using Clock = std::chrono::steady_clock;
  /// A learner's guess of how long gathering a minibatch takes, before it has timed one.
  static constexpr Clock::duration kFirstGatherCost = std::chrono::microseconds(100);
  /// One minibatch as restart() set it up: what the learner takes when woken for it.
  struct Job {
    std::uint64_t ticket = 0;        // 0: none
    VersionedWeights::Pin pin;       // the weights of its start
    double x = 0;                    // its straggler delay
    Clock::time_point start, due;    // start, and start + X (max() for +infinity)
    Clock::time_point planned;       // when its computation was to begin
  };
  struct alignas(64) Slot {
    std::atomic<std::uint64_t> ticket{0};
    std::atomic<std::int64_t> restarted_at{0};  // steady_clock ticks of the latest restart()
    // The learner's push deadline (steady_clock ticks) and the ticket it belongs to:
    // deadline is stored before deadline_for (release), read after it (acquire).
    std::atomic<std::int64_t> deadline{0};
    std::atomic<std::uint64_t> deadline_for{0};
    // The highest ticket whose job may start computing now (only ever grows, see
    // dispatch()); stored before the sleep's interrupt, read after its clear().
    std::atomic<std::uint64_t> dispatched{0};
    // The learner's compute-plan lead in steady_clock ticks (< 0: none learned yet):
    // written by the learner after each computation, read by restart() to plan the next.
    std::atomic<std::int64_t> lead{-1};
    std::atomic<std::uint64_t> taken{0};  // jobs_taken()
    std::atomic<std::uint64_t> by_restarter{0};  // jobs_computed_by_restarter()
    // The ticket of the learner's latest push (stored after it, for next_due()).
    std::atomic<std::uint64_t> pushed{0};

    // The ticket of the job the learner holds (computing it or waiting out its X), 0 when
    // it has none: a restart must interrupt such a learner, or it would push a gradient
    // for a superseded ticket at that job's due time. Learner stores, PS loads; seq_cst
    // both, against the ticket (see run_loop).
    std::atomic<std::uint64_t> holding{0};
    std::mutex job_mutex;  // guards job (PS thread writes, learner takes)
    Job job;
    InterruptibleSleep sleep;
    // The learner's minibatch stream and workspace (null with timing_only): its thread
    // gathers and computes under task_mutex; the restarting thread borrows it (try_lock)
    // to compute a job due at once.
    std::mutex task_mutex;
    std::unique_ptr<GradientTask> task;
  };
  /// A job's compute time, for the dispatcher.
  struct Wake {
    Clock::time_point at;
    std::size_t learner;
    std::uint64_t ticket;
    bool operator>(const Wake& o) const { return at > o.at; }
  };
  static_assert(alignof(Slot) == 64);
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
  static_assert(std::atomic<std::int64_t>::is_always_lock_free);

  /// A job restart() set up in learner w's slot, not yet woken or handed to the dispatcher.
  struct SetUp {
    std::size_t learner;
    std::uint64_t ticket;
    Clock::time_point planned;  // max(): never computed
    bool holding;                    // the learner holds an older job
    Clock::time_point due = Clock::time_point::max();  // its push's (push_due_ when set up)
  };
  /// Learner w's next X from its stream; nullopt when its delay model threw (recorded as
  /// the learner's failure).
  std::optional<double> draw(std::size_t w);
  /// A draw from learner w's stream now; nullopt, and the model's message in `error`, when
  /// the delay model threw.
  std::optional<double> sample(std::size_t w, std::string& error);
  /// restart(ws) with rest_superseded (the next update restarts every learner): when the
  /// delay model allows (DelayModel::may_draw_ahead) and this thread computes jobs, draws
  /// each of ws's next X now -- its next draw() returns it, a failure included -- and
  /// notes the smallest drawn ahead, whose job this thread will compute first
  /// (warm_own_work).
  void draw_ahead(std::span<const std::size_t> ws);
  /// With room before the next push due or own work (twice this thread's warming cost):
  /// reads the prepared minibatch of this thread's next computation through -- the first
  /// reserved job's, once per job, else the next restart's smallest X (draw_ahead) -- so
  /// that it is in this core's cache when computed (GradientTask::warm).
  void warm_own_work();
  /// Starts learner w's new ticket with X = `drawn` (nullopt: no job) in its slot; wakes
  /// nobody.
  SetUp set_up(std::size_t w, std::optional<double> drawn, Clock::time_point at, Clock::time_point now);
  /// What a set-up job needs at once: a job due now is dispatched, else a learner holding
  /// a superseded job is told to drop it (before that job's due time can pass).
  void wake_if_needed(const SetUp& job, Clock::time_point now);
  /// Tells a learner holding an older job than `job` (set up, not dispatched) to drop it,
  /// before that job's due time can pass: interrupts its sleep.
  void tell_if_holding(const SetUp& job);
  /// wake_if_needed for each of `jobs`, then launch them: every set-up job on its way.
  void start(std::span<const SetUp> jobs, Clock::time_point now);
  /// Hands the compute times of set-up jobs not due now to the dispatcher, under one lock
  /// with at most one notify.
  void launch(std::span<const SetUp> jobs, Clock::time_point now);
  /// Whether the restarting thread may compute `job` itself: enabled, due within the
  /// learner's lead, and no push of a learner outside this restart (round_) is due before
  /// it would be done.
  bool restarter_may_compute(const SetUp& job, Clock::time_point now) const;
  /// The learner's task, locked, when this (the restarting) thread is to compute `job`:
  /// its compute time has come, restarter_may_compute, and the learner's thread is not
  /// using the task (try_lock). Else an empty lock: the job is dispatched as usual.
  std::unique_lock<std::mutex> claim_task(const SetUp& job, Clock::time_point now);
  /// A gradient the restarting thread computed, until it is pushed (hold_or_push).
  struct Computed {
    Job job;
    GradientBuffer grad;
    double loss = 0;
    Clock::time_point began, computed;
  };
  /// Computes the job `set` up on this thread with the task `task_lock` holds (from
  /// claim_task); nullopt when the gradient threw, which is the learner's failure
  /// (take_failures).
  std::optional<Computed> compute_here(const SetUp& set, std::unique_lock<std::mutex> task_lock);
  /// Pushes compute_here's gradient when its push is due; until then holds it (held_,
  /// pushed by do_own_work).
  void hold_or_push(const SetUp& set, Computed&& c);
  /// Pushes compute_here's gradient now (its push is due, or past due).
  void push_computed(const SetUp& set, Computed&& c);
  /// Reserves a prefix of `jobs` (set up by one restart, in order of X, none handed to the
  /// dispatcher; `woken`: those due at once were dispatched, else none was) for this thread to compute (do_own_work) instead of
  /// the learners' threads: each job at its due time less this thread's own lead, or
  /// earlier when the next one's computation needs this thread by then. Only when enabled,
  /// no job of an earlier restart is reserved, and no push of a learner outside this
  /// restart is due before a reserved one's; the prefix ends after `at_most` jobs, or at
  /// the first that this thread, computing them all back to back from `now`, would not
  /// be done with in time (done_in_time; the first of `woken` jobs is exempt: nobody would
  /// be sooner). Returns how many it reserved.
  std::size_t reserve(std::span<const SetUp> jobs, std::size_t at_most, Clock::time_point now, bool woken);
  /// Whether this thread may reserve `job`: enabled, the job will push, a lead to plan by
  /// (its own or the learner's), and no push of a learner outside the latest restart due
  /// before `job`'s.
  bool reservable(const SetUp& job) const;
  /// Whether this thread, done with learner w's job at `done` (estimated `now`), is in
  /// time: by the job's push, or no later than its learner's thread would be (its lead).
  bool done_in_time(std::size_t w, Clock::time_point done, Clock::time_point now) const;
  /// Forgets reserved jobs, held gradients and parked jobs whose tickets a restart has
  /// superseded.
  void drop_superseded_own_work();
  /// Wakes or hands to the dispatcher the parked jobs still current, their pushes awaited
  /// again (a gradient the update awaited may be lost: its learner failed).
  void release_parked();
  /// Pushes the held gradients whose push is due by `now`.
  void push_held_due(Clock::time_point now);
  /// Whether this thread holds a gradient of learner w (it pushes it itself).
  bool holds_gradient_of(std::size_t w) const;
  /// Whether every other learner whose push is due before `until` has pushed it (or, but
  /// `except`, this thread holds it from `except`'s restart, to push it itself): every
  /// learner outside the latest restart (round_) with kLatestRound, else every learner
  /// but `except`.
  static constexpr std::size_t kLatestRound = static_cast<std::size_t>(-1);
  bool others_pushed_before(Clock::time_point until, std::size_t except = kLatestRound) const;
  /// This thread's lead for computing learner w's job: its own plan's, else (none learned
  /// yet) the learner's, else zero.
  Clock::duration own_lead(std::size_t w) const;
  /// Gathers learner w's next minibatch on this thread when none is prepared, its task is
  /// free (try_lock) and there is room before `due` (twice this thread's gather cost).
  /// Returns false when there was no room (the minibatch is still to gather); true when
  /// one is prepared, its thread holds the task (and gathers before its next job), or the
  /// pool is timing-only (nothing to gather).
  bool gather_ahead(std::size_t w, Clock::time_point due);
  /// Notes that learner w's minibatch is still to gather (pay_owed_gathers).
  void owe_gather(std::size_t w);
  /// Gathers owed minibatches (owed_gathers_) while there is room before the next push due
  /// or own work, then warms the next reserved job's (warm_own_work) (do_own_work).
  void pay_owed_gathers();
  /// Computes the first reserved job, whose time has come (or hands it to its learner's
  /// thread).
  void do_reserved();
  /// When learner w's job with X = x started at `at` would be planned to compute, set up
  /// `now` (set_up's plan, without setting it up).
  Clock::time_point planned_for(std::size_t w, double x, Clock::time_point at, Clock::time_point now) const;

  /// Learner w's gradient of `job` into `grad` with its task (a zero gradient with
  /// timing_only), in `scratch` when given (else the task's own workspace); the caller
  /// holds s.task_mutex. Returns the minibatch loss.
  static double compute(Slot& s, const Job& job, GradientBuffer& grad, Workspace* scratch = nullptr);
  /// The message pushing `job`'s gradient now, its push due at `due` (start + X, or X after
  /// the compute: `after`); stamped max(due, computed), the lag past that recorded.
  GradientMessage message(std::size_t w, Job&& job, GradientBuffer&& grad, double loss,
                          Clock::time_point began, Clock::time_point computed,
                          Clock::time_point due, bool after) const;
  void run(std::stop_token st, std::size_t w);
  void run_loop(std::stop_token st, std::size_t w);
  void record_failure(std::size_t w, const std::string& what);
  /// Lets learner w compute its job `ticket` now: raises its dispatched ticket (never
  /// lowers it: a stale wake-up racing with a newer one must not hide it) and wakes it.
  void dispatch(std::size_t w, std::uint64_t ticket);
  /// restart(ws) with rest_superseded: the index into draws_ (in order of X) from which
  /// the update the caller awaits comes before the job is due (see restart); draws_.size()
  /// when none. PS thread, after restart() moved the round.
  std::size_t park_from(std::chrono::steady_clock::time_point at, std::size_t awaited);
  /// Whether learner w's current ticket has not pushed yet (relaxed: a push may show late).
  bool push_pending(std::size_t w) const;
  /// Sets up draws_[from..] and parks them.
  void park(std::size_t from, std::chrono::steady_clock::time_point at, std::chrono::steady_clock::time_point now);
  /// The dispatcher thread: wakes each learner at its job's compute time.
  void dispatch_loop(std::stop_token st);

  LearnerPoolConfig config_;
  LearnerPoolDeps deps_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Rng> delay_rngs_;  // per learner; the restarting (PS) thread's only
  // Per learner, when its current ticket's push is due, max() when unknown or never
  // (next_due()). PS thread only; one contiguous array, so next_due() reads P slots' worth
  // in a few cache lines instead of one line of each slot (which learners write).
  std::vector<Clock::time_point> push_due_;
  std::vector<SetUp> set_ups_;   // restart()'s scratch (PS thread), capacity P
  std::vector<std::size_t> deferred_;  // the same: draws_ set up after compute_here
  std::vector<SetUp> chained_;   // the same: set up, not woken, maybe computed after it
  // This (the PS) thread's own work: the jobs of one restart it will compute, each at its
  // `planned` time (reserve(); in order of planned), and gradients it computed, pushed
  // when due (in order of due time). PS thread only; capacity P each.
  std::vector<SetUp> reserved_;
  // Jobs set up due after every gradient the next update awaits (restart with
  // rest_superseded; possibly of several restarts), neither woken nor given to the
  // dispatcher; their pushes are not awaited (push_due_ max()). PS thread only.
  std::vector<SetUp> parked_;
  std::vector<Clock::time_point> due_scratch_;  // park_from()'s (PS thread), capacity P
  struct Held {
    SetUp set;
    Computed c;
  };
  std::vector<Held> held_;
  ComputePlan own_plan_{ComputeAt::deadline};  // its plan-to-done times (reserved jobs)
  // When this thread's latest computation of a job ended: a reserved job planned before
  // then began late for want of this thread, not for a late wake-up (own_plan_).
  Clock::time_point own_computed_{};
  Clock::duration own_gather_cost_ = kFirstGatherCost;  // its gathers' decaying maximum
  std::optional<Clock::duration> own_compute_cost_;  // its computations' (none yet: nullopt)
  // The model workspace this thread computes every learner's job in (null with
  // timing_only): one kept warm in its cache. Each learner's own, used only every P-th
  // update or so, had left its cache by then: at P = 32 a softmax gradient took 61 us
  // with 32 workspaces in turn against 45 us with one (docs/performance.md, twelfth pass).
  std::unique_ptr<Workspace> own_workspace_;
  // Each learner's next X drawn ahead (draw_ahead; a draw that threw: nullopt and its
  // message), until its next draw(); whether this pool draws ahead at all. PS thread only.
  struct Ahead {
    bool drawn = false;
    std::optional<double> x;
    std::string error;
  };
  std::vector<Ahead> ahead_;
  bool draws_ahead_ = false;
  // The learner with the smallest X drawn ahead: the first job of the next restart, which
  // this thread computes (warm_own_work). PS thread only.
  std::optional<std::size_t> warm_next_;
  // The reserved job (learner, ticket) whose minibatch warm_own_work read through last.
  std::pair<std::size_t, std::uint64_t> warmed_{0, 0};
  std::uint64_t warmed_count_ = 0;
  Clock::duration own_warm_cost_ = kFirstGatherCost;  // its warmings' decaying maximum
  // Learners whose minibatch this thread used up and could not gather again before the
  // push (gather_ahead): pay_owed_gathers gathers them when there is room.
  std::vector<std::size_t> owed_gathers_;
  // Per learner, the restart() call that last set it up (PS thread): tells the learners
  // restarted together from the others.
  std::vector<std::uint64_t> round_;
  std::uint64_t rounds_ = 0;
  std::vector<std::pair<std::size_t, std::optional<double>>> draws_;  // the same
  ComputeAt compute_at_;         // effective (delay_after_compute computes at the start)
  std::atomic<bool> new_failures_{false};
  std::mutex failures_mutex_;  // guards failures_ (rare: only when a learner fails)
  std::vector<std::pair<std::size_t, std::string>> failures_;
  std::mutex wakes_mutex_;     // guards wakes_
  std::condition_variable_any wakes_cv_;
  std::priority_queue<Wake, std::vector<Wake>, std::greater<>> wakes_;
  std::vector<std::jthread> threads_;
  std::jthread dispatcher_;    // last: stops first
};

}  // namespace racesgd
