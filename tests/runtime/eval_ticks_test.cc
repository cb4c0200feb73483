// Evaluation ticks: the linear grid and the geometric ticks of the auto schedule, each a
// function of its index (so a ticker restored from its next tick continues exactly), and
// the thinning that keeps a full recorder's early dense points.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

#include "runtime/eval_recorder.h"
#include "runtime/eval_ticks.h"
#include "runtime/run_inputs.h"
#include "tests/runtime/curve_point.h"

using namespace racesgd;
using racesgd::testing::at;

TEST_CASE("linear ticks: the first multiple of every after t", "[eval][ticks]") {
  CHECK(next_linear_tick(0.5, 0) == 0.5);
  CHECK(next_linear_tick(0.5, 0.5) == 1.0);  // strictly after
  CHECK(next_linear_tick(0.5, 0.7) == 1.0);
  CHECK(next_linear_tick(0.1, 0.3) > 0.3);
  CHECK(next_linear_tick(0.1, 0.3) < 0.41);
  // A step below the clock's rounding: the next double, never t itself.
  CHECK(next_linear_tick(1e-20, 1e6) > 1e6);
}

TEST_CASE("geometric ticks: first * r^k, the first after t", "[eval][ticks]") {
  CHECK(next_geometric_tick(1e-3, 2, 0) == 1e-3);
  CHECK(next_geometric_tick(1e-3, 2, 1e-3) == Approx(2e-3));
  CHECK(next_geometric_tick(1e-3, 2, 5e-3) == Approx(8e-3));
  // Walking the ticks one by one from 0 gives first * r^k, k = 0, 1, ...
  double t = 0;
  for (int k = 0; k < 500; ++k) {
    t = next_geometric_tick(1e-3, 1.015, t);
    REQUIRE(t == Approx(1e-3 * std::pow(1.015, k)).epsilon(1e-12));
  }
  CHECK(geometric_ticks_until(1e-3, 1.015, 12.0) ==
        static_cast<std::size_t>(std::floor(std::log(12e3) / std::log(1.015))) + 1);
  CHECK(geometric_ticks_until(1e-3, 2, 1e-4) == 0);  // ends before the first tick
}

TEST_CASE("geometric update ticks: every update while r^k is dense, then r^k rounded up",
          "[eval][ticks]") {
  CHECK_FALSE(geometric_update_tick(2, 0));
  std::vector<std::uint64_t> doubling;
  for (std::uint64_t u = 1; u <= 100; ++u)
    if (geometric_update_tick(2, u)) doubling.push_back(u);
  CHECK(doubling == std::vector<std::uint64_t>{1, 2, 4, 8, 16, 32, 64});
  CHECK(geometric_update_ticks_until(2, 100) == doubling.size());
  // r = 1.015: the first ~67 updates each, then about 1.5% apart.
  std::set<std::uint64_t> ticks;
  for (std::uint64_t u = 1; u <= 5000; ++u)
    if (geometric_update_tick(1.015, u)) ticks.insert(u);
  for (std::uint64_t u = 1; u <= 60; ++u) CHECK(ticks.count(u) == 1);
  CHECK(ticks.size() == geometric_update_ticks_until(1.015, 5000));
  std::uint64_t prev = 0;
  for (std::uint64_t u : ticks) {
    if (prev >= 100) CHECK(static_cast<double>(u - prev) <= 0.016 * static_cast<double>(u) + 1);
    prev = u;
  }
}

TEST_CASE("the ticker takes the linear and the geometric ticks, restored from its next tick",
          "[eval][ticks][checkpoint]") {
  EvalSchedule s;
  s.every_s = 1.0;
  s.geometric_ratio = 2;
  s.geometric_from_s = 0.1;
  auto walk = [](EvalTicker t, int n) {
    std::vector<double> out;
    for (int i = 0; i < n; ++i) {
      out.push_back(t.next_time());
      t.skip_past(t.next_time());
    }
    return out;
  };
  const std::vector<double> ticks = walk(EvalTicker(s), 10);
  const std::vector<double> want = {0.1, 0.2, 0.4, 0.8, 1, 1.6, 2, 3, 3.2, 4};
  REQUIRE(ticks.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) CHECK(ticks[i] == Approx(want[i]));
  // A ticker restored at any of its ticks continues as the unbroken one did.
  for (std::size_t i = 0; i < ticks.size(); ++i) {
    EvalTicker restored(s);
    restored.restore_next_time(ticks[i]);
    const std::vector<double> rest = walk(restored, static_cast<int>(ticks.size() - i));
    CHECK(std::vector<double>(ticks.begin() + static_cast<long>(i), ticks.end()) == rest);
  }
  // Skipping far ahead is one step: the first tick of either kind after the time.
  EvalTicker far(s);
  far.skip_past(1000.5);
  CHECK(far.next_time() == Approx(1001));
  far.skip_past(1023);
  CHECK(far.next_time() == Approx(1024));  // the grid (the geometric ticks: 819.2, 1638.4)
  // Update ticks: the linear multiples and the geometric ones.
  EvalSchedule u;
  u.every_updates = 100;
  u.geometric_ratio = 2;
  u.geometric_updates = true;
  EvalTicker ut(u);
  std::vector<std::uint64_t> due;
  for (std::uint64_t n = 1; n <= 300; ++n)
    if (ut.update_due(n)) due.push_back(n);
  CHECK(due == std::vector<std::uint64_t>{1, 2, 4, 8, 16, 32, 64, 100, 128, 200, 256, 300});
}

TEST_CASE("thinning drops every other linear point and keeps the geometric ones",
          "[eval][memory]") {
  EvalSchedule s;
  s.every_s = 1.0 / 40;
  s.geometric_ratio = 1.015;
  s.geometric_from_s = 1e-3;
  // A curve as the virtual clock records it with an update between any two ticks: the
  // start and every tick of the schedule up to 1 s, each marked geometric or not.
  std::vector<CurvePoint> points{at(0, 0)};
  std::vector<char> geometric{0};
  EvalTicker ticker(s);
  double next_geo = s.geometric_from_s;
  while (ticker.next_time() <= 1.0) {
    const double t = ticker.next_time();
    points.push_back(at(t, points.size()));
    geometric.push_back(t == next_geo);
    if (t == next_geo) next_geo = next_geometric_tick(s.geometric_from_s, s.geometric_ratio, t);
    ticker.skip_past(t);
  }
  REQUIRE(points.size() > 300);  // ~ln(1000)/ln(1.015) geometric and 40 linear
  std::vector<std::size_t> linear;
  for (std::size_t i = 1; i + 1 < points.size(); ++i)
    if (!geometric[i]) linear.push_back(i);
  REQUIRE(linear.size() >= 30);

  const std::vector<std::size_t> kept = thin(points, s);
  std::set<std::size_t> in(kept.begin(), kept.end());
  CHECK(in.count(0) == 1);
  CHECK(in.count(points.size() - 1) == 1);
  for (std::size_t i = 0; i < points.size(); ++i)
    if (geometric[i]) CHECK(in.count(i) == 1);  // every geometric point stays
  for (std::size_t j = 0; j < linear.size(); ++j)
    CHECK(in.count(linear[j]) == (j % 2 == 0 ? 0u : 1u));  // the 1st, 3rd, ... linear go
  // A linear-only schedule halves as before: 0, 2, 4, ... and the newest.
  const std::vector<std::size_t> halved = thin(points, EvalSchedule{});
  for (std::size_t j = 0; j + 1 < halved.size(); ++j) CHECK(halved[j] == 2 * j);
  CHECK(halved.back() == points.size() - 1);
  // No linear point left: every other one.
  std::vector<CurvePoint> geo{at(0, 0)};
  for (int k = 0; k < 9; ++k) geo.push_back(at(1e-3 * std::pow(1.015, k), 0));
  CHECK(thin(geo, s) == std::vector<std::size_t>{0, 2, 4, 6, 8, 9});
}

TEST_CASE("geometric points are told from linear ones by their times and updates",
          "[eval][ticks]") {
  EvalSchedule s;
  s.geometric_ratio = 2;
  s.geometric_from_s = 0.1;
  CHECK(records_geometric_tick(s, at(0, 0), at(0.1, 1)));     // the tick at 0.1 itself
  CHECK(records_geometric_tick(s, at(0.1, 1), at(0.25, 2)));  // 0.2 fell in between
  CHECK_FALSE(records_geometric_tick(s, at(0.2, 2), at(0.35, 3)));
  s.geometric_updates = true;
  s.geometric_from_s = 0;
  CHECK(records_geometric_tick(s, at(0, 0), at(0.3, 1)));
  CHECK(records_geometric_tick(s, at(0, 5), at(1, 8)));
  CHECK_FALSE(records_geometric_tick(s, at(0, 9), at(1, 12)));
  CHECK_FALSE(records_geometric_tick(EvalSchedule{}, at(0, 0), at(1, 1)));
}
