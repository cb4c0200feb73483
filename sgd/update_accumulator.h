// The update arithmetic shared by both runtimes: w_{j+1} = w_j - (1/K) sum_i lr_i g_i.
// Gradients are folded in as they are accepted (see coordinator.h for why that is exact),
// so the PS never holds more than one d-vector of pending work.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace racesgd {

/// Which way an update pass walks the vector. The PS alternates: an update reads the
/// current weights and writes a new buffer, three arrays of d floats, which at d ~ 200,000
/// (2.4 MB) no longer fit a 2 MB L2; walked the same way every time, least-recently-used
/// eviction throws out exactly what the next pass needs first, while walking back over
/// what was just touched finds most of it still cached. Measured (docs/performance.md,
/// "Parameter server"): 50 -> 31 us per update at d = 200,000. The result does not depend
/// on the direction (each element is computed alone).
enum class Sweep { forward, backward };

class UpdateAccumulator {
 public:
  explicit UpdateAccumulator(std::size_t dim);  // allocates once

  /// acc += lr * g. Returns ||g||^2 computed in the same pass (NaN/Inf detection).
  double add(std::span<const float> g, double lr);

  /// dst = cur - acc / count; then clears the accumulator. Returns ||dst||^2 from the same
  /// pass (NaN/Inf detection). CHECK-fails when nothing was added.
  double apply_into(std::span<float> dst, std::span<const float> cur, Sweep sweep = Sweep::forward);

  /// dst = cur - lr * g, with nothing accumulated (CHECK-fails otherwise): an update of
  /// one gradient in one pass, without add()'s pass over the accumulator. Where the
  /// compiler fuses the multiply and subtract (FMA), lr * g is not rounded on its own, so
  /// the low bits can differ from add(g, lr) then apply_into (by one rounding, the fused
  /// result being the closer one); runs are deterministic either way. Returns ||g||^2 (as
  /// add() would: in float, so it overflows where add()'s does) and ||dst||^2, computed
  /// block by block in the same pass.
  struct Norms {
    double gradient2 = 0;
    double weights2 = 0;
  };
  Norms apply_one_into(std::span<float> dst, std::span<const float> cur, std::span<const float> g,
                       double lr, Sweep sweep = Sweep::forward) const;
  /// apply_one_into with dst = g: g_then_w holds the gradient and receives cur - lr * g
  /// (the same floats apply_one_into writes), for a new version written into the
  /// gradient's own buffer (VersionedWeights::publish_in).
  Norms apply_one_in_place(std::span<float> g_then_w, std::span<const float> cur, double lr,
                           Sweep sweep = Sweep::forward) const;

  /// The last gradient of an update of several (count() > 0), folded into the publishing
  /// pass and written over its own buffer: g_then_w holds g and receives
  /// cur - (acc + lr * g) / (count() + 1), what add(g, lr) then apply_into would write (up
  /// to the compiler's fusing of a multiply and an add), without add()'s pass and into a
  /// buffer the PS just received instead of a cold free one (VersionedWeights::publish_in;
  /// docs/performance.md, "Parameter server"). Clears the accumulator. Returns ||g||^2 and
  /// ||new weights||^2 from the same pass.
  Norms apply_last_in_place(std::span<float> g_then_w, std::span<const float> cur, double lr,
                            Sweep sweep = Sweep::forward);

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
