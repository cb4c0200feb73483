// The benchmark-only timer-slack helpers bench_delay uses.
#include "worker/timer_slack.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

using namespace std::chrono_literals;

TEST_CASE("timer slack is a per-thread setting", "[timer_slack][concurrency]") {
  using racesgd::set_thread_timer_slack;
  using racesgd::thread_timer_slack;
  const auto before = thread_timer_slack();
  REQUIRE(before.count() > 0);
  // Catch2 assertions stay on the main thread; the helper thread only records.
  std::chrono::nanoseconds inside{};
  bool set_ok = false, zero_rejected = false;
  std::thread t([&] {
    set_ok = set_thread_timer_slack(1000ns);
    inside = thread_timer_slack();
    zero_rejected = !set_thread_timer_slack(0ns);
  });
  t.join();
  CHECK(set_ok);
  CHECK(zero_rejected);
  CHECK(inside == 1000ns);
  CHECK(thread_timer_slack() == before);  // the main thread is untouched
}
