// The loop behind ModelT::evaluate of LogisticRegressionT, MlpT and plug-in models
// (examples/custom_model): a whole dataset goes through the model's own forward pass
// kEvalChunk rows at a time, so evaluation needs scratch for one chunk only, whatever the
// dataset's size.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <span>

#include "core/check.h"
#include "models/model.h"

namespace racesgd {

inline constexpr Eigen::Index kEvalChunk = 1024;

/// Mean data loss and error rate of `model` at weights `w` over `data` (the caller adds its
/// L2 term to .loss). After checking the sizes, calls make_work(rows) once for scratch
/// sized for chunks of up to `rows` rows, then, per chunk,
///   forward(work, x, y, errors) -> summed data loss of the rows x (labels y),
/// which adds the chunk's misclassified rows to *errors. Allocates what make_work does.
template <typename T, typename MakeWork, typename Forward>
Evaluation evaluate_in_chunks(const ModelT<T>& model, std::span<const T> w,
                              const DatasetT<T>& data, MakeWork&& make_work, Forward&& forward) {
  const Eigen::Index n = data.size();
  RACESGD_CHECK(n >= 1 && data.dim() == model.input_dim() &&
                static_cast<Eigen::Index>(data.y.size()) == n);
  RACESGD_CHECK(static_cast<Eigen::Index>(w.size()) == model.num_params());
  auto work = make_work(std::min(n, kEvalChunk));
  double loss_sum = 0;
  Eigen::Index errors = 0;
  for (Eigen::Index start = 0; start < n; start += kEvalChunk) {
    const Eigen::Index rows = std::min(kEvalChunk, n - start);
    loss_sum += forward(work, data.x.middleRows(start, rows),
                        std::span<const std::int32_t>(data.y).subspan(
                            static_cast<std::size_t>(start), static_cast<std::size_t>(rows)),
                        &errors);
  }
  return {loss_sum / static_cast<double>(n), static_cast<double>(errors) / static_cast<double>(n)};
}

}  // namespace racesgd
