#include "ps/gradient_inbox.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "tests/ps/stress_scale.h"

using racesgd::GradientInbox;
using racesgd::GradientMessage;
using racesgd::GradientPool;
using racesgd::VersionedWeights;
using Clock = std::chrono::steady_clock;

namespace {
// Far enough that reaching it means the wake-up under test never happened.
constexpr auto kFar = std::chrono::seconds(30);
}  // namespace

TEST_CASE("gradient inbox: FIFO, fields and ownership travel", "[ps][gradient_inbox]") {
  VersionedWeights vw(std::vector<float>(4, 0.0f), 3);
  GradientPool pool(4);
  GradientInbox inbox;
  GradientMessage out;
  CHECK_FALSE(inbox.try_pop(out));
  for (std::uint64_t k = 0; k < 5; ++k) {
    GradientMessage m;
    m.learner = 7;
    m.ticket = k;
    m.read_version = 0;
    m.batch_size = 32;
    m.t_start = 1.5;
    m.loss = 0.25;
    m.pin = vw.pin_latest();
    m.grad = pool.acquire();
    m.grad.data()[3] = static_cast<float>(k);
    inbox.push(std::move(m));
    CHECK_FALSE(m.pin.valid());  // NOLINT(bugprone-use-after-move): moved-from is empty
  }
  CHECK(inbox.size_approx() == 5);
  CHECK(vw.pinned_count() == 1);
  for (std::uint64_t k = 0; k < 5; ++k) {
    REQUIRE(inbox.try_pop(out));
    CHECK(out.learner == 7);
    CHECK(out.ticket == k);
    CHECK(out.batch_size == 32);
    CHECK(out.t_start == 1.5);
    CHECK(out.loss == 0.25);
    CHECK(out.pin.version() == 0);
    CHECK(out.grad.data()[3] == static_cast<float>(k));
  }
  CHECK_FALSE(inbox.try_pop(out));
  CHECK(inbox.size_approx() == 0);
  out = GradientMessage();
  CHECK(vw.pinned_count() == 0);
  CHECK(pool.outstanding() == 0);
}

TEST_CASE("gradient inbox: messages left in the inbox release pin and buffer",
          "[ps][gradient_inbox]") {
  VersionedWeights vw(std::vector<float>(4, 0.0f), 2);
  GradientPool pool(4);
  {
    GradientInbox inbox;
    GradientMessage m;
    m.pin = vw.pin_latest();
    m.grad = pool.acquire();
    inbox.push(std::move(m));
    CHECK(vw.pinned_count() == 1);
    CHECK(pool.outstanding() == 1);
  }
  CHECK(vw.pinned_count() == 0);
  CHECK(pool.outstanding() == 0);
}

TEST_CASE("gradient inbox: pop_until returns false at the deadline when empty",
          "[ps][gradient_inbox]") {
  GradientInbox inbox;
  GradientMessage out;
  const auto deadline = Clock::now() + std::chrono::milliseconds(20);
  CHECK_FALSE(inbox.pop_until(out, deadline));
  CHECK(Clock::now() >= deadline);
  CHECK_FALSE(inbox.pop_until(out, Clock::now() - std::chrono::seconds(1)));  // already past
}

TEST_CASE("gradient inbox: a wake() before waiting is remembered once, messages win",
          "[ps][gradient_inbox]") {
  GradientInbox inbox;
  GradientMessage out;
  inbox.wake();
  const auto far = Clock::now() + kFar;
  CHECK_FALSE(inbox.pop_until(out, far));
  CHECK(Clock::now() < far);  // returned because of the wake, not the deadline
  const auto soon = Clock::now() + std::chrono::milliseconds(10);
  CHECK_FALSE(inbox.pop_until(out, soon));
  CHECK(Clock::now() >= soon);  // the wake was consumed

  inbox.wake();
  GradientMessage m;
  m.ticket = 42;
  inbox.push(std::move(m));
  REQUIRE(inbox.pop_until(out, Clock::now() + kFar));
  CHECK(out.ticket == 42);
}

TEST_CASE("gradient inbox: a blocked consumer is woken by push and by wake",
          "[ps][gradient_inbox][concurrency]") {
  GradientInbox inbox;
  std::atomic<int> phase{0};
  bool got_message = false, woke_empty = true;
  bool before_deadline_1 = false, before_deadline_2 = false;
  std::uint64_t seq = 0;
  std::thread consumer([&] {
    GradientMessage out;
    auto far = Clock::now() + kFar;
    phase.store(1);
    got_message = inbox.pop_until(out, far);
    before_deadline_1 = Clock::now() < far;
    seq = out.ticket;
    far = Clock::now() + kFar;
    phase.store(2);
    woke_empty = inbox.pop_until(out, far);
    before_deadline_2 = Clock::now() < far;
  });
  while (phase.load() != 1) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let it fall asleep (or not)
  GradientMessage m;
  m.ticket = 9;
  inbox.push(std::move(m));
  while (phase.load() != 2) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  inbox.wake();
  consumer.join();
  CHECK(got_message);
  CHECK(seq == 9);
  CHECK(before_deadline_1);
  CHECK_FALSE(woke_empty);
  CHECK(before_deadline_2);
}

// N producers x M messages: every message arrives exactly once and each producer's
// messages arrive in the order it pushed them. The consumer blocks in pop_until, so
// producers exercise both the sleeping and the running-consumer paths.
TEST_CASE("gradient inbox: MPSC stress, exactly once and per-producer FIFO",
          "[ps][gradient_inbox][concurrency]") {
  constexpr std::size_t kProducers = 4;
  const std::size_t per_producer = racesgd::test::scaled(25000);
  VersionedWeights vw(std::vector<float>(8, 0.0f), 2);
  GradientPool pool(8);
  GradientInbox inbox;
  std::vector<std::thread> producers;
  for (std::size_t p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (std::size_t k = 0; k < per_producer; ++k) {
        GradientMessage m;
        m.learner = p;
        m.ticket = k;
        m.pin = vw.pin_latest();
        m.grad = pool.acquire();
        m.grad.data()[0] = static_cast<float>(p);
        m.grad.data()[7] = static_cast<float>(k % 4096);
        inbox.push(std::move(m));
        if (k % 1024 == 0) std::this_thread::yield();  // let the consumer drain and sleep
      }
    });
  }
  std::vector<std::uint64_t> next(kProducers, 0);
  std::size_t received = 0, out_of_order = 0, corrupt = 0, timeouts = 0;
  GradientMessage out;
  while (received < kProducers * per_producer && timeouts < 200) {
    if (!inbox.pop_until(out, Clock::now() + std::chrono::milliseconds(100))) {
      ++timeouts;
      continue;
    }
    ++received;
    const std::size_t p = out.learner;
    if (p >= kProducers || out.ticket != next[p]) {
      ++out_of_order;
    } else {
      ++next[p];
    }
    if (out.grad.data()[0] != static_cast<float>(p) ||
        out.grad.data()[7] != static_cast<float>(out.ticket % 4096) || out.pin.version() != 0)
      ++corrupt;
  }
  for (auto& t : producers) t.join();
  out = GradientMessage();
  CHECK(received == kProducers * per_producer);
  CHECK(out_of_order == 0);
  CHECK(corrupt == 0);
  for (std::size_t p = 0; p < kProducers; ++p) CHECK(next[p] == per_producer);
  CHECK_FALSE(inbox.try_pop(out));
  CHECK(inbox.size_approx() == 0);
  CHECK(vw.pinned_count() == 0);
  CHECK(pool.outstanding() == 0);
}

// The poll window (issue 13): inside it the consumer polls instead of sleeping; messages,
// wake() and the deadline keep their meaning before, inside and after it.
TEST_CASE("gradient inbox: a message pushed inside the poll window is taken",
          "[ps][gradient_inbox]") {
  GradientInbox inbox;
  const Clock::time_point now = Clock::now();
  std::jthread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    GradientMessage m;
    m.ticket = 9;
    inbox.push(std::move(m));
  });
  GradientMessage out;
  // Polls from now until 30 s from now: the push comes inside.
  REQUIRE(inbox.pop_until(out, now + kFar, GradientInbox::PollWindow{now, now + kFar}));
  CHECK(out.ticket == 9);
}

TEST_CASE("gradient inbox: wake() ends a poll, before or inside the window",
          "[ps][gradient_inbox]") {
  for (const bool inside : {false, true}) {
    INFO((inside ? "inside the window" : "before the window"));
    GradientInbox inbox;
    const Clock::time_point now = Clock::now();
    const GradientInbox::PollWindow window =
        inside ? GradientInbox::PollWindow{now, now + kFar} : GradientInbox::PollWindow{now + kFar / 2, now + kFar};
    std::jthread waker([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      inbox.wake();
    });
    GradientMessage out;
    CHECK_FALSE(inbox.pop_until(out, now + kFar, window));
    CHECK(Clock::now() < now + kFar / 2);  // woken, not timed out
  }
}

TEST_CASE("gradient inbox: with a poll window, messages win over a pending wake and the deadline holds",
          "[ps][gradient_inbox]") {
  GradientInbox inbox;
  GradientMessage m;
  m.ticket = 4;
  inbox.push(std::move(m));
  inbox.wake();
  const Clock::time_point now = Clock::now();
  GradientMessage out;
  REQUIRE(inbox.pop_until(out, now + kFar, GradientInbox::PollWindow{now, now + kFar}));
  CHECK(out.ticket == 4);
  // The wake is still pending: the next call returns false at once.
  CHECK_FALSE(inbox.pop_until(out, now + kFar, GradientInbox::PollWindow{now, now + kFar}));
  // A window past the deadline ends at the deadline; one already over changes nothing.
  const Clock::time_point soon = Clock::now() + std::chrono::milliseconds(20);
  CHECK_FALSE(inbox.pop_until(out, soon, GradientInbox::PollWindow{soon - std::chrono::milliseconds(10), soon + kFar}));
  CHECK(Clock::now() >= soon);
  CHECK(Clock::now() < soon + kFar / 2);
  const Clock::time_point later = Clock::now() + std::chrono::milliseconds(20);
  CHECK_FALSE(inbox.pop_until(out, later, GradientInbox::PollWindow{now - kFar, now - kFar / 2}));
  CHECK(Clock::now() >= later);
}

TEST_CASE("gradient inbox: a deadline already passed returns at once, consuming a pending wake",
          "[ps][gradient_inbox]") {
  GradientInbox inbox;
  GradientMessage out;
  const Clock::time_point past = Clock::now() - std::chrono::milliseconds(1);
  inbox.wake();
  CHECK_FALSE(inbox.pop_until(out, past));  // the wake is taken here...
  std::jthread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    GradientMessage m;
    m.ticket = 3;
    inbox.push(std::move(m));
  });
  // ...so this wait is not ended by it, and gets the message.
  REQUIRE(inbox.pop_until(out, Clock::now() + kFar));
  CHECK(out.ticket == 3);
  // A message already there wins over a passed deadline.
  GradientMessage m;
  m.ticket = 5;
  inbox.push(std::move(m));
  REQUIRE(inbox.pop_until(out, past));
  CHECK(out.ticket == 5);
}
