// RunLog: one curve point per tick however many ticks pass between two events (and none
// without a new update), update ticks, the final point, the end-of-run checkpoint rule and
// the one save path (counted, failures reported and survived), the real clock's lateness.
#include <catch2/catch.hpp>
#include <stdexcept>
#include <vector>

#include "ps/gradient_inbox.h"
#include "ps/parameter_server.h"
#include "ps/versioned_weights.h"
#include "runtime/run_log.h"
#include "sgd/lr_schedule.h"
#include "sgd/variant.h"

using namespace racesgd;

namespace {

// A timing-only run of one async learner on one weight: each gradient is one update.
struct Fixture {
  std::vector<float> w0{0.0f};
  std::vector<float> g{1.0f};
  std::unique_ptr<LrSchedule> lr = make_lr_schedule("constant", 0.1, "none");
  RunInputs in;
  VersionedWeights weights{w0, VersionedWeights::pool_size_for(3), 0};
  std::optional<ParameterServer> ps;
  std::optional<RunLog> log;
  double t = 0;

  explicit Fixture(double every_s, std::uint64_t every_updates = 0,
                   RunClock clock = RunClock::simulated) {
    in.lr = lr.get();
    in.w0 = w0;
    in.settings.variant = make_variant("async", 1, 1);
    in.settings.timing_only = true;
    in.settings.eval.every_s = every_s;
    in.settings.eval.every_updates = every_updates;
    ps.emplace(in.settings.variant, weights, *lr);
    log.emplace(in, *ps, weights, 0, clock);
    ps->start(0.0);
  }
  // One gradient at run time `at`: applies one update.
  void update(double at) {
    VersionedWeights::Pin pin = weights.pin_latest();
    const Decision d = ps->on_gradient(GradientArrival{0, pin.version(), g, pin.weights(), at});
    REQUIRE(d.apply);
  }
};

std::vector<double> times(const RunResult& r) {
  std::vector<double> out;
  for (const CurvePoint& p : r.curve) out.push_back(p.time_s);
  return out;
}

}  // namespace

TEST_CASE("RunLog records one point for the ticks between two events, none without an update") {
  Fixture f(1.0);
  f.log->record_point(0.0);
  CHECK_FALSE(f.log->tick_due(0.5));
  REQUIRE(f.log->tick_due(3.5));
  f.log->take_ticks(1.0, 3.5);  // no update since the point at 0: it would repeat it
  CHECK(f.log->next_tick() == 4.0);
  f.update(3.7);
  REQUIRE(f.log->tick_due(6.5));
  f.log->take_ticks(4.0, 6.5);  // ticks 4, 5 and 6: one point, at the first
  CHECK(f.log->next_tick() == 7.0);
  f.log->take_ticks(7.0, 7.0);  // nothing new since
  const RunResult r = f.log->finish(7.5, -1);
  CHECK(times(r) == std::vector<double>{0.0, 4.0, 7.5});  // 7.5: the final point
  CHECK(r.curve.back().updates == 1);
  CHECK(r.updates == 1);
}

TEST_CASE("RunLog takes update ticks and stops at the update limit") {
  Fixture f(0, 2);
  f.in.settings.stop.updates = 3;
  f.log->record_point(0.0);
  f.update(1.0);
  CHECK_FALSE(f.log->after_update(1.0));  // version 1: no tick
  f.update(2.0);
  CHECK_FALSE(f.log->after_update(2.0));  // version 2: a tick
  f.update(3.0);
  CHECK(f.log->after_update(3.0));        // version 3: the limit
  CHECK(f.log->stop_reason() == StopReason::updates);
  const RunResult r = f.log->finish(3.0, -1);
  CHECK(times(r) == std::vector<double>{0.0, 2.0, 3.0});
  CHECK(r.stop_reason == StopReason::updates);
}

TEST_CASE("the end checkpoint is taken after a stop by the rule or a signal only") {
  CheckpointHooks hooks;
  hooks.at_end = true;
  hooks.save = [](const RunCheckpoint&) {};
  CHECK(saves_end_checkpoint(hooks, StopReason::time));
  CHECK(saves_end_checkpoint(hooks, StopReason::updates));
  CHECK(saves_end_checkpoint(hooks, StopReason::target_error));
  CHECK(saves_end_checkpoint(hooks, StopReason::interrupted));
  CHECK_FALSE(saves_end_checkpoint(hooks, StopReason::diverged));  // NaN/Inf weights
  CHECK_FALSE(saves_end_checkpoint(hooks, StopReason::stalled));
  CHECK_FALSE(saves_end_checkpoint(hooks, StopReason::learner_failed));
  CHECK_FALSE(saves_end_checkpoint(hooks, StopReason::running));
  hooks.at_end = false;
  CHECK_FALSE(saves_end_checkpoint(hooks, StopReason::time));
  hooks.at_end = true;
  hooks.save = nullptr;
  CHECK_FALSE(saves_end_checkpoint(hooks, StopReason::time));
}

TEST_CASE("RunLog's save path completes the checkpoint, counts it and survives a failing save") {
  Fixture f(1.0);
  std::vector<RunCheckpoint> saved;
  bool fail = false;
  f.in.checkpoint.save = [&](const RunCheckpoint& c) {
    if (fail) throw std::runtime_error("disk full");
    saved.push_back(c);
  };
  f.log->record_point(0.0);
  f.log->count_drawn(0.25);
  f.log->learner_failed(0, "boom", 0.5);  // recorded; the run would stop (not continuing)
  f.log->save_checkpoint(RunCheckpoint{});
  fail = true;
  f.log->save_checkpoint(RunCheckpoint{});
  REQUIRE(saved.size() == 1);
  CHECK(saved[0].clock == "virtual");
  CHECK(saved[0].curve.size() == 1);
  CHECK(saved[0].delays.drawn_sum == 0.25);
  CHECK(saved[0].delays.count == 1);
  REQUIRE(saved[0].failures.size() == 1);
  CHECK(saved[0].failures[0].what == "boom");
  f.log->stop_on_failure();
  const RunResult r = f.log->finish(1.0, -1);
  CHECK(r.checkpoints_written == 1);
  CHECK(r.stop_reason == StopReason::learner_failed);
  CHECK(r.error == "learner 0 failed: boom");
  CHECK(r.delay_served_mean_s == 0.25);  // the virtual clock serves each delay exactly
}

namespace {

// A gradient as the real clock's learners report it: computed in 1 ms of a 5 ms delay,
// `late_s` after start + X.
GradientMessage served(double late_s) {
  GradientMessage m;
  m.t_start = 1.000;
  m.t_computed = 1.001;
  m.delay_drawn = 0.005;
  m.delay_served = 0.005;
  m.compute_late_s = late_s;
  return m;
}

}  // namespace

TEST_CASE("RunLog: the gradients served on the real clock feed compute_late (issue 13)") {
  Fixture f(0, 0, RunClock::real);
  f.log->record_point(0.0);
  // 200 gradients: 196 in time, 4 late by 1, 2, 3, 10 ms; p99 = rank 198 = 2 ms.
  for (int i = 0; i < 196; ++i) f.log->count_served(served(0.0));
  for (double late : {1e-3, 10e-3, 2e-3, 3e-3}) f.log->count_served(served(late));
  const RunResult r = f.log->finish(1.0, -1);
  CHECK(r.compute_timed == 200);
  CHECK(r.compute_late == 4);
  CHECK(r.compute_late_mean_s == Approx(4e-3));
  CHECK(r.compute_late_p99_s == Approx(2e-3));
  CHECK(r.compute_mean_s == Approx(1e-3));
}

TEST_CASE("RunLog: the transport's push lag is averaged and its maximum kept, on the real clock only") {
  for (const RunClock clock : {RunClock::real, RunClock::simulated}) {
    Fixture f(0, 0, clock);
    f.log->record_point(0.0);
    for (double lag : {0.0, 40e-6, 20e-6, 300e-6}) {
      GradientMessage m = served(0.0);
      m.push_lag_s = lag;
      f.log->count_served(m);
    }
    const RunResult r = f.log->finish(1.0, -1);
    CHECK(r.push_lag_mean_s == Approx(clock == RunClock::real ? 90e-6 : 0.0));
    CHECK(r.push_lag_max_s == Approx(clock == RunClock::real ? 300e-6 : 0.0));
  }
}
