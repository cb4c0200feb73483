// Behaviour of InterruptibleSleep. No test asserts how precise a sleep is (that is machine
// load, measured in bench/micro/delay_bench.cc); bounds here are one-sided and generous.
// The CPU-time bound (a spin of 0 blocks) is one-sided too: only spinning could break it.
#include "worker/interruptible_sleep.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "core/cpu_time.h"

using racesgd::InterruptibleSleep;
using racesgd::thread_cpu_time;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

TEST_CASE("sleep: reaching the deadline returns true, never early", "[sleep]") {
  InterruptibleSleep s;
  for (auto spin : {0us, 50us, 150us}) {
    s.set_spin(spin);
    for (auto request : {0us, 100us, 1000us, 3000us}) {
      const auto start = Clock::now();
      const auto deadline = start + request;
      CHECK(s.sleep_until(deadline));
      CHECK(Clock::now() >= deadline);
    }
  }
  CHECK(s.sleep_until(Clock::now() - 1s));  // a past deadline returns at once
}

TEST_CASE("sleep: the call's own spin -- never early, and the object's spin stays", "[sleep]") {
  InterruptibleSleep s;
  s.set_spin(1ms);
  for (auto spin : {0us, 50us, 150us, 10000us}) {
    for (auto request : {0us, 100us, 3000us}) {
      const auto deadline = Clock::now() + request;
      CHECK(s.sleep_until(deadline, spin));
      CHECK(Clock::now() >= deadline);
    }
  }
  CHECK(s.spin() == 1ms);  // the overload does not change the object's setting
  CHECK(s.sleep_until(Clock::now() - 1s, 0us));
}

TEST_CASE("sleep: a spin of 0 blocks for the whole wait, whatever the object's spin",
          "[sleep]") {
  // The just-in-time learner waits for its compute time this way (worker/learner_pool.cc):
  // a 300 ms wait must not burn a core even though the object would spin for 1 s. A
  // blocked thread uses next to no CPU; 150 ms leaves room for any sanitizer or load (a
  // spinning thread could only look cheaper when preempted, never dearer when blocked).
  InterruptibleSleep s;
  s.set_spin(1s);
  const auto cpu0 = thread_cpu_time().value();
  const auto deadline = Clock::now() + 300ms;
  CHECK(s.sleep_until(deadline, 0us));
  CHECK(Clock::now() >= deadline);
  CHECK(thread_cpu_time().value() - cpu0 < 150ms);
}

TEST_CASE("sleep: the interrupt flag is sticky until clear()", "[sleep]") {
  InterruptibleSleep s;
  CHECK_FALSE(s.interrupted());
  s.interrupt();
  CHECK(s.interrupted());
  CHECK_FALSE(s.sleep_until(Clock::now() + 10s));  // returns at once: flag already set
  CHECK_FALSE(s.sleep_until(Clock::time_point::max()));
  CHECK(s.interrupted());
  s.clear();
  CHECK_FALSE(s.interrupted());
  CHECK(s.sleep_until(Clock::now() + 200us));
}

TEST_CASE("sleep: interrupt wakes a sleeper blocked on a far deadline", "[sleep][concurrency]") {
  InterruptibleSleep s;
  std::atomic<bool> result{true};
  Clock::duration slept{};
  std::thread sleeper([&] {
    const auto start = Clock::now();
    result.store(s.sleep_until(start + 10s), std::memory_order_relaxed);
    slept = Clock::now() - start;
  });
  std::this_thread::sleep_for(10ms);
  s.interrupt();
  sleeper.join();
  CHECK_FALSE(result.load(std::memory_order_relaxed));
  CHECK(slept < 5s);  // far below the 10 s deadline; generous so load cannot flake it
}

TEST_CASE("sleep: interrupt ends the spin phase too", "[sleep][concurrency]") {
  InterruptibleSleep s;
  s.set_spin(10s);  // the whole wait is a spin
  std::atomic<bool> result{true};
  std::thread sleeper([&] { result.store(s.sleep_until(Clock::now() + 5s)); });
  std::this_thread::sleep_for(10ms);
  s.interrupt();
  sleeper.join();
  CHECK_FALSE(result.load());
}

TEST_CASE("sleep: interrupt wakes a blocking wait with the call's own spin of 0",
          "[sleep][concurrency]") {
  InterruptibleSleep s;
  std::atomic<bool> result{true};
  std::thread sleeper([&] { result.store(s.sleep_until(Clock::now() + 10s, 0us)); });
  std::this_thread::sleep_for(10ms);
  s.interrupt();
  sleeper.join();  // a lost wake-up would take the whole 10 s here
  CHECK_FALSE(result.load());
}

TEST_CASE("sleep: a max() deadline waits for the interrupt only", "[sleep][concurrency]") {
  InterruptibleSleep s;
  std::atomic<bool> returned{false};
  std::atomic<bool> result{true};
  std::thread sleeper([&] {
    result.store(s.sleep_until(Clock::time_point::max()));
    returned.store(true);
  });
  std::this_thread::sleep_for(30ms);
  CHECK_FALSE(returned.load());  // nothing but interrupt() may end this wait
  s.interrupt();
  sleeper.join();
  CHECK(returned.load());
  CHECK_FALSE(result.load());
}

TEST_CASE("sleep: no interrupt is lost across many wait/interrupt/clear rounds",
          "[sleep][concurrency]") {
  // Ping-pong: the sleeper clears, announces the round, and waits; the main thread
  // interrupts once per announced round. A lost wake-up would show as a wait that ran to
  // its (5 s) deadline and returned true.
  InterruptibleSleep s;
  constexpr int kRounds = 300;
  std::atomic<int> ready{0};
  std::atomic<int> timed_out{0};
  std::thread sleeper([&] {
    for (int i = 0; i < kRounds; ++i) {
      s.clear();
      ready.store(i + 1, std::memory_order_release);
      if (s.sleep_until(i % 2 ? Clock::time_point::max() : Clock::now() + 5s))
        timed_out.fetch_add(1, std::memory_order_relaxed);
    }
  });
  for (int i = 0; i < kRounds; ++i) {
    while (ready.load(std::memory_order_acquire) < i + 1) std::this_thread::yield();
    s.interrupt();
  }
  sleeper.join();
  CHECK(timed_out.load() == 0);
}
