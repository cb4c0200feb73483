#include "sgd/k_schedule.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "core/error.h"

using namespace racesgd;

TEST_CASE("k-schedule specs: fixed and adasync, errors name the flag", "[k_schedule]") {
  CHECK_FALSE(parse_k_schedule("fixed").adaptive());
  const KScheduleConfig a = parse_k_schedule("adasync:every=0.5s");
  CHECK(a.adaptive());
  CHECK(a.every_s == 0.5);
  CHECK(a.k0 == 0);
  CHECK(a.samples == 2000);
  const KScheduleConfig b = parse_k_schedule("adasync:every=200ms,k0=3,samples=0");
  CHECK(b.every_s == Approx(0.2));
  CHECK(b.k0 == 3);
  CHECK(b.samples == 0);
  CHECK(to_string(b) == "adasync:every=0.2s,k0=3,samples=0");
  CHECK(parse_k_schedule(to_string(b)).every_s == b.every_s);  // the canonical text parses back
  CHECK_THROWS_WITH(parse_k_schedule("adasync"), Catch::Contains("--k-schedule") && Catch::Contains("every=T0"));
  CHECK_THROWS_WITH(parse_k_schedule("adasync:every=0s"), Catch::Contains("every"));
  CHECK_THROWS_WITH(parse_k_schedule("adasync:every=1s,k0=0"), Catch::Contains("k0"));
  CHECK_THROWS_WITH(parse_k_schedule("adasync:every=1s,step=2"), Catch::Contains("step"));
  CHECK_THROWS_WITH(parse_k_schedule("doubling"), Catch::Contains("unknown K schedule 'doubling'"));
  CHECK_THROWS_AS(parse_k_schedule("adasync:every=abc"), InputError);
}

TEST_CASE("AdaSync applies to the K variants only, with K0 <= P", "[k_schedule]") {
  const KScheduleConfig a = parse_k_schedule("adasync:every=1s");
  for (const char* ok : {"k-sync", "k-batch-sync", "k-async", "k-batch-async"})
    CHECK_NOTHROW(check_k_schedule(a, make_variant(ok, 8, 2)));
  CHECK_THROWS_WITH(check_k_schedule(a, make_variant("sync", 8, 2)),
                    Catch::Contains("--k-schedule") && Catch::Contains("all P"));
  CHECK_THROWS_WITH(check_k_schedule(a, make_variant("async", 8, 1)), Catch::Contains("K = 1"));
  CHECK_THROWS_WITH(check_k_schedule(a, make_variant("ssp:S=2", 8, 1)), Catch::Contains("ssp"));
  CHECK_THROWS_WITH(check_k_schedule(parse_k_schedule("adasync:every=1s,k0=9"), make_variant("k-async", 8, 2)),
                    Catch::Contains("k0=9"));
  CHECK_NOTHROW(check_k_schedule(parse_k_schedule("fixed"), make_variant("sync", 8, 2)));
}

TEST_CASE("AdaSync's rule: min(P, ceil(K0 sqrt(F0 / F))), never decreasing", "[k_schedule]") {
  CHECK(adasync_k(1, 8, 2.0, 2.0, 1) == 1);
  CHECK(adasync_k(1, 8, 2.0, 0.5, 1) == 2);   // sqrt(4) = 2
  CHECK(adasync_k(1, 8, 2.0, 0.49, 1) == 3);  // sqrt(4.08) = 2.02 -> 3
  CHECK(adasync_k(2, 8, 1.0, 0.25, 1) == 4);
  CHECK(adasync_k(2, 8, 1.0, 0.001, 1) == 8);  // capped at P
  CHECK(adasync_k(1, 8, 1.0, 0.0, 1) == 8);    // a perfect fit: P
  CHECK(adasync_k(1, 8, 1.0, 0.9, 5) == 5);    // never down
  CHECK(adasync_k(1, 8, 1.0, 4.0, 1) == 1);    // the loss went up: K0 stays
  CHECK(adasync_k(1, 8, 1.0, std::nan(""), 3) == 3);
  CHECK(adasync_k(1, 8, 0.0, 0.5, 2) == 2);    // no usable F(w_0)
}

TEST_CASE("AdaSyncSchedule: checks on the T0 grid, records changes, stops at P", "[k_schedule]") {
  const KScheduleConfig c = parse_k_schedule("adasync:every=0.1s");
  AdaSyncSchedule s(c, 1, 4, 1.0);
  REQUIRE(s.changes().size() == 1);
  CHECK(s.changes()[0].K == 1);
  CHECK(s.changes()[0].loss == 1.0);
  CHECK(s.next_check() == Approx(0.1));
  CHECK(s.on_loss(0.1, 10, 1.2) == 0);  // the loss went up: no change, nothing recorded
  CHECK(s.changes().size() == 1);
  CHECK(s.next_check() == Approx(0.2));
  CHECK(s.on_loss(0.2, 25, 0.9) == 2);  // ceil(sqrt(1 / 0.9)) = ceil(1.054) = 2
  REQUIRE(s.changes().size() == 2);
  CHECK(s.changes()[1].time_s == 0.2);
  CHECK(s.changes()[1].update == 25);
  CHECK(s.changes()[1].loss == 0.9);
  CHECK(s.changes()[1].K == 2);
  // A check taken late (the real clock's prober) moves to the next grid point after it.
  CHECK(s.on_loss(0.37, 40, 0.8) == 0);
  CHECK(s.next_check() == Approx(0.4));
  CHECK(s.on_loss(0.4, 50, 0.05) == 4);  // ceil(4.47) capped at P = 4
  CHECK(s.next_check() == std::numeric_limits<double>::infinity());  // nothing can change
  // The grid is a function of the index: no drift from adding T0 up.
  CHECK(next_check_after(0.1, 0.30000000000000004) == Approx(0.4));
  CHECK(next_check_after(0.1, 0.3) > 0.3);
  CHECK(next_check_after(1e-3, 1234.5) > 1234.5);
}

TEST_CASE("AdaSyncSchedule: restore checks the state", "[k_schedule]") {
  const KScheduleConfig c = parse_k_schedule("adasync:every=0.1s");
  AdaSyncSchedule s(c, 2, 6, 1.0);
  s.on_loss(0.1, 5, 0.2);
  AdaSyncSchedule t(c, 2, 6, 0.0);
  t.restore(s.state());
  CHECK(t.k() == s.k());
  CHECK(t.next_check() == s.next_check());
  auto bad = [&](auto edit) {
    AdaSyncSchedule::State st = s.state();
    edit(st);
    AdaSyncSchedule u(c, 2, 6, 1.0);
    CHECK_THROWS_AS(u.restore(st), InputError);
  };
  bad([](auto& st) { st.changes.clear(); });
  bad([](auto& st) { st.changes.front().K = 3; });           // another K0
  bad([](auto& st) { st.changes.push_back({0.3, 9, 0.1, 7}); });  // above P
  bad([](auto& st) { st.changes.push_back({0.3, 9, 0.1, 2}); });  // going down
  bad([](auto& st) { st.next_s = 0.05; });                    // before the last change
}

