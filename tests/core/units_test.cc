#include "core/units.h"

#include <catch2/catch.hpp>

using racesgd::parse_duration_seconds;

TEST_CASE("durations parse with units", "[units]") {
  CHECK(parse_duration_seconds("5ms", "x") == Approx(5e-3));
  CHECK(parse_duration_seconds("2.5s", "x") == Approx(2.5));
  CHECK(parse_duration_seconds("300us", "x") == Approx(3e-4));
  CHECK(parse_duration_seconds("1e-3s", "x") == Approx(1e-3));
  CHECK(parse_duration_seconds("40ns", "x") == Approx(4e-8));
  CHECK(parse_duration_seconds("30", "x", true) == Approx(30));
}

TEST_CASE("bad durations name the flag and the text", "[units]") {
  CHECK_THROWS_WITH(parse_duration_seconds("30", "--time"),
                    Catch::Contains("--time") && Catch::Contains("'30'"));
  CHECK_THROWS_WITH(parse_duration_seconds("fast", "--time"), Catch::Contains("not a duration"));
  CHECK_THROWS(parse_duration_seconds("ms", "--time"));
  CHECK_THROWS(parse_duration_seconds("1xs", "--time"));
  CHECK_THROWS(parse_duration_seconds("infs", "--time"));
  CHECK_THROWS(racesgd::parse_int("-3", "-P"));
  CHECK_THROWS(racesgd::parse_double("nan", "--lr"));
}

TEST_CASE("format_duration picks a readable unit", "[units]") {
  CHECK(racesgd::format_duration(5e-3) == "5ms");
  CHECK(racesgd::format_duration(1.5) == "1.5s");
  CHECK(racesgd::format_duration(3e-4) == "300us");
}
