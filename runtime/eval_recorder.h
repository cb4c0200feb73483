// EvalRecorder: evaluation off the clock. During a run the PS copies the weights into a
// snapshot slot at evaluation ticks (a memcpy of d floats plus counters); the snapshots
// are scored for train loss and test error afterwards, in parallel, so evaluating never
// slows the race being measured. Online scoring (for --target-error) is available too, for
// the virtual clock where it cannot disturb anything, and the real clock's evaluator thread.
//
// Points: a time tick records one only when an update was applied since the previous point
// (has_new_update): the weights change only with an update, so a second point would repeat
// the first but for its time. A curve thus has at most one point per update plus its two
// ends, whatever --eval-every is; the runtimes skip the ticks between two events in O(1)
// (EvalTicker::skip_past), keeping the first tick after an update (time to a target error
// is unchanged by the skipping).
//
// Memory: slots are allocated as points are recorded, up to a capacity the caller derives
// from a byte budget (--snapshot-memory, see runtime/run_memory.h); when all are used,
// points are dropped and their slots reused: every other point of the linear grid, keeping
// the auto schedule's geometric points (early and dense: where time to a target is read)
// until no linear point is left, then every other point (thin). A point not scored yet (post-run scoring
// stopped by a signal) shows NaN train loss and test error.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "models/dataset.h"
#include "models/model.h"
#include "runtime/run_types.h"

namespace racesgd {

/// What post-run scoring may be told and may tell.
struct ScoringControl {
  /// Checked before each snapshot: once set, scoring stops and leaves the rest unscored.
  const std::atomic<bool>* interrupt = nullptr;
  /// (scored, total): called on score_all's calling thread once at the start, then at most
  /// every `progress_every_s` real seconds (never from the scoring threads).
  std::function<void(std::size_t, std::size_t)> progress;
  double progress_every_s = 0.25;
};

class EvalRecorder {
 public:
  /// capacity: the most snapshots kept (>= 4). Slots are allocated as needed, never more
  /// than `capacity`; when all are used, every other linear-grid snapshot is dropped (thin:
  /// the curve keeps its span and its geometric points) so a long run never stops recording.
  /// `schedule` tells its geometric points from the linear ones when thinning (thin).
  EvalRecorder(std::size_t dim, std::size_t capacity, const EvalSchedule& schedule = {});

  /// Copies `weights` and the counters into the next slot (allocating it if this is the
  /// first use of that slot). PS thread only.
  void record(const CurvePoint& counters, std::span<const float> weights);

  /// Allocates (and touches) the first min(n, capacity) slots now, so that recording them
  /// is only a copy: on the real clock the PS thread should not page-fault fresh memory
  /// in the middle of the race being measured.
  void reserve(std::size_t n);

  std::size_t size() const { return points_.size(); }
  std::size_t capacity() const { return capacity_; }
  /// Bytes of snapshot storage allocated so far (<= capacity x dim floats).
  std::size_t allocated_bytes() const { return allocated_ * dim_ * sizeof(float); }
  const CurvePoint& point(std::size_t i) const { return points_[i]; }
  bool scored(std::size_t i) const { return scored_[i] != 0; }
  /// Point i's weights; CHECK-fails for a scored point restored from a checkpoint (none kept).
  std::span<const float> weights(std::size_t i) const;

  /// Scores snapshot i (train loss on train_eval, error on test).
  void score(std::size_t i, const Model& model, const Dataset& train_eval, const Dataset& test);
  /// Scores every snapshot not scored yet, in parallel on short-lived threads, the newest
  /// first (the run's final error). Returns how many are left unscored: 0, unless
  /// `control.interrupt` was raised.
  std::size_t score_all(const Model& model, const Dataset& train_eval, const Dataset& test,
                        const ScoringControl& control = {});

  /// The curve; points not scored show NaN train loss and test error.
  std::vector<CurvePoint> curve() const { return points_; }

  /// One recorded point for checkpoints: scored ones need no weights any more.
  struct Saved {
    CurvePoint point;
    bool scored = false;
    std::vector<float> weights;  // dim floats when !scored, else empty
  };
  /// Every recorded point (allocates).
  std::vector<Saved> saved() const;
  /// Replaces the recorded points with saved ones. More points than the capacity (a
  /// checkpoint of a run with a larger --snapshot-memory) are thinned as during a run.
  /// Throws InputError when an unscored point's weights are not dim floats.
  void restore(const std::vector<Saved>& points);

 private:
  void compact();
  /// Slot i's buffer, allocated on first use.
  float* slot(std::size_t i);

  std::size_t dim_;
  std::size_t capacity_;
  EvalSchedule schedule_;
  // slots_[i] holds point i's weights (null: not allocated yet, or a scored point restored
  // from a checkpoint); slots past size() are free for reuse.
  std::vector<std::unique_ptr<float[]>> slots_;
  std::size_t allocated_ = 0;
  std::vector<CurvePoint> points_;
  std::vector<char> scored_;
};

/// Points a run will record by its schedule and stop rule (ticks plus the two ends), as
/// far as they say: time ticks count only with a finite time limit, update ticks only with
/// an update limit. For EvalRecorder::reserve.
std::size_t expected_points(const StopRule& stop, const EvalSchedule& eval);

/// Indices kept of `points` (a curve recorded by `schedule`) by one thinning: every other
/// interior point of the linear grid is dropped (the first of them, the third, ...), the
/// points of geometric ticks (records_geometric_tick) are kept; when no linear point is
/// left, every other interior point. Without geometric ticks: 0, 2, 4, ... and the newest.
std::vector<std::size_t> thin(const std::vector<CurvePoint>& points, const EvalSchedule& schedule);

/// The end of a run, shared by both runtimes. `recorder` holds snapshots (gradient runs);
/// otherwise `timing_curve` holds counter-only points (timing-only runs).
/// The newest point recorded, or null.
const CurvePoint* last_point(const std::optional<EvalRecorder>& recorder,
                             const std::vector<CurvePoint>& timing_curve);
/// True unless the newest point already shows `updates` at run time `now`.
bool needs_final_point(const CurvePoint* last, std::uint64_t updates, double now);
/// True when `updates` differs from the newest point's (or there is none): a time tick
/// records a point only then, since one taken with no update in between would repeat the
/// previous point (the weights only change when an update is applied).
bool has_new_update(const CurvePoint* last, std::uint64_t updates);
/// Scores every snapshot (in parallel) and puts the curve into result.curve. When a signal
/// (control.interrupt) stops the scoring, the unscored points stay NaN and the result is
/// marked interrupted (StopReason::interrupted, error saying what was left).
void finish_curve(std::optional<EvalRecorder>& recorder, std::vector<CurvePoint>& timing_curve,
                  const Model* model, const Dataset& train_eval, const Dataset* test,
                  const ScoringControl& control, RunResult& result);

/// A fixed, seeded subsample of `data` with at most n rows (all rows when n == 0 or n >= size).
Dataset subsample(const Dataset& data, std::size_t n, std::uint64_t seed);

}  // namespace racesgd
