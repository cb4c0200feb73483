// The update arithmetic shared by both runtimes: w_{j+1} = w_j - (1/K) sum_i lr_i g_i.
// Gradients are folded in as they are accepted (see coordinator.h for why that is exact),
// so the PS never holds more than one d-vector of pending work.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace racesgd {

class UpdateAccumulator {
 public:
  explicit UpdateAccumulator(std::size_t dim);  // allocates once

  /// acc += lr * g. Returns ||g||^2 computed in the same pass (NaN/Inf detection).
  double add(std::span<const float> g, double lr);

  /// dst = cur - acc / count; then clears the accumulator. Returns ||dst||^2 from the same
  /// pass (NaN/Inf detection). CHECK-fails when nothing was added.
  double apply_into(std::span<float> dst, std::span<const float> cur);

  std::size_t count() const { return count_; }
  std::size_t dim() const { return acc_.size(); }

  /// The pending sum (sum_i lr_i g_i; meaningful only when count() > 0), for checkpoints.
  std::span<const float> sum() const { return acc_; }
  /// Continues from a saved sum and count. Throws InputError when the sum's size is not
  /// dim(). Never allocates.
  void restore(std::span<const float> sum, std::size_t count);

 private:
  std::vector<float> acc_;
  std::size_t count_ = 0;
};

/// ||a - b||^2, accumulated in double.
double squared_distance(std::span<const float> a, std::span<const float> b);

}  // namespace racesgd
