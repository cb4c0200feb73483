#include "core/spec.h"

#include <catch2/catch.hpp>

#include "core/error.h"

using racesgd::InputError;
using racesgd::parse_spec;
using racesgd::SpecArgs;

TEST_CASE("spec: name only", "[spec]") {
  auto s = parse_spec("none", "delay spec");
  CHECK(s.name == "none");
  CHECK(s.params.empty());
  CHECK(s.positional.empty());
}

TEST_CASE("spec: key=value pairs and list continuation", "[spec]") {
  auto s = parse_spec("mlp:hidden=256,128,l2=1e-4", "model spec");
  REQUIRE(s.params.size() == 2);
  CHECK(s.params[0] == std::pair<std::string, std::string>{"hidden", "256,128"});
  CHECK(s.params[1] == std::pair<std::string, std::string>{"l2", "1e-4"});
}

TEST_CASE("spec: nested specs as values and positionals", "[spec]") {
  auto s = parse_spec("straggler:base=exp:mean=1ms,slow=exp:mean=20ms,p=0.1", "delay spec");
  REQUIRE(s.params.size() == 3);
  CHECK(s.params[0].second == "exp:mean=1ms");
  CHECK(s.params[1].second == "exp:mean=20ms");
  CHECK(s.params[2].second == "0.1");

  auto h = parse_spec("hetero:exp:mean=5ms,scales=1,1,1,4", "delay spec");
  REQUIRE(h.positional.size() == 1);
  CHECK(h.positional[0] == "exp:mean=5ms");
  CHECK(h.params[0].second == "1,1,1,4");

  auto p = parse_spec("hetero:(shifted-exp:shift=1ms,mean=2ms),scales=1,4", "delay spec");
  REQUIRE(p.positional.size() == 1);
  CHECK(p.positional[0] == "shifted-exp:shift=1ms,mean=2ms");
  CHECK(p.params[0].second == "1,4");

  auto q = parse_spec("straggler:base=(shifted-exp:shift=1ms,mean=2ms),slow=const:value=1s,p=0.5",
                      "delay spec");
  CHECK(q.params[0].second == "shifted-exp:shift=1ms,mean=2ms");
}

TEST_CASE("spec: malformed text is rejected with the text in the message", "[spec]") {
  CHECK_THROWS_WITH(parse_spec("", "delay spec"), Catch::Contains("empty name"));
  CHECK_THROWS_WITH(parse_spec("exp:mean=1ms,,x=2", "delay spec"),
                    Catch::Contains("exp:mean=1ms,,x=2") && Catch::Contains("empty item"));
  CHECK_THROWS_WITH(parse_spec("exp:mean=1ms,mean=2ms", "delay spec"),
                    Catch::Contains("given twice"));
  CHECK_THROWS_WITH(parse_spec("hetero:(exp:mean=1ms", "delay spec"),
                    Catch::Contains("unbalanced"));
  CHECK_THROWS_WITH(parse_spec("exp:mean=", "delay spec"), Catch::Contains("no value"));
  CHECK_THROWS_AS(parse_spec("e x p", "delay spec"), InputError);
}

TEST_CASE("spec args: typed getters, ranges and unknown keys", "[spec]") {
  SpecArgs a(parse_spec("pareto:scale=2ms,alpha=2.5", "delay spec"), "delay spec");
  CHECK(a.duration("scale") == Approx(2e-3));
  CHECK(a.number("alpha", std::nullopt, 1.0) == Approx(2.5));
  CHECK_NOTHROW(a.finish());

  SpecArgs b(parse_spec("exp:mean=5ms,meen=3", "delay spec"), "delay spec");
  b.duration("mean");
  CHECK_THROWS_WITH(b.finish(), Catch::Contains("unknown parameter 'meen'") &&
                                    Catch::Contains("accepted: mean"));

  SpecArgs c(parse_spec("exp:mean=-5ms", "delay spec"), "delay spec");
  CHECK_THROWS_WITH(c.duration("mean"), Catch::Contains("out of range"));

  SpecArgs d(parse_spec("exp", "delay spec"), "delay spec");
  CHECK_THROWS_WITH(d.duration("mean"), Catch::Contains("missing parameter 'mean'"));

  SpecArgs e(parse_spec("mlp:hidden=256,x", "model spec"), "model spec");
  CHECK_THROWS_WITH(e.integer_list("hidden", 1), Catch::Contains("not a non-negative integer"));

  SpecArgs f(parse_spec("hetero:exp:mean=1ms,(const:value=1ms)", "delay spec"), "delay spec");
  f.allow_positional(1);
  CHECK_THROWS_WITH(f.finish(), Catch::Contains("unexpected argument"));
}
