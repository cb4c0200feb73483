// LearnerPool construction when a learner thread cannot start (review fix of c3e424c).
//
// A started learner waits for its first restart() in an InterruptibleSleep that a bare stop
// request does not wake. So when the N-th thread fails to start, the constructor must
// stop() the learners already running before it rethrows; otherwise unwinding destroys
// their std::jthreads, whose join never returns. The injected ThreadStarter is the only way
// to make a start fail on demand.
#include "worker/learner_pool.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <system_error>
#include <thread>
#include <vector>

#include "ps/gradient_inbox.h"
#include "ps/gradient_pool.h"
#include "ps/versioned_weights.h"
#include "delay/delay_model.h"

using namespace racesgd;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kLearners = 4;
constexpr int kFailingStart = 3;  // 0-based: learners 0..2 start, the 4th start throws

// Everything the pool borrows, on the heap: if the constructor hangs (the regression), the
// stuck thread keeps this alive after the test case has returned.
struct Rig {
  std::vector<float> w0 = std::vector<float>(1, 0.0f);
  VersionedWeights weights{w0, VersionedWeights::pool_size_for(2 * kLearners + 3)};
  GradientInbox inbox;
  GradientPool buffers{1};
  std::unique_ptr<DelayModel> delay = make_delay_model("none", DelayContext{kLearners, "."});
  std::atomic<int> calls{0};     // start_thread calls that returned a thread
  std::atomic<int> started{0};   // learner bodies that began running
  std::atomic<int> finished{0};  // learner bodies that returned
  std::promise<std::string> outcome;
};

}  // namespace

TEST_CASE("pool: a thread that fails to start stops and joins the learners already started",
          "[learner_pool][concurrency]") {
  auto rig = std::make_shared<Rig>();
  LearnerPoolConfig config;
  config.num_learners = kLearners;
  config.timing_only = true;
  config.t0 = std::chrono::steady_clock::now();
  const LearnerPoolDeps deps{&rig->weights, &rig->inbox,  &rig->buffers,
                            rig->delay.get(), nullptr,      nullptr};
  Rig* r = rig.get();
  const ThreadStarter start_thread = [r](std::function<void(std::stop_token)> body) {
    if (r->calls.load() == kFailingStart) {
      // Let the learners already started reach their wait for work, where only stop()'s
      // interrupt wakes them (a learner still starting up would see the stop request).
      while (r->started.load() < kFailingStart) std::this_thread::yield();
      std::this_thread::sleep_for(50ms);
      throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                              "test: thread start refused");
    }
    r->calls.fetch_add(1);
    return std::jthread([r, body = std::move(body)](std::stop_token st) {
      r->started.fetch_add(1);
      body(st);
      r->finished.fetch_add(1);
    });
  };

  auto done = rig->outcome.get_future();
  std::thread attempt([rig, config, deps, start_thread] {
    try {
      LearnerPool pool(config, deps, start_thread);
      rig->outcome.set_value("constructed");
    } catch (const std::system_error& e) {
      rig->outcome.set_value(e.what());
    }
  });
  // Generous: with the fix this takes the 50 ms above plus a join, even under a sanitizer.
  if (done.wait_for(60s) != std::future_status::ready) {
    attempt.detach();  // stuck in a join that never returns; the process exit ends it
    FAIL("the LearnerPool constructor did not return within 60 s after a thread failed to "
         "start: the learners already started were not stopped");
  }
  attempt.join();
  CHECK_THAT(done.get(), Catch::Contains("thread start refused"));
  CHECK(rig->calls.load() == kFailingStart);
  CHECK(rig->started.load() == kFailingStart);
  CHECK(rig->finished.load() == kFailingStart);  // joined, not left running
}
