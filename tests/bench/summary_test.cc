#include "bench/summary.h"

#include <catch2/catch.hpp>

#include <cmath>

#include "tests/bench/train_config.h"

using namespace racesgd;
using racesgd::test::train_config;

namespace {

// Two learners on a 3-sample, 2-feature training set; learner 1 failed at 0.5 s.
RunResult two_learner_result() {
  RunResult r;
  r.updates = 4;
  r.last_update_time_s = 2.0;
  r.per_learner.resize(2);
  r.per_learner[0].applied = 4;
  r.per_learner[0].staleness_sum = 2;
  r.per_learner[0].staleness_max = 1;
  r.per_learner[0].idle_seconds = 0.25;
  r.per_learner[1].cancelled = 3;
  r.failures.push_back(LearnerFailure{1, "out of memory", 0.5});
  CurvePoint first, last;
  first.test_error = 0.5;
  last.time_s = 2.0;
  last.test_error = 0.125;
  last.train_loss = 0.75;
  r.curve = {first, last};
  return r;
}

PreparedData tiny_data() {
  PreparedData d;
  d.data.train.name = "tiny/train";
  d.data.train.x.resize(3, 2);
  d.data.train.num_classes = 2;
  d.data.test.name = "tiny/test";
  d.data.test.x.resize(1, 2);
  d.info.format = "csv";
  d.info.scaling = "max";
  return d;
}

RunDescription description() {
  RunDescription d;
  d.K = 2;
  d.delay = "exp:mean=5ms";
  d.model = "softmax";
  d.num_params = 6;
  d.lr_schedule = "constant:lr=0.1";
  d.context = {{"build", "test"}};
  return d;
}

}  // namespace

TEST_CASE("summarize: the result, the config and the description, as summary.json holds them",
          "[summary]") {
  const ExperimentConfig cfg = train_config(
      {{"P", "2"}, {"variant", "k-async"}, {"seed", "7"}, {"on-learner-failure", "continue"}});
  const nlohmann::json s = summarize(two_learner_result(), cfg, tiny_data(), description());
  CHECK(s["variant"] == "k-async");
  CHECK(s["P"] == 2);
  CHECK(s["K"] == 2);
  CHECK(s["seed"] == 7);
  CHECK(s["delay"] == "exp:mean=5ms");
  CHECK(s["num_params"] == 6);
  CHECK(s["mean_update_interval_s"] == 0.5);
  CHECK(s["final_test_error"] == 0.125);
  CHECK(s["final_train_loss"] == 0.75);
  CHECK_FALSE(s.contains("target_error"));  // no --target-error
  CHECK(s["note"] == "continued with 1 of 2 learners after failures");

  const nlohmann::json& learners = s["per_learner"];
  REQUIRE(learners.size() == 2);
  CHECK(learners[0] == nlohmann::json{{"learner", 0}, {"applied", 4}, {"cancelled", 0},
                                      {"staleness_mean", 0.5}, {"staleness_max", 1},
                                      {"idle_s", 0.25}});
  CHECK(learners[1]["cancelled"] == 3);
  CHECK(learners[1]["staleness_mean"] == 0.0);  // nothing applied: 0, not NaN

  const nlohmann::json& failed = s["failed_learners"];
  REQUIRE(failed.size() == 1);
  CHECK(failed[0] == nlohmann::json{{"learner", 1}, {"error", "out of memory"}, {"time_s", 0.5}});

  CHECK(s["data"]["train"] == "tiny/train");
  CHECK(s["data"]["train_samples"] == 3);
  CHECK(s["data"]["features"] == 2);
  CHECK(s["data"]["test_samples"] == 1);
  CHECK(s["config"] == cfg.raw);
  CHECK(s["context"] == nlohmann::json{{"build", "test"}});
}

TEST_CASE("summarize: --timing-only has no final errors, a missed target is null, a reached "
          "one has its time",
          "[summary]") {
  auto summary_for = [](std::initializer_list<std::pair<const char*, const char*>> flags) {
    return summarize(two_learner_result(), train_config(flags), tiny_data(), description());
  };
  const nlohmann::json timing = summary_for({{"clock", "virtual"}, {"timing-only", "true"}});
  CHECK(timing["timing_only"] == true);
  CHECK_FALSE(timing.contains("final_test_error"));

  const nlohmann::json missed = summary_for({{"target-error", "0.1"}});
  CHECK(missed["target_error"] == 0.1);
  CHECK(missed["time_to_target_s"].is_null());  // 0.5, then 0.125: never down to 0.1
  CHECK(missed["failed_learners"].size() == 1);
  CHECK_FALSE(missed.contains("note"));  // the run stopped on the failure: nothing continued
  // 0.5 at 0 s, 0.125 at 2 s: 0.2 is crossed at 2 ln(2.5) / ln(4) s (log error, linear
  // time), within the 2 s between the two points.
  const nlohmann::json reached = summary_for({{"target-error", "0.2"}});
  CHECK(reached["time_to_target_s"].get<double>() == Approx(2.0 * std::log(2.5) / std::log(4.0)));
  CHECK(reached["time_to_target_resolution_s"] == 2.0);
  CHECK(missed["time_to_target_resolution_s"].is_null());
}
