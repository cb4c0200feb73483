#include "bench/experiment.h"

#include <catch2/catch.hpp>
#include <cmath>

#include "bench/time_to_target.h"
#include "core/error.h"
#include "tests/bench/train_config.h"

using namespace racesgd;
using racesgd::test::train_config;

TEST_CASE("defaults: 30 s unless another limit is given, auto evaluation schedule",
          "[experiment]") {
  const ExperimentConfig c = train_config({});
  CHECK(c.stop.time_s == 30.0);
  CHECK(resolve_eval_schedule(c).every_s == Approx(0.3));
  const ExperimentConfig u = train_config({{"updates", "500"}});
  CHECK(std::isinf(u.stop.time_s));
  CHECK(resolve_eval_schedule(u).every_updates == 5);
  const ExperimentConfig t = train_config({{"target-error", "0.1"}});
  CHECK(t.stop.time_s == 600.0);  // a bound, so an unreachable target cannot run forever
  CHECK(train_config({{"eval-every", "25"}}).eval_every == "25");
  CHECK(resolve_eval_schedule(train_config({{"eval-every", "0.5s"}})).every_s == Approx(0.5));
}

TEST_CASE("every bad value names its flag", "[experiment]") {
  CHECK_THROWS_WITH(train_config({{"batch", "0"}}), Catch::Contains("--batch"));
  CHECK_THROWS_WITH(train_config({{"P", "x"}}), Catch::Contains("-P"));
  CHECK_THROWS_WITH(train_config({{"test-fraction", "1"}}), Catch::Contains("--test-fraction"));
  CHECK_THROWS_WITH(train_config({{"l2", "-1"}}), Catch::Contains("--l2"));
  CHECK_THROWS_WITH(train_config({{"progress", "maybe"}}), Catch::Contains("--progress"));
  CHECK_THROWS_WITH(train_config({{"delay-after-compute", "perhaps"}}),
                    Catch::Contains("--delay-after-compute"));
  CHECK_THROWS_WITH(train_config({{"lr-decay", "step:every=x"}}), Catch::Contains("--lr-decay"));
  CHECK_THROWS_WITH(train_config({{"updates", "0"}}), Catch::Contains("--updates"));
  CHECK_THROWS_AS(train_config({{"out", ""}}), InputError);
}

namespace {
std::vector<CurvePoint> curve_of(const std::vector<std::pair<double, double>>& time_error) {
  std::vector<CurvePoint> c;
  for (const auto& [t, e] : time_error) {
    CurvePoint p;
    p.time_s = t;
    p.test_error = e;
    c.push_back(p);
  }
  return c;
}
}  // namespace

TEST_CASE("time to target is interpolated in log error between the bracketing points",
          "[experiment][target]") {
  const auto c = curve_of({{0, 0.9}, {1.5, 0.2}, {3, 0.05}});
  // 0.2 -> 0.05 over 1.5 s: 0.1 is halfway in log error (ln 0.2 - ln 0.1 = ln 2 = half of ln 4).
  const TimeToTarget half = time_to_target(c, 0.1);
  CHECK(half.time_s == Approx(2.25));
  CHECK(half.resolution_s == Approx(1.5));
  CHECK(half.resolution_fraction() == Approx(1.5 / 2.25));
  // 0.9 -> 0.2 over 1.5 s: 0.3 at (ln 0.9 - ln 0.3) / (ln 0.9 - ln 0.2) of the way.
  CHECK(time_to_target(c, 0.3).time_s == Approx(1.5 * std::log(3.0) / std::log(4.5)));
  CHECK(time_to_target(c, 0.2).time_s == Approx(1.5));  // at a point: that point's time
  CHECK(time_to_target(c, 0.05).time_s == Approx(3));
  CHECK_FALSE(time_to_target(c, 0.01).reached());
  CHECK(time_to_target(c, 0.01).time_s < 0);
}

TEST_CASE("time to target: the edges of the interpolation", "[experiment][target]") {
  // Reached at the first point: its time, nothing to interpolate.
  const TimeToTarget first = time_to_target(curve_of({{0.5, 0.05}, {1, 0.01}}), 0.1);
  CHECK(first.time_s == 0.5);
  CHECK(first.resolution_s == 0);
  // An error of 0 (or a target of 0) has no logarithm: the later point's time.
  CHECK(time_to_target(curve_of({{0, 0.5}, {2, 0}}), 0.1).time_s == 2);
  CHECK(time_to_target(curve_of({{0, 0.5}, {2, 0}}), 0).time_s == 2);
  // Unscored (NaN) points are passed over: the bracket is 1 s .. 4 s.
  const double nan = std::nan("");
  const TimeToTarget gap = time_to_target(curve_of({{0, 0.9}, {1, 0.4}, {2, nan}, {4, 0.1}}), 0.2);
  CHECK(gap.resolution_s == Approx(3));
  CHECK(gap.time_s == Approx(2.5));  // 0.2 is halfway from 0.4 to 0.1 in log error
  // The first crossing counts, not a later dip.
  CHECK(time_to_target(curve_of({{0, 0.5}, {1, 0.1}, {2, 0.3}, {3, 0.1}}), 0.1).time_s == 1);
}

TEST_CASE("auto evaluation: a linear grid plus geometric ticks from 1 ms and from update 1",
          "[experiment][eval]") {
  const EvalSchedule timed = resolve_eval_schedule(train_config({{"time", "12s"}}));
  CHECK(timed.every_s == Approx(0.12));
  CHECK(timed.every_updates == 0);
  CHECK(timed.geometric_ratio == kAutoGeometricRatio);
  CHECK(timed.geometric_from_s == Approx(1e-3));
  CHECK_FALSE(timed.geometric_updates);
  // A run shorter than a second starts its geometric ticks at a thousandth of it.
  CHECK(resolve_eval_schedule(train_config({{"time", "200ms"}})).geometric_from_s == Approx(2e-4));
  const EvalSchedule counted = resolve_eval_schedule(train_config({{"updates", "5000"}}));
  CHECK(counted.every_updates == 50);
  CHECK(counted.every_s == 0);
  CHECK(counted.geometric_from_s == 0);  // no time limit: no time ticks
  CHECK(counted.geometric_updates);
  // A target error alone is capped in time: geometric-plus-linear over that cap.
  const EvalSchedule target = resolve_eval_schedule(train_config({{"target-error", "0.1"}}));
  CHECK(target.every_s == Approx(6));
  CHECK(target.geometric_from_s == Approx(1e-3));
  // An explicit --eval-every is the linear grid it names, nothing more.
  const EvalSchedule fixed = resolve_eval_schedule(train_config({{"eval-every", "0.5s"}}));
  CHECK(fixed.every_s == Approx(0.5));
  CHECK(fixed.geometric_ratio == 0);
  CHECK(resolve_eval_schedule(train_config({{"eval-every", "25"}, {"updates", "100"}})).geometric_ratio == 0);
}

TEST_CASE("an unset K is min(2, P): -P 1 works for every variant", "[experiment]") {
  for (const char* v : {"sync", "k-sync", "k-batch-sync", "async", "k-async", "k-batch-async"}) {
    const ExperimentConfig c = train_config({{"P", "1"}, {"variant", v}});
    CHECK(c.K == 1);
    CHECK(c.raw["K"] == "1");  // the config in output files shows the K in force
  }
  CHECK(train_config({{"P", "4"}}).K == 2);
  CHECK_THROWS_WITH(train_config({{"P", "1"}, {"K", "2"}, {"variant", "k-async"}}),
                    Catch::Contains("-K"));  // a K the user gave is checked as given
}

TEST_CASE("checkpoint interval without a checkpoint folder is refused", "[experiment]") {
  CHECK_THROWS_WITH(train_config({{"checkpoint-every", "5s"}}),
                    Catch::Contains("--checkpoint-every"));
  CHECK(train_config({{"checkpoint-every", "5s"}, {"checkpoint", "ckpt"}}).checkpoint_every_s == 5);
}

TEST_CASE("CPU contention: served delays more than 10% above drawn are flagged", "[experiment]") {
  RunResult r;
  r.delay_drawn_mean_s = 0.001;
  r.delay_served_mean_s = 0.00129;
  CHECK_THAT(contention_warning(r, "real"), Catch::Contains("29%") && Catch::Contains("-P"));
  CHECK(contention_warning(r, "virtual").empty());  // the virtual clock serves what it draws
  r.delay_served_mean_s = 0.00105;
  CHECK(contention_warning(r, "real").empty());
  r.delay_drawn_mean_s = 0;  // no delays drawn (const:value=0)
  CHECK(contention_warning(r, "real").empty());
}

TEST_CASE("host steal: a real-clock run whose host took more than 2% of the CPU is flagged",
          "[experiment]") {
  RunResult r;
  r.delay_drawn_mean_s = 0.001;
  r.delay_served_mean_s = 0.001;
  CHECK(contention_warning(r, "real").empty());  // not measured
  r.host_steal_fraction = 0.02;
  CHECK(contention_warning(r, "real").empty());  // at the threshold
  r.host_steal_fraction = 0.183;
  CHECK_THAT(contention_warning(r, "real"), Catch::Contains("18.3%") && Catch::Contains("steal"));
  CHECK(contention_warning(r, "virtual").empty());
  r.delay_served_mean_s = 0.0013;  // both: one message naming both causes
  const std::string both = contention_warning(r, "real");
  CHECK_THAT(both, Catch::Contains("30% longer") && Catch::Contains("18.3%"));
}

TEST_CASE("transport: threads by default, mpi on the real clock of an MPI build only",
          "[experiment]") {
  CHECK(train_config({}).transport == "threads");
  CHECK_THROWS_WITH(train_config({{"transport", "pigeons"}}),
                    Catch::Contains("--transport") && Catch::Contains("threads, mpi"));
#ifdef RACESGD_HAVE_MPI
  CHECK(train_config({{"transport", "mpi"}}).transport == "mpi");
  CHECK(train_config({{"transport", "mpi"}}).raw["transport"] == "mpi");  // in the outputs' config
  CHECK_THROWS_WITH(train_config({{"transport", "mpi"}, {"clock", "virtual"}}),
                    Catch::Contains("--transport mpi: runs on the real clock only"));
#else
  CHECK_THROWS_WITH(train_config({{"transport", "mpi"}}),
                    Catch::Contains("this racesgd was built without MPI"));
#endif
  // A race's learners are threads: it has no --transport.
  bool race_has_transport = false;
  for (const ParamDef& d : race_params()) race_has_transport |= d.name == "transport";
  CHECK_FALSE(race_has_transport);
}
