#include "core/rng.h"

#include <catch2/catch.hpp>
#include <cmath>

using racesgd::Rng;

TEST_CASE("rng: same seed, same stream, different seeds differ", "[rng]") {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    auto x = a.next();
    CHECK(x == b.next());
    CHECK(x != c.next());
  }
}

TEST_CASE("rng: derived seeds separate learners and purposes", "[rng]") {
  using racesgd::derive_seed;
  using racesgd::StreamPurpose;
  CHECK(derive_seed(1, 0, StreamPurpose::kBatches) != derive_seed(1, 1, StreamPurpose::kBatches));
  CHECK(derive_seed(1, 0, StreamPurpose::kBatches) != derive_seed(1, 0, StreamPurpose::kDelays));
  CHECK(derive_seed(1, 0, StreamPurpose::kBatches) != derive_seed(2, 0, StreamPurpose::kBatches));
}

TEST_CASE("rng: distribution moments", "[rng]") {
  Rng r(7);
  const int n = 200000;
  double su = 0, se = 0, sn = 0, sn2 = 0;
  for (int i = 0; i < n; ++i) {
    double u = r.uniform();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    su += u;
    se += r.exponential(3.0);
    double z = r.normal();
    sn += z;
    sn2 += z * z;
  }
  CHECK(su / n == Approx(0.5).margin(0.005));
  CHECK(se / n == Approx(3.0).margin(0.03));
  CHECK(sn / n == Approx(0.0).margin(0.01));
  CHECK(sn2 / n == Approx(1.0).margin(0.01));
  int counts[5] = {};
  for (int i = 0; i < 50000; ++i) ++counts[r.below(5)];
  for (int c : counts) CHECK(c == Approx(10000).margin(400));
}
