// Transforms applied after loading: feature scaling (statistics from the training set
// only, applied to train and test alike), binary tasks (keep two classes, or even vs odd),
// a seeded train/test split, and seeded subsampling. Each parse_* function turns the CLI's
// text into a value and throws InputError naming the flag.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "models/dataset.h"

namespace racesgd {

enum class Scaling {
  kNone,      // raw features
  kMax,       // divide every feature by the largest |x| in the training set (MNIST: /255)
  kUnit,      // per feature, min-max to [0, 1] over the training set
  kStandard,  // per feature, zero mean and unit variance over the training set
};

/// "none" | "max" | "unit" | "standard". Throws InputError "<flag>: 'foo' is not one of
/// none, max, unit, standard".
Scaling parse_scaling(std::string_view text, std::string_view flag = "--scale");
std::string_view scaling_name(Scaling s);

/// x' = (x - offset) * scale, per feature. A feature that is constant in the training set
/// gets scale 1 (so it becomes 0 there and never NaN or Inf, here or in the test set).
struct ScalingStats {
  VectorX<float> offset;
  VectorX<float> scale;
};

/// Statistics of `train` for scaling `s` (accumulated in double). Allocates two d-vectors.
ScalingStats fit_scaling(const Dataset& train, Scaling s);
/// Applies the statistics in place. `data.dim()` must equal the statistics' size (a
/// programming error otherwise). No allocation.
void apply_scaling(const ScalingStats& stats, Dataset& data);

/// A two-class task carved out of a multi-class dataset.
struct BinaryTask {
  enum class Kind { kNone, kPair, kEvenOdd };
  Kind kind = Kind::kNone;
  int first = 0;     // kPair: the class relabelled 0
  int second = 0;    // kPair: the class relabelled 1
  std::string text;  // as the user wrote it
};

/// "" (none) | "A,B" (keep classes A and B, relabel A->0, B->1) | "even-odd" (even class
/// -> 0, odd -> 1). Throws InputError naming the flag on anything else, or A == B.
BinaryTask parse_binary_task(std::string_view text, std::string_view flag = "--binary");

/// The rows of `data` the task keeps, relabelled, with num_classes 2 (a copy of `data`
/// when the task is kNone). Throws InputError naming the flag when a class of the pair is
/// not below data.num_classes or no row is kept. Allocates the result.
Dataset apply_binary_task(const Dataset& data, const BinaryTask& task,
                          std::string_view flag = "--binary");

/// Splits `all` into train and test: round(n * test_fraction) rows (at least 1, at most
/// n - 1) go to the test set, chosen by a Fisher-Yates shuffle seeded with `seed`; both
/// keep the original row order. Deterministic in (data, fraction, seed). Throws InputError
/// naming the flag when test_fraction is not in (0, 1) or `all` has fewer than 2 rows.
TrainTest split_train_test(const Dataset& all, double test_fraction, std::uint64_t seed,
                           std::string_view flag = "--test-fraction");

/// `max_rows` rows of `data` drawn without replacement by a generator seeded with `seed`,
/// in their original order; the whole dataset when max_rows is 0 or >= its size.
/// Deterministic in (data, max_rows, seed). Allocates the result.
Dataset subsample(const Dataset& data, std::int64_t max_rows, std::uint64_t seed);

/// The rows `rows` of `data` in that order (indices must be in range: a programming error
/// otherwise). Allocates the result.
Dataset select_rows(const Dataset& data, const std::vector<Eigen::Index>& rows);

}  // namespace racesgd
