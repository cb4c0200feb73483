// StopReason: the texts every output prints (curve.csv, summary.json, race tables) and the
// "finished by its rule" test the CLI's exit codes rest on.
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "runtime/stop_reason.h"

using namespace racesgd;

namespace {
const std::vector<StopReason> kAll = {
    StopReason::running,  StopReason::time,     StopReason::updates,
    StopReason::target_error, StopReason::stalled, StopReason::diverged,
    StopReason::learner_failed, StopReason::interrupted, StopReason::transport_failed};
}  // namespace

TEST_CASE("stop reasons print exactly the texts the outputs have always had") {
  CHECK(to_string(StopReason::time) == "time");
  CHECK(to_string(StopReason::updates) == "updates");
  CHECK(to_string(StopReason::target_error) == "target-error");
  CHECK(to_string(StopReason::stalled) == "stalled");
  CHECK(to_string(StopReason::diverged) == "diverged");
  CHECK(to_string(StopReason::learner_failed) == "learner-failed");
  CHECK(to_string(StopReason::interrupted) == "interrupted");
  CHECK(to_string(StopReason::running) == "running");
  CHECK(to_string(StopReason::transport_failed) == "transport-failed");
}

TEST_CASE("every stop reason has its own text") {
  std::set<std::string> texts;
  for (StopReason r : kAll) texts.insert(std::string(to_string(r)));
  CHECK(texts.size() == kAll.size());
  CHECK(texts.count("unknown") == 0);
}

TEST_CASE("only time, updates and target-error finish a run by its rule") {
  for (StopReason r : kAll) {
    INFO(to_string(r));
    const bool by_rule =
        r == StopReason::time || r == StopReason::updates || r == StopReason::target_error;
    CHECK(finished_by_rule(r) == by_rule);
  }
}
