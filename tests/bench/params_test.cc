// Checkpoints written before the "learner" rename (docs/decisions/0003-layers.md) resume:
// their saved parameters are read in today's names.
#include "bench/params.h"

#include <catch2/catch.hpp>

namespace racesgd {

TEST_CASE("upgrade_saved_param: the old names of the learner role", "[bench][params]") {
  using P = std::pair<std::string, std::string>;
  CHECK(upgrade_saved_param("on-worker-failure", "continue") == P{"on-learner-failure", "continue"});
  CHECK(upgrade_saved_param("delay", "faulty:base=exp:mean=1ms,worker=2,after=3") ==
        P{"delay", "faulty:base=exp:mean=1ms,learner=2,after=3"});
  // A quoted nested base keeps its text; only faulty's own key changes.
  CHECK(upgrade_saved_param("delay", "faulty:base='hetero:exp:mean=1ms,scales=1,2',worker=1,after=0") ==
        P{"delay", "faulty:base='hetero:exp:mean=1ms,scales=1,2',learner=1,after=0"});
}

TEST_CASE("upgrade_saved_param: everything else is left as it is", "[bench][params]") {
  using P = std::pair<std::string, std::string>;
  CHECK(upgrade_saved_param("on-learner-failure", "stop") == P{"on-learner-failure", "stop"});
  CHECK(upgrade_saved_param("delay", "exp:mean=5ms") == P{"delay", "exp:mean=5ms"});
  CHECK(upgrade_saved_param("out", "runs/worker=1") == P{"out", "runs/worker=1"});
  CHECK(upgrade_saved_param("variant", "k-async") == P{"variant", "k-async"});
}

}  // namespace racesgd
