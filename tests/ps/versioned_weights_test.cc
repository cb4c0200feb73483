#include "ps/versioned_weights.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <thread>
#include <vector>

#include "core/rng.h"
#include "ps/gradient_pool.h"
#include "tests/ps/stress_scale.h"

using racesgd::GradientBuffer;
using racesgd::GradientPool;
using racesgd::Rng;
using racesgd::Version;
using racesgd::VersionedWeights;
using Pin = VersionedWeights::Pin;

namespace {

std::vector<float> iota_weights(std::size_t n, float start) {
  std::vector<float> w(n);
  for (std::size_t i = 0; i < n; ++i) w[i] = start + static_cast<float>(i);
  return w;
}

// w_{v+1} = w_v + 1, the shape of a real update (reads current, writes dst).
auto plus_one = [](std::span<float> dst, std::span<const float> cur) {
  for (std::size_t i = 0; i < dst.size(); ++i) dst[i] = cur[i] + 1.0f;
};

// Versions stay exact as floats below 2^24; the stress writers stop publishing there.
constexpr std::size_t kMaxExactVersion = std::size_t{1} << 23;

bool all_equal(std::span<const float> w, float value) {
  for (float x : w)
    if (x != value) return false;
  return true;
}

}  // namespace

TEST_CASE("versioned weights: version 0 is w0", "[ps][versioned_weights]") {
  const auto w0 = iota_weights(37, 1.0f);
  VersionedWeights vw(w0, 3);
  CHECK(vw.dim() == 37);
  CHECK(vw.pool_size() == 3);
  CHECK(vw.latest_version() == 0);
  CHECK(vw.pinned_count() == 0);
  Pin p = vw.pin_latest();
  REQUIRE(p.valid());
  CHECK(p.version() == 0);
  CHECK(std::vector<float>(p.weights().begin(), p.weights().end()) == w0);
  CHECK(vw.pinned_count() == 1);
  p.reset();
  CHECK_FALSE(p.valid());
  CHECK(vw.pinned_count() == 0);
}

TEST_CASE("versioned weights: publish passes current, increments the version",
          "[ps][versioned_weights]") {
  VersionedWeights vw(std::vector<float>(10, 0.0f), 2);
  for (Version v = 1; v <= 50; ++v) {
    std::size_t dst_size = 0;
    const Version got = vw.publish([&](std::span<float> dst, std::span<const float> cur) {
      dst_size = dst.size();
      CHECK(all_equal(cur, static_cast<float>(v - 1)));
      CHECK(dst.data() != cur.data());
      plus_one(dst, cur);
    });
    CHECK(dst_size == 10);
    CHECK(got == v);
    CHECK(vw.latest_version() == v);
    Pin p = vw.pin_latest();
    CHECK(p.version() == v);
    CHECK(all_equal(p.weights(), static_cast<float>(v)));
  }
}

TEST_CASE("versioned weights: a pin keeps its snapshot intact across many publishes",
          "[ps][versioned_weights]") {
  const auto w0 = iota_weights(100, -5.0f);
  VersionedWeights vw(w0, 4);  // two pinned, current, one to write
  Pin old = vw.pin_latest();
  vw.publish(plus_one);
  Pin mid = vw.pin_latest();  // version 1
  for (int i = 0; i < 200; ++i) vw.publish(plus_one);
  CHECK(vw.latest_version() == 201);
  CHECK(old.version() == 0);
  CHECK(std::vector<float>(old.weights().begin(), old.weights().end()) == w0);
  CHECK(mid.version() == 1);
  CHECK(mid.weights()[0] == -4.0f);
  CHECK(mid.weights()[99] == 95.0f);
  CHECK(vw.pin_latest().weights()[0] == 196.0f);
}

TEST_CASE("versioned weights: try_publish reports an exhausted pool", "[ps][versioned_weights]") {
  VersionedWeights vw(std::vector<float>(8, 0.0f), 3);
  Pin p0 = vw.pin_latest();
  REQUIRE(vw.try_publish(plus_one) == std::optional<Version>(1));
  Pin p1 = vw.pin_latest();
  REQUIRE(vw.try_publish(plus_one) == std::optional<Version>(2));  // the third buffer
  // Current is 2, and the other two buffers are pinned (versions 0 and 1).
  bool called = false;
  CHECK_FALSE(vw.try_publish([&](std::span<float>, std::span<const float>) { called = true; })
                  .has_value());
  CHECK_FALSE(called);
  CHECK(vw.latest_version() == 2);
  CHECK(vw.pinned_count() == 2);
  p0.reset();
  CHECK(vw.try_publish(plus_one) == std::optional<Version>(3));
  CHECK(all_equal(p1.weights(), 1.0f));
  CHECK(all_equal(vw.pin_latest().weights(), 3.0f));
}

TEST_CASE("versioned weights: pins to the current version do not block publishing",
          "[ps][versioned_weights]") {
  VersionedWeights vw(std::vector<float>(8, 0.0f), 2);
  for (int i = 0; i < 10; ++i) {
    Pin a = vw.pin_latest();
    Pin b = vw.pin_latest();
    CHECK(vw.pinned_count() == 1);
    vw.publish(plus_one);  // the one non-current buffer is free
    CHECK(all_equal(a.weights(), static_cast<float>(i)));
  }
}

TEST_CASE("versioned weights: a moved pin keeps the snapshot, the moved-from one is empty",
          "[ps][versioned_weights]") {
  VersionedWeights vw(std::vector<float>(16, 0.0f), 3);
  Pin a = vw.pin_latest();
  Pin moved = std::move(a);
  CHECK_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): moved-from is specified empty
  REQUIRE(moved.valid());
  CHECK(moved.version() == 0);
  CHECK(vw.pinned_count() == 1);  // one pin, not two
  for (int i = 0; i < 20; ++i) vw.publish(plus_one);
  CHECK(all_equal(moved.weights(), 0.0f));
  Pin empty;
  CHECK_FALSE(empty.valid());
  moved = std::move(empty);  // releases version 0
  CHECK_FALSE(moved.valid());
  CHECK(vw.pinned_count() == 0);
}

TEST_CASE("versioned weights: the pool-size formula", "[ps][versioned_weights]") {
  constexpr std::size_t kLearners = 4;
  STATIC_REQUIRE(VersionedWeights::pool_size_for(2 * kLearners + 1) == 2 * kLearners + 3);
}

// One writer publishes w_{v+1} = w_v + 1 (every element of version v equals v) as fast as
// it can through a pool sized exactly by pool_size_for, until every reader has taken its
// quota of pins; readers pin, hold for a random while, and check that every element
// matches the pinned version before and after holding (a torn or overwritten snapshot
// fails), and that versions never go backwards. publish() CHECK-aborts if the formula
// were too small.
TEST_CASE("versioned weights: publish_in writes the new version into the gradient's storage",
          "[ps][versioned_weights]") {
  constexpr std::size_t kDim = 100;
  VersionedWeights vw(iota_weights(kDim, 0.0f), VersionedWeights::pool_size_for(1));
  GradientPool pool(kDim);
  GradientBuffer g = pool.acquire();
  for (std::size_t i = 0; i < kDim; ++i) g.data()[i] = 2.0f;
  const float* gradient_storage = g.data();
  Pin old = vw.pin_latest();
  const Version v = vw.publish_in(g, [](std::span<float> g_then_w, std::span<const float> cur) {
    for (std::size_t i = 0; i < g_then_w.size(); ++i) g_then_w[i] = cur[i] + g_then_w[i];
  });
  CHECK(v == 1);
  Pin now = vw.pin_latest();
  CHECK(now.weights().data() == gradient_storage);  // the snapshot took g's storage
  for (std::size_t i = 0; i < kDim; ++i) REQUIRE(now.weights()[i] == static_cast<float>(i) + 2.0f);
  // g holds a free buffer of the pool's kind now, neither snapshot's.
  REQUIRE(g.valid());
  CHECK(g.size() == kDim);
  CHECK(g.data() != gradient_storage);
  CHECK(g.data() != old.weights().data());
  CHECK(reinterpret_cast<std::uintptr_t>(g.data()) % 64 == 0);
  for (std::size_t i = 0; i < kDim; ++i) REQUIRE(old.weights()[i] == static_cast<float>(i));
  g.reset();  // the exchanged storage goes to the pool, which frees it at the end
  CHECK(pool.outstanding() == 0);

  // A fill that throws publishes nothing; the exchange stands, nothing leaks.
  GradientBuffer h = pool.acquire();
  CHECK_THROWS_AS(vw.publish_in(h, [](std::span<float>, std::span<const float>) { throw 7; }), int);
  CHECK(vw.latest_version() == 1);
  CHECK(vw.pin_latest().weights().data() == gradient_storage);
  h.reset();
  CHECK(pool.outstanding() == 0);
}

TEST_CASE("versioned weights: 1 writer / N readers checksum stress",
          "[ps][versioned_weights][concurrency]") {
  constexpr std::size_t kReaders = 4;
  // Small: the writer laps the pool fast, so a missing re-check would be caught often;
  // 1003: not a multiple of the cache-line stride, and a long window for torn reads.
  const std::size_t kDim = GENERATE(as<std::size_t>(), 16, 1003);
  // publish, or publish_in with a pooled "gradient" of ones: storage changes hands at
  // every update, so a reader that read a slot's storage pointer unprotected would fail.
  const bool in_gradient_storage = GENERATE(false, true);
  GradientPool pool(kDim);
  const std::size_t pins_per_reader = racesgd::test::scaled(kDim < 100 ? 50000 : 10000);
  // Each reader holds at most one pin, and pins only when holding nothing.
  VersionedWeights vw(std::vector<float>(kDim, 0.0f), VersionedWeights::pool_size_for(kReaders));
  std::atomic<std::size_t> readers_done{0};
  std::atomic<std::uint64_t> bad{0}, versions_seen{0};

  std::vector<std::thread> readers;
  for (std::size_t r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      Rng rng(1000 + r);
      Version last = 0;
      std::uint64_t local_bad = 0, local_seen = 0;
      for (std::size_t n = 0; n < pins_per_reader; ++n) {
        Pin p = vw.pin_latest();
        const Version v = p.version();
        const float expect = static_cast<float>(v);
        if (v < last) ++local_bad;
        if (v != last) ++local_seen;
        last = v;
        if (!all_equal(p.weights(), expect)) ++local_bad;
        if (rng.below(32) == 0) std::this_thread::yield();  // hold across a reschedule
        if (!all_equal(p.weights(), expect)) ++local_bad;  // overwritten while pinned?
      }
      bad.fetch_add(local_bad);
      versions_seen.fetch_add(local_seen);
      readers_done.fetch_add(1, std::memory_order_release);
    });
  }
  std::size_t published = 0;
  while (readers_done.load(std::memory_order_acquire) < kReaders) {
    if (published < kMaxExactVersion) {
      if (in_gradient_storage) {
        GradientBuffer g = pool.acquire();
        std::fill_n(g.data(), kDim, 1.0f);
        vw.publish_in(g, [](std::span<float> g_then_w, std::span<const float> cur) {
          for (std::size_t i = 0; i < g_then_w.size(); ++i) g_then_w[i] += cur[i];
        });
      } else {
        vw.publish(plus_one);
      }
      ++published;
    } else {
      std::this_thread::yield();
    }
  }
  for (auto& t : readers) t.join();
  INFO("dim " << kDim << (in_gradient_storage ? " (publish_in)" : "") << ": published "
                << published << ", readers saw "
                << versions_seen.load()
                    << " version changes");
  CHECK(bad.load() == 0);
  CHECK(vw.latest_version() == published);
  CHECK(all_equal(vw.pin_latest().weights(), static_cast<float>(published)));
  CHECK(vw.pinned_count() == 0);
}

// Readers that pin while already holding a pin on an older version (a learner whose last
// gradient still sits in the inbox), with the writer relying on try_publish: checks that
// a refused try_publish leaves everything consistent and that all pinned data stays intact.
TEST_CASE("versioned weights: readers holding two pins, writer on try_publish",
          "[ps][versioned_weights][concurrency]") {
  constexpr std::size_t kReaders = 3;
  constexpr std::size_t kDim = 64;
  const std::size_t pins_per_reader = racesgd::test::scaled(50000);
  // Each reader peaks at 2 (its older pin plus a new pin or a transient count). The pool
  // is one buffer short of pool_size_for(2 * kReaders), so try_publish may find none free.
  VersionedWeights vw(std::vector<float>(kDim, 0.0f),
                      VersionedWeights::pool_size_for(2 * kReaders) - 1);
  std::atomic<std::size_t> readers_done{0};
  std::atomic<std::uint64_t> bad{0};
  std::vector<std::thread> readers;
  for (std::size_t r = 0; r < kReaders; ++r) {
    readers.emplace_back([&] {
      Pin older;
      std::uint64_t local_bad = 0;
      for (std::size_t n = 0; n < pins_per_reader; ++n) {
        Pin p = vw.pin_latest();
        if (!all_equal(p.weights(), static_cast<float>(p.version()))) ++local_bad;
        if (older.valid() && older.version() > p.version()) ++local_bad;
        if (older.valid() && !all_equal(older.weights(), static_cast<float>(older.version())))
          ++local_bad;
        older = std::move(p);
      }
      bad.fetch_add(local_bad);
      readers_done.fetch_add(1, std::memory_order_release);
    });
  }
  std::size_t published = 0, refused = 0;
  while (readers_done.load(std::memory_order_acquire) < kReaders) {
    if (published >= kMaxExactVersion) {
      std::this_thread::yield();
    } else if (vw.try_publish(plus_one)) {
      ++published;
    } else {
      ++refused;
      std::this_thread::yield();
    }
  }
  for (auto& t : readers) t.join();
  INFO("published " << published << ", try_publish refused " << refused << " times");
  CHECK(bad.load() == 0);
  CHECK(vw.latest_version() == published);
  CHECK(all_equal(vw.pin_latest().weights(), static_cast<float>(published)));
  CHECK(vw.pinned_count() == 0);
}
