// Delay compensation (DC-ASGD, Zheng et al., ICML 2017; ../shared/paper.md "Beyond the
// paper"): a gradient g computed on w_tau and applied when the weights are w_j is replaced by
//   g + lambda (.) g (.) g (.) (w_j - w_tau)          (element-wise)
// before the PS folds it in: lambda g (.) g stands for the Hessian's diagonal, so the
// gradient is moved, to first order, to where it is applied. The adaptive form scales lambda
// element-wise, lambda_i = lambda0 / sqrt(MeanSquare_i + eps), MeanSquare an exponential
// average of g (.) g over every accepted gradient (MeanSquare <- m MeanSquare + (1 - m) g (.) g,
// then the gradient is compensated). A gradient with staleness 0 has w_j = w_tau: it is left
// untouched (the adaptive form still folds it into MeanSquare), so compensation changes
// nothing where nothing is stale. Composes with every variant: it acts on each accepted
// gradient, whatever decides when updates happen. docs/decisions/0005-delay-compensation.md.
//
// Threads: none; the PS's thread only.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace racesgd {

struct CompensationConfig {
  enum class Kind { none, dc, dc_adaptive };
  Kind kind = Kind::none;
  double lambda = 0.04;   // dc (the paper's and MXNet's default)
  double lambda0 = 2.0;   // dc-adaptive
  double momentum = 0.95;
  double eps = 1e-7;
};

/// Parses --compensation: "none", "dc[:lambda=L]", "dc-adaptive[:lambda0=L0,momentum=M,eps=E]".
/// Throws InputError naming the flag and what is wrong (unknown kind or key, lambda < 0,
/// momentum outside [0, 1), eps <= 0).
CompensationConfig parse_compensation(std::string_view spec);

/// The canonical spec, every parameter spelled out (summary.json, checkpoints).
std::string to_string(const CompensationConfig& c);

class DelayCompensation {
 public:
  /// dim: the model's parameter count (the adaptive form keeps one MeanSquare per weight).
  DelayCompensation(const CompensationConfig& c, std::size_t dim);

  bool active() const { return c_.kind != CompensationConfig::Kind::none; }

  /// g <- g + lambda (.) g (.) g (.) (current - read) where `stale`, after folding g into
  /// MeanSquare (adaptive form, always). All spans dim() long; CHECK-fails otherwise.
  void apply(std::span<float> g, std::span<const float> current, std::span<const float> read,
             bool stale);

  /// The adaptive form's MeanSquare (empty otherwise), for checkpoints.
  std::span<const float> mean_square() const { return mean_square_; }
  /// Continues from a saved MeanSquare. Throws InputError when its size is neither 0 (a
  /// checkpoint from before compensation existed, or of another form: starts from zeros)
  /// nor this form's.
  void restore(std::span<const float> mean_square);

 private:
  CompensationConfig c_;
  std::size_t dim_;
  std::vector<float> mean_square_;
};

}  // namespace racesgd
