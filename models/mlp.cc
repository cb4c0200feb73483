#include "models/mlp.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/check.h"
#include "core/rng.h"
#include "models/evaluate_chunks.h"
#include "models/detail/gemm.h"

namespace racesgd {

// Workspace of one MlpT: per-layer activations (row-major, rows = batch) and GEMM packing
// buffers. acts_[l] (l = 1..L) holds the output of layer l-1: ReLU activations for hidden
// layers, logits for l = L. In the backward pass each buffer is overwritten in place by the
// gradient of the loss with respect to that layer's pre-activation.
template <typename T>
class MlpT<T>::Work final : public Workspace {
 public:
  Work(const std::vector<Eigen::Index>& sizes, Eigen::Index max_batch)
      : sizes_(sizes), max_batch_(max_batch), acts_(sizes.size()) {
    const int layers = static_cast<int>(sizes.size()) - 1;
    Eigen::Index widest_hidden = 0;
    for (int l = 1; l <= layers; ++l) acts_[l].resize(max_batch * sizes[l]);
    for (int l = 1; l < layers; ++l) widest_hidden = std::max(widest_hidden, sizes[l]);
    back_.resize(max_batch * std::max<Eigen::Index>(widest_hidden, 1));
    for (int l = 0; l < layers; ++l) {
      const Eigen::Index in = sizes[l], out = sizes[l + 1];
      gemm_.reserve_for_batches({out, 0, in}, 1, max_batch);   // forward
      gemm_.reserve_for_batches({in, out, 0}, 2, max_batch);   // weight gradient
      if (l > 0) gemm_.reserve_for_batches({in, 0, out}, 1, max_batch);  // input gradient
    }
  }

  std::vector<Eigen::Index> sizes_;  // to catch a workspace handed to another model
  Eigen::Index max_batch_;
  std::vector<VectorX<T>> acts_;
  VectorX<T> back_;  // gradient w.r.t. a hidden activation, before the ReLU mask
  detail::GemmScratch<T> gemm_;
};

namespace {

// sums[j] = the sum over r of rows[r * cols + j] (num_rows x cols, row-major), added row after
// row. Not Eigen's colwise().sum(): assigning it vectorises only once the destination is
// packet-aligned (a scalar head before), and its vector part adds the rows in another
// order than its scalar part, so a bias gradient's bits would depend on where the caller's
// gradient buffer happens to start. Here every column is summed in the same order at any
// address, and the inner loop still vectorises (across columns).
template <typename T>
void column_sums(const T* rows, Eigen::Index num_rows, Eigen::Index cols, T* sums) {
  std::fill_n(sums, cols, T(0));
  for (Eigen::Index r = 0; r < num_rows; ++r) {
    const T* row = rows + r * cols;
    for (Eigen::Index j = 0; j < cols; ++j) sums[j] += row[j];
  }
}

// One sample (a minibatch of 1, as the MPI transport's --batch 1 runs): matrix-vector
// products in plain loops. Eigen's GEMM kernel packs its operands on every call -- at one
// sample a full copy of W per product -- and the weight gradient, an outer product, was
// zeroed and then accumulated: several passes over W's size where one read of W and one
// write of the gradient suffice (bench_gradient batch:1, docs/performance.md). Like
// column_sums, every sum runs in a fixed order at any address (bit-identical results
// wherever the buffers start).

// The dot product of n values, in kLanes partial sums (which the compiler keeps in several
// SIMD registers, so the adds do not wait on each other) added up at the end.
template <typename T>
T dot(const T* a, const T* b, Eigen::Index n) {
  constexpr Eigen::Index kLanes = 32;
  T lanes[kLanes] = {};
  Eigen::Index k = 0;
  for (; k + kLanes <= n; k += kLanes)
    for (Eigen::Index j = 0; j < kLanes; ++j) lanes[j] += a[k + j] * b[k + j];
  for (Eigen::Index j = 0; k < n; ++k, ++j) lanes[j] += a[k] * b[k];
  T s = 0;
  for (T v : lanes) s += v;
  return s;
}

// z = bias + W x for one sample; W is n_out x n_in, row-major.
template <typename T>
void forward_one(const T* w, const T* bias, const T* x, Eigen::Index n_in, Eigen::Index n_out, T* z) {
  for (Eigen::Index j = 0; j < n_out; ++j) z[j] = bias[j] + dot(w + j * n_in, x, n_in);
}

// The weight gradient of one sample, dW = dz a^T (n_out x n_in, row-major), plus l2 W.
template <typename T>
void weight_gradient_one(const T* __restrict dz, const T* __restrict a, const T* __restrict w, T l2,
                         Eigen::Index n_in, Eigen::Index n_out, T* __restrict g) {
  for (Eigen::Index j = 0; j < n_out; ++j) {
    T* row = g + j * n_in;
    const T* w_row = w + j * n_in;
    const T d = dz[j];
    if (l2 != T(0))
      for (Eigen::Index i = 0; i < n_in; ++i) row[i] = l2 * w_row[i] + d * a[i];
    else
      for (Eigen::Index i = 0; i < n_in; ++i) row[i] = d * a[i];
  }
}

// back = W^T dz for one sample (n_in values), rows of W added in order.
template <typename T>
void input_gradient_one(const T* __restrict w, const T* __restrict dz, Eigen::Index n_in,
                        Eigen::Index n_out, T* __restrict back) {
  std::fill_n(back, n_in, T(0));
  for (Eigen::Index j = 0; j < n_out; ++j) {
    const T* w_row = w + j * n_in;
    const T d = dz[j];
    for (Eigen::Index i = 0; i < n_in; ++i) back[i] += d * w_row[i];
  }
}

}  // namespace

template <typename T>
MlpT<T>::MlpT(Eigen::Index input_dim, const std::vector<Eigen::Index>& hidden, int num_classes,
              double l2)
    : l2_(l2) {
  RACESGD_CHECK(input_dim >= 1 && num_classes >= 2 && l2 >= 0 && std::isfinite(l2));
  sizes_.push_back(input_dim);
  for (Eigen::Index h : hidden) {
    RACESGD_CHECK(h >= 1);
    sizes_.push_back(h);
  }
  sizes_.push_back(num_classes);
  for (int l = 0; l < num_layers(); ++l) {
    offsets_.push_back(num_params_);
    num_params_ += sizes_[l + 1] * sizes_[l] + sizes_[l + 1];
  }
}

template <typename T>
std::string MlpT<T>::spec() const {
  if (num_layers() == 1) return "softmax";
  std::string s = "mlp:hidden=";
  for (int l = 1; l < num_layers(); ++l)
    s += (l > 1 ? "," : "") + std::to_string(sizes_[l]);
  return s;
}

template <typename T>
void MlpT<T>::init(std::span<T> w, std::uint64_t seed) const {
  RACESGD_CHECK(static_cast<Eigen::Index>(w.size()) == num_params_);
  std::fill(w.begin(), w.end(), T(0));
  if (num_layers() == 1) return;
  Rng rng(seed);
  for (int l = 0; l < num_layers(); ++l) {
    const double scale = std::sqrt(2.0 / static_cast<double>(sizes_[l]));
    T* wl = w.data() + weight_offset(l);
    for (Eigen::Index i = 0; i < sizes_[l + 1] * sizes_[l]; ++i)
      wl[i] = static_cast<T>(scale * rng.normal());
  }
}

template <typename T>
std::unique_ptr<Workspace> MlpT<T>::make_workspace(Eigen::Index max_batch) const {
  RACESGD_CHECK(max_batch >= 1);
  return std::make_unique<Work>(sizes_, max_batch);
}

template <typename T>
typename MlpT<T>::Work& MlpT<T>::checked_work(Workspace& ws, Eigen::Index rows) const {
  auto* work = dynamic_cast<Work*>(&ws);
  RACESGD_CHECK_MSG(work != nullptr && work->sizes_ == sizes_,
                    "workspace was made by a different model");
  RACESGD_CHECK_MSG(rows >= 1 && rows <= work->max_batch_,
                    "batch is empty or larger than the workspace was made for");
  return *work;
}

template <typename T>
double MlpT<T>::l2_term(std::span<const T> w) const {
  if (l2_ == 0) return 0;
  double sum = 0;
  for (int l = 0; l < num_layers(); ++l) {
    const T* wl = w.data() + weight_offset(l);
    sum += static_cast<double>(dot(wl, wl, sizes_[l + 1] * sizes_[l]));
  }
  return 0.5 * l2_ * sum;
}

template <typename T>
double MlpT<T>::forward(std::span<const T> w, const Eigen::Ref<const MatrixRM<T>>& x,
                        std::span<const std::int32_t> y, Work& ws, T delta_scale,
                        Eigen::Index* errors) const {
  const Eigen::Index m = x.rows();
  const int layers = num_layers();
  const T* in = x.data();
  Eigen::Index ld_in = x.outerStride();
  for (int l = 0; l < layers; ++l) {
    const Eigen::Index n_in = sizes_[l], n_out = sizes_[l + 1];
    Eigen::Map<MatrixRM<T>> z(ws.acts_[l + 1].data(), m, n_out);
    Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>> bias(w.data() + bias_offset(l), n_out);
    if (m == 1) {
      forward_one(w.data() + weight_offset(l), bias.data(), in, n_in, n_out, z.data());
    } else {
      // Start from the bias so the GEMM's accumulation adds it for free.
      for (Eigen::Index r = 0; r < m; ++r) z.row(r) = bias;
      // Z^T (n_out x m) += W (n_out x n_in, row-major) * X^T (X row-major = X^T col-major).
      ws.gemm_.template multiply_add<Eigen::RowMajor, Eigen::ColMajor>(
          {n_out, m, n_in}, w.data() + weight_offset(l), n_in, in, ld_in, z.data(), n_out, T(1));
    }
    if (l + 1 < layers) z = z.cwiseMax(T(0));
    in = z.data();
    ld_in = n_out;
  }

  // Softmax cross-entropy, one row at a time (C is small): log-sum-exp around the row max.
  const Eigen::Index c = sizes_.back();
  T* logits = ws.acts_[layers].data();
  double loss_sum = 0;
  Eigen::Index wrong = 0;
  for (Eigen::Index r = 0; r < m; ++r) {
    T* z = logits + r * c;
    const std::int32_t label = y[static_cast<std::size_t>(r)];
    RACESGD_CHECK_MSG(label >= 0 && label < c, "label out of range for the model");
    Eigen::Index arg = 0;
    for (Eigen::Index j = 1; j < c; ++j)
      if (z[j] > z[arg]) arg = j;
    const T top = z[arg];
    const T z_label = z[label];
    T sum = 0;
    for (Eigen::Index j = 0; j < c; ++j) {
      z[j] = std::exp(z[j] - top);  // in (0, 1]: cannot overflow
      sum += z[j];
    }
    // loss = logsumexp(z) - z_y = top + log(sum) - z_y, with sum in [1, C].
    loss_sum += static_cast<double>(top - z_label) + std::log(static_cast<double>(sum));
    if (arg != label) ++wrong;
    if (delta_scale != T(0)) {
      const T k = delta_scale / sum;
      for (Eigen::Index j = 0; j < c; ++j) z[j] *= k;
      z[label] -= delta_scale;
    }
  }
  if (errors) *errors += wrong;
  return loss_sum;
}

template <typename T>
double MlpT<T>::loss_and_gradient(std::span<const T> w, const BatchView<T>& b,
                                  std::span<T> grad, Workspace& workspace) const {
  const Eigen::Index m = b.size();
  Work& ws = checked_work(workspace, m);
  RACESGD_CHECK(static_cast<Eigen::Index>(w.size()) == num_params_ &&
                static_cast<Eigen::Index>(grad.size()) == num_params_);
  RACESGD_CHECK(b.x.cols() == input_dim() && static_cast<Eigen::Index>(b.y.size()) == m);

  const T inv_m = T(1) / static_cast<T>(m);
  const double data_loss = forward(w, b.x, b.y, ws, inv_m, nullptr) / static_cast<double>(m);

  const int layers = num_layers();
  for (int l = layers - 1; l >= 0; --l) {
    const Eigen::Index n_in = sizes_[l], n_out = sizes_[l + 1];
    // dZ: gradient w.r.t. this layer's pre-activation, m x n_out row-major.
    const T* dz = ws.acts_[l + 1].data();
    const T* a_in = l == 0 ? b.x.data() : ws.acts_[l].data();
    const Eigen::Index ld_in = l == 0 ? b.x.outerStride() : n_in;

    if (m == 1) {
      weight_gradient_one(dz, a_in, w.data() + weight_offset(l), static_cast<T>(l2_), n_in, n_out,
                          grad.data() + weight_offset(l));
    } else {
      Eigen::Map<VectorX<T>> g_w(grad.data() + weight_offset(l), n_out * n_in);
      Eigen::Map<const VectorX<T>> w_l(w.data() + weight_offset(l), n_out * n_in);
      // The GEMM accumulates, so seeding with the L2 gradient costs no extra pass.
      if (l2_ != 0)
        g_w = static_cast<T>(l2_) * w_l;
      else
        g_w.setZero();
      // dW^T (n_in x n_out) += A_in^T (n_in x m) * dZ (m x n_out, row-major).
      ws.gemm_.template multiply_add<Eigen::ColMajor, Eigen::RowMajor>(
          {n_in, n_out, m}, a_in, ld_in, dz, n_out, g_w.data(), n_in, T(1));
    }

    column_sums(dz, m, n_out, grad.data() + bias_offset(l));

    if (l == 0) break;  // no gradient w.r.t. the input features is needed
    // dA^T (n_in x m) = W^T (n_in x n_out; W row-major = W^T col-major) * dZ^T.
    Eigen::Map<MatrixRM<T>> back(ws.back_.data(), m, n_in);
    if (m == 1) {
      input_gradient_one(w.data() + weight_offset(l), dz, n_in, n_out, back.data());
    } else {
      back.setZero();
      ws.gemm_.template multiply_add<Eigen::ColMajor, Eigen::ColMajor>(
          {n_in, m, n_out}, w.data() + weight_offset(l), n_in, dz, n_out, back.data(), n_in, T(1));
    }
    // ReLU: the activation is > 0 exactly where the pre-activation was.
    Eigen::Map<MatrixRM<T>> act(ws.acts_[l].data(), m, n_in);
    act.array() = (act.array() > T(0)).select(back.array(), T(0));
  }
  return data_loss + l2_term(w);
}

template <typename T>
double MlpT<T>::loss(std::span<const T> w, const BatchView<T>& b, Workspace& workspace) const {
  const Eigen::Index m = b.size();
  Work& ws = checked_work(workspace, m);
  RACESGD_CHECK(static_cast<Eigen::Index>(w.size()) == num_params_);
  RACESGD_CHECK(b.x.cols() == input_dim() && static_cast<Eigen::Index>(b.y.size()) == m);
  return forward(w, b.x, b.y, ws, T(0), nullptr) / static_cast<double>(m) + l2_term(w);
}

template <typename T>
Evaluation MlpT<T>::evaluate(std::span<const T> w, const DatasetT<T>& data) const {
  Evaluation e = evaluate_in_chunks(
      *this, w, data, [&](Eigen::Index rows) { return Work(sizes_, rows); },
      [&](Work& ws, const Eigen::Ref<const MatrixRM<T>>& x, std::span<const std::int32_t> y,
          Eigen::Index* errors) { return forward(w, x, y, ws, T(0), errors); });
  e.loss += l2_term(w);
  return e;
}

template class MlpT<float>;
template class MlpT<double>;

}  // namespace racesgd
