#include "sgd/staleness_tracker.h"

#include <catch2/catch.hpp>

using namespace racesgd;

TEST_CASE("staleness tracker: mean, max, p0, histogram, per learner", "[staleness]") {
  StalenessTracker t(3, 4);
  t.record_applied(0, 0);
  t.record_applied(1, 2);
  t.record_applied(1, 7);  // overflow bin
  t.record_applied(2, 0);
  t.record_cancelled(2);
  t.record_idle(0, 0.5);
  t.record_idle(0, 0.25);
  CHECK(t.applied() == 4);
  CHECK(t.cancelled() == 1);
  CHECK(t.mean() == Approx(9.0 / 4));
  CHECK(t.max() == 7);
  CHECK(t.fresh_fraction() == Approx(0.5));
  CHECK(t.histogram() == std::vector<std::uint64_t>{2, 0, 1, 1});
  CHECK(t.per_learner()[1].applied == 2);
  CHECK(t.per_learner()[1].staleness_max == 7);
  CHECK(t.per_learner()[2].cancelled == 1);
  CHECK(t.per_learner()[0].idle_seconds == Approx(0.75));
  CHECK(t.take_interval_mean() == Approx(9.0 / 4));
  CHECK(t.take_interval_mean() == 0.0);
  t.record_applied(0, 4);
  CHECK(t.take_interval_mean() == Approx(4.0));
}
