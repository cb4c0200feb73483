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

double UpdateAccumulator::apply_into(std::span<float> dst, std::span<const float> cur) {
  RACESGD_CHECK(count_ > 0);
  RACESGD_CHECK(dst.size() == acc_.size() && cur.size() == acc_.size());
  const auto n = static_cast<Eigen::Index>(acc_.size());
  Eigen::Map<Eigen::VectorXf> d(dst.data(), n);
  Eigen::Map<const Eigen::VectorXf> c(cur.data(), n);
  Eigen::Map<const Eigen::VectorXf> acc(acc_.data(), n);
  d.noalias() = c - (1.0f / static_cast<float>(count_)) * acc;
  count_ = 0;
  return static_cast<double>(d.squaredNorm());
}

UpdateAccumulator::Norms UpdateAccumulator::apply_one_into(std::span<float> dst,
                                                           std::span<const float> cur,
                                                           std::span<const float> g,
                                                           double lr) const {
  RACESGD_CHECK(count_ == 0);
  RACESGD_CHECK(dst.size() == acc_.size() && cur.size() == acc_.size() && g.size() == acc_.size());
  // Blocks small enough to stay in L1 between the update and the two norms: one pass over
  // memory. The norms are float sums like add()'s, so they overflow where its does.
  constexpr std::size_t kBlock = 2048;
  const float a = static_cast<float>(lr);
  float g2 = 0, w2 = 0;
  for (std::size_t i = 0; i < dst.size(); i += kBlock) {
    const auto n = static_cast<Eigen::Index>(std::min(kBlock, dst.size() - i));
    Eigen::Map<Eigen::VectorXf> d(dst.data() + i, n);
    Eigen::Map<const Eigen::VectorXf> c(cur.data() + i, n);
    Eigen::Map<const Eigen::VectorXf> gv(g.data() + i, n);
    d.noalias() = c - a * gv;
    g2 += gv.squaredNorm();
    w2 += d.squaredNorm();
  }
  return Norms{static_cast<double>(g2), static_cast<double>(w2)};
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
