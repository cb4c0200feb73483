// LogisticRegressionT: binary logistic regression on labels 0/1.
//
// Parameter layout (docs/models.md): [w_0 .. w_{d-1}, b] (d weights, then the bias).
// Loss per sample with z = w.x + b: log(1 + exp(z)) - y z, computed as
// max(z, 0) + log1p(exp(-|z|)) - y z so that no exp overflows; the batch loss is the mean
// plus l2/2 * ||w||^2 (the bias is not regularised).
#pragma once

#include <Eigen/Core>
#include <memory>
#include <span>
#include <string>

#include "models/model.h"

namespace racesgd {

template <typename T>
class LogisticRegressionT final : public ModelT<T> {
 public:
  /// input_dim >= 1, l2 >= 0 (checked: the factory validates user input first).
  LogisticRegressionT(Eigen::Index input_dim, double l2);

  std::string spec() const override { return "logistic"; }
  Eigen::Index num_params() const override { return dim_ + 1; }
  Eigen::Index input_dim() const override { return dim_; }
  int num_classes() const override { return 2; }

  /// All zeros (the model is convex; the loss starts at exactly log 2). `seed` is unused.
  void init(std::span<T> w, std::uint64_t seed) const override;

  std::unique_ptr<Workspace> make_workspace(Eigen::Index max_batch) const override;

  double loss_and_gradient(std::span<const T> w, const BatchView<T>& b, std::span<T> grad,
                           Workspace& workspace) const override;
  double loss(std::span<const T> w, const BatchView<T>& b, Workspace& workspace) const override;
  Evaluation evaluate(std::span<const T> w, const DatasetT<T>& data) const override;

  double l2() const { return l2_; }

 private:
  class Work;
  // Summed data loss over the rows; leaves z in ws; if delta_scale != 0 overwrites z with
  // delta_scale * (sigmoid(z) - y); adds misclassified rows to *errors if non-null.
  double forward(std::span<const T> w, const Eigen::Ref<const MatrixRM<T>>& x,
                 std::span<const std::int32_t> y, Work& ws, T delta_scale,
                 Eigen::Index* errors) const;
  double l2_term(std::span<const T> w) const;
  Work& checked_work(Workspace& ws, Eigen::Index rows) const;

  Eigen::Index dim_;
  double l2_;
};

extern template class LogisticRegressionT<float>;
extern template class LogisticRegressionT<double>;

}  // namespace racesgd
