#include "sgd/lr_schedule.h"

#include <catch2/catch.hpp>

#include "core/error.h"

using namespace racesgd;

TEST_CASE("constant rate", "[lr]") {
  auto s = make_lr_schedule("constant", 0.1, "none");
  CHECK(s->rate({}) == Approx(0.1));
  CHECK_FALSE(s->needs_distance());
}

TEST_CASE("staleness-adaptive rate: min(C / ||w_j - w_tau||^2, eta_max)", "[lr]") {
  auto s = make_lr_schedule("staleness:c=0.02", 0.5, "none");
  CHECK(s->needs_distance());
  LrInputs fresh;
  CHECK(s->rate(fresh) == Approx(0.5));  // distance 0: eta_max
  LrInputs far;
  far.staleness = 3;
  far.distance2 = 1.0;
  CHECK(s->rate(far) == Approx(0.02));
  LrInputs near;
  near.staleness = 1;
  near.distance2 = 0.01;  // C / d2 = 2 > eta_max
  CHECK(s->rate(near) == Approx(0.5));
}

TEST_CASE("inverse staleness: eta0 / max(1, tau)", "[lr]") {
  auto s = make_lr_schedule("inverse-staleness", 0.3, "none");
  LrInputs in;
  CHECK(s->rate(in) == Approx(0.3));
  in.staleness = 1;
  CHECK(s->rate(in) == Approx(0.3));
  in.staleness = 3;
  CHECK(s->rate(in) == Approx(0.1));
}

TEST_CASE("step decay composes with any schedule, in updates or in time", "[lr]") {
  auto s = make_lr_schedule("inverse-staleness", 0.4, "step:every=100,factor=0.5");
  LrInputs in;
  in.staleness = 2;
  in.update = 99;
  CHECK(s->rate(in) == Approx(0.2));
  in.update = 100;
  CHECK(s->rate(in) == Approx(0.1));
  in.update = 250;
  CHECK(s->rate(in) == Approx(0.05));

  auto t = make_lr_schedule("constant", 1.0, "step:every=2s,factor=0.1");
  in.time = 1.9;
  CHECK(t->rate(in) == Approx(1.0));
  in.time = 4.1;
  CHECK(t->rate(in) == Approx(0.01));
  CHECK(t->spec().find("step") != std::string::npos);
}

TEST_CASE("bad schedules name the flag", "[lr]") {
  CHECK_THROWS_WITH(make_lr_schedule("cosine", 0.1, "none"), Catch::Contains("--lr-schedule"));
  CHECK_THROWS_WITH(make_lr_schedule("staleness", 0.1, "none"), Catch::Contains("missing parameter 'c'"));
  CHECK_THROWS_WITH(make_lr_schedule("constant", -1, "none"), Catch::Contains("--lr"));
  CHECK_THROWS_WITH(make_lr_schedule("constant", 0.1, "step:factor=0.5"), Catch::Contains("every"));
  CHECK_THROWS_WITH(make_lr_schedule("constant", 0.1, "step:every=0,factor=0.5"), Catch::Contains("positive"));
  CHECK_THROWS_WITH(make_lr_schedule("constant", 0.1, "exp:every=3"), Catch::Contains("--lr-decay"));
  CHECK_THROWS_AS(make_lr_schedule("constant", 0.1, "step:every=10,factor=2"), InputError);
}
