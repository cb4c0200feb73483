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

void ThreadLearners::stop() {
  pool_.stop();
  // Drain gradients pushed before the stop so their pins and buffers go home.
  GradientMessage msg;
  while (inbox_.try_pop(msg)) msg = GradientMessage{};
}

}  // namespace racesgd
