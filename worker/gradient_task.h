// GradientTask: one learner's minibatch gradient machinery -- its own minibatch sampler
// (seeded stream) and model workspace -- made once, reused for every minibatch without
// allocating. Used by the learner threads and the virtual-clock engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "models/dataset.h"
#include "models/minibatch.h"
#include "models/model.h"

namespace racesgd {

class GradientTask {
 public:
  /// Allocates the sampler buffers and the workspace.
  GradientTask(const Model& model, const Dataset& train, std::size_t batch,
               std::uint64_t run_seed, std::size_t learner);

  /// Draws the next minibatch and writes its gradient at `w` into `grad` (size
  /// num_params()). Returns the minibatch loss. Does not allocate.
  double compute(std::span<const float> w, std::span<float> grad);

  std::size_t batch() const { return batch_; }

  /// Where the minibatch stream is, for checkpoints. Not thread-safe with compute().
  MinibatchSampler::State sampler_state() const { return sampler_.state(); }
  /// Continues the stream from a saved state. Throws InputError when it does not fit the
  /// training set (see MinibatchSampler::restore). Not thread-safe with compute().
  void restore_sampler(const MinibatchSampler::State& s) { sampler_.restore(s); }

 private:
  const Model& model_;
  std::size_t batch_;
  MinibatchSampler sampler_;
  std::unique_ptr<Workspace> workspace_;
};

}  // namespace racesgd
