// set_thread_batch_scheduling: the calling thread only, and only where Linux allows it.
#include "worker/batch_scheduling.h"

#include <catch2/catch.hpp>
#include <thread>

using racesgd::set_thread_batch_scheduling;
using racesgd::thread_batch_scheduled;

TEST_CASE("batch scheduling is a per-thread setting", "[batch_scheduling][concurrency]") {
  const bool before = thread_batch_scheduled();
  bool set = false, batch_there = false;
  std::thread t([&] {
    set = set_thread_batch_scheduling();
    batch_there = thread_batch_scheduled();
  });
  t.join();
  CHECK(batch_there == set);  // in force where it was accepted
#if defined(__linux__)
  CHECK(set);  // an unprivileged thread may always choose SCHED_BATCH for itself
#endif
  CHECK(thread_batch_scheduled() == before);  // not this thread
}
