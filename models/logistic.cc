#include "models/logistic.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "models/evaluate_chunks.h"

namespace racesgd {

template <typename T>
class LogisticRegressionT<T>::Work final : public Workspace {
 public:
  Work(Eigen::Index dim, Eigen::Index max_batch) : dim_(dim), z_(max_batch) {}
  Eigen::Index dim_;  // to catch a workspace handed to another model
  VectorX<T> z_;
};

template <typename T>
LogisticRegressionT<T>::LogisticRegressionT(Eigen::Index input_dim, double l2)
    : dim_(input_dim), l2_(l2) {
  RACESGD_CHECK(input_dim >= 1 && l2 >= 0 && std::isfinite(l2));
}

template <typename T>
void LogisticRegressionT<T>::init(std::span<T> w, std::uint64_t /*seed*/) const {
  RACESGD_CHECK(static_cast<Eigen::Index>(w.size()) == num_params());
  std::fill(w.begin(), w.end(), T(0));
}

template <typename T>
std::unique_ptr<Workspace> LogisticRegressionT<T>::make_workspace(Eigen::Index max_batch) const {
  RACESGD_CHECK(max_batch >= 1);
  return std::make_unique<Work>(dim_, max_batch);
}

template <typename T>
typename LogisticRegressionT<T>::Work& LogisticRegressionT<T>::checked_work(
    Workspace& ws, Eigen::Index rows) const {
  auto* work = dynamic_cast<Work*>(&ws);
  RACESGD_CHECK_MSG(work != nullptr && work->dim_ == dim_,
                    "workspace was made by a different model");
  RACESGD_CHECK_MSG(rows >= 1 && rows <= work->z_.size(),
                    "batch is empty or larger than the workspace was made for");
  return *work;
}

template <typename T>
double LogisticRegressionT<T>::l2_term(std::span<const T> w) const {
  if (l2_ == 0) return 0;
  Eigen::Map<const VectorX<T>> weights(w.data(), dim_);
  return 0.5 * l2_ * static_cast<double>(weights.squaredNorm());
}

template <typename T>
double LogisticRegressionT<T>::forward(std::span<const T> w,
                                       const Eigen::Ref<const MatrixRM<T>>& x,
                                       std::span<const std::int32_t> y, Work& ws, T delta_scale,
                                       Eigen::Index* errors) const {
  const Eigen::Index m = x.rows();
  Eigen::Map<const VectorX<T>> weights(w.data(), dim_);
  auto z = ws.z_.head(m);
  z.noalias() = x * weights;
  const T bias = w[static_cast<std::size_t>(dim_)];
  double loss_sum = 0;
  Eigen::Index wrong = 0;
  for (Eigen::Index r = 0; r < m; ++r) {
    const std::int32_t label = y[static_cast<std::size_t>(r)];
    RACESGD_CHECK_MSG(label == 0 || label == 1, "logistic regression needs labels 0/1");
    const T zr = z[r] + bias;
    const T e = std::exp(-std::abs(zr));  // in (0, 1]: cannot overflow
    // softplus(z) - y z with softplus(z) = max(z, 0) + log1p(exp(-|z|)).
    loss_sum += static_cast<double>(std::max(zr, T(0)) - (label ? zr : T(0))) +
                static_cast<double>(std::log1p(e));
    if ((zr > T(0)) != (label == 1)) ++wrong;
    if (delta_scale != T(0)) {
      const T sigmoid = zr >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
      z[r] = delta_scale * (sigmoid - static_cast<T>(label));
    }
  }
  if (errors) *errors += wrong;
  return loss_sum;
}

template <typename T>
double LogisticRegressionT<T>::loss_and_gradient(std::span<const T> w, const BatchView<T>& b,
                                                 std::span<T> grad, Workspace& workspace) const {
  const Eigen::Index m = b.size();
  Work& ws = checked_work(workspace, m);
  RACESGD_CHECK(static_cast<Eigen::Index>(w.size()) == num_params() &&
                static_cast<Eigen::Index>(grad.size()) == num_params());
  RACESGD_CHECK(b.x.cols() == dim_ && static_cast<Eigen::Index>(b.y.size()) == m);
  const double data_loss =
      forward(w, b.x, b.y, ws, T(1) / static_cast<T>(m), nullptr) / static_cast<double>(m);
  Eigen::Map<VectorX<T>> g_w(grad.data(), dim_);
  Eigen::Map<const VectorX<T>> weights(w.data(), dim_);
  const auto delta = ws.z_.head(m);
  if (l2_ != 0)
    g_w = static_cast<T>(l2_) * weights;
  else
    g_w.setZero();
  g_w.noalias() += b.x.transpose() * delta;
  // An Eigen sum's order follows its data's address; ws.z_ is Eigen's own, packet-aligned
  // storage, so this one never depends on where the caller's buffers are.
  grad[static_cast<std::size_t>(dim_)] = delta.sum();
  return data_loss + l2_term(w);
}

template <typename T>
double LogisticRegressionT<T>::loss(std::span<const T> w, const BatchView<T>& b,
                                    Workspace& workspace) const {
  const Eigen::Index m = b.size();
  Work& ws = checked_work(workspace, m);
  RACESGD_CHECK(static_cast<Eigen::Index>(w.size()) == num_params());
  RACESGD_CHECK(b.x.cols() == dim_ && static_cast<Eigen::Index>(b.y.size()) == m);
  return forward(w, b.x, b.y, ws, T(0), nullptr) / static_cast<double>(m) + l2_term(w);
}

template <typename T>
Evaluation LogisticRegressionT<T>::evaluate(std::span<const T> w,
                                            const DatasetT<T>& data) const {
  Evaluation e = evaluate_in_chunks(
      *this, w, data, [&](Eigen::Index rows) { return Work(dim_, rows); },
      [&](Work& ws, const Eigen::Ref<const MatrixRM<T>>& x, std::span<const std::int32_t> y,
          Eigen::Index* errors) { return forward(w, x, y, ws, T(0), errors); });
  e.loss += l2_term(w);
  return e;
}

template class LogisticRegressionT<float>;
template class LogisticRegressionT<double>;

}  // namespace racesgd
