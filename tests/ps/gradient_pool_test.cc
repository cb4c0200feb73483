#include "ps/gradient_pool.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <thread>
#include <vector>

#include "ps/gradient_inbox.h"
#include "tests/ps/stress_scale.h"

using racesgd::GradientBuffer;
using racesgd::GradientInbox;
using racesgd::GradientMessage;
using racesgd::GradientPool;

TEST_CASE("gradient pool: buffers have dim floats, are aligned, and recycle",
          "[ps][gradient_pool]") {
  GradientPool pool(1000, 2);
  CHECK(pool.dim() == 1000);
  CHECK(pool.allocations() == 2);
  CHECK(pool.outstanding() == 0);
  GradientBuffer a = pool.acquire();
  GradientBuffer b = pool.acquire();
  REQUIRE(a.valid());
  CHECK(a.size() == 1000);
  CHECK(a.span().size() == 1000);
  CHECK(reinterpret_cast<std::uintptr_t>(a.data()) % 64 == 0);
  CHECK(a.data() != b.data());
  CHECK(pool.allocations() == 2);
  CHECK(pool.outstanding() == 2);
  GradientBuffer c = pool.acquire();  // pool empty: allocates
  CHECK(pool.allocations() == 3);
  for (float& x : c.span()) x = 1.0f;  // whole buffer writable
  c.reset();
  CHECK_FALSE(c.valid());
  a.reset();
  CHECK(pool.outstanding() == 1);
  { GradientBuffer moved = std::move(b); }  // destruction returns it too
  CHECK(pool.outstanding() == 0);
  for (int i = 0; i < 100; ++i) {
    GradientBuffer x = pool.acquire();
    GradientBuffer y = pool.acquire();
    GradientBuffer z = pool.acquire();
  }
  CHECK(pool.allocations() == 3);  // steady state: nothing new
}

// P producers with at most kCredits gradients each in flight, through the inbox, to one
// consumer that drops them (recycling the buffers): total allocations stay bounded by the
// in-flight maximum however many messages pass, i.e. steady state allocates nothing.
TEST_CASE("gradient pool: learners -> inbox -> PS recycling allocates nothing after warm-up",
          "[ps][gradient_pool][concurrency]") {
  constexpr std::size_t kProducers = 3;
  constexpr int kCredits = 2;
  const std::size_t per_producer = racesgd::test::scaled(20000);
  GradientPool pool(257);
  GradientInbox inbox;
  std::vector<std::atomic<int>> in_flight(kProducers);
  std::vector<std::thread> producers;
  for (std::size_t p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (std::size_t k = 0; k < per_producer; ++k) {
        while (in_flight[p].load(std::memory_order_acquire) >= kCredits)
          std::this_thread::yield();
        in_flight[p].fetch_add(1, std::memory_order_relaxed);
        GradientMessage m;
        m.learner = p;
        m.grad = pool.acquire();
        m.grad.data()[0] = static_cast<float>(k);
        inbox.push(std::move(m));
      }
    });
  }
  std::size_t received = 0;
  GradientMessage m;
  while (received < kProducers * per_producer) {
    if (!inbox.pop_until(m, std::chrono::steady_clock::now() + std::chrono::milliseconds(50)))
      continue;
    ++received;
    const std::size_t w = m.learner;
    m = GradientMessage();  // buffer back to the pool before the credit is returned
    in_flight[w].fetch_sub(1, std::memory_order_release);
  }
  for (auto& t : producers) t.join();
  CHECK(pool.outstanding() == 0);
  CHECK(pool.allocations() <= kProducers * kCredits);
  CHECK(pool.allocations() >= 1);
}
