// Dataset: dense features (one row per sample) and integer class labels, in memory.
// Loaders (loaders.h) produce them; transforms (transforms.h) scale, split and binarise.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

namespace racesgd {

template <typename T>
using MatrixRM = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using VectorX = Eigen::Matrix<T, Eigen::Dynamic, 1>;

template <typename T>
struct DatasetT {
  std::string name;               // "mnist/train", a file path, ...
  MatrixRM<T> x;                  // n x d features, row i is sample i
  std::vector<std::int32_t> y;    // n labels in [0, num_classes)
  int num_classes = 0;

  Eigen::Index size() const { return x.rows(); }
  Eigen::Index dim() const { return x.cols(); }

  template <typename U>
  DatasetT<U> cast() const {
    return DatasetT<U>{name, x.template cast<U>(), y, num_classes};
  }
};

using Dataset = DatasetT<float>;

struct TrainTest {
  Dataset train;
  Dataset test;
};

}  // namespace racesgd
