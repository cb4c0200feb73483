// What a run reports about itself: gradients count when their update is applied (never
// while pending, never in a refused NaN/Inf update), so a summary agrees with itself;
// divergence names its likely cause; a learner leaving that completes an update; the
// real-clock stall watchdog measures lateness, not silence; checkpoints every N updates.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <thread>
#include <utility>

#include "models/model_registry.h"
#include "ps/versioned_weights.h"
#include "runtime/checkpoint.h"
#include "ps/divergence.h"
#include "sgd/lr_schedule.h"
#include "ps/parameter_server.h"
#include "runtime/real_runtime.h"
#include "runtime/run_log.h"
#include "runtime/virtual_runtime.h"
#include "tests/runtime/blobs.h"
#include "tests/runtime/run_fixture.h"
#include "delay/delay_model.h"

using namespace racesgd;

namespace {

using racesgd::testing::blobs;

// A hang fails the test, not the suite's timeout.
struct Fixture : racesgd::testing::RunFixture {
  explicit Fixture(double l2 = 0.0, double rate = 0.1) : RunFixture(l2, rate) { time_limit_s = 20; }
};
using racesgd::testing::run_on;

std::uint64_t per_learner_applied(const RunResult& r) {
  std::uint64_t n = 0;
  for (const auto& p : r.per_learner) n += p.applied;
  return n;
}

// The summary agrees with itself: every count of applied gradients is the same number.
void check_accounting(const RunResult& r) {
  INFO("stop " << to_string(r.stop_reason) << ": " << r.error);
  CHECK(per_learner_applied(r) == r.gradients_applied);
  CHECK(std::accumulate(r.staleness_histogram.begin(), r.staleness_histogram.end(),
                        std::uint64_t{0}) == r.gradients_applied);
  if (!r.update_log.empty() || r.updates == 0) {
    CHECK(r.update_log.size() == r.updates);
    std::uint64_t contributed = 0;
    for (const UpdateRecord& u : r.update_log) contributed += u.contributions.size();
    CHECK(contributed == r.gradients_applied);
  }
  if (!r.curve.empty()) {
    CHECK(r.curve.back().updates == r.updates);
    CHECK(r.curve.back().gradients == r.gradients_applied);
  }
}

// Learner `hung` draws +infinity (never finishes); the others draw `x` seconds.
class OneHangs final : public DelayModel {
 public:
  OneHangs(std::size_t hung, double x) : hung_(hung), x_(x) {}
  double sample(std::size_t w, Rng&) override {
    return w == hung_ ? std::numeric_limits<double>::infinity() : x_;
  }
  std::string spec() const override { return "one-hangs"; }

 private:
  std::size_t hung_;
  double x_;
};

}  // namespace

TEST_CASE("PS: statistics count when the update is applied, a dropped pending update counts "
          "nowhere, through a checkpoint round trip",
          "[accounting][checkpoint]") {
  const std::vector<float> w0(3, 0.0f);
  const std::vector<float> g{0.5f, -1.0f, 2.0f};
  auto lr = make_lr_schedule("constant", 0.25, "none");
  const Variant kasync = make_variant("k-async", 4, 4);
  VersionedWeights weights(w0, VersionedWeights::pool_size_for(2));
  ParameterServer ps(kasync, weights, *lr);
  ps.start(0.0);
  // 50 updates of 4 fresh gradients, then 3 gradients of update 51.
  double t = 0;
  auto push = [&](ParameterServer& p, LearnerId w) {
    t += 0.001;
    const Decision d = p.on_gradient(GradientArrival{w, p.version(), g, {}, t});
    return d;
  };
  for (int u = 0; u < 50; ++u)
    for (LearnerId w = 0; w < 4; ++w) push(ps, w);
  for (LearnerId w = 0; w < 3; ++w) push(ps, w);
  REQUIRE(ps.version() == 50);
  REQUIRE(ps.pending_gradients() == 3);
  auto check_ps = [](const ParameterServer& p, std::uint64_t applied) {
    RunResult r;
    collect_ps_statistics(p, r);
    CHECK(r.gradients_applied == applied);
    CHECK(per_learner_applied(r) == applied);
    CHECK(std::accumulate(r.staleness_histogram.begin(), r.staleness_histogram.end(),
                          std::uint64_t{0}) == applied);
    CHECK(p.lr_sum() == Approx(0.25 * static_cast<double>(applied)));
    CHECK(r.mean_lr == Approx(0.25));
  };
  check_ps(ps, 200);

  // Through the file format, as a checkpoint carries it.
  CheckpointFile file;
  file.run.clock = "virtual";
  file.run.ps = ps.state();
  const ParameterServerState saved =
      decode_checkpoint(encode_checkpoint(file), "test").run.ps;
  REQUIRE(saved.pending.size() == 3);

  SECTION("virtual clock: the pending gradients are kept and count once applied") {
    VersionedWeights w2(weights.pin_latest().weights(), VersionedWeights::pool_size_for(2), 50);
    ParameterServer resumed(kasync, w2, *lr);
    resumed.restore(saved);
    check_ps(resumed, 200);
    const Decision d = push(resumed, 3);
    CHECK(d.apply);
    check_ps(resumed, 204);
  }
  SECTION("real clock: the pending update is dropped and never counts") {
    VersionedWeights w2(weights.pin_latest().weights(), VersionedWeights::pool_size_for(2), 50);
    ParameterServer resumed(kasync, w2, *lr);
    ParameterServerState st = ParameterServer::without_pending(saved);
    std::fill(st.coordinator.busy.begin(), st.coordinator.busy.end(), 0);
    resumed.restore(st);
    check_ps(resumed, 200);
    resumed.start(t);
    for (LearnerId w = 0; w < 4; ++w) push(resumed, w);
    CHECK(resumed.version() == 51);
    check_ps(resumed, 204);
  }
  SECTION("a checkpoint whose pending statistics do not match is refused") {
    ParameterServerState bad = saved;
    bad.pending.pop_back();
    VersionedWeights w2(weights.pin_latest().weights(), VersionedWeights::pool_size_for(2), 50);
    ParameterServer other(kasync, w2, *lr);
    CHECK_THROWS_AS(other.restore(bad), InputError);
  }
}

TEST_CASE("real clock: resuming a checkpoint with gradients pending does not count them",
          "[accounting][real][checkpoint][concurrency]") {
  // k-async P = 4, K = 4; learner 3 takes 1000 s, so 3 gradients wait for it forever.
  Fixture f;
  auto in = f.inputs("k-async", 4, 4, "hetero:const:value=1ms,scales=1,1,1,1000000", true);
  in.settings.stop.time_s = 0.3;
  std::optional<RunCheckpoint> saved;
  in.checkpoint.at_end = true;
  in.checkpoint.save = [&](const RunCheckpoint& c) { saved = c; };
  const RunResult first = run_real(in);
  REQUIRE(first.stop_reason == StopReason::time);
  REQUIRE(saved);
  REQUIRE(saved->ps.pending_count == 3);  // learners 0-2 pushed within 0.3 s
  CHECK(first.updates == 0);
  check_accounting(first);
  CHECK(first.gradients_applied == 0);

  // Resumed with its stop (0.3 s) already reached: nothing happens, nothing is counted.
  const RunCheckpoint resume_from = *saved;
  in.checkpoint.resume = &resume_from;
  const RunResult resumed = run_real(in);
  CHECK(resumed.stop_reason == StopReason::time);
  CHECK(resumed.updates == 0);
  CHECK(resumed.gradients_applied == 0);
  check_accounting(resumed);
}

TEST_CASE("every variant, both clocks: the applied-gradient counts agree, also when stopped "
          "mid-update",
          "[accounting][real][concurrency]") {
  for (bool real : {false, true}) {
    for (const char* v : {"sync", "k-sync", "k-batch-sync", "async", "k-async", "k-batch-async"}) {
      INFO((real ? "real " : "virtual ") << v);
      Fixture f;
      auto in = f.inputs(v, 4, 3, "exp:mean=1ms", true);
      in.settings.stop.time_s = 0.15;  // stops mid-update, gradients pending
      const RunResult r = run_on(in, real);
      CHECK(r.stop_reason == StopReason::time);
      check_accounting(r);
      const std::uint64_t K = in.settings.variant.K;
      CHECK(r.gradients_applied == K * r.updates);
    }
  }
}

TEST_CASE("divergence: the refused update counts nowhere and the curve ends at the last "
          "published weights",
          "[accounting][divergence][real][concurrency]") {
  for (bool real : {false, true}) {
    INFO((real ? "real" : "virtual"));
    {
      // A huge L2 term: the gradients blow up after a few updates (was: gradients_applied
      // one less than the per-learner and histogram sums).
      Fixture f(1e6);
      auto in = f.inputs("sync", 4, 4, "exp:mean=1ms", false);
      in.settings.stop.updates = 1000;
      in.settings.eval.every_updates = 1;
      const RunResult r = run_on(in, real);
      REQUIRE(r.stop_reason == StopReason::diverged);
      REQUIRE(r.divergence);
      CHECK(r.divergence->update == r.updates + 1);
      check_accounting(r);
      CHECK(r.gradients_applied == 4 * r.updates);
      CHECK(std::isfinite(r.curve.back().test_error));
    }
    // lr 1e30: the very first update's weights overflow; it is refused, not published
    // (was: updates 1 while the curve ended at 0). sync adds two gradients into the
    // accumulator; async folds its one into the publishing pass
    // (UpdateAccumulator::apply_one_into), where the finite gradient must still be told
    // apart from the weights it broke.
    for (const auto& [variant, K] : {std::pair<const char*, std::size_t>{"sync", 2}, {"async", 1}}) {
      INFO(variant);
      Fixture f(0.0, 1e30);
      for (float& w : f.w0) w = 1.0f;
      auto in = f.inputs(variant, 2, K, "exp:mean=1ms", false);
      in.settings.stop.updates = 100;
      const RunResult r = run_on(in, real);
      REQUIRE(r.stop_reason == StopReason::diverged);
      REQUIRE(r.divergence);
      CHECK_FALSE(r.divergence->in_gradient);
      CHECK(r.divergence->update == 1);
      CHECK(r.updates == 0);
      check_accounting(r);
      REQUIRE(r.curve.size() >= 2);  // the start and the last published state
      CHECK(r.curve.back().time_s > 0);
      CHECK_THAT(r.error, Catch::Contains("update 1 was refused"));
    }
  }
}

TEST_CASE("a NaN gradient that completes an update: the refused update is not reported",
          "[accounting][divergence][real][concurrency]") {
  // Review fix: updates are reported as published. With K = 1 every gradient completes
  // an update, so the NaN one moves the coordinator's version without a publish.
  for (bool real : {false, true}) {
    INFO((real ? "real" : "virtual"));
    Fixture f;
    f.train.x(17, 3) = std::numeric_limits<float>::quiet_NaN();  // a minibatch with it breaks
    auto in = f.inputs("async", 2, 1, "exp:mean=200us", false);
    in.settings.stop.updates = 100000;
    const RunResult r = run_on(in, real);
    REQUIRE(r.stop_reason == StopReason::diverged);
    REQUIRE(r.divergence);
    CHECK(r.divergence->in_gradient);
    CHECK(r.divergence->update == r.updates + 1);
    CHECK(r.update_log.size() == r.updates);
    CHECK(r.gradients_applied == r.updates);
    check_accounting(r);
  }
}

TEST_CASE("likely cause of a divergence, from the configuration", "[divergence]") {
  Divergence d;
  d.lr = 0.1;
  DivergenceSuspects s;
  s.scaling = "max";
  s.max_abs_feature = 1;
  CHECK_THAT(likely_divergence_cause(d, s), Catch::StartsWith("--lr 0.1 is too large"));
  s.l2 = 1e6;
  CHECK_THAT(likely_divergence_cause(d, s),
             Catch::StartsWith("--l2 1e+06") && Catch::Contains("below 10"));
  s.l2 = 1;  // lr x l2 = 0.1: not the L2 term
  s.scaling = "none";
  s.max_abs_feature = 255;
  CHECK_THAT(likely_divergence_cause(d, s),
             Catch::StartsWith("the data") && Catch::Contains("--scale none"));
  s.max_abs_feature = 1;
  d.staleness = 7;
  CHECK_THAT(likely_divergence_cause(d, s),
             Catch::StartsWith("stale gradients") && Catch::Contains("7 updates old"));
}

TEST_CASE("a learner leaving completes the pending update: its evaluation tick and the stop",
          "[accounting][faults][real][concurrency]") {
  // k-batch-async P = 2, K = 2: learner 0 pushes, restarts and fails at once (its second
  // draw throws); K shrinks to 1, so its pending gradient is update 1, applied by the
  // departure. Learner 1 (slower) then makes update 2.
  for (bool real : {false, true}) {
    INFO((real ? "real" : "virtual"));
    Fixture f;
    auto in = f.inputs("k-batch-async", 2, 2,
                       real ? "faulty:base=(hetero:const:value=1ms,scales=1,300),learner=0,after=1"
                            : "faulty:base=const:value=1ms,learner=0,after=1",
                       false);
    in.settings.continue_on_learner_failure = true;
    in.settings.eval.every_updates = 1;
    in.settings.stop.updates = 2;
    const RunResult r = run_on(in, real);
    CHECK(r.stop_reason == StopReason::updates);
    REQUIRE(r.failures.size() == 1);
    CHECK(r.updates == 2);
    bool ticked = false;  // update 1's point, taken when it was applied (not a final one)
    for (const CurvePoint& p : r.curve) ticked = ticked || p.updates == 1;
    CHECK(ticked);
    check_accounting(r);
  }
}

TEST_CASE("real clock: an update applied by a departing learner is checked against the stop",
          "[accounting][faults][real][concurrency]") {
  // The PS is held (in the progress callback) while learner 0 fails and learner 1 pushes,
  // so the departure and learner 1's gradient are both waiting when it resumes. The
  // departure completes update 1 (K shrinks to 1), which is the limit: learner 1's
  // gradient must not make an update 2.
  class Script final : public DelayModel {
   public:
    double sample(std::size_t w, Rng&) override {
      if (w == 1) return 0.8;
      if (n0_++ == 0) return 0.001;
      std::this_thread::sleep_for(std::chrono::milliseconds(400));
      throw std::runtime_error("scripted fault");
    }
    std::string spec() const override { return "script"; }

   private:
    int n0_ = 0;  // learner 0's thread only
  } script;
  Fixture f;
  auto in = f.inputs_with("k-batch-async", 2, 2, &script, true);
  in.settings.continue_on_learner_failure = true;
  in.settings.stop.updates = 1;
  bool held = false;
  in.progress = [&](const Progress&) {  // first call after 250 ms: hold the PS until ~1.3 s
    if (std::exchange(held, true)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  };
  const RunResult r = run_real(in);
  CHECK(r.stop_reason == StopReason::updates);
  CHECK(r.updates == 1);
  REQUIRE(r.failures.size() == 1);
  check_accounting(r);
}

TEST_CASE("watchdog: long legitimate delays are no stall, a hung learner is",
          "[faults][real][concurrency]") {
  {
    // Every minibatch takes 0.5 s, longer than the 0.2 s timeout: no learner is late.
    Fixture f;
    auto in = f.inputs("sync", 2, 2, "const:value=0.5s", true);
    in.settings.stall_timeout_s = 0.2;
    in.settings.stop.updates = 2;
    const RunResult r = run_real(in);
    CHECK(r.stop_reason == StopReason::updates);
    CHECK(r.updates == 2);
  }
  {
    // Learner 2 never finishes: sync stalls, naming it.
    Fixture f;
    OneHangs hang(2, 0.001);
    auto in = f.inputs_with("sync", 3, 3, &hang, true);
    in.settings.stall_timeout_s = 0.3;
    const RunResult r = run_real(in);
    CHECK(r.stop_reason == StopReason::stalled);
    CHECK_THAT(r.error, Catch::Contains("stuck: learner(s) 2 (computing for"));
    CHECK(r.updates == 0);
  }
  {
    // K < P: the hung learner never contributes, the others go on.
    Fixture f;
    OneHangs hang(2, 0.001);
    auto in = f.inputs_with("k-async", 3, 2, &hang, true);
    in.settings.stall_timeout_s = 0.3;
    in.settings.stop.updates = 50;
    const RunResult r = run_real(in);
    CHECK(r.stop_reason == StopReason::updates);
    CHECK(r.updates == 50);
  }
}

TEST_CASE("checkpoints every N updates, on both clocks", "[checkpoint][real][concurrency]") {
  for (bool real : {false, true}) {
    INFO((real ? "real" : "virtual"));
    Fixture f;
    auto in = f.inputs("k-async", 3, 2, "exp:mean=500us", true);
    in.settings.stop.updates = 20;
    std::vector<Version> versions;
    in.checkpoint.every_updates = 5;
    in.checkpoint.save = [&](const RunCheckpoint& c) {
      versions.push_back(c.ps.coordinator.version);
    };
    const RunResult r = run_on(in, real);
    CHECK(r.stop_reason == StopReason::updates);
    CHECK(versions == std::vector<Version>{5, 10, 15});
    CHECK(r.checkpoints_written == 3);
  }
}
