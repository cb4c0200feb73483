#include "bench/race_stats.h"

#include <catch2/catch.hpp>

using namespace racesgd;

TEST_CASE("sample statistics and the 95% t interval", "[race]") {
  const SampleStats s = sample_stats({1.0, 2.0, 3.0, 4.0});
  CHECK(s.n == 4);
  CHECK(s.mean == Approx(2.5));
  CHECK(s.sd == Approx(1.2909944));
  CHECK(s.ci95 == Approx(3.182 * 1.2909944 / 2.0));
  CHECK(s.min == 1.0);
  CHECK(s.max == 4.0);
  const SampleStats one = sample_stats({5.0});
  CHECK(one.ci95 == 0.0);
  CHECK(sample_stats({}).n == 0);
  CHECK(t_quantile_975(1) == Approx(12.706));
  CHECK(t_quantile_975(100) == Approx(1.984).epsilon(0.005));
}
