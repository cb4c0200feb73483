// A small, seeded learning problem for runtime tests: three Gaussian blobs in 8
// dimensions (easy, but a real one: zero weights sit at chance level).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/rng.h"
#include "models/dataset.h"

namespace racesgd::testing {

inline Dataset blobs(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  Dataset d;
  d.name = "blobs";
  d.num_classes = 3;
  d.x.resize(static_cast<Eigen::Index>(n), 8);
  d.y.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(i % 3);
    d.y[i] = c;
    for (int j = 0; j < 8; ++j)
      d.x(static_cast<Eigen::Index>(i), j) =
          static_cast<float>(rng.normal() + (j % 3 == c ? 2.5 : 0.0));
  }
  return d;
}

}  // namespace racesgd::testing
