#include "core/host_steal.h"

#include <catch2/catch.hpp>

using namespace racesgd;

TEST_CASE("host steal: /proc/stat's cpu line sums the first eight fields, steal the eighth", "[host_steal]") {
  const auto t = parse_proc_stat_cpu("cpu  67064 0 9875 75931 1152 0 146 1611 7 3\n");
  REQUIRE(t);
  CHECK(t->total == 67064 + 9875 + 75931 + 1152 + 146 + 1611);  // guest fields not again
  CHECK(t->steal == 1611);
  const auto old = parse_proc_stat_cpu("cpu 10 20 30 40");  // a kernel without steal
  REQUIRE(old);
  CHECK(old->total == 100);
  CHECK(old->steal == 0);
}

TEST_CASE("host steal: other lines and malformed ones are refused", "[host_steal]") {
  CHECK_FALSE(parse_proc_stat_cpu("cpu0 1 2 3 4 5 6 7 8"));
  CHECK_FALSE(parse_proc_stat_cpu("intr 1 2 3"));
  CHECK_FALSE(parse_proc_stat_cpu("cpu  1 2 x 4"));
  CHECK_FALSE(parse_proc_stat_cpu("cpu  1 2 3"));
  CHECK_FALSE(parse_proc_stat_cpu("cpu  1 2 3 4-5"));
  CHECK_FALSE(parse_proc_stat_cpu(""));
}

TEST_CASE("host steal: the share stolen between two readings", "[host_steal]") {
  const MachineCpuTicks a{1000, 10};
  CHECK(*steal_fraction(a, MachineCpuTicks{1200, 60}) == Approx(0.25));
  CHECK(*steal_fraction(a, MachineCpuTicks{1100, 10}) == 0.0);
  CHECK_FALSE(steal_fraction(a, a));                         // no time passed
  CHECK_FALSE(steal_fraction(a, MachineCpuTicks{900, 10}));  // counters went back
  CHECK_FALSE(steal_fraction(a, MachineCpuTicks{1100, 5}));
}

TEST_CASE("host steal: this machine's counters read, and a second reading is not behind", "[host_steal]") {
  const auto a = machine_cpu_ticks();
  REQUIRE(a);  // Linux: /proc/stat is there
  CHECK(a->total > 0);
  const auto b = machine_cpu_ticks();
  REQUIRE(b);
  CHECK(b->total >= a->total);
  CHECK(b->steal >= a->steal);
}
