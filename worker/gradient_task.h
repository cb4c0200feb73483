// GradientTask: one learner's minibatch gradient machinery -- its own minibatch sampler
// (seeded stream) and model workspace -- made once, reused for every minibatch without
// allocating. Used by the learner threads, the MPI learner ranks and the virtual-clock
// engine.
//
// A minibatch does not depend on the weights, so a learner can gather its next one ahead
// (prepare()) while it has nothing else to do: the gather reads 64 random rows of the
// training set, mostly cache misses, and took about as long as the gradient itself when it
// was part of compute() (issue 13, docs/performance.md "Just-in-time gradients", third pass).
// The stream of minibatches is the same whether or not they are prepared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
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

  /// Draws and gathers the next minibatch now, unless one is prepared already, so that the
  /// next compute() finds it ready. Does not allocate.
  void prepare();
  /// Whether a minibatch is prepared (the next compute() gathers none).
  bool prepared() const { return ready_.has_value(); }
  /// Reads the prepared minibatch through (one load per cache line), so that a compute()
  /// on this thread soon after finds it in this core's cache rather than in memory: a
  /// minibatch gathered long before (64 x 784 floats, 200 KiB) has left it, and the
  /// softmax gradient took 80 us on it against 45 us on a warm one (docs/performance.md,
  /// twelfth pass). False when none is prepared. Does not allocate.
  bool warm() const;

  /// Writes the gradient of the prepared minibatch (prepare()s one first when there is
  /// none) at `w` into `grad` (size num_params()), and uses that minibatch up. Returns the
  /// minibatch loss. Does not allocate.
  double compute(std::span<const float> w, std::span<float> grad);
  /// compute() with `scratch` (made by the same model's make_workspace for at least
  /// batch() rows) as the model's workspace instead of the task's own: the same gradient,
  /// bit for bit (a workspace is scratch, overwritten before it is read). For a thread that
  /// computes for many learners' tasks, whose own scratch is then warm in its cache.
  double compute(std::span<const float> w, std::span<float> grad, Workspace& scratch);

  std::size_t batch() const { return batch_; }

  /// Where the minibatch stream is, for checkpoints: a prepared minibatch not computed yet
  /// is still to come. Not thread-safe with compute().
  MinibatchSampler::State sampler_state() const { return ready_ ? before_ready_ : sampler_.state(); }
  /// Continues the stream from a saved state (a prepared minibatch is dropped). Throws
  /// InputError when it does not fit the training set (see MinibatchSampler::restore). Not
  /// thread-safe with compute().
  void restore_sampler(const MinibatchSampler::State& s) {
    sampler_.restore(s);
    ready_.reset();
  }

 private:
  const Model& model_;
  std::size_t batch_;
  MinibatchSampler sampler_;
  std::unique_ptr<Workspace> workspace_;
  std::optional<BatchView<float>> ready_;  // the prepared minibatch (the sampler's buffers)
  MinibatchSampler::State before_ready_;   // the stream before it
};

}  // namespace racesgd
