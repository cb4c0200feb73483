// LatenessTally (issue 13: the real clock's fidelity, summary.json's compute_late): how many
// gradients finished their computation after start + X, their mean lateness, and the
// nearest-rank quantile over all gradients counted (the in-time ones count as 0).
#include "runtime/lateness_tally.h"

#include <catch2/catch.hpp>
#include <limits>

using namespace racesgd;

namespace {

// `in_time` gradients on time and `late` ones late by 1, 2, ..., `late` ms: half the
// in-time ones, then the late ones largest first, then the rest (no order to rely on).
LatenessTally tally_of(int in_time, int late) {
  LatenessTally t;
  for (int i = 0; i < in_time / 2; ++i) t.add(0.0);
  for (int ms = late; ms >= 1; --ms) t.add(ms * 1e-3);
  for (int i = in_time / 2; i < in_time; ++i) t.add(0.0);
  return t;
}

}  // namespace

TEST_CASE("lateness tally: empty", "[lateness]") {
  const LatenessTally t;
  CHECK(t.count() == 0);
  CHECK(t.late() == 0);
  CHECK(t.late_mean_s() == 0.0);
  CHECK(t.quantile_s(0.99) == 0.0);
  CHECK(t.quantile_s(1.0) == 0.0);
}

TEST_CASE("lateness tally: all in time gives no late ones, mean 0 and p99 0", "[lateness]") {
  LatenessTally t;
  for (int i = 0; i < 500; ++i) t.add(0.0);
  CHECK(t.count() == 500);
  CHECK(t.late() == 0);
  CHECK(t.late_mean_s() == 0.0);
  CHECK(t.quantile_s(0.99) == 0.0);
  CHECK(t.quantile_s(1.0) == 0.0);
}

TEST_CASE("lateness tally: the helper builds what it says", "[lateness]") {
  const LatenessTally t = tally_of(985, 15);
  CHECK(t.count() == 1000);
  CHECK(t.late() == 15);
}

TEST_CASE("lateness tally: fewer than 1% late leaves p99 at 0, the mean is over the late ones",
          "[lateness]") {
  // 1000 gradients, 5 late by 1..5 ms: the 990th smallest value is still an in-time 0.
  const LatenessTally t = tally_of(995, 5);
  CHECK(t.count() == 1000);
  CHECK(t.late() == 5);
  CHECK(t.quantile_s(0.99) == 0.0);
  CHECK(t.late_mean_s() == Approx(3e-3));  // (1 + 2 + 3 + 4 + 5) / 5 ms, not / 1000
  CHECK(t.quantile_s(0.995) == Approx(0.0));   // rank 995: the last in-time one
  CHECK(t.quantile_s(0.996) == Approx(1e-3));  // rank 996: the smallest late one
  CHECK(t.quantile_s(1.0) == Approx(5e-3));    // the largest
}

TEST_CASE("lateness tally: more than 1% late gives the exact nearest-rank p99", "[lateness]") {
  // 1000 gradients, 15 late by 1..15 ms: sorted, ranks 1..985 are 0 and rank 985 + k is
  // k ms. p99 is rank ceil(0.99 * 1000) = 990, i.e. 5 ms (rank 991 would be 6 ms).
  const LatenessTally t = tally_of(985, 15);
  CHECK(t.quantile_s(0.99) == Approx(5e-3));
  CHECK(t.late_mean_s() == Approx(8e-3));  // (1 + ... + 15) / 15 ms
  CHECK(t.quantile_s(0.5) == 0.0);
  CHECK(t.quantile_s(1.0) == Approx(15e-3));
  // Nearest rank, no interpolation: rank ceil(0.9905 * 1000) = 991 -> 6 ms.
  CHECK(t.quantile_s(0.9905) == Approx(6e-3));
}

TEST_CASE("lateness tally: every gradient late", "[lateness]") {
  // 100 gradients late by 1..100 ms: p99 is rank 99, 99 ms.
  const LatenessTally t = tally_of(0, 100);
  CHECK(t.late() == 100);
  CHECK(t.quantile_s(0.99) == Approx(99e-3));
  CHECK(t.quantile_s(0.01) == Approx(1e-3));
  CHECK(t.late_mean_s() == Approx(50.5e-3));
}

TEST_CASE("lateness tally: negative and NaN lateness count as in time", "[lateness]") {
  LatenessTally t;
  t.add(-1.0);
  t.add(-1e-9);
  t.add(std::numeric_limits<double>::quiet_NaN());
  t.add(-0.0);
  CHECK(t.count() == 4);
  CHECK(t.late() == 0);
  CHECK(t.late_mean_s() == 0.0);
  CHECK(t.quantile_s(1.0) == 0.0);
  // Mixed with a late one, they neither shift nor poison the statistics.
  t.add(2e-3);
  CHECK(t.count() == 5);
  CHECK(t.late() == 1);
  CHECK(t.late_mean_s() == Approx(2e-3));
  CHECK(t.quantile_s(0.8) == 0.0);      // rank 4 of 5: an in-time one
  CHECK(t.quantile_s(1.0) == Approx(2e-3));
}
