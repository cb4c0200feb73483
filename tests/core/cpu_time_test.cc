#include "core/cpu_time.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

using racesgd::process_cpu_time;
using racesgd::thread_cpu_time;
using namespace std::chrono_literals;

namespace {
// Spins on this thread until it has used `cpu` of CPU time (by its own clock).
void spin_for_cpu(std::chrono::nanoseconds cpu) {
  const std::chrono::nanoseconds start = thread_cpu_time().value();
  while (thread_cpu_time().value() - start < cpu) {
  }
}
}  // namespace

TEST_CASE("cpu time: a spinning thread's CPU time grows, a sleeping thread's barely does", "[cpu_time]") {
  const std::chrono::nanoseconds t0 = thread_cpu_time().value();
  const std::chrono::nanoseconds p0 = process_cpu_time().value();
  spin_for_cpu(20ms);
  const std::chrono::nanoseconds t1 = thread_cpu_time().value();
  CHECK(t1 - t0 >= 20ms);
  // The process's clock counts this thread's CPU time too.
  CHECK(process_cpu_time().value() - p0 >= 20ms);
  std::this_thread::sleep_for(100ms);
  CHECK(thread_cpu_time().value() - t1 < 50ms);  // one-sided: only a spin could break it
}

TEST_CASE("cpu time: the thread clock is this thread's, not the others'", "[cpu_time]") {
  const std::chrono::nanoseconds mine = thread_cpu_time().value();
  std::chrono::nanoseconds other_used{};
  std::thread other([&] {
    const std::chrono::nanoseconds start = thread_cpu_time().value();
    spin_for_cpu(30ms);
    other_used = thread_cpu_time().value() - start;
  });
  other.join();  // this thread blocks meanwhile
  CHECK(other_used >= 30ms);
  CHECK(thread_cpu_time().value() - mine < 25ms);
}
