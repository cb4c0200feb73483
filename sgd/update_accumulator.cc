#include "sgd/update_accumulator.h"

#include <Eigen/Core>
#include <algorithm>
#include <string>

#include "core/check.h"
#include "core/error.h"

namespace racesgd {

UpdateAccumulator::UpdateAccumulator(std::size_t dim) : acc_(dim, 0.0f) {}

double UpdateAccumulator::add(std::span<const float> g, double lr) {
  RACESGD_CHECK(g.size() == acc_.size());
  const auto n = static_cast<Eigen::Index>(acc_.size());
  Eigen::Map<Eigen::VectorXf> acc(acc_.data(), n);
  Eigen::Map<const Eigen::VectorXf> gv(g.data(), n);
  const float a = static_cast<float>(lr);
  // Two vectorised passes over data that stays in cache; Eigen's reduction is SIMD,
  // a hand-written float sum would not be (no reassociation without -ffast-math).
  if (count_ == 0)
    acc.noalias() = a * gv;
  else
    acc.noalias() += a * gv;
  ++count_;
  return static_cast<double>(gv.squaredNorm());
}

namespace {

// Blocks small enough to stay in L1 between the update and its norms: one pass over memory.
constexpr std::size_t kBlock = 2048;

// Calls fn(offset, length) for each block of [0, n), in `sweep` order.
template <class Fn>
void for_each_block(std::size_t n, Sweep sweep, Fn&& fn) {
  const std::size_t blocks = (n + kBlock - 1) / kBlock;
  for (std::size_t k = 0; k < blocks; ++k) {
    const std::size_t b = sweep == Sweep::forward ? k : blocks - 1 - k;
    const std::size_t lo = b * kBlock;
    fn(lo, static_cast<Eigen::Index>(std::min(kBlock, n - lo)));
  }
}

// Squared norms summed in kLanes independent float partial sums (several SIMD registers'
// worth, across blocks): one running sum, as Eigen's squaredNorm() keeps, made every step
// wait for the previous add, and the update pass ran at add latency instead of memory speed.
class LaneNorms {
 public:
  static constexpr std::size_t kLanes = 32;

  // d = c - a g over n floats, adding g's and d's squares to the partial sums. The inner
  // loop over the lanes is what the compiler turns into independent SIMD accumulators.
  void update(float* __restrict d, const float* __restrict c, const float* __restrict g, float a,
              std::size_t n) {
    std::size_t k = 0;
    for (; k + kLanes <= n; k += kLanes)
      for (std::size_t j = 0; j < kLanes; ++j) {
        const float x = c[k + j] - a * g[k + j];
        d[k + j] = x;
        g2_[j] += g[k + j] * g[k + j];
        w2_[j] += x * x;
      }
    for (std::size_t j = 0; k < n; ++k, ++j) {
      const float x = c[k] - a * g[k];
      d[k] = x;
      g2_[j] += g[k] * g[k];
      w2_[j] += x * x;
    }
  }
  // The same with d = g: each element is read before it is overwritten.
  void update_in_place(float* __restrict gd, const float* __restrict c, float a, std::size_t n) {
    std::size_t k = 0;
    for (; k + kLanes <= n; k += kLanes)
      for (std::size_t j = 0; j < kLanes; ++j) {
        const float g = gd[k + j];
        const float x = c[k + j] - a * g;
        gd[k + j] = x;
        g2_[j] += g * g;
        w2_[j] += x * x;
      }
    for (std::size_t j = 0; k < n; ++k, ++j) {
      const float g = gd[k];
      const float x = c[k] - a * g;
      gd[k] = x;
      g2_[j] += g * g;
      w2_[j] += x * x;
    }
  }
  // d = c - scale (acc + a g) with d = g: the last gradient of several joins the sum in
  // the publishing pass.
  void update_last_in_place(float* __restrict gd, const float* __restrict c, const float* __restrict acc,
                            float a, float scale, std::size_t n) {
    std::size_t k = 0;
    for (; k + kLanes <= n; k += kLanes)
      for (std::size_t j = 0; j < kLanes; ++j) {
        const float g = gd[k + j];
        const float x = c[k + j] - scale * (acc[k + j] + a * g);
        gd[k + j] = x;
        g2_[j] += g * g;
        w2_[j] += x * x;
      }
    for (std::size_t j = 0; k < n; ++k, ++j) {
      const float g = gd[k];
      const float x = c[k] - scale * (acc[k] + a * g);
      gd[k] = x;
      g2_[j] += g * g;
      w2_[j] += x * x;
    }
  }
  float gradient2() const { return sum(g2_); }
  float weights2() const { return sum(w2_); }

 private:
  static float sum(const float (&lanes)[kLanes]) {
    float s = 0;
    for (float v : lanes) s += v;
    return s;
  }
  float g2_[kLanes] = {};
  float w2_[kLanes] = {};
};

}  // namespace

double UpdateAccumulator::apply_into(std::span<float> dst, std::span<const float> cur, Sweep sweep) {
  RACESGD_CHECK(count_ > 0);
  RACESGD_CHECK(dst.size() == acc_.size() && cur.size() == acc_.size());
  const float scale = 1.0f / static_cast<float>(count_);
  float w2 = 0;
  for_each_block(dst.size(), sweep, [&](std::size_t i, Eigen::Index n) {
    Eigen::Map<Eigen::VectorXf> d(dst.data() + i, n);
    Eigen::Map<const Eigen::VectorXf> c(cur.data() + i, n);
    Eigen::Map<const Eigen::VectorXf> acc(acc_.data() + i, n);
    d.noalias() = c - scale * acc;
    w2 += d.squaredNorm();
  });
  count_ = 0;
  return static_cast<double>(w2);
}

UpdateAccumulator::Norms UpdateAccumulator::apply_one_into(std::span<float> dst,
                                                           std::span<const float> cur,
                                                           std::span<const float> g, double lr,
                                                           Sweep sweep) const {
  RACESGD_CHECK(count_ == 0);
  RACESGD_CHECK(dst.size() == acc_.size() && cur.size() == acc_.size() && g.size() == acc_.size());
  // The norms are float sums like add()'s, so they overflow where its does; they only
  // classify a divergence (finite or not), so their order of summation is free.
  const float a = static_cast<float>(lr);
  LaneNorms norms;
  for_each_block(dst.size(), sweep, [&](std::size_t i, Eigen::Index n) {
    norms.update(dst.data() + i, cur.data() + i, g.data() + i, a, static_cast<std::size_t>(n));
  });
  return Norms{static_cast<double>(norms.gradient2()), static_cast<double>(norms.weights2())};
}

UpdateAccumulator::Norms UpdateAccumulator::apply_one_in_place(std::span<float> g_then_w,
                                                               std::span<const float> cur, double lr,
                                                               Sweep sweep) const {
  RACESGD_CHECK(count_ == 0);
  RACESGD_CHECK(g_then_w.size() == acc_.size() && cur.size() == acc_.size());
  const float a = static_cast<float>(lr);
  LaneNorms norms;
  for_each_block(g_then_w.size(), sweep, [&](std::size_t i, Eigen::Index n) {
    norms.update_in_place(g_then_w.data() + i, cur.data() + i, a, static_cast<std::size_t>(n));
  });
  return Norms{static_cast<double>(norms.gradient2()), static_cast<double>(norms.weights2())};
}

UpdateAccumulator::Norms UpdateAccumulator::apply_last_in_place(std::span<float> g_then_w,
                                                                std::span<const float> cur, double lr,
                                                                Sweep sweep) {
  RACESGD_CHECK(count_ > 0);
  RACESGD_CHECK(g_then_w.size() == acc_.size() && cur.size() == acc_.size());
  const float a = static_cast<float>(lr);
  const float scale = 1.0f / static_cast<float>(count_ + 1);
  LaneNorms norms;
  for_each_block(g_then_w.size(), sweep, [&](std::size_t i, Eigen::Index n) {
    norms.update_last_in_place(g_then_w.data() + i, cur.data() + i, acc_.data() + i, a, scale,
                               static_cast<std::size_t>(n));
  });
  count_ = 0;
  return Norms{static_cast<double>(norms.gradient2()), static_cast<double>(norms.weights2())};
}

void UpdateAccumulator::restore(std::span<const float> sum, std::size_t count) {
  if (sum.size() != acc_.size())
    throw InputError("checkpoint: pending update has " + std::to_string(sum.size()) +
                     " values, the model has " + std::to_string(acc_.size()));
  std::copy(sum.begin(), sum.end(), acc_.begin());
  count_ = count;
}

double squared_distance(std::span<const float> a, std::span<const float> b) {
  RACESGD_CHECK(a.size() == b.size());
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double diff = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    s += diff * diff;
  }
  return s;
}

}  // namespace racesgd
