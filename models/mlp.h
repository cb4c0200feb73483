// MlpT: a fully connected ReLU network with a softmax cross-entropy output. With no hidden
// layers it is multinomial softmax regression (spec "softmax"); both share this one code
// path so the finite-difference tests of one cover the other.
//
// Parameter layout (one flat vector, docs/models.md): with layer sizes n_0 = input_dim,
// n_1..n_{L-1} = hidden, n_L = num_classes, layer l = 0..L-1 stores
//   W_l : n_{l+1} x n_l, row-major (row k = the weights into unit k), then
//   b_l : n_{l+1} biases,
// layers one after the other: [W_0, b_0, W_1, b_1, ...].
//
// Loss: mean over the batch of -log softmax(z)_y (log-sum-exp stable) plus
// l2/2 * sum_l ||W_l||^2 (weights only, never biases).
#pragma once

#include <Eigen/Core>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "models/model.h"

namespace racesgd {

template <typename T>
class MlpT final : public ModelT<T> {
 public:
  /// `hidden` may be empty (softmax regression). Sizes must be >= 1, num_classes >= 2 and
  /// l2 >= 0 (checked: the factory validates user input before calling this).
  MlpT(Eigen::Index input_dim, const std::vector<Eigen::Index>& hidden, int num_classes,
       double l2);

  std::string spec() const override;
  Eigen::Index num_params() const override { return num_params_; }
  Eigen::Index input_dim() const override { return sizes_.front(); }
  int num_classes() const override { return static_cast<int>(sizes_.back()); }

  /// Softmax regression: all zeros (a convex model; loss starts at exactly log C).
  /// MLP: He-normal weights N(0, 2 / fan_in) drawn from Rng(seed) layer by layer in the
  /// flat order, zero biases. Computed in double, then rounded to T, so a float and a
  /// double model with the same seed start from the same point.
  void init(std::span<T> w, std::uint64_t seed) const override;

  std::unique_ptr<Workspace> make_workspace(Eigen::Index max_batch) const override;

  double loss_and_gradient(std::span<const T> w, const BatchView<T>& b, std::span<T> grad,
                           Workspace& workspace) const override;
  double loss(std::span<const T> w, const BatchView<T>& b, Workspace& workspace) const override;
  Evaluation evaluate(std::span<const T> w, const DatasetT<T>& data) const override;

  /// n_0 .. n_L (input, hidden..., classes).
  const std::vector<Eigen::Index>& layer_sizes() const { return sizes_; }
  int num_layers() const { return static_cast<int>(sizes_.size()) - 1; }
  /// Offsets of W_l and b_l in the flat parameter vector.
  Eigen::Index weight_offset(int layer) const { return offsets_[layer]; }
  Eigen::Index bias_offset(int layer) const {
    return offsets_[layer] + sizes_[layer + 1] * sizes_[layer];
  }
  double l2() const { return l2_; }

 private:
  class Work;
  // Runs the forward pass on rows x (labels y), leaving hidden activations in ws. Returns
  // the summed data loss; adds misclassified rows to *errors if non-null; if delta_scale is
  // non-zero, overwrites the logits with delta_scale * (softmax - onehot).
  double forward(std::span<const T> w, const Eigen::Ref<const MatrixRM<T>>& x,
                 std::span<const std::int32_t> y, Work& ws, T delta_scale,
                 Eigen::Index* errors) const;
  double l2_term(std::span<const T> w) const;
  Work& checked_work(Workspace& ws, Eigen::Index rows) const;

  std::vector<Eigen::Index> sizes_;
  std::vector<Eigen::Index> offsets_;
  Eigen::Index num_params_ = 0;
  double l2_ = 0;
};

extern template class MlpT<float>;
extern template class MlpT<double>;

}  // namespace racesgd
