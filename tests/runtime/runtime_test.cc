// Semantics of the six variants under both runtimes: who contributed to each update, who
// was cancelled, who waited; invariants; determinism; divergence handling; when inside X
// the real clock's learners compute.
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <memory>
#include <span>
#include <string>

#include "core/rng.h"
#include "models/model_registry.h"
#include "tests/runtime/blobs.h"
#include "tests/runtime/run_fixture.h"
#include "sgd/compensation.h"
#include "sgd/k_schedule.h"
#include "sgd/lr_schedule.h"
#include "runtime/learner_transport.h"
#include "runtime/real_runtime.h"
#include "runtime/virtual_runtime.h"
#include "delay/delay_model.h"
#include "worker/compute_plan.h"

using namespace racesgd;
using Contribs = std::vector<std::pair<LearnerId, Version>>;

namespace {

using racesgd::testing::blobs;

using Fixture = racesgd::testing::RunFixture;
using racesgd::testing::run_on;

// Two runs' curves are the same, point for point (time, loss, error), exactly.
void check_same_curves(const RunResult& a, const RunResult& b) {
  REQUIRE(a.curve.size() == b.curve.size());
  for (std::size_t i = 0; i < a.curve.size(); ++i) {
    CHECK(a.curve[i].time_s == b.curve[i].time_s);
    CHECK(a.curve[i].train_loss == b.curve[i].train_loss);
    CHECK(a.curve[i].test_error == b.curve[i].test_error);
  }
}

}  // namespace

TEST_CASE("virtual K-sync: the first K finish, stragglers are cancelled, all restart",
          "[runtime][virtual]") {
  Fixture f;
  auto in = f.inputs("k-sync", 4, 2, "hetero:const:value=1ms,scales=1,2,3,4", true);
  in.settings.stop.updates = 10;
  const RunResult r = run_virtual(in);
  REQUIRE(r.updates == 10);
  REQUIRE(r.update_log.size() == 10);
  for (std::size_t u = 0; u < 10; ++u) {
    CHECK(r.update_log[u].contributions == Contribs{{0, u}, {1, u}});
    CHECK(r.update_log[u].cancelled == std::vector<LearnerId>{2, 3});
    CHECK(r.update_log[u].time == Approx(0.002 * static_cast<double>(u + 1)));
  }
  CHECK(r.gradients_cancelled == 20);
  CHECK(r.staleness_max == 0);
  CHECK(r.mean_update_interval_s() == Approx(0.002));
  // Learner 0 waits 1 ms per update for learner 1.
  CHECK(r.per_learner[0].idle_seconds == Approx(0.010));
  CHECK(r.per_learner[1].idle_seconds == Approx(0.0).margin(1e-12));
}

TEST_CASE("virtual K-batch-sync: a fast learner gives several minibatches on one version",
          "[runtime][virtual]") {
  Fixture f;
  auto in = f.inputs("k-batch-sync", 4, 2, "hetero:const:value=1ms,scales=1,2.5,3.5,4.5", true);
  in.settings.stop.updates = 5;
  const RunResult r = run_virtual(in);
  REQUIRE(r.update_log.size() == 5);
  for (std::size_t u = 0; u < 5; ++u) {
    CHECK(r.update_log[u].contributions == Contribs{{0, u}, {0, u}});
    CHECK(r.update_log[u].cancelled == std::vector<LearnerId>{1, 2, 3});
  }
  CHECK(r.mean_update_interval_s() == Approx(0.002));
  CHECK(r.gradients_applied == 10);
}

TEST_CASE("virtual K-async: pushers wait, others go on and arrive stale", "[runtime][virtual]") {
  Fixture f;
  auto in = f.inputs("k-async", 4, 2, "hetero:const:value=1ms,scales=1,2.5,3.5,4.5", true);
  in.settings.stop.updates = 2;
  const RunResult r = run_virtual(in);
  REQUIRE(r.update_log.size() == 2);
  CHECK(r.update_log[0].contributions == Contribs{{0, 0}, {1, 0}});
  CHECK(r.update_log[0].time == Approx(0.0025));
  CHECK(r.update_log[0].cancelled.empty());
  // Learner 2 finishes its first minibatch (on w_0) at 3.5 ms, as does learner 0's second
  // (on w_1); the earlier-scheduled event goes first.
  CHECK(r.update_log[1].contributions == Contribs{{2, 0}, {0, 1}});
  CHECK(r.update_log[1].time == Approx(0.0035));
  CHECK(r.gradients_cancelled == 0);
  CHECK(r.staleness_max == 1);
  // Learner 0 waited from 1 ms to 2.5 ms for the first update.
  CHECK(r.per_learner[0].idle_seconds == Approx(0.0015));
}

TEST_CASE("virtual K-batch-async: nobody waits, every K-th gradient updates", "[runtime][virtual]") {
  Fixture f;
  auto in = f.inputs("k-batch-async", 2, 2, "hetero:const:value=1ms,scales=1,2.5", true);
  in.settings.stop.updates = 2;
  const RunResult r = run_virtual(in);
  REQUIRE(r.update_log.size() == 2);
  CHECK(r.update_log[0].contributions == Contribs{{0, 0}, {0, 0}});
  CHECK(r.update_log[0].time == Approx(0.002));
  CHECK(r.update_log[1].contributions == Contribs{{1, 0}, {0, 1}});
  CHECK(r.update_log[1].time == Approx(0.003));
  for (const auto& p : r.per_learner) CHECK(p.idle_seconds == 0.0);
}

TEST_CASE("sync == k-sync(K=P) and async == k-async(K=1), with real gradients",
          "[runtime][virtual]") {
  auto run = [](const std::string& v, std::size_t K) {
    Fixture f;
    auto in = f.inputs(v, 4, K, "exp:mean=1ms", false);
    in.settings.stop.updates = 200;
    in.settings.eval.every_updates = 50;
    return run_virtual(in);
  };
  auto same = [](const RunResult& a, const RunResult& b) {
    check_same_curves(a, b);
    CHECK(a.staleness_mean == b.staleness_mean);
    CHECK(a.gradients_cancelled == b.gradients_cancelled);
  };
  same(run("sync", 1), run("k-sync", 4));
  same(run("async", 3), run("k-async", 1));
}

TEST_CASE("ssp on the virtual clock: the bound holds, a bound never reached is async",
          "[runtime][virtual][ssp]") {
  auto run = [](const std::string& v, const std::string& delay) {
    Fixture f;
    auto in = f.inputs(v, 4, 1, delay, false);
    in.settings.stop.updates = 200;
    in.settings.eval.every_updates = 50;
    return run_virtual(in);
  };
  // Learner w takes (w + 1) ms: with S = 1 the fastest finishes at most 2 more minibatches
  // than the slowest, and waits (idle) for it.
  const std::string hetero = "hetero:const:value=1ms,scales=1,2,3,4";
  const RunResult r = run("ssp:S=1", hetero);
  CHECK(r.gradients_applied == r.updates);
  CHECK(r.gradients_cancelled == 0);
  REQUIRE(r.per_learner.size() == 4);
  CHECK(r.per_learner[0].applied <= r.per_learner[3].applied + 2);
  CHECK(r.per_learner[0].idle_seconds > 0);
  CHECK(r.per_learner[3].idle_seconds == 0);  // the slowest never waits
  // The spread after each update: at most S + 1 (a learner may finish the minibatch it
  // started at S ahead), sampled once per update.
  CHECK(r.clock_spread_samples == r.updates);
  CHECK(r.clock_spread_max == 2);
  CHECK(r.clock_spread_mean > 0);
  const RunResult plain = run("async", hetero);
  CHECK(plain.clock_spread_samples == 0);
  CHECK(plain.per_learner[0].applied > plain.per_learner[3].applied + 10);  // unbounded
  // A bound no learner reaches: the same run as async, bit for bit.
  const RunResult loose = run("ssp:S=100000", "exp:mean=1ms"), async = run("async", "exp:mean=1ms");
  REQUIRE(loose.curve.size() == async.curve.size());
  for (std::size_t i = 0; i < loose.curve.size(); ++i) {
    CHECK(loose.curve[i].time_s == async.curve[i].time_s);
    CHECK(loose.curve[i].train_loss == async.curve[i].train_loss);
  }
  CHECK(loose.staleness_histogram == async.staleness_histogram);
}

TEST_CASE("virtual runs are deterministic and learn", "[runtime][virtual]") {
  auto run = [] {
    Fixture f;
    auto in = f.inputs("k-batch-async", 4, 2, "exp:mean=1ms", false);
    in.settings.stop.updates = 300;
    in.settings.eval.every_updates = 30;
    return run_virtual(in);
  };
  const RunResult a = run(), b = run();
  REQUIRE(a.curve.size() == b.curve.size());
  for (std::size_t i = 0; i < a.curve.size(); ++i) {
    CHECK(a.curve[i].time_s == b.curve[i].time_s);
    CHECK(a.curve[i].train_loss == b.curve[i].train_loss);
  }
  CHECK(a.curve.front().test_error > 0.5);  // zero weights: chance level
  CHECK(a.curve.back().test_error < 0.1);
  CHECK(a.gradients_applied == 2 * a.updates);
}

TEST_CASE("invariants: K gradients per update, async-family mean staleness matches theory",
          "[runtime][virtual]") {
  struct Case {
    const char* variant;
    std::size_t K;
    double expected_staleness;  // paper.md, steady state, P = 8
  };
  const std::size_t P = 8;
  for (const Case& c : {Case{"async", 1, 7.0}, Case{"k-async", 2, 3.0}, Case{"k-async", 4, 1.0},
                        Case{"k-batch-async", 2, 3.5}, Case{"k-batch-async", 4, 1.75},
                        Case{"k-sync", 3, 0.0}, Case{"k-batch-sync", 3, 0.0}}) {
    Fixture f;
    auto in = f.inputs(c.variant, P, c.K, "exp:mean=1ms", true);
    in.settings.record_updates = false;
    in.settings.stop.updates = 20000;
    const RunResult r = run_virtual(in);
    INFO(c.variant << " K=" << c.K);
    CHECK(r.gradients_applied == c.K * r.updates);
    CHECK(r.staleness_mean == Approx(c.expected_staleness).margin(0.05 * c.expected_staleness + 1e-9));
  }
}

TEST_CASE("a diverging run stops with a message naming the update and the learner",
          "[runtime][virtual]") {
  Fixture f;
  f.lr = make_lr_schedule("constant", 1e30, "none");
  for (float& w : f.w0) w = 1e30f;
  auto in = f.inputs("async", 2, 1, "exp:mean=1ms", false);
  in.settings.stop.updates = 100;
  const RunResult r = run_virtual(in);
  CHECK(r.stop_reason == StopReason::diverged);
  CHECK_THAT(r.error, Catch::Contains("learner") && Catch::Contains("update") &&
                          Catch::Contains("NaN or Inf"));
  CHECK_FALSE(r.curve.empty());  // what was recorded before survives
}

TEST_CASE("a run whose learners never finish stops as stalled", "[runtime][virtual]") {
  Fixture f;
  auto in = f.inputs("sync", 2, 2, "hang", true);
  in.settings.stop.updates = 10;
  const RunResult r = run_virtual(in);
  CHECK(r.stop_reason == StopReason::stalled);
  CHECK(r.updates == 0);
}

TEST_CASE("real clock: every variant keeps its invariants with real threads and gradients",
          "[runtime][real][concurrency]") {
  for (const char* v : {"sync", "k-sync", "k-batch-sync", "async", "k-async", "k-batch-async"}) {
    Fixture f;
    auto in = f.inputs(v, 4, 2, "exp:mean=200us", false);
    in.settings.stop.updates = 60;
    in.settings.stop.time_s = 20;  // a hang must fail the test, not the suite's timeout
    in.settings.eval.every_updates = 20;
    const RunResult r = run_real(in);
    INFO(v);
    CHECK(r.stop_reason == StopReason::updates);
    CHECK(r.updates == 60);
    CHECK(r.gradients_applied == in.settings.variant.K * r.updates);
    REQUIRE(r.update_log.size() == 60);
    for (const UpdateRecord& u : r.update_log) {
      CHECK(u.contributions.size() == in.settings.variant.K);
      for (const auto& [w, read] : u.contributions) {
        CHECK(read < u.version);
        if (in.settings.variant.is_sync_family()) CHECK(read == u.version - 1);
      }
    }
    if (!in.settings.variant.is_sync_family()) CHECK(r.gradients_cancelled == 0);
    CHECK(r.curve.back().test_error < 0.5);
  }
}

TEST_CASE("real clock: ssp keeps its bound with real threads", "[runtime][real][concurrency][ssp]") {
  Fixture f;
  auto in = f.inputs("ssp:S=1", 4, 1, "hetero:exp:mean=300us,scales=1,1,1,4", false);
  in.settings.stop.updates = 120;
  in.settings.stop.time_s = 20;  // a hang must fail the test, not the suite's timeout
  in.settings.eval.every_updates = 40;
  const RunResult r = run_real(in);
  CHECK(r.stop_reason == StopReason::updates);
  CHECK(r.gradients_applied == r.updates);
  REQUIRE(r.per_learner.size() == 4);
  for (std::size_t w = 0; w < 3; ++w) CHECK(r.per_learner[w].applied <= r.per_learner[3].applied + 2);
  CHECK(r.curve.back().test_error < 0.5);
}

TEST_CASE("real clock: delay compensation on the PS thread, with stale gradients in flight",
          "[runtime][real][concurrency][compensation]") {
  // The PS reads each gradient's pinned w_read and the newest weights while learners
  // compute (ThreadSanitizer checks it in the tsan stage); with dc-adaptive it also keeps
  // MeanSquare. The run learns and its invariants hold.
  for (const char* spec : {"dc", "dc-adaptive"}) {
    Fixture f;
    auto in = f.inputs("async", 4, 1, "exp:mean=200us", false);
    in.settings.compensation = parse_compensation(spec);
    in.settings.stop.updates = 120;
    in.settings.stop.time_s = 20;  // a hang must fail the test, not the suite's timeout
    in.settings.eval.every_updates = 40;
    const RunResult r = run_real(in);
    INFO(spec);
    CHECK(r.stop_reason == StopReason::updates);
    CHECK(r.gradients_applied == r.updates);
    CHECK(r.staleness_max > 0);  // something was compensated
    CHECK(r.curve.back().test_error < 0.5);
  }
}

TEST_CASE("real clock: stop by time returns promptly even with long delays",
          "[runtime][real][concurrency]") {
  Fixture f;
  auto in = f.inputs("k-sync", 3, 2, "const:value=10s", true);
  in.settings.stop.time_s = 0.2;
  const auto t0 = std::chrono::steady_clock::now();
  const RunResult r = run_real(in);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(r.stop_reason == StopReason::time);
  CHECK(r.updates == 0);
  CHECK(took < 5.0);  // nobody waited out a 10 s sleep
}

TEST_CASE("a failing learner stops the run, naming it, or leaves and the rest go on",
          "[runtime][faults]") {
  for (bool real : {false, true}) {
    INFO((real ? "real" : "virtual"));
    {
      Fixture f;
      auto in = f.inputs("k-sync", 3, 3, "faulty:base=exp:mean=200us,learner=1,after=5", false);
      in.settings.stop.updates = 50;
      in.settings.stop.time_s = 20;
      const RunResult r = real ? run_real(in) : run_virtual(in);
      CHECK(r.stop_reason == StopReason::learner_failed);
      CHECK_THAT(r.error, Catch::Contains("learner 1 failed") && Catch::Contains("injected fault"));
      REQUIRE(r.failures.size() == 1);
      CHECK(r.failures[0].learner == 1);
      CHECK(r.updates <= 6);
      CHECK_FALSE(r.curve.empty());
    }
    {
      Fixture f;
      auto in = f.inputs("sync", 3, 3, "faulty:base=exp:mean=200us,learner=1,after=5", false);
      in.settings.stop.updates = 50;
      in.settings.stop.time_s = 20;
      in.settings.continue_on_learner_failure = true;
      const RunResult r = real ? run_real(in) : run_virtual(in);
      CHECK(r.stop_reason == StopReason::updates);
      CHECK(r.updates == 50);
      REQUIRE(r.failures.size() == 1);
      // After the failure every update averages the two learners left.
      const UpdateRecord& last = r.update_log.back();
      CHECK(last.contributions.size() == 2);
      for (const auto& [w, read] : last.contributions) CHECK(w != 1);
    }
  }
}

// The stall watchdog (a hung learner stalls sync, named; K < P goes on; a long legitimate
// delay is no stall) is tested in run_accounting_test.cc.

TEST_CASE("real clock: many short runs start and shut down cleanly", "[runtime][real][concurrency]") {
  // Stops land at every phase of the learners' loop (waiting, computing, sleeping).
  for (int i = 0; i < 60; ++i) {
    Fixture f;
    const char* v = i % 3 == 0 ? "sync" : (i % 3 == 1 ? "k-async" : "k-batch-sync");
    auto in = f.inputs(v, 4, 2, "exp:mean=100us", i % 2 == 0);
    in.settings.record_updates = false;
    in.settings.stop.time_s = 0.001 * (1 + i % 7);
    const RunResult r = run_real(in);
    CHECK(r.stop_reason == StopReason::time);
  }
}

TEST_CASE("curves: time never goes backwards, no duplicate final point, pending gradients "
          "are not counted as applied",
          "[runtime][real][concurrency]") {
  for (bool real : {false, true}) {
    INFO((real ? "real" : "virtual"));
    Fixture f;
    auto in = f.inputs("k-async", 4, 4, "exp:mean=2ms", false);
    in.settings.record_updates = false;
    in.settings.stop.time_s = 0.25;
    in.settings.eval.every_s = 0.05;  // a tick falls exactly on the time limit
    const RunResult r = run_on(in, real);
    REQUIRE(r.curve.size() >= 2);
    for (std::size_t i = 1; i < r.curve.size(); ++i) {
      CHECK(r.curve[i].time_s > r.curve[i - 1].time_s);
      CHECK(r.curve[i].updates >= r.curve[i - 1].updates);
    }
    CHECK(r.curve.back().time_s == Approx(0.25));
    CHECK(r.gradients_applied == 4 * r.updates);  // stopped by time, mid-update
  }
}

namespace {
// What the broken transport saw; owned by the test (the runtime owns the transport).
struct TransportLog {
  int restarts = 0, waits = 0, stops = 0;
};
// A transport whose link breaks: no gradient ever comes, and the third wait throws.
class BrokenTransport final : public LearnerTransport {
 public:
  explicit BrokenTransport(TransportLog& log) : log_(log) {}
  using LearnerTransport::restart;
  void restart(LearnerId, Clock::time_point) override { ++log_.restarts; }
  bool receive_until(GradientMessage&, Clock::time_point) override {
    if (++log_.waits == 3) throw TransportError("MPI transport: MPI_Testsome failed: link down");
    return false;
  }
  bool is_current(const GradientMessage&) const override { return true; }
  void wake() override {}
  bool has_new_failures() const override { return false; }
  std::vector<std::pair<LearnerId, std::string>> take_failures() override { return {}; }
  Clock::time_point deadline(LearnerId) const override { return Clock::now(); }
  void stop() override { ++log_.stops; }

 private:
  TransportLog& log_;
};
}  // namespace

TEST_CASE("real clock: a broken transport stops the run as transport-failed, not diverged",
          "[runtime][real]") {
  Fixture f;
  auto in = f.inputs("k-async", 3, 2, "exp:mean=1ms", false);
  in.settings.stop.time_s = 30;  // a hang must fail the test
  TransportLog seen;
  in.learners = [&seen](const LearnerSetup&) -> std::unique_ptr<LearnerTransport> {
    return std::make_unique<BrokenTransport>(seen);
  };
  const RunResult r = run_real(in);
  CHECK(r.stop_reason == StopReason::transport_failed);
  CHECK_THAT(r.error, Catch::Contains("link down"));
  CHECK(r.updates == 0);
  CHECK_FALSE(r.curve.empty());  // what was recorded is kept
  CHECK(seen.restarts == 3);     // every learner was started
  CHECK(seen.waits == 3);
  CHECK(seen.stops >= 1);        // and the transport stopped
}

namespace {

// The fixture's model, counting its gradient computations (any learner thread).
class CountingModel final : public Model {
 public:
  explicit CountingModel(const Model& inner) : inner_(inner) {}
  std::string spec() const override { return inner_.spec(); }
  Eigen::Index num_params() const override { return inner_.num_params(); }
  Eigen::Index input_dim() const override { return inner_.input_dim(); }
  int num_classes() const override { return inner_.num_classes(); }
  void init(std::span<float> w, std::uint64_t seed) const override { inner_.init(w, seed); }
  std::unique_ptr<Workspace> make_workspace(Eigen::Index max_batch) const override {
    return inner_.make_workspace(max_batch);
  }
  double loss_and_gradient(std::span<const float> w, const BatchView<float>& b,
                           std::span<float> grad, Workspace& ws) const override {
    gradients.fetch_add(1);
    return inner_.loss_and_gradient(w, b, grad, ws);
  }
  double loss(std::span<const float> w, const BatchView<float>& b, Workspace& ws) const override {
    return inner_.loss(w, b, ws);
  }
  Evaluation evaluate(std::span<const float> w, const Dataset& data) const override {
    return inner_.evaluate(w, data);
  }

  mutable std::atomic<int> gradients{0};

 private:
  const Model& inner_;
};

}  // namespace

TEST_CASE("real clock: --compute-at reaches the learners (a straggler cancelled before its "
          "compute time never computes)", "[runtime][real][jit]") {
  // K-sync with K = 1 of 2: learner 0 (X = 50 ms) makes every update, and learner 1
  // (X = 60 s) is cancelled and restarted each time. Computing at the deadline, learner 1
  // computes its first minibatch at once (no lead learned yet) and none after; computing
  // at the start, it computes every one, with 50 ms to do so each time.
  constexpr int kUpdates = 10;
  for (ComputeAt at : {ComputeAt::deadline, ComputeAt::start}) {
    INFO("compute_at " << to_string(at));
    Fixture f;
    CountingModel counting(*f.model);
    auto in = f.inputs("k-sync", 2, 1, "hetero:(const:value=50ms),scales=1,1200", false);
    in.model = &counting;
    in.settings.compute_at = at;
    in.settings.stop.updates = kUpdates;
    in.settings.stop.time_s = 30;  // far below X = 60 s: learner 1 never pushes
    const RunResult r = run_real(in);
    REQUIRE(r.stop_reason == StopReason::updates);
    CHECK(r.compute_timed == r.gradients_applied);  // each applied gradient was timed
    const int computed = counting.gradients.load();
    if (at == ComputeAt::deadline) {
      // Learner 0: one per update (its next one waits for its due time when the run
      // stops); learner 1: at most its first.
      CHECK(computed >= kUpdates);
      CHECK(computed <= kUpdates + 1);
    } else {
      CHECK(computed >= kUpdates + kUpdates / 2);  // learner 1 computed most of its minibatches
    }
  }
}

// Ringmaster (--max-staleness R): the same Coordinator decisions on both clocks.
TEST_CASE("virtual Ringmaster: the update that makes a computation R stale cancels and "
          "restarts it", "[runtime][virtual][ringmaster]") {
  Fixture f;
  // async, R = 2; learners take 1, 1.5 and 3 ms. Learner 2 (3 ms) is cancelled by the second
  // update after each of its starts (v2 at 1.5 ms, v4 at 3 ms) and never contributes.
  auto in = f.inputs("async", 3, 1, "hetero:const:value=1ms,scales=1,1.5,3", true, 2);
  in.settings.stop.updates = 5;
  const RunResult r = run_virtual(in);
  REQUIRE(r.update_log.size() == 5);
  CHECK(r.update_log[0].contributions == Contribs{{0, 0}});
  CHECK(r.update_log[1].contributions == Contribs{{1, 0}});  // staleness 1 < R: applied
  CHECK(r.update_log[1].cancelled == std::vector<LearnerId>{2});
  CHECK(r.update_log[2].contributions == Contribs{{0, 1}});
  CHECK(r.update_log[3].contributions == Contribs{{1, 2}});
  CHECK(r.update_log[3].cancelled == std::vector<LearnerId>{2});
  CHECK(r.update_log[3].time == Approx(0.003));
  CHECK(r.update_log[4].contributions == Contribs{{0, 3}});
  for (std::size_t u : {0u, 2u, 4u}) CHECK(r.update_log[u].cancelled.empty());
  CHECK(r.gradients_cancelled == 2);
  CHECK(r.per_learner[2].cancelled == 2);
  CHECK(r.per_learner[2].applied == 0);
  CHECK(r.staleness_max == 1);
}

TEST_CASE("Ringmaster: staleness histograms stop at R - 1, on both clocks",
          "[runtime][real][virtual][ringmaster][concurrency]") {
  for (const bool real : {false, true}) {
    for (const char* v : {"async", "k-async", "k-batch-async"}) {
      const std::uint64_t R = 2;
      Fixture f;
      // Learner 3 is 8x slower: without the threshold its gradients arrive many versions old.
      auto in = f.inputs(v, 4, 2, "hetero:const:value=1ms,scales=1,1,1,8", false, R);
      in.settings.stop.updates = 60;
      in.settings.stop.time_s = 20;  // a hang must fail the test, not the suite's timeout
      in.settings.eval.every_updates = 20;
      const RunResult r = run_on(in, real);
      INFO((real ? "real " : "virtual ") << v);
      CHECK(r.stop_reason == StopReason::updates);
      CHECK(r.staleness_max <= R - 1);
      REQUIRE(r.staleness_histogram.size() > R);
      for (std::size_t s = R; s < r.staleness_histogram.size(); ++s)
        CHECK(r.staleness_histogram[s] == 0);
      CHECK(r.gradients_cancelled > 0);  // learner 3's minibatches, at least
      for (const UpdateRecord& u : r.update_log)
        for (const auto& [w, read] : u.contributions) CHECK(u.version - 1 - read < R);
      CHECK(r.curve.back().test_error < 0.5);
    }
  }
}

TEST_CASE("Ringmaster: a threshold never reached gives the unset run bit for bit",
          "[runtime][virtual][ringmaster]") {
  for (const char* v : {"async", "k-async", "k-batch-async"}) {
    INFO(v);
    Fixture f, g;
    auto plain = f.inputs(v, 4, 2, "hetero:(exp:mean=1ms),scales=1,1,2,4", false);
    auto loose = g.inputs(v, 4, 2, "hetero:(exp:mean=1ms),scales=1,1,2,4", false, 1u << 30);
    plain.settings.stop.updates = loose.settings.stop.updates = 200;
    plain.settings.eval.every_updates = loose.settings.eval.every_updates = 10;
    const RunResult a = run_virtual(plain), b = run_virtual(loose);
    check_same_curves(a, b);
    CHECK(a.staleness_histogram == b.staleness_histogram);
    CHECK(a.staleness_max > 1);  // the loose threshold had something to cut, had it been tight
    CHECK(b.gradients_cancelled == 0);
  }
}

// --- AdaSync: a K schedule on both clocks ---

namespace {
// The K in force for update v (published version v): the last change made before it.
std::size_t k_for_update(const std::vector<KChange>& changes, Version v) {
  std::size_t k = changes.front().K;
  for (const KChange& c : changes)
    if (c.update < v) k = c.K;
  return k;
}
}  // namespace

TEST_CASE("AdaSync on both clocks: K grows as the loss falls, each update applies the K in "
          "force, every gradient once", "[runtime][real][concurrency][adasync]") {
  for (const bool real : {false, true}) {
    // k-sync too: under a K schedule the real clock's PS never parks the other jobs of a
    // K = 1 restart (worker/learner_pool.h), which a raised K would wait for.
    for (const char* variant : {"k-async", "k-batch-sync", "k-sync"}) {
      INFO((real ? "real " : "virtual ") << variant);
      Fixture f;
      // With K = 1 throughout an update takes E[X]/P = 250 us at least: 200 updates last
      // 50 ms or more however fast the machine, ten checks or more (a 15 ms T0 against
      // 400 us delays let a fast machine end the run before its first check).
      auto in = f.inputs(variant, 4, 1, "exp:mean=1ms", false);
      in.settings.k_schedule = parse_k_schedule("adasync:every=5ms,samples=300");
      in.settings.stop.updates = 200;
      in.settings.stop.time_s = 20;  // a hang must fail the test, not the suite's timeout
      in.settings.eval.every_updates = 10;
      const RunResult r = run_on(in, real);
      CHECK(r.stop_reason == StopReason::updates);
      REQUIRE(r.k_changes.size() >= 2);  // the loss fell: K grew at least once
      CHECK(r.k_changes.front().K == 1);
      CHECK(r.k_changes.front().update == 0);
      for (std::size_t i = 1; i < r.k_changes.size(); ++i) {
        CHECK(r.k_changes[i].K > r.k_changes[i - 1].K);
        CHECK(r.k_changes[i].loss < r.k_changes.front().loss);
        CHECK(r.k_changes[i].time_s >= r.k_changes[i - 1].time_s);
      }
      std::uint64_t contributions = 0;
      for (const UpdateRecord& u : r.update_log) {
        INFO("update " << u.version);
        CHECK(u.contributions.size() == k_for_update(r.k_changes, u.version));
        contributions += u.contributions.size();
      }
      CHECK(contributions == r.gradients_applied);
      // The curve's K column: the K in force after each point's updates, never decreasing.
      for (std::size_t i = 1; i < r.curve.size(); ++i) CHECK(r.curve[i].k >= r.curve[i - 1].k);
      CHECK(r.curve.back().k == r.k_changes.back().K);
      CHECK(r.curve.back().test_error < 0.5);
    }
  }
}

TEST_CASE("AdaSync on the virtual clock is deterministic and checks on the T0 grid",
          "[runtime][adasync]") {
  Fixture f;
  auto in = f.inputs("k-async", 5, 1, "exp:mean=1ms", false);
  in.settings.k_schedule = parse_k_schedule("adasync:every=10ms,samples=0");
  in.settings.stop.updates = 200;
  const RunResult a = run_virtual(in), b = run_virtual(in);
  REQUIRE(a.k_changes.size() >= 2);
  REQUIRE(a.k_changes.size() == b.k_changes.size());
  for (std::size_t i = 0; i < a.k_changes.size(); ++i) {
    CHECK(a.k_changes[i].loss == b.k_changes[i].loss);
    CHECK(a.k_changes[i].update == b.k_changes[i].update);
    if (i > 0) CHECK(std::fmod(a.k_changes[i].time_s + 1e-12, 0.01) < 1e-9);  // a multiple of T0
  }
  // F(w_0) is the loss of the initial weights on the whole training set (samples=0).
  CHECK(a.k_changes.front().loss == Approx(f.model->evaluate(f.w0, f.train).loss));
}

TEST_CASE("AdaSync on the virtual clock: a T0 far below the delays costs nothing per check",
          "[runtime][adasync]") {
  // T0 = 1 us against 100 s delays: 10^8 checks between two events. All but the first see
  // the weights unchanged and are skipped (without the skip this run would not end).
  Fixture f;
  auto in = f.inputs("k-async", 3, 1, "hetero:const:value=100s,scales=1,2,3", false);
  in.settings.k_schedule = parse_k_schedule("adasync:every=1us,samples=100");
  in.settings.stop.updates = 12;
  const RunResult r = run_virtual(in);
  CHECK(r.stop_reason == StopReason::updates);
  REQUIRE(r.k_changes.size() >= 2);
  CHECK(r.k_changes.back().K <= 3);
}
