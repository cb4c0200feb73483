// ComputePlan (issue 13, just-in-time gradients): when inside its delay X a learner begins
// its computation, and the lead it learns from its own "plan to done" times. Every time
// point here is synthetic (an arbitrary origin plus offsets): nothing sleeps, nothing
// depends on the machine's speed.
#include "worker/compute_plan.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstddef>
#include <optional>

using namespace racesgd;
using namespace std::chrono_literals;
using Clock = ComputePlan::Clock;

namespace {

// Any fixed point will do; far from the clock's epoch so that "now - 1 s" stays valid.
const Clock::time_point kT0 = Clock::time_point(1000s);

// Records one computation that took `took` from its plan to its end.
void record_took(ComputePlan& plan, Clock::duration took, Clock::time_point at = kT0) {
  plan.record(at, at + took);
}

// The lead the header documents for a quantile q: q * kMarginFactor + kMarginFixed. The
// product goes through double seconds (as in the code), so it may be a tick off.
Clock::duration documented_lead(Clock::duration q) {
  const auto scaled = std::chrono::duration<double>(q) * ComputePlan::kMarginFactor;
  return std::chrono::duration_cast<Clock::duration>(scaled) +
         std::chrono::duration_cast<Clock::duration>(ComputePlan::kMarginFixed);
}

// Whether lead() is `want` within one tick (rounding of the double product).
bool lead_is(const ComputePlan& plan, Clock::duration want) {
  const std::optional<Clock::duration> got = plan.lead();
  if (!got) return false;
  const auto diff = *got > want ? *got - want : want - *got;
  return diff <= Clock::duration(1);
}

}  // namespace

TEST_CASE("compute plan: to_string and compute_at_from round-trip, unknown text is nullopt",
          "[compute_plan]") {
  for (ComputeAt at : {ComputeAt::start, ComputeAt::deadline}) {
    const std::optional<ComputeAt> back = compute_at_from(to_string(at));
    REQUIRE(back.has_value());
    CHECK(*back == at);
  }
  CHECK(to_string(ComputeAt::start) == "start");
  CHECK(to_string(ComputeAt::deadline) == "deadline");
  // Exact names only: no case folding, no prefixes, no padding.
  for (const char* bad : {"", "Start", "DEADLINE", "dead", "start ", "at-start", "nonsense"})
    CHECK_FALSE(compute_at_from(bad).has_value());
}

TEST_CASE("compute plan: ComputeAt::start always begins now", "[compute_plan]") {
  ComputePlan plan(ComputeAt::start);
  CHECK(plan.at() == ComputeAt::start);
  CHECK(plan.begin(kT0, kT0 + 10s) == kT0);
  for (int i = 0; i < 5; ++i) record_took(plan, 1ms);
  // A lead is learned, but the start mode ignores it: now, however far the deadline ...
  CHECK(plan.lead().has_value());
  CHECK(plan.begin(kT0, kT0 + 10s) == kT0);
  CHECK(plan.begin(kT0, kT0 + 100us) == kT0);
  CHECK(plan.begin(kT0, kT0 - 1s) == kT0);
  // ... and even for a learner that never pushes (it computes at once, as before issue 13).
  CHECK(plan.begin(kT0, Clock::time_point::max()) == kT0);
}

TEST_CASE("compute plan: before any record the deadline mode begins now", "[compute_plan]") {
  ComputePlan plan(ComputeAt::deadline);
  CHECK_FALSE(plan.lead().has_value());
  CHECK(plan.begin(kT0, kT0 + 10s) == kT0);
  CHECK(plan.begin(kT0, kT0) == kT0);
  CHECK(plan.begin(kT0, kT0 - 1s) == kT0);  // already late
}

TEST_CASE("compute plan: a due time of time_point::max() begins at max (never computes)",
          "[compute_plan]") {
  ComputePlan plan(ComputeAt::deadline);
  // Even before any measurement: a learner that never pushes never needs its gradient.
  CHECK(plan.begin(kT0, Clock::time_point::max()) == Clock::time_point::max());
  record_took(plan, 2ms);
  CHECK(plan.begin(kT0, Clock::time_point::max()) == Clock::time_point::max());
}

TEST_CASE("compute plan: deadline mode begins at due - lead, or now when that has passed",
          "[compute_plan]") {
  ComputePlan plan(ComputeAt::deadline);
  record_took(plan, 4ms);
  REQUIRE(plan.lead().has_value());
  const Clock::duration lead = *plan.lead();
  REQUIRE(lead_is(plan, documented_lead(4ms)));

  SECTION("due far: due - lead") {
    CHECK(plan.begin(kT0, kT0 + 10s) == kT0 + 10s - lead);
    CHECK(plan.begin(kT0, kT0 + lead + 1ns) == kT0 + 1ns);
  }
  SECTION("due closer than the lead (or exactly the lead away): now") {
    CHECK(plan.begin(kT0, kT0 + lead) == kT0);
    CHECK(plan.begin(kT0, kT0 + lead - 1ns) == kT0);  // not due - lead, which has passed
    CHECK(plan.begin(kT0, kT0 + lead * 3 / 4) == kT0);
    CHECK(plan.begin(kT0, kT0 + lead / 2) == kT0);
    CHECK(plan.begin(kT0, kT0) == kT0);
  }
  SECTION("due already past: now") { CHECK(plan.begin(kT0, kT0 - 5ms) == kT0); }
}

TEST_CASE("compute plan: lead() is a high quantile of the recent times x margin + fixed margin",
          "[compute_plan]") {
  ComputePlan plan(ComputeAt::deadline);

  SECTION("one record (fewer than kRank): that time") {
    record_took(plan, 3ms);
    CHECK(lead_is(plan, documented_lead(3ms)));
  }
  SECTION("1..20 ms in scrambled order, fewer than a full window: the largest") {
    constexpr int n = 20;  // 20 * kRank / kWindow = 1: the largest
    static_assert(n < static_cast<int>(ComputePlan::kWindow));
    for (int i = 0; i < n; ++i) {
      const int ms = (i * 7) % n + 1;  // 7 is coprime with 20: a permutation of 1..20
      record_took(plan, std::chrono::milliseconds(ms), kT0 + std::chrono::seconds(i));
    }
    CHECK(lead_is(plan, documented_lead(20ms)));
  }
  SECTION("1..32 ms in scrambled order, a full window: the kRank-th largest") {
    constexpr int n = static_cast<int>(ComputePlan::kWindow);
    for (int i = 0; i < n; ++i) {
      const int ms = (i * 7) % n + 1;  // 7 is coprime with 32: a permutation of 1..32
      record_took(plan, std::chrono::milliseconds(ms), kT0 + std::chrono::seconds(i));
    }
    const int want_ms = n - static_cast<int>(ComputePlan::kRank) + 1;
    CHECK(lead_is(plan, documented_lead(std::chrono::milliseconds(want_ms))));
  }
  SECTION("a time measured backwards (done before planned) counts as 0") {
    plan.record(kT0, kT0 - 5ms);
    CHECK(lead_is(plan, documented_lead(Clock::duration::zero())));
    CHECK(*plan.lead() > Clock::duration::zero());  // the fixed margin still applies
  }
  SECTION("the documented numbers: 2nd largest of 32, x 1.5 + 30 us; the largest of few") {
    // Spelled out once, so a change of the constants is a visible decision.
    CHECK(ComputePlan::kWindow == 32);
    CHECK(ComputePlan::kRank == 2);
    for (auto took : {1ms, 10ms, 2ms, 8ms}) record_took(plan, took);
    CHECK(lead_is(plan, 10ms * 3 / 2 + 30us));  // 15.03 ms: the largest of 4
    for (int i = 0; i < 28; ++i) record_took(plan, 1ms);  // a full window: 2nd largest
    CHECK(lead_is(plan, 8ms * 3 / 2 + 30us));  // 12.03 ms
  }
}

TEST_CASE("compute plan: only the last kWindow records count", "[compute_plan]") {
  constexpr std::size_t W = ComputePlan::kWindow;
  constexpr std::size_t R = ComputePlan::kRank;
  ComputePlan plan(ComputeAt::deadline);
  // A full window of slow computations, then fast ones, 1 ms, 2 ms, ..., one at a time.
  for (std::size_t i = 0; i < W; ++i) record_took(plan, 1s);
  CHECK(lead_is(plan, documented_lead(1s)));
  for (std::size_t fast = 1; fast <= W; ++fast) {
    record_took(plan, std::chrono::milliseconds(fast));
    const std::size_t slow_left = W - fast;
    INFO("fast records: " << fast << ", slow ones still in the window: " << slow_left);
    if (slow_left >= R) {
      CHECK(lead_is(plan, documented_lead(1s)));
    } else {
      // The kRank-th largest is now among the fast ones 1..fast ms.
      const auto want = std::chrono::milliseconds(fast - (R - slow_left) + 1);
      CHECK(lead_is(plan, documented_lead(want)));
    }
  }
  // Another full window later, the earliest fast ones have gone too.
  for (std::size_t i = 0; i < W; ++i) record_took(plan, 5ms);
  CHECK(lead_is(plan, documented_lead(5ms)));
}

TEST_CASE("compute plan: seconds_late is how long after due the computation ended",
          "[compute_plan]") {
  CHECK(seconds_late(kT0 + 1500ms, kT0 + 1s) == Approx(0.5));
  CHECK(seconds_late(kT0 + 1s, kT0 + 1s) == 0.0);
  CHECK(seconds_late(kT0, kT0 + 1s) == 0.0);  // early is in time, never negative
}
