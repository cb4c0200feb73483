#include "core/deadline.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/delay_cap.h"

using racesgd::deadline_after;
using Clock = std::chrono::steady_clock;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

TEST_CASE("deadline_after adds ordinary delays exactly", "[deadline]") {
  const Clock::time_point t0{Clock::duration(1'000'000'000)};
  CHECK(deadline_after(t0, 1.5) - t0 == std::chrono::milliseconds(1500));
  CHECK(deadline_after(t0, 2e-6) - t0 == std::chrono::microseconds(2));
  CHECK(deadline_after(t0, racesgd::kMaxDelaySeconds) - t0 ==
        std::chrono::seconds(static_cast<long long>(racesgd::kMaxDelaySeconds)));
}

TEST_CASE("deadline_after: NaN, infinity and huge delays mean never", "[deadline]") {
  const Clock::time_point now = Clock::now();
  const Clock::time_point never = Clock::time_point::max();
  CHECK(deadline_after(now, kInf) == never);
  CHECK(deadline_after(now, kNaN) == never);
  CHECK(deadline_after(now, 1e300) == never);
  // 1e13 s is past int64 nanoseconds: duration_cast used to wrap it into the past, so the
  // learner was served at once.
  CHECK(deadline_after(now, 1e13) == never);
  CHECK(deadline_after(now, 9.3e9) == never);
  // Late starts saturate too instead of overflowing start + d.
  const Clock::time_point late = never - std::chrono::seconds(1);
  CHECK(deadline_after(late, 0.5) == late + std::chrono::milliseconds(500));
  CHECK(deadline_after(late, 1.0) == never);
  CHECK(deadline_after(late, 2.0) == never);
  CHECK(deadline_after(never, 1e-9) == never);
}

TEST_CASE("deadline_after: zero and negative delays are due at once", "[deadline]") {
  const Clock::time_point now = Clock::now();
  CHECK(deadline_after(now, 0.0) == now);
  CHECK(deadline_after(now, -0.0) == now);
  CHECK(deadline_after(now, -1.0) == now);
  CHECK(deadline_after(now, -1e300) == now);
  CHECK(deadline_after(now, -kInf) == now);
}

TEST_CASE("deadline_after: a start before the clock's epoch does not overflow", "[deadline]") {
  const Clock::time_point earliest = Clock::time_point::min();
  CHECK(deadline_after(earliest, 1.0) == earliest + std::chrono::seconds(1));
  CHECK(deadline_after(earliest, 1e300) == Clock::time_point::max());
  const Clock::time_point before{Clock::duration(-5)};
  CHECK(deadline_after(before, 1e-9) == Clock::time_point{Clock::duration(-4)});
}

TEST_CASE("the delay clamp keeps draws in [0, cap] and hang infinite", "[deadline][cap]") {
  using racesgd::clamp_delay_seconds;
  using racesgd::kMaxDelaySeconds;
  CHECK(clamp_delay_seconds(0.25, false) == 0.25);
  CHECK(clamp_delay_seconds(kMaxDelaySeconds, false) == kMaxDelaySeconds);
  CHECK(clamp_delay_seconds(1e300, false) == kMaxDelaySeconds);
  CHECK(clamp_delay_seconds(1e300, true) == kMaxDelaySeconds);
  CHECK(clamp_delay_seconds(-1.0, false) == 0.0);
  CHECK(clamp_delay_seconds(-kInf, true) == 0.0);
  CHECK(clamp_delay_seconds(kInf, true) == kInf);               // hang: never finishes
  CHECK(clamp_delay_seconds(kInf, false) == kMaxDelaySeconds);  // overflow of a finite law
  CHECK(std::isnan(clamp_delay_seconds(kNaN, true)));           // the caller reports it
  // The cap keeps a virtual clock finite and fine-grained: 2^64 updates of K = 1024 capped
  // draws stay finite, and at the cap a double still resolves a nanosecond.
  CHECK(std::isfinite(18446744073709551616.0 * 1024 * kMaxDelaySeconds));
  CHECK(std::nextafter(kMaxDelaySeconds, kInf) - kMaxDelaySeconds < 1e-9);
}
