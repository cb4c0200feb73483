#include "worker/gradient_task.h"

#include "core/rng.h"

namespace racesgd {

GradientTask::GradientTask(const Model& model, const Dataset& train, std::size_t batch,
                           std::uint64_t run_seed, std::size_t learner)
    : model_(model),
      batch_(batch),
      sampler_(train, batch, derive_seed(run_seed, learner, StreamPurpose::kBatches)),
      workspace_(model.make_workspace(static_cast<Eigen::Index>(batch))) {}

double GradientTask::compute(std::span<const float> w, std::span<float> grad) {
  const BatchView<float> b = sampler_.next();
  return model_.loss_and_gradient(w, b, grad, *workspace_);
}

}  // namespace racesgd
