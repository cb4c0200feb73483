#include "runtime/thread_learners.h"

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
    : buffers_(dim, 2 * config.num_learners + 2),
      pool_(config, with_channel(deps, inbox_, buffers_)) {}

bool ThreadLearners::receive_until(GradientMessage& out, Clock::time_point deadline) {
  const Clock::time_point due = pool_.next_due(Clock::now() - kPollAfter);
  if (due == Clock::time_point::max()) return inbox_.pop_until(out, deadline);
  return inbox_.pop_until(out, deadline, GradientInbox::PollWindow{due - kPollBefore, due + kPollAfter});
}

void ThreadLearners::stop() {
  pool_.stop();
  // Drain gradients pushed before the stop so their pins and buffers go home.
  GradientMessage msg;
  while (inbox_.try_pop(msg)) msg = GradientMessage{};
}

}  // namespace racesgd
