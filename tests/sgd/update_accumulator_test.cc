#include "sgd/update_accumulator.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

using namespace racesgd;

TEST_CASE("update = current - (1/K) sum lr_i g_i", "[update]") {
  UpdateAccumulator acc(3);
  std::vector<float> g1{1, 2, 3}, g2{-1, 0, 1}, cur{10, 10, 10}, dst(3);
  CHECK(acc.add(g1, 0.5) == Approx(14.0));
  acc.add(g2, 1.0);
  CHECK(acc.count() == 2);
  acc.apply_into(dst, cur);
  // (0.5*g1 + g2) / 2 = (-0.5, 1, 2.5) / 2
  CHECK(dst[0] == Approx(10.25));
  CHECK(dst[1] == Approx(9.5));
  CHECK(dst[2] == Approx(8.75));
  CHECK(acc.count() == 0);
  // The accumulator starts over after an apply.
  acc.add(g2, 1.0);
  acc.apply_into(dst, cur);
  CHECK(dst[0] == Approx(11.0));
}

TEST_CASE("non-finite gradients and weights are visible to the caller", "[update]") {
  UpdateAccumulator acc(2);
  std::vector<float> bad{1, std::numeric_limits<float>::quiet_NaN()}, cur{0, 0}, dst(2);
  CHECK_FALSE(std::isfinite(acc.add(bad, 1.0)));
  UpdateAccumulator acc2(2);
  std::vector<float> huge{3e38f, 3e38f};
  acc2.add(huge, 1.0);
  std::vector<float> neg{-3e38f, 0};
  CHECK_FALSE(std::isfinite(acc2.apply_into(dst, neg)));
}

TEST_CASE("squared distance", "[update]") {
  std::vector<float> a{1, 2, 3}, b{1, 0, 7};
  CHECK(squared_distance(a, b) == Approx(20.0));
}
