// The plug-in example (examples/custom_delay.cc, compiled into this test) registers itself,
// is reachable by its spec string, and docs/delay-models.md shows its code verbatim.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "core/error.h"
#include "delay/delay_model.h"

using racesgd::DelayContext;
using racesgd::make_delay_model;
using racesgd::Rng;

namespace {
std::string read_all(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("plug-in: bursty is registered and reachable through its spec", "[delay][plugin]") {
  DelayContext ctx;
  ctx.num_learners = 3;
  auto m = make_delay_model("bursty:calm=1ms,burst=20ms,enter=0.1,leave=0.4", ctx);
  CHECK(m->spec() == "bursty:calm=1ms,burst=20ms,enter=0.1,leave=0.4");
  // A plug-in is never drawn ahead unless it says so (DelayModel's default).
  CHECK_FALSE(m->may_draw_ahead());
  bool listed = false;
  for (const auto& [name, help] : racesgd::delay_model_help()) listed |= name == "bursty";
  CHECK(listed);

  // Stationary mean: calm with prob leave / (enter + leave) = 0.8.
  const double want = 0.8 * 1e-3 + 0.2 * 20e-3;
  CHECK(*m->facts().mean_value == Approx(want));
  Rng rng(5);
  double sum = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) sum += m->sample(2, rng);
  CHECK(sum / n == Approx(want).epsilon(0.05));

  CHECK_THROWS_AS(make_delay_model("bursty:calm=1ms", ctx), racesgd::InputError);
  CHECK_THROWS_WITH(make_delay_model("bursty:calm=1ms,burst=2ms,enter=0,leave=0", ctx),
                    Catch::Contains("cannot both be 0"));
}

TEST_CASE("plug-in: docs/delay-models.md contains examples/custom_delay.cc verbatim",
          "[delay][plugin][docs]") {
  const std::string root = RACESGD_SOURCE_DIR;
  const std::string example = read_all(root + "/examples/custom_delay.cc");
  const std::string docs = read_all(root + "/docs/delay-models.md");
  REQUIRE(example.size() > 1000);
  CHECK(docs.find("```cpp\n" + example + "```") != std::string::npos);
}
