#include "worker/gradient_task.h"

#include "core/rng.h"

namespace racesgd {

GradientTask::GradientTask(const Model& model, const Dataset& train, std::size_t batch,
                           std::uint64_t run_seed, std::size_t learner)
    : model_(model),
      batch_(batch),
      sampler_(train, batch, derive_seed(run_seed, learner, StreamPurpose::kBatches)),
      workspace_(model.make_workspace(static_cast<Eigen::Index>(batch))) {}

void GradientTask::prepare() {
  if (ready_) return;
  before_ready_ = sampler_.state();
  ready_.emplace(sampler_.next());
}

double GradientTask::compute(std::span<const float> w, std::span<float> grad) {
  prepare();
  const BatchView<float> b = *ready_;
  ready_.reset();
  return model_.loss_and_gradient(w, b, grad, *workspace_);
}

}  // namespace racesgd
