// LearnerPool construction when a learner thread cannot start (review fix of c3e424c).
//
// A started learner waits for its first restart() in an InterruptibleSleep that a bare stop
// request does not wake. So when the N-th thread fails to start, the constructor must
// stop() the learners already running before it rethrows; otherwise unwinding destroys
// their std::jthreads, whose join never returns. The injected ThreadStarter is the only way
// to make a start fail on demand.
#include "worker/learner_pool.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <stdexcept>
#include <thread>
#include <vector>

#include "ps/gradient_inbox.h"
#include "ps/gradient_pool.h"
#include "ps/versioned_weights.h"
#include "core/deadline.h"
#include "delay/delay_model.h"
#include "models/model.h"
#include "worker/batch_scheduling.h"
#include "worker/compute_plan.h"

using namespace racesgd;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kLearners = 4;
constexpr int kFailingStart = 3;  // 0-based: learners 0..2 start, the 4th start throws

// Everything the pool borrows, on the heap: if the constructor hangs (the regression), the
// stuck thread keeps this alive after the test case has returned.
struct Rig {
  std::vector<float> w0 = std::vector<float>(1, 0.0f);
  VersionedWeights weights{w0, VersionedWeights::pool_size_for(2 * kLearners + 3)};
  GradientInbox inbox;
  GradientPool buffers{1};
  std::unique_ptr<DelayModel> delay = make_delay_model("none", DelayContext{kLearners, "."});
  std::atomic<int> calls{0};     // start_thread calls that returned a thread
  std::atomic<int> started{0};   // learner bodies that began running
  std::atomic<int> finished{0};  // learner bodies that returned
  std::promise<std::string> outcome;
};

}  // namespace

TEST_CASE("pool: a thread that fails to start stops and joins the learners already started",
          "[learner_pool][concurrency]") {
  auto rig = std::make_shared<Rig>();
  LearnerPoolConfig config;
  config.num_learners = kLearners;
  config.timing_only = true;
  config.t0 = std::chrono::steady_clock::now();
  const LearnerPoolDeps deps{&rig->weights, &rig->inbox,  &rig->buffers,
                            rig->delay.get(), nullptr,      nullptr};
  Rig* r = rig.get();
  const ThreadStarter start_thread = [r](std::function<void(std::stop_token)> body) {
    if (r->calls.load() == kFailingStart) {
      // Let the learners already started reach their wait for work, where only stop()'s
      // interrupt wakes them (a learner still starting up would see the stop request).
      while (r->started.load() < kFailingStart) std::this_thread::yield();
      std::this_thread::sleep_for(50ms);
      throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                              "test: thread start refused");
    }
    r->calls.fetch_add(1);
    return std::jthread([r, body = std::move(body)](std::stop_token st) {
      r->started.fetch_add(1);
      body(st);
      r->finished.fetch_add(1);
    });
  };

  auto done = rig->outcome.get_future();
  std::thread attempt([rig, config, deps, start_thread] {
    try {
      LearnerPool pool(config, deps, start_thread);
      rig->outcome.set_value("constructed");
    } catch (const std::system_error& e) {
      rig->outcome.set_value(e.what());
    }
  });
  // Generous: with the fix this takes the 50 ms above plus a join, even under a sanitizer.
  if (done.wait_for(60s) != std::future_status::ready) {
    attempt.detach();  // stuck in a join that never returns; the process exit ends it
    FAIL("the LearnerPool constructor did not return within 60 s after a thread failed to "
         "start: the learners already started were not stopped");
  }
  attempt.join();
  CHECK_THAT(done.get(), Catch::Contains("thread start refused"));
  CHECK(rig->calls.load() == kFailingStart);
  CHECK(rig->started.load() == kFailingStart);
  CHECK(rig->finished.load() == kFailingStart);  // joined, not left running
}

// ---------------------------------------------------------------------------------------
// Just-in-time gradients (issue 13, worker/compute_plan.h). One learner, a model that only
// counts its gradient computations, and a delay the test sets before each restart. The
// margins are seconds against milliseconds: a learner told to push in 60 s must not compute
// within the first fraction of a second; nothing asserts how precise a sleep is.

namespace {

using Clock = std::chrono::steady_clock;

// A model that computes nothing but counts its gradient calls (any thread may read them).
class CountingModel final : public Model {
 public:
  std::string spec() const override { return "counting"; }
  Eigen::Index num_params() const override { return 2; }
  Eigen::Index input_dim() const override { return 1; }
  int num_classes() const override { return 2; }
  void init(std::span<float> w, std::uint64_t) const override { std::fill(w.begin(), w.end(), 0.0f); }
  std::unique_ptr<Workspace> make_workspace(Eigen::Index) const override {
    return std::make_unique<Workspace>();
  }
  double loss_and_gradient(std::span<const float>, const BatchView<float>&, std::span<float> grad,
                           Workspace& ws) const override {
    entered.fetch_add(1);
    {
      std::lock_guard lock(threads_mutex);
      workspaces.emplace_back(std::this_thread::get_id(), &ws);
    }
    if (throw_on == std::this_thread::get_id()) throw std::runtime_error("the test's model failed");
    if (const std::thread::id only = throw_off.load(); only != std::thread::id{} && only != std::this_thread::get_id())
      throw std::runtime_error("the test's model failed");
    std::fill(grad.begin(), grad.end(), 0.0f);
    if (const int ms = compute_ms.load(); ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    {
      std::lock_guard lock(threads_mutex);
      threads.push_back(std::this_thread::get_id());
    }
    if (thread_batch_scheduled()) batch_calls.fetch_add(1);
    calls.fetch_add(1);
    return 0.0;
  }
  // The thread of each gradient call so far, in order.
  std::vector<std::thread::id> computed_on() const {
    std::lock_guard lock(threads_mutex);
    return threads;
  }
  double loss(std::span<const float>, const BatchView<float>&, Workspace&) const override { return 0.0; }
  Evaluation evaluate(std::span<const float>, const Dataset&) const override { return {}; }

  mutable std::atomic<int> calls{0};
  std::atomic<int> compute_ms{0};  // how long a gradient takes (0: no time)
  mutable std::atomic<int> batch_calls{0};  // calls on a SCHED_BATCH thread
  mutable std::atomic<int> entered{0};      // calls begun (calls: ended)
  std::atomic<std::thread::id> throw_on{};  // calls on this thread throw
  std::atomic<std::thread::id> throw_off{};  // when set: calls on every other thread throw
  mutable std::mutex threads_mutex;
  mutable std::vector<std::thread::id> threads;
  // The thread and workspace of each gradient call begun, in order.
  mutable std::vector<std::pair<std::thread::id, const Workspace*>> workspaces;
};

// Every draw returns `next` (seconds), which the test sets before it restarts the learner:
// the learner draws after it has seen the new ticket, whose seq_cst increment orders it.
class SetDelay final : public DelayModel {
 public:
  double sample(std::size_t, Rng&) override {
    if (fail.load()) throw std::runtime_error("the test's delay model failed");
    return next.load();
  }
  std::string spec() const override { return "set-by-test"; }
  std::atomic<double> next{0.0};
  std::atomic<bool> fail{false};
};

// The rigs' data set: 4 rows of one feature (the counting model never reads them).
Dataset four_rows() {
  Dataset d;
  d.name = "four rows";
  d.x = MatrixRM<float>::Zero(4, 1);
  d.y = {0, 1, 0, 1};
  d.num_classes = 2;
  return d;
}

// `learners` learners, batch 2, computing `at`; the run clock starts now.
LearnerPoolConfig rig_config(std::size_t learners, ComputeAt at) {
  LearnerPoolConfig c;
  c.num_learners = learners;
  c.batch = 2;
  c.compute_at = at;
  c.t0 = Clock::now();
  return c;
}

// One learner over a 4-row data set, batch 2.
struct JitRig {
  explicit JitRig(ComputeAt at) : config(rig_config(1, at)) {
    pool.emplace(config, LearnerPoolDeps{&weights, &inbox, &buffers, &delay, &model, &train});
  }
  // The run-clock seconds of `t`, as the learner stamps its messages.
  double seconds(Clock::time_point t) const {
    return std::chrono::duration<double>(t - config.t0).count();
  }
  // Restarts the learner with delay `x` counted from `at`; returns the new ticket.
  std::uint64_t restart(double x, Clock::time_point at = Clock::now()) {
    delay.next.store(x);
    return pool->restart(0, at);
  }
  // The next gradient, waiting up to 30 s (REQUIREs one).
  GradientMessage pop() {
    GradientMessage m;
    REQUIRE(inbox.pop_until(m, Clock::now() + 30s));
    return m;
  }
  // Waits (up to 30 s) until the learner has drawn its X (> 0) for `ticket`: the pool then
  // reports the push's due time instead of the restart time. The learner pins before it
  // draws, so its weights are fixed by then too.
  void wait_until_drawn(std::uint64_t ticket, Clock::time_point restarted_at) {
    const auto give_up = Clock::now() + 30s;
    while (pool->deadline(0) == restarted_at && Clock::now() < give_up)
      std::this_thread::sleep_for(1ms);
    REQUIRE(pool->ticket(0) == ticket);
    REQUIRE(pool->deadline(0) != restarted_at);
  }
  // Waits (up to 30 s) until the model has computed `n` gradients; false if it has not.
  bool wait_for_calls(int n) {
    const auto give_up = Clock::now() + 30s;
    while (model.calls.load() < n && Clock::now() < give_up) std::this_thread::sleep_for(1ms);
    return model.calls.load() >= n;
  }

  std::vector<float> w0 = std::vector<float>(2, 0.0f);
  VersionedWeights weights{w0, VersionedWeights::pool_size_for(8)};
  GradientInbox inbox;
  GradientPool buffers{2};
  SetDelay delay;
  CountingModel model;
  Dataset train = four_rows();
  LearnerPoolConfig config;
  std::optional<LearnerPool> pool;  // last: stopped and joined before the rest goes
};

// A long X: far beyond anything a test waits for, so its gradient is never due.
constexpr double kLongX = 60.0;
// How long the test gives a wrongly eager learner to compute (a correct one never does).
constexpr auto kEagerWindow = 200ms;
// A push is stamped at its due time itself (GradientMessage::t_pushed), which the run
// clock's seconds round: comparisons with a due time allow this much.
constexpr double kStampRounding = 1e-6;

}  // namespace

TEST_CASE("pool: with a zero delay the gradient arrives, timed in order, late by >= 0",
          "[learner_pool][jit]") {
  for (ComputeAt at : {ComputeAt::deadline, ComputeAt::start}) {
    INFO("compute_at " << to_string(at));
    JitRig rig(at);
    const std::uint64_t ticket = rig.restart(0.0);
    const GradientMessage m = rig.pop();
    CHECK(m.ticket == ticket);
    CHECK(m.learner == 0);
    CHECK(m.delay_drawn == 0.0);
    CHECK(m.compute_late_s >= 0.0);
    CHECK(m.t_start <= m.t_computed);
    CHECK(m.t_computed <= m.t_pushed);
    CHECK(m.t_start >= 0.0);
    CHECK(rig.model.calls.load() == 1);
  }
}

TEST_CASE("pool: compute_late_s is how long after start + X the computation ended",
          "[learner_pool][jit]") {
  // Restarted with a clock that started 1 s ago and X = 0.5 s: due half a second ago, so
  // the learner computes at once and is at least 0.5 s late -- by exactly t_computed - due.
  JitRig rig(ComputeAt::deadline);
  const Clock::time_point at = Clock::now() - 1s;
  rig.restart(0.5, at);
  const GradientMessage m = rig.pop();
  const double due_s = rig.seconds(at) + 0.5;
  CHECK(m.compute_late_s >= 0.5);
  CHECK(m.compute_late_s == Approx(m.t_computed - due_s).margin(1e-6));
  CHECK(m.t_pushed >= due_s);
  CHECK(m.t_pushed == m.t_computed);  // computed late: stamped when the compute ended
  CHECK(m.delay_drawn == 0.5);
}

TEST_CASE("pool: restart(w, at) counts X from at, not from the call", "[learner_pool][jit]") {
  // The clock started 10 s ago and X = 10.3 s: the push is due 0.3 s after the call (never
  // earlier), not 10.3 s after it.
  JitRig rig(ComputeAt::deadline);
  const Clock::time_point called = Clock::now();
  const Clock::time_point at = called - 10s;
  rig.restart(10.3, at);
  const GradientMessage m = rig.pop();
  CHECK(m.t_pushed >= rig.seconds(at) + 10.3 - kStampRounding);
  CHECK(m.t_pushed < rig.seconds(called) + 10.0);  // 9.7 s of margin
  CHECK(m.delay_served >= 10.3 - kStampRounding);  // served from `at` too
}

TEST_CASE("pool: deadline mode -- a learner cancelled before its compute time never computes",
          "[learner_pool][jit]") {
  JitRig rig(ComputeAt::deadline);
  // The first gradient is computed at once (no lead learned yet); it teaches the plan a
  // lead of about its own compute time.
  rig.restart(0.0);
  rig.pop();
  REQUIRE(rig.model.calls.load() == 1);

  // Due in 60 s: the learner plans to compute just before then, not now.
  const Clock::time_point restarted = Clock::now();
  const std::uint64_t cancelled = rig.restart(kLongX, restarted);
  rig.wait_until_drawn(cancelled, restarted);
  std::this_thread::sleep_for(kEagerWindow);  // time enough for a wrongly eager learner
  CHECK(rig.model.calls.load() == 1);

  // Cancelled (a new minibatch with X = 0): only the new one computes and arrives.
  const std::uint64_t current = rig.restart(0.0);
  const GradientMessage m = rig.pop();
  CHECK(m.ticket == current);
  CHECK(rig.model.calls.load() == 2);  // the cancelled minibatch never computed
  GradientMessage none;
  CHECK_FALSE(rig.inbox.try_pop(none));
}

TEST_CASE("pool: start mode -- the cancelled learner had computed at once",
          "[learner_pool][jit]") {
  // The same steps with ComputeAt::start: the 60 s minibatch computes right away (then
  // waits out X), and the cancel only drops its gradient.
  JitRig rig(ComputeAt::start);
  rig.restart(0.0);
  rig.pop();
  REQUIRE(rig.model.calls.load() == 1);

  rig.restart(kLongX);
  CHECK(rig.wait_for_calls(2));  // computed without waiting for the due time

  const std::uint64_t current = rig.restart(0.0);
  const GradientMessage m = rig.pop();
  CHECK(m.ticket == current);  // the cancelled one's gradient was never pushed
  CHECK(rig.model.calls.load() == 3);
  GradientMessage none;
  CHECK_FALSE(rig.inbox.try_pop(none));
}

TEST_CASE("pool: deadline mode -- a learner stopped before its compute time never computes",
          "[learner_pool][jit]") {
  JitRig rig(ComputeAt::deadline);
  rig.restart(0.0);
  rig.pop();
  const Clock::time_point restarted = Clock::now();
  const std::uint64_t ticket = rig.restart(kLongX, restarted);
  rig.wait_until_drawn(ticket, restarted);
  std::this_thread::sleep_for(kEagerWindow);

  const Clock::time_point stop_called = Clock::now();
  rig.pool->stop();
  CHECK(Clock::now() - stop_called < 30s);  // woken, not waiting out X (60 s)
  CHECK(rig.model.calls.load() == 1);
  GradientMessage none;
  CHECK_FALSE(rig.inbox.try_pop(none));
}

TEST_CASE("pool: deadline mode computes just in time, late in X, on the weights of its start",
          "[learner_pool][jit]") {
  // After a first gradient has taught the plan a lead of about one tiny compute, X = 1 s:
  // the computation begins near start + 1 s, not at the start. Generous: the lead would
  // have to exceed 0.5 s for this to fail.
  JitRig rig(ComputeAt::deadline);
  rig.restart(0.0);
  rig.pop();
  const Clock::time_point at = Clock::now();
  const std::uint64_t ticket = rig.restart(1.0, at);
  rig.wait_until_drawn(ticket, at);
  // A newer version while the learner waits: its gradient is still of the pinned one (the
  // staleness semantics are unchanged by computing late).
  const Version newer = rig.weights.publish([](std::span<float> dst, std::span<const float> cur) {
    std::copy(cur.begin(), cur.end(), dst.begin());
  });
  REQUIRE(newer == 1);
  const GradientMessage m = rig.pop();
  CHECK(m.t_start >= rig.seconds(at) + 0.5);
  CHECK(m.t_pushed >= rig.seconds(at) + 1.0 - kStampRounding);
  CHECK(m.compute_late_s >= 0.0);
  CHECK(m.read_version == 0);
}

TEST_CASE("pool: a gradient computed well before start + X is late by 0, not by a negative",
          "[learner_pool][jit]") {
  // ComputeAt::start computes at once: done half a second before it is due.
  JitRig rig(ComputeAt::start);
  const Clock::time_point at = Clock::now();
  rig.restart(0.5, at);
  const GradientMessage m = rig.pop();
  CHECK(m.compute_late_s == 0.0);
  CHECK(m.t_computed < rig.seconds(at) + 0.5);  // the premise: computed in time
  // Stamped when it was due, however late the thread's timed wait ended (push_lag_s).
  CHECK(m.t_pushed == Approx(rig.seconds(at) + 0.5).margin(kStampRounding));
  CHECK(m.delay_served == Approx(0.5).margin(kStampRounding));
  CHECK(m.push_lag_s >= 0.0);
  CHECK(m.push_lag_s < 30.0);
}

TEST_CASE("pool: deadline mode -- restarts before the compute time never wake the learner",
          "[learner_pool][jit]") {
  // A synchronous restart of every learner at every update (the sync family) must not
  // wake them all: restart() sets the job up on the calling thread and the learner is
  // woken only when its compute time comes (issue 13). In start mode each restart wakes it.
  for (ComputeAt at : {ComputeAt::deadline, ComputeAt::start}) {
    INFO("compute_at " << to_string(at));
    JitRig rig(at);
    rig.restart(0.0);  // computed at once; teaches the plan a lead
    rig.pop();
    REQUIRE(rig.pool->jobs_taken(0) == 1);
    for (int i = 0; i < 50; ++i) {
      rig.restart(kLongX);
      std::this_thread::sleep_for(1ms);
    }
    const std::uint64_t current = rig.restart(0.0);
    const GradientMessage m = rig.pop();
    CHECK(m.ticket == current);
    if (at == ComputeAt::deadline) {
      CHECK(rig.pool->jobs_taken(0) == 2);  // the first and the last: none of the 50
      CHECK(rig.model.calls.load() == 2);
    } else {
      // Each restart woke it to compute at once; some were replaced before it got to them.
      CHECK(rig.pool->jobs_taken(0) > 2);
    }
  }
}

TEST_CASE("pool: a delay model that throws at a restart records the learner's failure",
          "[learner_pool]") {
  JitRig rig(ComputeAt::deadline);
  rig.delay.fail.store(true);
  rig.restart(0.0);
  CHECK(rig.pool->has_new_failures());
  const auto failures = rig.pool->take_failures();
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].first == 0);
  CHECK(failures[0].second.find("delay") != std::string::npos);
  GradientMessage none;
  CHECK_FALSE(rig.inbox.pop_until(none, Clock::now() + 50ms));  // the PS was woken; no gradient
}

TEST_CASE("pool: a restart tells a learner waiting out a superseded job's X to drop it",
          "[learner_pool][jit]") {
  // A gradient that takes 200 ms teaches a lead of ~300 ms: with X = 1 s the learner
  // computes from ~0.7 s to ~0.9 s, then waits for 1 s. A restart in that wait whose own
  // compute time is far away (X = 60 s) must still stop the old push: no message may
  // arrive for the superseded ticket.
  JitRig rig(ComputeAt::deadline);
  rig.model.compute_ms.store(200);
  rig.restart(0.0);
  rig.pop();
  rig.restart(1.0);
  REQUIRE(rig.wait_for_calls(2));  // computed; now waiting for its due time
  rig.restart(kLongX);
  GradientMessage stale;
  CHECK_FALSE(rig.inbox.pop_until(stale, Clock::now() + 1500ms));
}

// ---------------------------------------------------------------------------------------
// One restart of several learners, and next_due (issue 13: the sync family restarts all P
// at each update; the PS polls for the push it knows is due next).

namespace {

// Learner w's n-th draw (from 0) is x[w] + n * step[w] (seconds), set by the test before each
// restart; it throws when fail[w] is set or n is fail_at[w].
class PerLearnerDelay final : public DelayModel {
 public:
  double sample(std::size_t w, Rng&) override {
    const int n = draws[w].fetch_add(1);
    if (fail[w].load() || n == fail_at[w].load())
      throw std::runtime_error("learner " + std::to_string(w) + "'s delay model failed");
    return x[w].load() + step[w].load() * n;
  }
  bool may_draw_ahead() const override { return ahead; }
  std::string spec() const override { return "per-learner, set by test"; }
  std::atomic<double> x[4] = {0.0, 0.0, 0.0, 0.0};
  std::atomic<bool> fail[4] = {false, false, false, false};
  std::atomic<int> fail_at[4] = {-1, -1, -1, -1};
  std::atomic<double> step[4] = {0.0, 0.0, 0.0, 0.0};
  std::atomic<int> draws[4] = {0, 0, 0, 0};
  bool ahead = false;  // set before the pool is made (it asks once)
};

struct FourRig {
  explicit FourRig(ComputeAt at = ComputeAt::deadline, bool restarter_computes = true, bool draw_ahead = false)
      : config(rig_config(4, at)) {
    config.restarter_computes = restarter_computes;
    delay.ahead = draw_ahead;
    pool.emplace(config, LearnerPoolDeps{&weights, &inbox, &buffers, &delay, &model, &train});
  }
  double seconds(Clock::time_point t) const { return std::chrono::duration<double>(t - config.t0).count(); }
  std::vector<float> w0 = std::vector<float>(2, 0.0f);
  VersionedWeights weights{w0, VersionedWeights::pool_size_for(16)};
  GradientInbox inbox;
  GradientPool buffers{2};
  PerLearnerDelay delay;
  CountingModel model;
  Dataset train = four_rows();
  LearnerPoolConfig config;
  std::optional<LearnerPool> pool;
};

}  // namespace

TEST_CASE("pool: one restart of several learners starts each, those due now push, the rest wait",
          "[learner_pool][jit]") {
  FourRig rig;
  rig.delay.x[0].store(0.0);
  rig.delay.x[1].store(kLongX);
  rig.delay.x[2].store(0.0);
  rig.delay.x[3].store(kLongX);
  const std::vector<std::size_t> all{3, 2, 1, 0};
  const Clock::time_point at = Clock::now();
  rig.pool->restart(all, at);
  for (std::size_t w = 0; w < 4; ++w) {
    CHECK(rig.pool->ticket(w) == 1);
    CHECK(rig.pool->deadline(w) == deadline_after(at, rig.delay.x[w].load()));
  }
  std::vector<std::size_t> pushed;
  for (int k = 0; k < 2; ++k) {
    GradientMessage m;
    REQUIRE(rig.inbox.pop_until(m, Clock::now() + 30s));
    CHECK(m.ticket == 1);
    pushed.push_back(m.learner);
  }
  std::sort(pushed.begin(), pushed.end());
  CHECK(pushed == std::vector<std::size_t>{0, 2});
  GradientMessage none;
  // 1 and 3 wait out X (having no lead learned yet, they computed at once).
  CHECK_FALSE(rig.inbox.pop_until(none, Clock::now() + kEagerWindow));
  // A second restart of a subset supersedes only those learners' jobs.
  rig.delay.x[1].store(0.0);
  rig.pool->restart(std::vector<std::size_t>{1}, Clock::now());
  GradientMessage m;
  REQUIRE(rig.inbox.pop_until(m, Clock::now() + 30s));
  CHECK(m.learner == 1);
  CHECK(m.ticket == 2);
  CHECK(rig.pool->ticket(3) == 1);
}

TEST_CASE("pool: next_due is the earliest push due and not come, from a given time on",
          "[learner_pool][jit]") {
  FourRig rig;
  const double xs[4] = {kLongX, 30.0, 45.0, 50.0};
  for (std::size_t w = 0; w < 4; ++w) rig.delay.x[w].store(xs[w]);
  const Clock::time_point at = Clock::now();
  CHECK(rig.pool->next_due(at) == Clock::time_point::max());  // nothing started
  rig.pool->restart(std::vector<std::size_t>{0, 1, 2, 3}, at);
  CHECK(rig.pool->next_due(at) == deadline_after(at, 30.0));
  CHECK(rig.pool->next_due(at + 31s) == deadline_after(at, 45.0));
  CHECK(rig.pool->next_due(at + 61s) == Clock::time_point::max());
  // A push that has come is not waited for: learner 1 restarted with X = 0 pushes at once.
  rig.delay.x[1].store(0.0);
  const Clock::time_point again = Clock::now();
  rig.pool->restart(1, again);
  GradientMessage m;
  REQUIRE(rig.inbox.pop_until(m, Clock::now() + 30s));
  REQUIRE(m.learner == 1);
  // The learner marks its push just after it: give it a moment (30 s at most).
  const auto give_up = Clock::now() + 30s;
  while (rig.pool->next_due(at) != deadline_after(at, 45.0) && Clock::now() < give_up)
    std::this_thread::sleep_for(1ms);
  CHECK(rig.pool->next_due(at) == deadline_after(at, 45.0));
  // X = +infinity never comes: not counted.
  rig.delay.x[2].store(std::numeric_limits<double>::infinity());
  rig.pool->restart(2, Clock::now());
  CHECK(rig.pool->next_due(at) == deadline_after(at, 50.0));
}

TEST_CASE("pool: one restart with leads learned -- due now computes, later waits, a failed draw is reported",
          "[learner_pool][jit]") {
  FourRig rig;
  // Teach every learner a lead (its first gradient computes at once).
  rig.pool->restart(std::vector<std::size_t>{0, 1, 2, 3}, Clock::now());
  for (int k = 0; k < 4; ++k) {
    GradientMessage m;
    REQUIRE(rig.inbox.pop_until(m, Clock::now() + 30s));
  }
  const int computed = rig.model.calls.load();
  REQUIRE(computed == 4);
  rig.delay.x[0].store(0.0);     // due now: woken at once
  rig.delay.x[1].store(kLongX);  // planned a minute ahead: the dispatcher's, never now
  rig.delay.fail[2].store(true);  // its draw throws: a failure of learner 2, no job
  rig.delay.x[3].store(0.3);     // planned just before 0.3 s: the dispatcher wakes it
  const Clock::time_point at = Clock::now();
  rig.pool->restart(std::vector<std::size_t>{1, 2, 3, 0}, at);
  // The failure wakes the PS (an empty pop_until) once: wait through it.
  auto pop = [&](GradientMessage& m) {
    const auto give_up = Clock::now() + 30s;
    while (Clock::now() < give_up)
      if (rig.inbox.pop_until(m, give_up)) return true;
    return false;
  };
  GradientMessage first, second;
  REQUIRE(pop(first));
  REQUIRE(pop(second));
  CHECK(first.learner == 0);
  CHECK(second.learner == 3);
  CHECK(second.t_pushed >= std::chrono::duration<double>(at - rig.config.t0).count() + 0.3 - kStampRounding);
  CHECK(rig.pool->jobs_taken(1) == 1);  // only its first job: the minute-long one waits
  const auto failures = rig.pool->take_failures();
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].first == 2);
  CHECK(failures[0].second.find("learner 2's delay model failed") != std::string::npos);
  CHECK(rig.pool->ticket(2) == 2);  // restarted all the same: an old job would be dropped
  GradientMessage none;
  CHECK_FALSE(rig.inbox.pop_until(none, Clock::now() + kEagerWindow));
}

// ---------------------------------------------------------------------------------------
// The restarting thread computes a job due at once itself (LearnerPoolConfig::
// restarter_computes): no hand-off to the learner's thread on the sync family's critical
// path. Who computed is told by the thread the model ran on; the gradient is in the inbox
// when restart() returns. A learner's thread still gathering its next minibatch after a
// push holds its task for a moment, and then takes the job itself: the helpers retry
// instead of assuming how soon a thread gets to run.

namespace {

// Teaches every learner of `rig` a lead (no lead: even a job due now goes to the learner's
// thread) and takes their four gradients.
void learn_leads(FourRig& rig) {
  rig.pool->restart(std::vector<std::size_t>{0, 1, 2, 3}, Clock::now());
  for (int k = 0; k < 4; ++k) {
    GradientMessage m;
    REQUIRE(rig.inbox.pop_until(m, Clock::now() + 30s));
  }
}

// Restarts the learners `ws` (X as set in rig.delay) until this thread computed learner
// `w`'s job, taking the gradients of the attempts its thread computed (`pushes` per
// attempt); returns learner w's ticket. FAILs after many attempts.
std::uint64_t restart_until_here(FourRig& rig, const std::vector<std::size_t>& ws, std::size_t w,
                                 int pushes, bool rest_superseded = false) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    const std::uint64_t before = rig.pool->jobs_computed_by_restarter(w);
    rig.pool->restart(ws, Clock::now(), 1, rest_superseded);
    if (rig.pool->jobs_computed_by_restarter(w) > before) return rig.pool->ticket(w);
    for (int k = 0; k < pushes; ++k) {
      GradientMessage m;
      REQUIRE(rig.inbox.pop_until(m, Clock::now() + 30s));
    }
    std::this_thread::sleep_for(10ms);
  }
  FAIL("learner " << w << "'s job due at once was never computed by the restarting thread");
  return 0;
}

// Whether this process's threads may choose SCHED_BATCH (tried on a thread of its own).
bool batch_scheduling_allowed() {
  bool ok = false;
  std::thread([&] { ok = set_thread_batch_scheduling(); }).join();
  return ok;
}

}  // namespace

TEST_CASE("pool: the restarting thread computes a job due at once and pushes it before returning",
          "[learner_pool][jit][restarter]") {
  FourRig rig;
  rig.delay.x[0].store(0.0);  // the first job: no lead learned yet, so the learner's thread
  const std::uint64_t first = rig.pool->restart(0, Clock::now());
  GradientMessage m;
  REQUIRE(rig.inbox.pop_until(m, Clock::now() + 30s));
  CHECK(m.ticket == first);
  CHECK(rig.pool->jobs_computed_by_restarter(0) == 0);
  REQUIRE(rig.model.computed_on().size() == 1);
  CHECK(rig.model.computed_on()[0] != std::this_thread::get_id());
  // Learner threads run batch-scheduled: their wake-ups never preempt this (the PS) thread.
  if (batch_scheduling_allowed()) CHECK(rig.model.batch_calls.load() == 1);

  // With a lead learned, X = 0 is due at once: computed here, in the inbox on return.
  const Version v = rig.weights.pin_latest().version();
  const std::uint64_t ticket = restart_until_here(rig, {0}, 0, 1);
  REQUIRE(rig.inbox.try_pop(m));
  CHECK(m.learner == 0);
  CHECK(m.ticket == ticket);
  CHECK(m.read_version == v);
  CHECK(m.t_start <= m.t_computed);
  CHECK(m.t_computed <= m.t_pushed);
  CHECK(rig.pool->jobs_computed_by_restarter(0) == 1);
  CHECK(rig.pool->jobs_taken(0) == rig.model.computed_on().size());
  CHECK(rig.model.computed_on().back() == std::this_thread::get_id());
  GradientMessage none;
  CHECK_FALSE(rig.inbox.pop_until(none, Clock::now() + kEagerWindow));
}

TEST_CASE("pool: with restarter_computes off, a job due at once goes to the learner's thread",
          "[learner_pool][jit][restarter]") {
  FourRig rig(ComputeAt::deadline, /*restarter_computes=*/false);
  learn_leads(rig);
  rig.delay.x[2].store(0.0);
  const std::uint64_t ticket = rig.pool->restart(2, Clock::now());
  GradientMessage m;
  REQUIRE(rig.inbox.pop_until(m, Clock::now() + 30s));
  CHECK(m.ticket == ticket);
  CHECK(rig.pool->jobs_computed_by_restarter(2) == 0);
  for (const std::thread::id t : rig.model.computed_on()) CHECK(t != std::this_thread::get_id());
}

TEST_CASE("pool: computing at the start, the restarting thread never computes",
          "[learner_pool][jit][restarter]") {
  FourRig rig(ComputeAt::start);
  learn_leads(rig);
  rig.delay.x[1].store(0.0);
  rig.pool->restart(1, Clock::now());
  GradientMessage m;
  REQUIRE(rig.inbox.pop_until(m, Clock::now() + 30s));
  CHECK(rig.pool->jobs_computed_by_restarter(1) == 0);
  for (const std::thread::id t : rig.model.computed_on()) CHECK(t != std::this_thread::get_id());
}

TEST_CASE("pool: of several jobs due at once, the restarting thread computes only the smallest X",
          "[learner_pool][jit][restarter]") {
  FourRig rig;
  learn_leads(rig);
  rig.delay.x[0].store(1e-9);
  rig.delay.x[1].store(kLongX);
  rig.delay.x[2].store(0.0);   // the smallest
  rig.delay.x[3].store(2e-9);  // due at once too: its thread computes it
  restart_until_here(rig, {0, 1, 3, 2}, 2, 3);
  for (const std::size_t w : {0, 1, 3}) CHECK(rig.pool->jobs_computed_by_restarter(w) == 0);
  std::vector<std::size_t> pushed;
  for (int k = 0; k < 3; ++k) {
    GradientMessage m;
    REQUIRE(rig.inbox.pop_until(m, Clock::now() + 30s));
    pushed.push_back(m.learner);
  }
  std::sort(pushed.begin(), pushed.end());
  CHECK(pushed == std::vector<std::size_t>{0, 2, 3});
}

TEST_CASE("pool: a job due at once whose learner's thread holds its task goes to that thread",
          "[learner_pool][jit][restarter]") {
  FourRig rig;
  learn_leads(rig);
  // Learner 1's thread takes a job due in half a second (far beyond any lead learned from
  // instant computations) and computes it for a second.
  rig.model.compute_ms.store(1000);
  rig.delay.x[1].store(0.5);
  const int before = rig.model.entered.load();
  const std::uint64_t old_ticket = rig.pool->restart(1, Clock::now());
  const auto give_up = Clock::now() + 30s;
  while (rig.model.entered.load() == before && Clock::now() < give_up) std::this_thread::sleep_for(1ms);
  REQUIRE(rig.model.entered.load() == before + 1);  // computing: it holds its task
  CHECK(rig.pool->jobs_computed_by_restarter(1) == 0);
  // Restarted with a push due 9 s ago: due at once, but its task is busy, so its thread
  // computes the new job once it has dropped the old one.
  rig.delay.x[1].store(1.0);
  const std::uint64_t new_ticket = rig.pool->restart(1, Clock::now() - 10s);
  CHECK(new_ticket == old_ticket + 1);
  CHECK(rig.pool->jobs_computed_by_restarter(1) == 0);
  // Learner 1's push, due long ago, has not come: computing learner 0's job here would
  // take it late, so learner 0's own thread computes it.
  rig.delay.x[0].store(0.0);
  rig.pool->restart(0, Clock::now());
  CHECK(rig.pool->jobs_computed_by_restarter(0) == 0);
  std::vector<std::pair<std::size_t, std::uint64_t>> pushed;
  for (int k = 0; k < 2; ++k) {
    GradientMessage m;
    REQUIRE(rig.inbox.pop_until(m, Clock::now() + 30s));
    pushed.emplace_back(m.learner, m.ticket);
  }
  std::sort(pushed.begin(), pushed.end());
  CHECK(pushed[0].first == 0);
  CHECK(pushed[1] == std::pair<std::size_t, std::uint64_t>{1, new_ticket});  // never the old job
  GradientMessage none;
  CHECK_FALSE(rig.inbox.pop_until(none, Clock::now() + kEagerWindow));
  for (const std::thread::id t : rig.model.computed_on()) CHECK(t != std::this_thread::get_id());
}

TEST_CASE("pool: a gradient that throws on the restarting thread is the learner's failure, and only its",
          "[learner_pool][jit][restarter]") {
  FourRig rig;
  learn_leads(rig);
  rig.model.throw_on = std::this_thread::get_id();  // the learners' threads never throw
  rig.delay.x[3].store(0.0);
  restart_until_here(rig, {3}, 3, 1);
  GradientMessage none;
  CHECK_FALSE(rig.inbox.try_pop(none));  // nothing pushed
  REQUIRE(rig.pool->has_new_failures());
  const auto failures = rig.pool->take_failures();
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].first == 3);
  CHECK(failures[0].second == "the test's model failed");
  // The failed learner's push is not awaited any more: a job due at once of another
  // learner is still computed here (before the failures were taken it would not be).
  rig.model.throw_on = std::thread::id{};
  rig.delay.x[1].store(0.0);
  restart_until_here(rig, {1}, 1, 1);
  GradientMessage m;
  REQUIRE(rig.inbox.try_pop(m));
  CHECK(m.learner == 1);
}

// ---------------------------------------------------------------------------------------
// A restart's smallest X not due at once is reserved for the restarting thread: computed
// there when its time comes (do_own_work, which ThreadLearners calls while it waits for
// gradients) and pushed when due, never handed to the learner's thread.

namespace {

// Does the restarting thread's own work until a gradient comes (true) or `for_` passes.
bool drive_until_gradient_for(FourRig& rig, GradientMessage& m, Clock::duration for_) {
  const auto give_up = Clock::now() + for_;
  while (Clock::now() < give_up) {
    rig.pool->do_own_work();
    if (rig.inbox.pop_until(m, std::min(give_up, rig.pool->own_work_at()))) return true;
  }
  return false;
}

bool drive_until_gradient(FourRig& rig, GradientMessage& m) { return drive_until_gradient_for(rig, m, 30s); }

// The learners whose gradients come until `until` (this thread doing its own work), in order.
std::vector<std::size_t> pushes_until(FourRig& rig, Clock::time_point until) {
  std::vector<std::size_t> pushed;
  GradientMessage m;
  while (drive_until_gradient_for(rig, m, until - Clock::now())) {
    pushed.push_back(m.learner);
    m = GradientMessage{};
  }
  return pushed;
}

// Gives learner w X = x and every other learner kLongX, then restarts all four as one
// step at `at` (w's job is the restart's smallest X).
void restart_all_smallest(FourRig& rig, std::size_t w, double x, Clock::time_point at = Clock::now()) {
  for (std::size_t v = 0; v < 4; ++v) rig.delay.x[v].store(v == w ? x : kLongX);
  rig.pool->restart(std::vector<std::size_t>{0, 1, 2, 3}, at);
}

}  // namespace

namespace {

// Restarts all four learners awaiting two gradients (X as set in rig.delay: `first`'s
// job due at once, `second`'s the next smallest) until this thread computed both jobs, at
// most `attempts` times, taking both gradients of every attempt (in X order when this
// thread computed both; their threads may race otherwise). Returns whether it ever did.
bool restart_until_both_here(FourRig& rig, std::size_t first, std::size_t second, int attempts) {
  for (int attempt = 0; attempt < attempts; ++attempt) {
    const std::uint64_t first0 = rig.pool->jobs_computed_by_restarter(first);
    const std::uint64_t second0 = rig.pool->jobs_computed_by_restarter(second);
    rig.pool->restart(std::vector<std::size_t>{0, 1, 2, 3}, Clock::now(), 2);
    GradientMessage m, n;
    REQUIRE(drive_until_gradient(rig, m));
    REQUIRE(drive_until_gradient(rig, n));
    CHECK(((m.learner == first && n.learner == second) || (m.learner == second && n.learner == first)));
    CHECK(m.ticket == rig.pool->ticket(m.learner));
    CHECK(n.ticket == rig.pool->ticket(n.learner));
    if (rig.pool->jobs_computed_by_restarter(first) == first0 + 1 &&
        rig.pool->jobs_computed_by_restarter(second) == second0 + 1) {
      CHECK(m.learner == first);
      CHECK(n.learner == second);
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

}  // namespace

TEST_CASE("pool: the smallest X not due at once is computed by the restarting thread, in time",
          "[learner_pool][jit][restarter]") {
  FourRig rig;
  learn_leads(rig);
  const std::size_t taken_before = rig.model.computed_on().size();
  const Clock::time_point at = Clock::now();
  restart_all_smallest(rig, 1, 0.5, at);  // far beyond any lead learned from tiny computes
  const std::uint64_t ticket = rig.pool->ticket(1);
  const Clock::time_point own = rig.pool->own_work_at();
  CHECK(own > at);
  CHECK(own < deadline_after(at, 0.5));
  GradientMessage m;
  CHECK_FALSE(rig.inbox.pop_until(m, std::min(own, Clock::now() + 100ms)));  // not before its time
  REQUIRE(drive_until_gradient(rig, m));
  CHECK(m.learner == 1);
  CHECK(m.ticket == ticket);
  CHECK(rig.pool->jobs_computed_by_restarter(1) == 1);
  REQUIRE(rig.model.computed_on().size() == taken_before + 1);
  CHECK(rig.model.computed_on().back() == std::this_thread::get_id());
  CHECK(m.t_start >= rig.seconds(at) + 0.25);  // just in time, not at the start
  // Stamped when due -- or when computed, should this (slow, loaded) machine finish late.
  const double due_s = rig.seconds(at) + 0.5;
  CHECK(m.t_pushed == Approx(std::max(due_s, m.t_computed)).margin(kStampRounding));
  CHECK(rig.pool->own_work_at() == Clock::time_point::max());
  GradientMessage none;
  CHECK_FALSE(rig.inbox.pop_until(none, Clock::now() + kEagerWindow));
}

TEST_CASE("pool: the restarting thread reads a reserved job's minibatch through once, before computing it",
          "[learner_pool][jit][restarter]") {
  FourRig rig;
  learn_leads(rig);
  const std::uint64_t warmed = rig.pool->minibatches_warmed();
  restart_all_smallest(rig, 1, 2.0);  // reserved: its compute time ~2 s away
  // Its own work meanwhile (a learner's thread may hold the task a moment: gathering).
  for (const auto give_up = Clock::now() + 1s;
       rig.pool->minibatches_warmed() == warmed && Clock::now() < give_up;) {
    rig.pool->do_own_work();
    std::this_thread::sleep_for(1ms);
  }
  CHECK(rig.pool->minibatches_warmed() == warmed + 1);
  rig.pool->do_own_work();
  CHECK(rig.pool->minibatches_warmed() == warmed + 1);  // once per job
  GradientMessage m;
  REQUIRE(drive_until_gradient(rig, m));
  CHECK(m.learner == 1);
  CHECK(rig.pool->jobs_computed_by_restarter(1) == 1);
}

TEST_CASE("pool: the restarting thread computes every learner's job in one workspace of its own",
          "[learner_pool][jit][restarter]") {
  FourRig rig;
  learn_leads(rig);
  // Two reserved jobs of two learners, both computed on this thread.
  for (const std::size_t w : {1, 2}) {
    restart_all_smallest(rig, w, 0.3);
    GradientMessage m;
    REQUIRE(drive_until_gradient(rig, m));
    REQUIRE(m.learner == w);
  }
  const auto calls = [&] {
    std::lock_guard lock(rig.model.threads_mutex);
    return rig.model.workspaces;
  }();
  REQUIRE(calls.size() >= 2);
  const auto [ps, own] = calls.back();
  REQUIRE(ps == std::this_thread::get_id());
  CHECK(calls[calls.size() - 2] == std::pair{ps, own});  // the same for learners 1 and 2
  for (const auto& [thread, ws] : calls)
    if (thread != ps) CHECK(ws != own);  // never a learner thread's
}

TEST_CASE("pool: a delay model that allows it is drawn an update ahead, each learner's Xs in order",
          "[learner_pool][jit][restarter]") {
  FourRig rig(ComputeAt::deadline, true, /*draw_ahead=*/true);
  for (std::size_t w = 0; w < 4; ++w) rig.delay.x[w].store(kLongX + static_cast<double>(w));
  for (auto& step : rig.delay.step) step.store(0.25);
  for (int k = 0; k < 3; ++k) {
    INFO("restart " << k);
    const Clock::time_point at = Clock::now();
    rig.pool->restart(std::vector<std::size_t>{0, 1, 2, 3}, at, 1, /*rest_superseded=*/true);
    for (std::size_t w = 0; w < 4; ++w) {
      INFO("learner " << w);
      // The k-th job has the k-th draw; the next one is drawn already.
      CHECK(rig.pool->deadline(w) == deadline_after(at, rig.delay.x[w].load() + 0.25 * k));
      CHECK(rig.delay.draws[w].load() == k + 2);
    }
  }
  // Not under a K schedule (rest_superseded false): nothing more is drawn ahead.
  const Clock::time_point at = Clock::now();
  rig.pool->restart(std::vector<std::size_t>{0, 1, 2, 3}, at, 1, /*rest_superseded=*/false);
  CHECK(rig.pool->deadline(0) == deadline_after(at, rig.delay.x[0].load() + 0.25 * 3));
  CHECK(rig.delay.draws[0].load() == 4);
}

TEST_CASE("pool: a delay model that does not allow it is never drawn ahead", "[learner_pool][jit][restarter]") {
  FourRig rig;  // PerLearnerDelay::ahead false, as DelayModel's default
  for (std::size_t w = 0; w < 4; ++w) rig.delay.x[w].store(kLongX);
  rig.pool->restart(std::vector<std::size_t>{0, 1, 2, 3}, Clock::now(), 1, /*rest_superseded=*/true);
  for (std::size_t w = 0; w < 4; ++w) CHECK(rig.delay.draws[w].load() == 1);
}

TEST_CASE("pool: a draw made ahead that throws fails the learner at the restart that uses it",
          "[learner_pool][jit][restarter]") {
  FourRig rig(ComputeAt::deadline, true, /*draw_ahead=*/true);
  for (std::size_t w = 0; w < 4; ++w) rig.delay.x[w].store(kLongX);
  rig.delay.fail_at[2].store(1);  // learner 2's second draw
  rig.pool->restart(std::vector<std::size_t>{0, 1, 2, 3}, Clock::now(), 1, /*rest_superseded=*/true);
  REQUIRE(rig.delay.draws[2].load() == 2);  // drawn ahead, and thrown
  CHECK_FALSE(rig.pool->has_new_failures());
  rig.pool->restart(std::vector<std::size_t>{0, 1, 2, 3}, Clock::now(), 1, /*rest_superseded=*/true);
  REQUIRE(rig.pool->has_new_failures());
  const auto failures = rig.pool->take_failures();
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].first == 2);
  CHECK(failures[0].second.find("learner 2's delay model failed") != std::string::npos);
}

TEST_CASE("pool: the minibatch of the next restart's smallest X drawn ahead is read through once",
          "[learner_pool][jit][restarter]") {
  FourRig rig(ComputeAt::deadline, true, /*draw_ahead=*/true);
  // Learner 1's X the smallest now (its job the only one not parked), learner 2's next;
  // nothing due for a minute.
  for (const std::size_t w : {0, 1, 2, 3}) rig.delay.x[w].store(kLongX + 1.0 + static_cast<double>(w));
  rig.delay.x[1].store(kLongX);
  rig.delay.step[1].store(10.0);
  rig.pool->restart(std::vector<std::size_t>{0, 1, 2, 3}, Clock::now(), 1, /*rest_superseded=*/true);
  // Its own work meanwhile (a learner's thread may hold the task a moment: gathering).
  for (const auto give_up = Clock::now() + 2s; rig.pool->minibatches_warmed() == 0 && Clock::now() < give_up;) {
    rig.pool->do_own_work();
    std::this_thread::sleep_for(1ms);
  }
  CHECK(rig.pool->minibatches_warmed() == 1);
  rig.pool->do_own_work();
  CHECK(rig.pool->minibatches_warmed() == 1);  // once per restart
}

TEST_CASE("pool: a restart awaiting two gradients has the restarting thread compute the two smallest Xs, "
          "each in time",
          "[learner_pool][jit][restarter]") {
  FourRig rig;
  learn_leads(rig);
  // One job computed here first: its cost tells whether a second one fits.
  restart_all_smallest(rig, 0, 0.2);
  GradientMessage first;
  REQUIRE(drive_until_gradient(rig, first));
  REQUIRE(rig.pool->jobs_computed_by_restarter(0) == 1);

  for (std::size_t v = 0; v < 4; ++v) rig.delay.x[v].store(kLongX);
  rig.delay.x[1].store(0.3);
  rig.delay.x[2].store(0.6);
  const Clock::time_point at = Clock::now();
  rig.pool->restart(std::vector<std::size_t>{0, 1, 2, 3}, at, /*awaited=*/2);
  const std::size_t taken_before = rig.model.computed_on().size();
  for (const std::size_t w : {std::size_t{1}, std::size_t{2}}) {
    INFO("learner " << w);
    GradientMessage m;
    REQUIRE(drive_until_gradient(rig, m));
    CHECK(m.learner == w);
    CHECK(m.ticket == rig.pool->ticket(w));
    CHECK(rig.pool->jobs_computed_by_restarter(w) == 1);  // not its own thread's
    CHECK(rig.model.computed_on().back() == std::this_thread::get_id());
    const double x = w == 1 ? 0.3 : 0.6;
    CHECK(m.t_start >= rig.seconds(at) + x / 2);  // just in time, not one after the other
    CHECK(m.t_pushed == Approx(std::max(rig.seconds(at) + x, m.t_computed)).margin(kStampRounding));
  }
  CHECK(rig.model.computed_on().size() == taken_before + 2);
  CHECK(rig.pool->own_work_at() == Clock::time_point::max());
}

TEST_CASE("pool: after the job due at once, the restarting thread computes the next smallest X "
          "when the restart awaits two gradients",
          "[learner_pool][jit][restarter]") {
  FourRig rig;
  learn_leads(rig);
  for (std::size_t v = 0; v < 4; ++v) rig.delay.x[v].store(kLongX);
  rig.delay.x[3].store(0.0);  // due at once: computed by this thread within restart()
  rig.delay.x[1].store(0.3);
  // This thread needs learner 3's task (its thread may hold it, gathering), and learner 1's
  // when the reserved job's time comes; a loaded machine (sanitizers) may leave either busy
  // now and then (then its thread computes the job): attempts until both were here.
  CHECK(restart_until_both_here(rig, 3, 1, 50));
  CHECK(rig.model.computed_on().back() == std::this_thread::get_id());
}

TEST_CASE("pool: a job due right after the one due at once is computed by the restarting thread "
          "next, not woken, when the restart awaits two gradients",
          "[learner_pool][jit][restarter]") {
  FourRig rig;
  learn_leads(rig);
  for (std::size_t v = 0; v < 4; ++v) rig.delay.x[v].store(kLongX);
  rig.delay.x[2].store(0.0);   // due at once: computed within restart()
  rig.delay.x[0].store(1e-5);  // due within that computation's lead: held back, then chained
  // This thread needs learner 2's task (its thread may hold it, gathering) and its own
  // compute cost, known after the first attempt; a slow machine may find the second job
  // no longer in time now and then (then its thread computes it): attempts until both.
  CHECK(restart_until_both_here(rig, 2, 0, 200));
  CHECK(rig.pool->own_work_at() == Clock::time_point::max());
}

TEST_CASE("pool: a learner holding a superseded job drops it when its new job is reserved after "
          "the job due at once",
          "[learner_pool][jit][restarter]") {
  // Attempts until this thread got learner 0's task for the job due at once (its thread
  // may hold it, gathering); each on a fresh pool.
  bool tested = false;
  for (int attempt = 0; attempt < 20 && !tested; ++attempt) {
    FourRig rig;
    // Leads for learners 0-2 only, and this thread's own (a job it reserved and computed).
    rig.pool->restart(std::vector<std::size_t>{0, 1, 2}, Clock::now());
    for (int k = 0; k < 3; ++k) {
      GradientMessage m;
      REQUIRE(rig.inbox.pop_until(m, Clock::now() + 30s));
    }
    rig.delay.x[0].store(kLongX);
    rig.delay.x[1].store(0.2);
    rig.delay.x[2].store(kLongX);
    rig.pool->restart(std::vector<std::size_t>{0, 1, 2}, Clock::now());
    GradientMessage m;
    REQUIRE(drive_until_gradient(rig, m));
    REQUIRE(rig.pool->jobs_computed_by_restarter(1) == 1);
    // Learner 3, with no lead yet, computes its job at once on its own thread and then
    // waits out X = 0.5 s: it holds that job.
    rig.delay.x[3].store(0.5);
    const std::uint64_t stale = rig.pool->restart(3);
    const auto give_up = Clock::now() + 30s;
    while (rig.pool->jobs_taken(3) == 0 && Clock::now() < give_up) std::this_thread::sleep_for(1ms);
    REQUIRE(rig.pool->jobs_taken(3) == 1);
    std::this_thread::sleep_for(20ms);  // computed (a lead published): now waiting out X
    // Learner 0's job due at once is computed here; learner 3's (X = 0.3 s, planned after
    // that computation: deferred) is the second gradient awaited, reserved afterwards.
    rig.delay.x[0].store(0.0);
    rig.delay.x[1].store(kLongX);
    rig.delay.x[3].store(0.3);
    const std::uint64_t here_before = rig.pool->jobs_computed_by_restarter(0);
    rig.pool->restart(std::vector<std::size_t>{0, 1, 2, 3}, Clock::now(), 2);
    const bool here = rig.pool->jobs_computed_by_restarter(0) == here_before + 1;
    // Every gradient until after the superseded job's due time: never that job's.
    const auto until = Clock::now() + 800ms;
    std::vector<GradientMessage> got;
    while (Clock::now() < until) {
      GradientMessage g;
      if (drive_until_gradient_for(rig, g, until - Clock::now())) got.push_back(std::move(g));
    }
    for (const GradientMessage& g : got) CHECK_FALSE((g.learner == 3 && g.ticket == stale));
    if (!here) continue;
    tested = true;
    REQUIRE(got.size() == 2);
    CHECK(got[0].learner == 0);
    CHECK(got[1].learner == 3);
    CHECK(got[1].ticket == rig.pool->ticket(3));
    CHECK(rig.pool->jobs_computed_by_restarter(3) == 1);  // reserved, not its thread's
  }
  CHECK(tested);
}

TEST_CASE("pool: a reserved job superseded by a restart is never computed",
          "[learner_pool][jit][restarter]") {
  FourRig rig;
  learn_leads(rig);
  const std::size_t taken_before = rig.model.computed_on().size();
  restart_all_smallest(rig, 2, 0.5);
  REQUIRE(rig.pool->own_work_at() != Clock::time_point::max());
  rig.delay.x[2].store(kLongX);
  rig.pool->restart(2, Clock::now());  // supersedes it before its time
  CHECK(rig.pool->own_work_at() == Clock::time_point::max());
  GradientMessage none;
  CHECK_FALSE(drive_until_gradient_for(rig, none, 800ms));
  CHECK(rig.model.computed_on().size() == taken_before);
  CHECK(rig.pool->jobs_computed_by_restarter(2) == 0);
}

TEST_CASE("pool: a restart of several learners supersedes a reservation among them",
          "[learner_pool][jit][restarter]") {
  FourRig rig;
  learn_leads(rig);
  const std::size_t taken_before = rig.model.computed_on().size();
  restart_all_smallest(rig, 0, 0.5);
  REQUIRE(rig.pool->own_work_at() != Clock::time_point::max());
  // Learner 1 now has the smallest X: the new restart reserves its job, not learner 0's.
  rig.delay.x[0].store(kLongX);
  rig.delay.x[1].store(0.4);
  const Clock::time_point at = Clock::now();
  rig.pool->restart(std::vector<std::size_t>{0, 1}, at);
  CHECK(rig.pool->own_work_at() < deadline_after(at, 0.4));
  GradientMessage m;
  REQUIRE(drive_until_gradient(rig, m));
  CHECK(m.learner == 1);
  CHECK(m.ticket == rig.pool->ticket(1));
  CHECK(rig.pool->jobs_computed_by_restarter(0) == 0);
  CHECK(rig.pool->jobs_computed_by_restarter(1) == 1);
  CHECK(rig.model.computed_on().size() == taken_before + 1);
}

TEST_CASE("pool: a reserved job whose learner's thread holds its task goes to that thread",
          "[learner_pool][jit][restarter]") {
  FourRig rig;
  learn_leads(rig);
  // Learner 2's thread takes a job due in half a second and computes it for a second.
  rig.model.compute_ms.store(1000);
  rig.delay.x[2].store(0.5);
  const int before = rig.model.entered.load();
  rig.pool->restart(2, Clock::now());
  const auto give_up = Clock::now() + 30s;
  while (rig.model.entered.load() == before && Clock::now() < give_up) std::this_thread::sleep_for(1ms);
  REQUIRE(rig.model.entered.load() == before + 1);  // computing: it holds its task
  // Reserved while the thread still computes the superseded job: at its time the task is
  // busy, so the job is dispatched to the thread, which drops the old one and computes it.
  rig.delay.x[2].store(0.2);
  rig.pool->restart(std::vector<std::size_t>{2}, Clock::now());
  REQUIRE(rig.pool->own_work_at() != Clock::time_point::max());
  GradientMessage m;
  REQUIRE(drive_until_gradient(rig, m));
  CHECK(m.learner == 2);
  CHECK(m.ticket == rig.pool->ticket(2));  // never the old job
  CHECK(rig.pool->jobs_computed_by_restarter(2) == 0);
  for (const std::thread::id t : rig.model.computed_on()) CHECK(t != std::this_thread::get_id());
}

TEST_CASE("pool: a job planned while the restarting thread computes another is still woken",
          "[learner_pool][jit][restarter]") {
  FourRig rig;
  // Slow computations (0.3 s) teach the learners a lead of about half a second.
  rig.model.compute_ms.store(300);
  learn_leads(rig);
  rig.delay.x[0].store(0.0);  // due at once: computed here, for 0.3 s
  rig.delay.x[1].store(0.6);  // planned ~0.1 s in: set up before that computation, woken during it
  rig.delay.x[2].store(kLongX);
  rig.delay.x[3].store(kLongX);
  restart_until_here(rig, {0, 1, 2, 3}, 0, 2);
  std::vector<std::size_t> pushed;
  for (int k = 0; k < 2; ++k) {
    GradientMessage m;
    REQUIRE(drive_until_gradient(rig, m));
    pushed.push_back(m.learner);
  }
  std::sort(pushed.begin(), pushed.end());
  CHECK(pushed == std::vector<std::size_t>{0, 1});
}

namespace {

// The sync family at K = 1: learner 0's X (`x0`) is the smallest, due at once, computed by
// the restarting thread (0.3 s); learner 1's (0.6 s) would have its thread woken during
// that computation. Returns the learners whose gradients came by 1.2 s after the restart
// (learner 1's is due at 0.6 s) and how many jobs learner 1's thread took meanwhile.
std::pair<std::vector<std::size_t>, std::uint64_t> sync_k1_pushes(double x0) {
  FourRig rig;
  rig.model.compute_ms.store(300);  // teaches the learners a lead of about half a second
  learn_leads(rig);
  rig.delay.x[0].store(x0);
  rig.delay.x[1].store(0.6);
  rig.delay.x[2].store(kLongX);
  rig.delay.x[3].store(kLongX);
  // Attempts whose job 0 went to its thread (its task busy) ran that job alone: the
  // others were parked behind it.
  restart_until_here(rig, {0, 1, 2, 3}, 0, 1, /*rest_superseded=*/true);
  const std::uint64_t taken = rig.pool->jobs_taken(1);
  const Clock::time_point restarted = Clock::now();
  return {pushes_until(rig, restarted + 1200ms), rig.pool->jobs_taken(1) - taken};
}

}  // namespace

TEST_CASE("pool: the sync family at K = 1 -- the smallest X computed here, late, is the only job run",
          "[learner_pool][jit][restarter]") {
  // X = 0: its 0.3 s computation ends late; its gradient is pushed at once, and learner 1's
  // job, superseded by the update that gradient makes, is never woken.
  const auto [pushed, taken] = sync_k1_pushes(0.0);
  CHECK(pushed == std::vector<std::size_t>{0});
  CHECK(taken == 0);
}

TEST_CASE("pool: the sync family at K = 1 -- the smallest X computed here in time is the only job run",
          "[learner_pool][jit][restarter]") {
  // X = 0.45 s: within the lead, computed at once (0.3 s), held and pushed when due.
  const auto [pushed, taken] = sync_k1_pushes(0.45);
  CHECK(pushed == std::vector<std::size_t>{0});
  CHECK(taken == 0);
}

TEST_CASE("pool: the sync family at K = 1 -- a gradient held for a learner that failed is dropped, "
          "and the jobs parked behind it run", "[learner_pool][jit][restarter]") {
  FourRig rig;
  rig.model.compute_ms.store(300);  // a lead of about half a second
  learn_leads(rig);
  // Learner 0's thread fails on a job of its own (the learners' threads throw), which
  // ends it and frees its task; its failure is not taken yet.
  rig.model.throw_off = std::this_thread::get_id();
  rig.delay.x[0].store(0.8);  // not due at once: its thread computes it, ~0.3 s in
  rig.pool->restart(0);
  for (const auto give_up = Clock::now() + 30s; !rig.pool->has_new_failures() && Clock::now() < give_up;)
    std::this_thread::sleep_for(1ms);
  REQUIRE(rig.pool->has_new_failures());
  // Then a restart of all four: learner 0's X the smallest, computed here in time and held;
  // learner 1's parked behind it.
  rig.delay.x[0].store(0.45);
  rig.delay.x[1].store(0.6);
  rig.delay.x[2].store(kLongX);
  rig.delay.x[3].store(kLongX);
  restart_until_here(rig, {0, 1, 2, 3}, 0, 1, /*rest_superseded=*/true);
  rig.model.throw_off = std::thread::id{};
  const auto failures = rig.pool->take_failures();
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].first == 0);
  // Learner 0 leaves: its held gradient never comes; learner 1's job runs after all.
  GradientMessage m;
  REQUIRE(drive_until_gradient_for(rig, m, 10s));
  CHECK(m.learner == 1);
}

TEST_CASE("pool: the sync family at K = 2 -- the jobs after the two smallest Xs are parked, never run",
          "[learner_pool][jit][restarter]") {
  FourRig rig;
  // No lead learned yet: without parking, learners 2 and 3 would be woken at once (their
  // compute time planned at the restart for want of a lead) and push at 0.1 and 0.15 s.
  rig.delay.x[0].store(0.0);
  rig.delay.x[1].store(0.05);
  rig.delay.x[2].store(0.1);
  rig.delay.x[3].store(0.15);
  const Clock::time_point restarted = Clock::now();
  rig.pool->restart(std::vector<std::size_t>{0, 1, 2, 3}, restarted, 2, /*rest_superseded=*/true);
  std::vector<std::size_t> pushed = pushes_until(rig, restarted + 600ms);
  std::sort(pushed.begin(), pushed.end());  // both woken at once: either may push first
  CHECK(pushed == std::vector<std::size_t>{0, 1});
  CHECK(rig.pool->jobs_taken(2) == 0);
  CHECK(rig.pool->jobs_taken(3) == 0);
}

namespace {

// Restarts all four awaiting two gradients (learner 0's X = 0, learner 1's 0.5 s, the
// others never due), takes learner 0's gradient, then restarts learner 0 alone -- as
// K-batch-sync does -- with X = x0, awaiting one more. Returns the learners whose
// gradients came in the next 1.2 s, and how many jobs learner 0's restart ran.
std::pair<std::vector<std::size_t>, std::uint64_t> batch_sync_second_job(double x0) {
  FourRig rig;
  rig.delay.x[0].store(0.0);
  rig.delay.x[1].store(0.5);
  rig.delay.x[2].store(kLongX);
  rig.delay.x[3].store(kLongX);
  rig.pool->restart(std::vector<std::size_t>{0, 1, 2, 3}, Clock::now(), 2, /*rest_superseded=*/true);
  GradientMessage m;
  REQUIRE(drive_until_gradient(rig, m));
  REQUIRE(m.learner == 0);
  m = GradientMessage{};
  const std::uint64_t taken = rig.pool->jobs_taken(0);
  rig.delay.x[0].store(x0);
  const Clock::time_point restarted = Clock::now();
  rig.pool->restart(std::vector<std::size_t>{0}, restarted, 1, /*rest_superseded=*/true);
  return {pushes_until(rig, restarted + 1200ms), rig.pool->jobs_taken(0) - taken};
}

}  // namespace

TEST_CASE("pool: a job restarted alone behind a push the update awaits, due before it, is parked",
          "[learner_pool][jit][restarter]") {
  // Learner 1's push (0.5 s) makes the update, which cancels learner 0's second job (0.8 s).
  const auto [pushed, taken] = batch_sync_second_job(0.8);
  CHECK(pushed == std::vector<std::size_t>{1});
  CHECK(taken == 0);
}

TEST_CASE("pool: a job restarted alone due before the pushes still to come runs",
          "[learner_pool][jit][restarter]") {
  // Learner 0's second job (0.1 s) comes before learner 1's push (0.5 s): it runs.
  const auto [pushed, taken] = batch_sync_second_job(0.1);
  REQUIRE_FALSE(pushed.empty());
  CHECK(pushed.front() == 0);
  CHECK(taken == 1);
}

TEST_CASE("pool: a job parked behind a push that fails runs after all",
          "[learner_pool][jit][restarter]") {
  FourRig rig(ComputeAt::deadline, /*restarter_computes=*/false);  // learner threads only
  // Learner 1's thread, found by a gradient of its own, is made to fail its next one.
  rig.delay.x[1].store(0.0);
  rig.pool->restart(1);
  GradientMessage m;
  REQUIRE(rig.inbox.pop_until(m, Clock::now() + 30s));
  REQUIRE(m.learner == 1);
  m = GradientMessage{};
  rig.model.throw_on = rig.model.computed_on().back();
  // K-batch-sync at K = 2: learner 0's gradient first, then its second job (0.8 s) parked
  // behind learner 1's push (0.5 s), which fails.
  rig.delay.x[0].store(0.0);
  rig.delay.x[1].store(0.5);
  rig.delay.x[2].store(kLongX);
  rig.delay.x[3].store(kLongX);
  rig.pool->restart(std::vector<std::size_t>{0, 1, 2, 3}, Clock::now(), 2, /*rest_superseded=*/true);
  REQUIRE(rig.inbox.pop_until(m, Clock::now() + 30s));
  REQUIRE(m.learner == 0);
  m = GradientMessage{};
  rig.delay.x[0].store(0.8);
  const std::uint64_t taken = rig.pool->jobs_taken(0);
  rig.pool->restart(std::vector<std::size_t>{0}, Clock::now(), 1, /*rest_superseded=*/true);
  std::vector<std::size_t> failed;
  bool got = false;
  for (const auto give_up = Clock::now() + 30s; !got && Clock::now() < give_up;) {
    if (rig.pool->has_new_failures())
      for (const auto& f : rig.pool->take_failures()) failed.push_back(f.first);
    got = rig.inbox.pop_until(m, Clock::now() + 5ms);
  }
  CHECK(failed == std::vector<std::size_t>{1});
  REQUIRE(got);
  CHECK(m.learner == 0);
  CHECK(rig.pool->jobs_taken(0) == taken + 1);
}

TEST_CASE("pool: stop() with a gradient held by the restarting thread releases its pin",
          "[learner_pool][jit][restarter]") {
  FourRig rig;
  // Slow computations (0.6 s) teach a lead of about a second; the reserved job then
  // computes in 50 ms and is held for most of that second.
  rig.model.compute_ms.store(600);
  learn_leads(rig);
  rig.model.compute_ms.store(50);
  restart_all_smallest(rig, 1, 1.5);
  const auto give_up = Clock::now() + 30s;
  while (rig.pool->jobs_computed_by_restarter(1) == 0 && Clock::now() < give_up) {
    rig.pool->do_own_work();
    std::this_thread::sleep_until(std::min(give_up, rig.pool->own_work_at()));
  }
  REQUIRE(rig.pool->jobs_computed_by_restarter(1) == 1);
  GradientMessage m;
  const bool held = !rig.inbox.try_pop(m);  // else this machine computed it past its due time
  CHECK(rig.pool->own_work_at() == (held ? rig.pool->deadline(1) : Clock::time_point::max()));
  m = GradientMessage{};
  rig.pool->stop();
  CHECK(rig.weights.pinned_count() == 0);  // the held gradient's pin, and every job's
  CHECK(rig.pool->own_work_at() == Clock::time_point::max());
}

TEST_CASE("pool: a minibatch the restarting thread used up is gathered again when there is room",
          "[learner_pool][jit][restarter]") {
  FourRig rig;
  learn_leads(rig);
  // Every learner's thread has gathered its next minibatch after its push, and sleeps
  // with its task free: none wakes for the restart below.
  const auto give_up = Clock::now() + 30s;
  auto all_prepared = [&] {
    for (std::size_t v = 0; v < 4; ++v)
      if (!rig.pool->minibatch_prepared(v)) return false;
    return true;
  };
  while (!all_prepared() && Clock::now() < give_up) std::this_thread::sleep_for(1ms);
  REQUIRE(all_prepared());
  // Learner 1's job is due at once: computed here, with no time before its push to gather
  // the next minibatch, and its thread never had the job, so it gathers none either.
  for (std::size_t v = 0; v < 4; ++v) rig.delay.x[v].store(v == 1 ? 0.0 : kLongX);
  restart_until_here(rig, {0, 1, 2, 3}, 1, 1);
  GradientMessage m;
  REQUIRE(rig.inbox.try_pop(m));  // the PS takes a waiting gradient before it gathers
  CHECK(m.learner == 1);
  CHECK_FALSE(rig.pool->minibatch_prepared(1));
  // No push due for a minute: the owed gather is done in the restarting thread's own work.
  rig.pool->do_own_work();
  CHECK(rig.pool->minibatch_prepared(1));
}

TEST_CASE("pool: with restarter_computes off, the smallest X goes to its learner's thread",
          "[learner_pool][jit][restarter]") {
  FourRig rig(ComputeAt::deadline, /*restarter_computes=*/false);
  learn_leads(rig);
  restart_all_smallest(rig, 3, 0.3);
  CHECK(rig.pool->own_work_at() == Clock::time_point::max());
  GradientMessage m;
  REQUIRE(rig.inbox.pop_until(m, Clock::now() + 30s));
  CHECK(m.learner == 3);
  CHECK(rig.pool->jobs_computed_by_restarter(3) == 0);
  for (const std::thread::id t : rig.model.computed_on()) CHECK(t != std::this_thread::get_id());
}
