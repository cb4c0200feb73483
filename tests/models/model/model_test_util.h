// Small helpers shared by the model tests: seeded random batches and weights.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/rng.h"
#include "models/dataset.h"
#include "models/model.h"

namespace racesgd::test {

template <typename T>
struct OwnedBatch {
  MatrixRM<T> x;
  std::vector<std::int32_t> y;
  BatchView<T> view() const { return {x, y}; }
};

/// m rows of standard-normal features times `scale`, labels uniform in [0, classes).
template <typename T>
OwnedBatch<T> random_batch(Eigen::Index m, Eigen::Index d, int classes, std::uint64_t seed,
                           double scale = 1.0) {
  Rng rng(seed);
  OwnedBatch<T> b{MatrixRM<T>(m, d), std::vector<std::int32_t>(static_cast<std::size_t>(m))};
  for (Eigen::Index i = 0; i < m; ++i)
    for (Eigen::Index j = 0; j < d; ++j) b.x(i, j) = static_cast<T>(scale * rng.normal());
  for (auto& label : b.y) label = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(classes)));
  return b;
}

/// Normal(0, scale^2) weights: every parameter non-zero, biases included.
template <typename T>
std::vector<T> random_weights(Eigen::Index n, std::uint64_t seed, double scale) {
  Rng rng(seed);
  std::vector<T> w(static_cast<std::size_t>(n));
  for (auto& v : w) v = static_cast<T>(scale * rng.normal());
  return w;
}

}  // namespace racesgd::test
