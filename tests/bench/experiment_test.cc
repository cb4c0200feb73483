#include "bench/experiment.h"

#include <catch2/catch.hpp>
#include <cmath>

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

TEST_CASE("time to target error reads the curve", "[experiment]") {
  std::vector<CurvePoint> c(3);
  c[0].time_s = 0;
  c[0].test_error = 0.9;
  c[1].time_s = 1.5;
  c[1].test_error = 0.2;
  c[2].time_s = 3;
  c[2].test_error = 0.05;
  CHECK(time_to_error(c, 0.25) == 1.5);
  CHECK(time_to_error(c, 0.1) == 3);
  CHECK(time_to_error(c, 0.01) < 0);
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
