// A user-defined model, plugged into racesgd by name: a multi-class factorisation machine
// (Rendle, 2010) with a softmax output.
//
//   fm:factors=F
//
// For each class c the score of a sample x is
//   s_c(x) = b_c + w_c . x + sum_{i<j} <v_ci, v_cj> x_i x_j
//          = b_c + w_c . x + 1/2 sum_f [ (sum_i v_cif x_i)^2 - sum_i v_cif^2 x_i^2 ],
// pairwise feature interactions through F latent factors per feature and class, in
// O(d F) per class instead of O(d^2). Loss: softmax cross-entropy, mean over the batch,
// plus l2/2 (||w||^2 + ||v||^2) (biases are not regularised).
//
// racesgd sees only a flat parameter vector. Its layout here:
//   [ w: C x d, row-major | v: C*d x F, row c*d+i is v_ci | b: C ]
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "models/model.h"

namespace fm_example {

template <typename T>
class FactorizationMachineT final : public racesgd::ModelT<T> {
 public:
  FactorizationMachineT(Eigen::Index input_dim, int num_classes, Eigen::Index factors, double l2);

  std::string spec() const override { return "fm:factors=" + std::to_string(factors_); }
  Eigen::Index num_params() const override { return classes_ * (dim_ * (1 + factors_) + 1); }
  Eigen::Index input_dim() const override { return dim_; }
  int num_classes() const override { return static_cast<int>(classes_); }

  /// w and b zero; v ~ Normal(0, 0.01^2) from `seed` (all-zero factors would have zero
  /// gradient forever: v's gradient is proportional to v).
  void init(std::span<T> w, std::uint64_t seed) const override;

  std::unique_ptr<racesgd::Workspace> make_workspace(Eigen::Index max_batch) const override;

  double loss_and_gradient(std::span<const T> w, const racesgd::BatchView<T>& batch,
                           std::span<T> grad, racesgd::Workspace& workspace) const override;
  double loss(std::span<const T> w, const racesgd::BatchView<T>& batch,
              racesgd::Workspace& workspace) const override;
  racesgd::Evaluation evaluate(std::span<const T> w,
                               const racesgd::DatasetT<T>& data) const override;

 private:
  class Work;
  // Summed data loss of the rows x; leaves scores, squared features and per-class factor
  // sums in ws; when `errors` is set adds the misclassified rows to it.
  double forward(std::span<const T> w, const Eigen::Ref<const racesgd::MatrixRM<T>>& x,
                 std::span<const std::int32_t> y, Work& ws, Eigen::Index* errors) const;
  double l2_term(std::span<const T> w) const;

  Eigen::Index dim_, classes_, factors_;
  double l2_;
};

extern template class FactorizationMachineT<float>;
extern template class FactorizationMachineT<double>;

/// Registers "fm" with racesgd (float for runs, double for gradient checks). Call once,
/// before the first run; throws racesgd::InputError when the name is taken.
void register_fm();

}  // namespace fm_example
