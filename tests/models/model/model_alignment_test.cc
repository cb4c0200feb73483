// Results must not depend on where the heap put a buffer: the same weights and minibatch
// give bit-identical loss, gradient and evaluation at every address modulo the widest SIMD
// packet (64 bytes with AVX-512). Eigen peels a scalar head off a vectorised loop until the
// address is packet-aligned, so a reduction over an arbitrary span can change its summation
// order, and its rounding, with the address (a longer --out path changed a run's loss).
#include <Eigen/Core>
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "models/model_registry.h"
#include "tests/models/model/model_test_util.h"

namespace racesgd {
namespace {

// Offsets 0..kOffsets-1 elements past a 64-byte boundary reach every 4-byte residue of a
// 64-byte packet for float.
constexpr std::size_t kOffsets = 16;

// A copy of `values` starting `offset` elements past a 64-byte boundary (Eigen's dynamic
// storage is aligned to its widest packet).
template <typename T>
class Placed {
 public:
  Placed(std::span<const T> values, std::size_t offset)
      : storage_(static_cast<Eigen::Index>(values.size() + kOffsets)),
        offset_(offset),
        size_(values.size()) {
    storage_.setConstant(T(-7));  // around the copy: a value no code should read
    std::copy(values.begin(), values.end(), storage_.data() + offset);
  }
  std::span<T> span() { return {storage_.data() + offset_, size_}; }

 private:
  VectorX<T> storage_;
  std::size_t offset_;
  std::size_t size_;
};

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Index of the first element whose bits differ, or -1 (a failure then names the parameter).
long first_difference(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return static_cast<long>(i);
  return -1;
}

struct Result {
  double loss_and_gradient_loss = 0;
  std::vector<float> gradient;
  double loss = 0;
};

// Where the weights, the batch's features and the gradient start, in floats past a
// 64-byte boundary.
struct Offsets {
  std::size_t weights = 0, batch = 0, gradient = 0;
};

struct Case {
  std::string spec;
  double l2;
};

class Fixture {
 public:
  Fixture(const Case& c, Eigen::Index rows)
      : rows_(rows),
        classes_(c.spec == "logistic" ? 2 : 10),
        model_(make_model<float>(c.spec, kDim, classes_, c.l2)),
        batch_(test::random_batch<float>(rows, kDim, classes_, 11)),
        w_(test::random_weights<float>(model_->num_params(), 12, 0.3)),
        ws_(model_->make_workspace(rows)) {}

  Result run(const Offsets& at) {
    Placed<float> w(w_, at.weights);
    Placed<float> x(
        std::span<const float>(batch_.x.data(), static_cast<std::size_t>(batch_.x.size())),
        at.batch);
    Placed<float> grad(std::vector<float>(w_.size(), 0.0f), at.gradient);
    const Eigen::Map<const MatrixRM<float>> xs(x.span().data(), rows_, kDim);
    const BatchView<float> b{xs, batch_.y};
    Result r;
    r.loss_and_gradient_loss = model_->loss_and_gradient(w.span(), b, grad.span(), *ws_);
    r.gradient.assign(grad.span().begin(), grad.span().end());
    r.loss = model_->loss(w.span(), b, *ws_);
    return r;
  }

  Evaluation evaluate(std::size_t weights_offset) {
    Placed<float> w(w_, weights_offset);
    const DatasetT<float> data{"batch", batch_.x, batch_.y, classes_};
    return model_->evaluate(w.span(), data);
  }

 private:
  // More than two 16-float packets and no multiple of 16: loops over the features or the
  // rows have a vector body and a scalar tail at any alignment. (Layer widths: 16 is one
  // packet exactly, 33 and 18 are not, 10 classes are less than one.)
  static constexpr Eigen::Index kDim = 45;

  Eigen::Index rows_;
  int classes_;
  std::unique_ptr<ModelT<float>> model_;
  test::OwnedBatch<float> batch_;
  std::vector<float> w_;
  std::unique_ptr<Workspace> ws_;
};

const std::vector<Case> kCases = {
    {"logistic", 0.0},      {"logistic", 0.01},      {"softmax", 0.0},
    {"softmax", 0.01},      {"mlp:hidden=16", 0.0},  {"mlp:hidden=16", 0.01},
    {"mlp:hidden=33,18", 0.01},
};

}  // namespace

TEST_CASE("loss and gradient are bit-identical wherever the buffers start",
          "[model][alignment]") {
  // 37 rows go through the GEMM kernel, 1 row through the single-sample loops.
  for (const Eigen::Index rows : {37, 1}) {
    for (const Case& c : kCases) {
      Fixture f(c, rows);
      const Result ref = f.run({});
      std::vector<Offsets> placements;
      for (std::size_t k = 1; k < kOffsets; ++k) {
        placements.push_back({k, 0, 0});
        placements.push_back({0, k, 0});
        placements.push_back({0, 0, k});
      }
      for (const Offsets& at : placements) {
        INFO(c.spec << " l2=" << c.l2 << " rows " << rows << " offsets: weights " << at.weights << ", batch "
                    << at.batch << ", gradient " << at.gradient);
        const Result r = f.run(at);
        CHECK(same_bits(r.loss_and_gradient_loss, ref.loss_and_gradient_loss));
        CHECK(same_bits(r.loss, ref.loss));
        CHECK(first_difference(r.gradient, ref.gradient) == -1);
      }
    }
  }
}

TEST_CASE("evaluate is bit-identical wherever the weights start", "[model][alignment]") {
  for (const Case& c : kCases) {
    Fixture f(c, 37);
    const Evaluation ref = f.evaluate(0);
    for (std::size_t k = 1; k < kOffsets; ++k) {
      INFO(c.spec << " l2=" << c.l2 << " weights offset " << k);
      const Evaluation e = f.evaluate(k);
      CHECK(same_bits(e.loss, ref.loss));
      CHECK(e.error == ref.error);
    }
  }
}

}  // namespace racesgd
