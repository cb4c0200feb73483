// Model: a differentiable classifier over ONE flat parameter vector, so the parameter
// server, the learners and the update arithmetic never need to know the model's shape.
// Instantiated for float (the runtime) and double (finite-difference gradient checks).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "models/dataset.h"

namespace racesgd {

/// A minibatch: rows of features and their labels, viewed (never owned).
template <typename T>
struct BatchView {
  Eigen::Ref<const MatrixRM<T>> x;   // m x d
  std::span<const std::int32_t> y;   // m labels
  Eigen::Index size() const { return x.rows(); }
};

/// Per-thread scratch space of one model (activations, deltas). Made once per learner by
/// Model::make_workspace so that steady-state gradient calls never allocate. Scratch only:
/// nothing may carry from one call to the next (every call writes what it reads), since a
/// thread may compute for several learners in one workspace (worker/learner_pool.h).
class Workspace {
 public:
  virtual ~Workspace() = default;
};

struct Evaluation {
  double loss = 0;        // mean loss over the dataset (data term + L2 term)
  double error = 0;       // fraction misclassified, in [0, 1]
};

template <typename T>
class ModelT {
 public:
  virtual ~ModelT() = default;

  /// Canonical spec string ("softmax", "mlp:hidden=256,128"), for output files.
  virtual std::string spec() const = 0;
  virtual Eigen::Index num_params() const = 0;
  virtual Eigen::Index input_dim() const = 0;
  virtual int num_classes() const = 0;

  /// Writes seeded initial weights into w (size num_params()). Deterministic in seed.
  virtual void init(std::span<T> w, std::uint64_t seed) const = 0;

  /// Scratch for batches of at most max_batch rows. Allocates.
  virtual std::unique_ptr<Workspace> make_workspace(Eigen::Index max_batch) const = 0;

  /// Mean loss over the batch plus the L2 term; writes its gradient into grad (size
  /// num_params()). Thread-safe for distinct workspaces; does not allocate when ws was
  /// made for at least b.size() rows. Numerically stable (log-sum-exp). The same values
  /// give the same bits wherever w, b.x and grad start in memory (the virtual clock's
  /// reproducibility depends on it), as do loss() and evaluate().
  virtual double loss_and_gradient(std::span<const T> w, const BatchView<T>& b,
                                   std::span<T> grad, Workspace& ws) const = 0;

  /// Mean loss over the batch plus the L2 term (no gradient).
  virtual double loss(std::span<const T> w, const BatchView<T>& b, Workspace& ws) const = 0;

  /// Mean loss and error rate over a whole dataset, in chunks. Allocates its own scratch.
  virtual Evaluation evaluate(std::span<const T> w, const DatasetT<T>& data) const = 0;
};

using Model = ModelT<float>;

}  // namespace racesgd
