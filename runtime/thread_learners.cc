#include "runtime/thread_learners.h"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "core/cpu_time.h"

namespace racesgd {

namespace {
LearnerPoolDeps with_channel(LearnerPoolDeps deps, GradientInbox& inbox, GradientPool& buffers) {
  deps.inbox = &inbox;
  deps.buffers = &buffers;
  return deps;
}
}  // namespace

ThreadLearners::ThreadLearners(const LearnerPoolConfig& config, LearnerPoolDeps deps,
                               std::size_t dim)
    : buffers_(dim, 2 * config.num_learners + 3),
      pool_(config, with_channel(deps, inbox_, buffers_)) {}

namespace {

// The cores this process may run on (its affinity mask: taskset, a cpuset container), not
// the host's; at least 1.
unsigned usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    return static_cast<unsigned>(std::max(1, CPU_COUNT(&set)));
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

bool ThreadLearners::poll_allowed(Clock::time_point now) {
  if (now - cpu_checked_ < kCpuWindow) return poll_;
  const std::optional<std::chrono::nanoseconds> process = process_cpu_time();
  const std::optional<std::chrono::nanoseconds> own = thread_cpu_time();
  if (!process || !own) {
    poll_ = false;  // cannot tell: never take a core that may be needed
  } else if (process_cpu_ && own_cpu_) {
    // What the other threads used is what they asked for: the PS's poll yields the core
    // to any of them that is runnable, so its polling does not hide their demand.
    const double wall = std::chrono::duration<double>(now - cpu_checked_).count();
    const double others =
        std::chrono::duration<double>((*process - *process_cpu_) - (*own - *own_cpu_)).count();
    static const unsigned cores = usable_cores();
    // One core: the PS never has one of its own, so it never polls.
    poll_ = cores > 1 && others < kPollBelowCpuShare * (cores - 1) * wall;
  }
  cpu_checked_ = now;
  process_cpu_ = process;
  own_cpu_ = own;
  return poll_;
}

bool ThreadLearners::receive_until(GradientMessage& out, Clock::time_point deadline) {
  while (true) {
    // This thread's own work first (a gradient it computed now due goes into the inbox),
    // then wait for a gradient until the deadline or the next own work, polling around
    // whichever comes first. Own work is this thread's to be on time for: it polls for it
    // even while the learners keep the cores busy (without yielding, when it has a core
    // to itself: a yield could hand the core to a learner for a whole computation).
    pool_.do_own_work();
    const Clock::time_point own = pool_.own_work_at();
    const Clock::time_point until = std::min(deadline, own);
    const Clock::time_point now = Clock::now();
    const Clock::time_point due = pool_.next_due(now - kPollAfter);
    static const unsigned cores = usable_cores();
    GradientInbox::Waited w{};
    if (own != Clock::time_point::max() && own <= due) {
      // Keeping the core through the window only while another is left to the learners.
      w = inbox_.wait_until(out, until, GradientInbox::PollWindow{own - kPollBefore, own, cores < 2});
    } else if (due == Clock::time_point::max() || !poll_allowed(now)) {
      w = inbox_.wait_until(out, until);
    } else {
      w = inbox_.wait_until(out, until, GradientInbox::PollWindow{due - kPollBefore, due + kPollAfter});
    }
    if (w == GradientInbox::Waited::message) return true;
    // A wake(), or the caller's deadline. Else: own work is due.
    if (w == GradientInbox::Waited::woken || until == deadline) return false;
  }
}

void ThreadLearners::stop() {
  pool_.stop();
  // Drain gradients pushed before the stop so their pins and buffers go home.
  GradientMessage msg;
  while (inbox_.try_pop(msg)) msg = GradientMessage{};
}

}  // namespace racesgd
