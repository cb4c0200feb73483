#include "factorization_machine.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/check.h"
#include "core/spec.h"
#include "models/evaluate_chunks.h"
#include "models/model_registry.h"

namespace fm_example {

using racesgd::MatrixRM;
using racesgd::VectorX;

template <typename T>
class FactorizationMachineT<T>::Work final : public racesgd::Workspace {
 public:
  Work(Eigen::Index rows, Eigen::Index dim, Eigen::Index classes, Eigen::Index factors)
      : x2(rows, dim), scores(rows, classes), q(rows, classes * factors) {}
  MatrixRM<T> x2;      // x_i^2 per row
  MatrixRM<T> scores;  // s_c per row; after the gradient pass, d loss / d s_c
  MatrixRM<T> q;       // sum_i v_cif x_i per row: column c*F + f
};

template <typename T>
FactorizationMachineT<T>::FactorizationMachineT(Eigen::Index input_dim, int num_classes,
                                                Eigen::Index factors, double l2)
    : dim_(input_dim), classes_(num_classes), factors_(factors), l2_(l2) {
  RACESGD_CHECK(input_dim >= 1 && num_classes >= 2 && factors >= 1 && l2 >= 0);
}

template <typename T>
void FactorizationMachineT<T>::init(std::span<T> w, std::uint64_t seed) const {
  RACESGD_CHECK(static_cast<Eigen::Index>(w.size()) == num_params());
  std::fill(w.begin(), w.end(), T(0));
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal(0.0, 0.01);
  const auto v_begin = static_cast<std::size_t>(classes_ * dim_);
  const auto v_size = static_cast<std::size_t>(classes_ * dim_ * factors_);
  for (std::size_t i = v_begin; i < v_begin + v_size; ++i) w[i] = static_cast<T>(normal(gen));
}

template <typename T>
std::unique_ptr<racesgd::Workspace> FactorizationMachineT<T>::make_workspace(
    Eigen::Index max_batch) const {
  return std::make_unique<Work>(max_batch, dim_, classes_, factors_);
}

template <typename T>
double FactorizationMachineT<T>::forward(std::span<const T> w,
                                         const Eigen::Ref<const MatrixRM<T>>& x,
                                         std::span<const std::int32_t> y, Work& ws,
                                         Eigen::Index* errors) const {
  const Eigen::Index m = x.rows(), d = dim_, C = classes_, F = factors_;
  Eigen::Map<const MatrixRM<T>> W(w.data(), C, d);
  Eigen::Map<const MatrixRM<T>> V(w.data() + C * d, C * d, F);
  Eigen::Map<const VectorX<T>> b(w.data() + C * d * (1 + F), C);
  auto x2 = ws.x2.topRows(m);
  auto s = ws.scores.topRows(m);
  auto q = ws.q.topRows(m);
  x2 = x.array().square().matrix();
  s.noalias() = x * W.transpose();
  s.rowwise() += b.transpose();
  for (Eigen::Index c = 0; c < C; ++c) {
    const auto Vc = V.middleRows(c * d, d);
    auto qc = q.middleCols(c * F, F);
    qc.noalias() = x * Vc;
    const VectorX<T> v2 = Vc.array().square().rowwise().sum().matrix();  // sum_f v_cif^2
    s.col(c) += T(0.5) * (qc.array().square().rowwise().sum().matrix() - x2 * v2);
  }
  double sum = 0;
  for (Eigen::Index r = 0; r < m; ++r) {
    Eigen::Index best = 0;
    const T top = s.row(r).maxCoeff(&best);
    const double lse = static_cast<double>(top) +
                       std::log(static_cast<double>((s.row(r).array() - top).exp().sum()));
    sum += lse - static_cast<double>(s(r, y[static_cast<std::size_t>(r)]));
    if (errors && best != y[static_cast<std::size_t>(r)]) ++*errors;
  }
  return sum;
}

template <typename T>
double FactorizationMachineT<T>::l2_term(std::span<const T> w) const {
  if (l2_ == 0) return 0;
  Eigen::Map<const VectorX<T>> weights(w.data(), classes_ * dim_ * (1 + factors_));
  return 0.5 * l2_ * static_cast<double>(weights.squaredNorm());
}

template <typename T>
double FactorizationMachineT<T>::loss_and_gradient(std::span<const T> w,
                                                   const racesgd::BatchView<T>& batch,
                                                   std::span<T> grad,
                                                   racesgd::Workspace& workspace) const {
  auto& ws = dynamic_cast<Work&>(workspace);
  const Eigen::Index m = batch.size(), d = dim_, C = classes_, F = factors_;
  RACESGD_CHECK(m >= 1 && m <= ws.scores.rows() && batch.x.cols() == d);
  const double data_loss = forward(w, batch.x, batch.y, ws, nullptr) / static_cast<double>(m);

  // d loss / d s = (softmax(s) - onehot(y)) / m, in place of the scores.
  auto g = ws.scores.topRows(m);
  for (Eigen::Index r = 0; r < m; ++r) {
    g.row(r).array() = (g.row(r).array() - g.row(r).maxCoeff()).exp();
    g.row(r) /= g.row(r).sum();
    g(r, batch.y[static_cast<std::size_t>(r)]) -= T(1);
  }
  g /= static_cast<T>(m);

  Eigen::Map<const MatrixRM<T>> V(w.data() + C * d, C * d, F);
  Eigen::Map<MatrixRM<T>> gW(grad.data(), C, d);
  Eigen::Map<MatrixRM<T>> gV(grad.data() + C * d, C * d, F);
  Eigen::Map<VectorX<T>> gb(grad.data() + C * d * (1 + F), C);
  gW.noalias() = g.transpose() * batch.x;
  gb = g.colwise().sum().transpose();
  const auto x2 = ws.x2.topRows(m);
  for (Eigen::Index c = 0; c < C; ++c) {
    // d s_c / d v_cif = x_i q_cf - v_cif x_i^2, summed over the rows weighted by g_c.
    const auto qc = ws.q.topRows(m).middleCols(c * F, F);
    auto gVc = gV.middleRows(c * d, d);
    gVc.noalias() = batch.x.transpose() * (qc.array().colwise() * g.col(c).array()).matrix();
    const VectorX<T> x2g = x2.transpose() * g.col(c);
    gVc.array() -= V.middleRows(c * d, d).array().colwise() * x2g.array();
  }
  if (l2_ != 0) {
    Eigen::Map<VectorX<T>> gweights(grad.data(), C * d * (1 + F));
    Eigen::Map<const VectorX<T>> weights(w.data(), C * d * (1 + F));
    gweights += static_cast<T>(l2_) * weights;
  }
  return data_loss + l2_term(w);
}

template <typename T>
double FactorizationMachineT<T>::loss(std::span<const T> w, const racesgd::BatchView<T>& batch,
                                      racesgd::Workspace& workspace) const {
  auto& ws = dynamic_cast<Work&>(workspace);
  RACESGD_CHECK(batch.size() >= 1 && batch.size() <= ws.scores.rows());
  return forward(w, batch.x, batch.y, ws, nullptr) / static_cast<double>(batch.size()) +
         l2_term(w);
}

template <typename T>
racesgd::Evaluation FactorizationMachineT<T>::evaluate(std::span<const T> w,
                                                       const racesgd::DatasetT<T>& data) const {
  racesgd::Evaluation e = racesgd::evaluate_in_chunks(
      *this, w, data, [&](Eigen::Index rows) { return Work(rows, dim_, classes_, factors_); },
      [&](Work& ws, const Eigen::Ref<const MatrixRM<T>>& x, std::span<const std::int32_t> y,
          Eigen::Index* errors) { return forward(w, x, y, ws, errors); });
  e.loss += l2_term(w);
  return e;
}

template class FactorizationMachineT<float>;
template class FactorizationMachineT<double>;

namespace {

// "fm:factors=F": F in [1, 256] latent factors per feature and class (default 4).
template <typename T>
std::unique_ptr<racesgd::ModelT<T>> make_fm(racesgd::SpecArgs& args,
                                            const racesgd::ModelShape& shape) {
  const long long factors = args.integer("factors", 4, 1, 256);
  return std::make_unique<FactorizationMachineT<T>>(shape.input_dim, shape.num_classes,
                                                    static_cast<Eigen::Index>(factors), shape.l2);
}

}  // namespace

void register_fm() {
  racesgd::register_model(
      "fm", "fm:factors=F",
      "factorisation machine, softmax output; F latent factors per feature and class in "
      "[1, 256], default 4 (examples/custom_model)",
      {&make_fm<float>, &make_fm<double>});
}

}  // namespace fm_example
