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

TEST_CASE("durations in hours and minutes, and an ambiguous m", "[units]") {
  CHECK(parse_duration_seconds("1min", "x") == Approx(60));
  CHECK(parse_duration_seconds("1h", "x") == Approx(3600));
  CHECK(parse_duration_seconds("1.5h", "x") == Approx(5400));
  CHECK(parse_duration_seconds("0.5min", "x") == Approx(30));
  CHECK(parse_duration_seconds("90s", "x") == Approx(90));
  CHECK(parse_duration_seconds(" 2 min ", "x") == Approx(120));
  CHECK_THROWS_WITH(parse_duration_seconds("2m", "--time"),
                    Catch::Contains("--time") && Catch::Contains("ambiguous") &&
                        Catch::Contains("min") && Catch::Contains("ms"));
  CHECK_THROWS_WITH(parse_duration_seconds("1h30min", "--time"), Catch::Contains("not a duration"));
  CHECK_THROWS_WITH(parse_duration_seconds("1e307h", "--time"), Catch::Contains("not a duration"));
  CHECK_THROWS(parse_duration_seconds("min", "--time"));
  CHECK_THROWS(parse_duration_seconds("h", "--time"));
  CHECK_THROWS(parse_duration_seconds("1d", "--time"));
  CHECK(racesgd::has_duration_unit("0.5s"));
  CHECK(racesgd::has_duration_unit("1min"));
  CHECK(racesgd::has_duration_unit("2h"));
  CHECK(racesgd::has_duration_unit("2m"));  // so that it reaches the "ambiguous" error
  CHECK_FALSE(racesgd::has_duration_unit("100"));
}
