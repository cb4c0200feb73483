// The clock offset between a learner rank and rank 0 (mpi/clock_sync.h): NTP's estimate
// from the exchange with the shortest round trip.
#include "mpi/clock_sync.h"

#include <catch2/catch.hpp>
#include <vector>

namespace racesgd {

TEST_CASE("clock offset: t2 - (t1 + t3) / 2 of the shortest round trip", "[mpi][clock]") {
  // Rank 0's clock is 1,000,000 ns ahead; the answer leaves rank 0 halfway through each
  // exchange. Exchanges 1 and 3 were delayed on one leg only (a slow reply, a slow
  // request): their midpoint is off, and they have the longer round trips.
  const std::vector<ClockSample> samples = {
      {100'000, 1'100'000 + 5'000, 100'000 + 30'000},   // rtt 30 us, reply slow: off by 10 us
      {200'000, 1'200'000 + 2'000, 200'000 + 4'000},    // rtt 4 us, symmetric: exact
      {300'000, 1'300'000 + 25'000, 300'000 + 30'000},  // rtt 30 us, request slow: off by 10 us
  };
  CHECK(clock_offset_ns(samples) == 1'000'000);
  // Alone, a lopsided sample is off by at most half its round trip.
  const std::vector<ClockSample> one = {samples[0]};
  CHECK(clock_offset_ns(one) == 1'000'000 - 10'000);
}

TEST_CASE("clock offset: a clock behind rank 0's, and large readings", "[mpi][clock]") {
  const std::int64_t big = 4'000'000'000'000'000'000;  // ~127 years in ns: no overflow
  const std::vector<ClockSample> samples = {{big, big - 7'000 + 500, big + 1'000}};
  CHECK(clock_offset_ns(samples) == -7'000);
}

}  // namespace racesgd
