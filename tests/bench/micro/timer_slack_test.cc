// The timer-slack helpers: bench_delay's, and the learners' and the real runtime's PS thread's.
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

TEST_CASE("scoped timer slack: set for the scope, the caller's restored after", "[timer_slack][concurrency]") {
  using racesgd::ScopedTimerSlack;
  using racesgd::set_thread_timer_slack;
  using racesgd::thread_timer_slack;
  std::chrono::nanoseconds in_scope{}, in_inner{}, after_inner{}, after{};
  bool set_ok = false;
  std::thread t([&] {
    set_ok = set_thread_timer_slack(7000ns);  // the caller's own choice, not the default
    {
      const ScopedTimerSlack slack(1000ns);
      in_scope = thread_timer_slack();
      {
        const ScopedTimerSlack inner(3000ns);
        in_inner = thread_timer_slack();
      }
      after_inner = thread_timer_slack();
    }
    after = thread_timer_slack();
  });
  t.join();
  REQUIRE(set_ok);
  CHECK(in_scope == 1000ns);
  CHECK(in_inner == 3000ns);
  CHECK(after_inner == 1000ns);
  CHECK(after == 7000ns);
}
