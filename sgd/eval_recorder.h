// EvalRecorder: evaluation off the clock. During a run the PS copies the weights into
// preallocated slots at evaluation ticks (a memcpy of d floats plus counters); the
// snapshots are scored for train loss and test error afterwards, in parallel, so evaluating
// never slows the race being measured. Online scoring (for --target-error) is available
// too, for the virtual clock where it cannot disturb anything, and the real clock's
// evaluator thread.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "models/dataset.h"
#include "models/model.h"
#include "sgd/run_types.h"

namespace racesgd {

class EvalRecorder {
 public:
  /// capacity: the most snapshots kept (allocated up front). When full, every other
  /// snapshot is dropped (the curve keeps its span at half the resolution) so a long run
  /// never allocates or stops recording.
  EvalRecorder(std::size_t dim, std::size_t capacity);

  /// Copies `weights` and the counters into the next slot. PS thread only.
  void record(const CurvePoint& counters, std::span<const float> weights);

  std::size_t size() const { return points_.size(); }
  const CurvePoint& point(std::size_t i) const { return points_[i]; }
  std::span<const float> weights(std::size_t i) const;

  /// Scores snapshot i (train loss on train_eval, error on test).
  void score(std::size_t i, const Model& model, const Dataset& train_eval, const Dataset& test);
  /// Scores every snapshot not scored yet, in parallel (oneTBB).
  void score_all(const Model& model, const Dataset& train_eval, const Dataset& test);

  /// The scored curve.
  std::vector<CurvePoint> curve() const { return points_; }

  /// One recorded point for checkpoints: scored ones need no weights any more.
  struct Saved {
    CurvePoint point;
    bool scored = false;
    std::vector<float> weights;  // dim floats when !scored, else empty
  };
  /// Every recorded point (allocates).
  std::vector<Saved> saved() const;
  /// Replaces the recorded points with saved ones. Throws InputError when there are more
  /// than the capacity or an unscored point's weights are not dim floats. Never allocates
  /// beyond the constructor's buffers.
  void restore(const std::vector<Saved>& points);

 private:
  void compact();

  std::size_t dim_;
  std::size_t capacity_;
  std::vector<float> storage_;  // capacity_ x dim_
  std::vector<CurvePoint> points_;
  std::vector<char> scored_;
};

/// The end of a run, shared by both runtimes. `recorder` holds snapshots (gradient runs);
/// otherwise `timing_curve` holds counter-only points (timing-only runs).
/// The newest point recorded, or null.
const CurvePoint* last_point(const std::optional<EvalRecorder>& recorder,
                             const std::vector<CurvePoint>& timing_curve);
/// True unless the newest point already shows `updates` at run time `now`.
bool needs_final_point(const CurvePoint* last, std::uint64_t updates, double now);
/// Scores every snapshot (in parallel) and returns the curve.
std::vector<CurvePoint> finish_curve(std::optional<EvalRecorder>& recorder,
                                     std::vector<CurvePoint>& timing_curve, const Model* model,
                                     const Dataset& train_eval, const Dataset* test);

/// A fixed, seeded subsample of `data` with at most n rows (all rows when n == 0 or n >= size).
Dataset subsample(const Dataset& data, std::size_t n, std::uint64_t seed);

}  // namespace racesgd
