#include "runtime/eval_recorder.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <limits>
#include <numeric>
#include <thread>

#include "core/check.h"
#include "core/error.h"
#include "core/rng.h"
#include "runtime/eval_ticks.h"

namespace racesgd {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A point not scored yet: NaN until score() fills it, so an unscored point can never be
// read as a perfect one.
CurvePoint unscored(CurvePoint p) {
  p.train_loss = kNaN;
  p.test_error = kNaN;
  return p;
}

}  // namespace

std::size_t expected_points(const StopRule& stop, const EvalSchedule& eval) {
  double n = 2;  // the start and the end
  if (eval.every_s > 0 && std::isfinite(stop.time_s)) n += std::floor(stop.time_s / eval.every_s);
  const bool update_limit = stop.updates != std::numeric_limits<std::uint64_t>::max();
  if (eval.every_updates > 0 && update_limit) {
    const std::uint64_t update_ticks = stop.updates / eval.every_updates;  // whole ticks
    n += static_cast<double>(update_ticks);
  }
  if (eval.geometric_ratio > 1) {
    if (eval.geometric_from_s > 0)
      n += static_cast<double>(
          geometric_ticks_until(eval.geometric_from_s, eval.geometric_ratio, stop.time_s));
    if (eval.geometric_updates && update_limit)
      n += static_cast<double>(geometric_update_ticks_until(eval.geometric_ratio, stop.updates));
  }
  return n >= 1e9 ? std::size_t{1000000000} : static_cast<std::size_t>(n);
}

std::vector<std::size_t> thin(const std::vector<CurvePoint>& points, const EvalSchedule& schedule) {
  const std::size_t n = points.size();
  // The interior points no geometric tick asked for: the linear grid's.
  std::vector<std::size_t> linear;
  for (std::size_t i = 1; i + 1 < n; ++i)
    if (!records_geometric_tick(schedule, points[i - 1], points[i])) linear.push_back(i);
  std::vector<char> drop(n, 0);
  if (!linear.empty()) {
    // Every other linear point, from the first: the grid at half its resolution.
    for (std::size_t j = 0; j < linear.size(); j += 2) drop[linear[j]] = 1;
  } else {
    // Geometric points only: every other one (the ratio squared), the newest kept.
    for (std::size_t i = 1; i + 1 < n; i += 2) drop[i] = 1;
  }
  std::vector<std::size_t> kept;
  for (std::size_t i = 0; i < n; ++i)
    if (!drop[i]) kept.push_back(i);
  return kept;
}

EvalRecorder::EvalRecorder(std::size_t dim, std::size_t capacity, const EvalSchedule& schedule)
    : dim_(dim), capacity_(capacity), schedule_(schedule) {
  // Thinning keeps the first and the newest: it frees a slot only from 3 points up.
  RACESGD_CHECK_MSG(capacity_ >= 4, "EvalRecorder needs at least 4 snapshot slots");
  slots_.reserve(capacity_);  // pointers only: the weights are allocated by record()
  points_.reserve(capacity_);
  scored_.reserve(capacity_);
}

void EvalRecorder::compact() {
  // Drop every other point of the linear grid, or when only geometric points are left,
  // every other point (thin). The dropped points' buffers move past size(), free for the
  // next records.
  const std::vector<std::size_t> keep = thin(points_, schedule_);
  for (std::size_t out = 0; out < keep.size(); ++out) {
    const std::size_t i = keep[out];
    if (out == i) continue;
    points_[out] = points_[i];
    scored_[out] = scored_[i];
    std::swap(slots_[out], slots_[i]);
  }
  points_.resize(keep.size());
  scored_.resize(keep.size());
}

void EvalRecorder::record(const CurvePoint& counters, std::span<const float> weights) {
  RACESGD_CHECK(weights.size() == dim_);
  if (points_.size() == capacity_) compact();
  const std::size_t i = points_.size();
  std::copy(weights.begin(), weights.end(), slot(i));
  points_.push_back(unscored(counters));
  scored_.push_back(0);
}

float* EvalRecorder::slot(std::size_t i) {
  if (i >= slots_.size()) slots_.resize(i + 1);
  if (!slots_[i]) {
    slots_[i] = std::make_unique<float[]>(dim_);  // zeroed: the pages are faulted in here, once
    ++allocated_;
  }
  return slots_[i].get();
}

void EvalRecorder::reserve(std::size_t n) {
  for (std::size_t i = 0; i < std::min(n, capacity_); ++i) slot(i);
}

std::span<const float> EvalRecorder::weights(std::size_t i) const {
  RACESGD_CHECK_MSG(i < points_.size() && i < slots_.size() && slots_[i],
                    "no weights kept for this point (restored already scored)");
  return {slots_[i].get(), dim_};
}

void EvalRecorder::score(std::size_t i, const Model& model, const Dataset& train_eval,
                         const Dataset& test) {
  RACESGD_CHECK(i < points_.size());
  if (scored_[i]) return;
  const Evaluation tr = model.evaluate(weights(i), train_eval);
  const Evaluation te = model.evaluate(weights(i), test);
  points_[i].train_loss = tr.loss;
  points_[i].test_error = te.error;
  scored_[i] = 1;
}

std::size_t EvalRecorder::score_all(const Model& model, const Dataset& train_eval,
                                    const Dataset& test, const ScoringControl& control) {
  // Our own short-lived threads rather than oneTBB's pool: scoring runs once per run, and
  // an uninstrumented libtbb makes ThreadSanitizer report false races inside parallel_for.
  // Each snapshot is scored by exactly one thread (distinct slots; score() allocates its
  // own scratch), so the result does not depend on the thread count.
  // The newest point first: it is the run's final error (summary.json), the number most
  // read, so an interrupted scoring still has it. Then the others in order.
  std::vector<std::size_t> todo;
  for (std::size_t i = points_.size(); i-- > 0;)
    if (!scored_[i]) {
      todo.push_back(i);
      break;
    }
  for (std::size_t i = 0; i < points_.size(); ++i)
    if (!scored_[i] && (todo.empty() || i != todo.front())) todo.push_back(i);
  const std::size_t n = todo.size();
  if (control.progress) control.progress(0, n);
  if (n == 0) return 0;
  auto interrupted = [&] {  // a flag, no data: relaxed (docs/concurrency.md)
    return control.interrupt && control.interrupt->load(std::memory_order_relaxed);
  };
  const std::size_t threads =
      std::min<std::size_t>(n, std::max(1u, std::thread::hardware_concurrency()));
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};  // for the progress report only
  auto work = [&](bool reports) {
    using Clock = std::chrono::steady_clock;
    auto last_report = Clock::now();
    while (!interrupted()) {
      const std::size_t k = next.fetch_add(1, std::memory_order_relaxed);
      if (k >= n) break;
      score(todo[k], model, train_eval, test);
      done.fetch_add(1, std::memory_order_relaxed);
      if (reports && control.progress &&
          std::chrono::duration<double>(Clock::now() - last_report).count() >=
              control.progress_every_s) {
        last_report = Clock::now();
        control.progress(done.load(std::memory_order_relaxed), n);
      }
    }
  };
  {
    std::vector<std::jthread> pool;
    for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work, false);
    work(true);  // only this (the caller's) thread reports progress
  }  // the jthreads join here: their writes happen-before the count below
  return static_cast<std::size_t>(
      std::count_if(todo.begin(), todo.end(), [&](std::size_t i) { return !scored_[i]; }));
}

std::vector<EvalRecorder::Saved> EvalRecorder::saved() const {
  std::vector<Saved> out(points_.size());
  for (std::size_t i = 0; i < points_.size(); ++i) {
    out[i].point = points_[i];
    out[i].scored = scored_[i] != 0;
    if (!out[i].scored) out[i].weights.assign(weights(i).begin(), weights(i).end());
  }
  return out;
}

void EvalRecorder::restore(const std::vector<Saved>& points) {
  for (const Saved& p : points)
    if (!p.scored && p.weights.size() != dim_)
      throw InputError("checkpoint: an unscored curve point holds " +
                       std::to_string(p.weights.size()) + " weights, the model has " +
                       std::to_string(dim_));
  // The points to keep: all, or as thinned during a run until they fit the capacity.
  std::vector<std::size_t> keep(points.size());
  std::iota(keep.begin(), keep.end(), std::size_t{0});
  while (keep.size() > capacity_) {
    std::vector<CurvePoint> kept;
    for (std::size_t i : keep) kept.push_back(points[i].point);
    std::vector<std::size_t> thinner;
    for (std::size_t j : thin(kept, schedule_)) thinner.push_back(keep[j]);
    keep = std::move(thinner);
  }
  points_.clear();
  scored_.clear();
  for (std::size_t i : keep) {
    const Saved& p = points[i];
    const std::size_t at = points_.size();
    points_.push_back(p.scored ? p.point : unscored(p.point));
    scored_.push_back(p.scored ? 1 : 0);
    if (p.scored) continue;  // its slot is never read (score() skips scored points)
    std::copy(p.weights.begin(), p.weights.end(), slot(at));
  }
}

const CurvePoint* last_point(const std::optional<EvalRecorder>& recorder,
                             const std::vector<CurvePoint>& timing_curve) {
  if (recorder) return recorder->size() ? &recorder->point(recorder->size() - 1) : nullptr;
  return timing_curve.empty() ? nullptr : &timing_curve.back();
}

bool needs_final_point(const CurvePoint* last, std::uint64_t updates, double now) {
  return !last || last->updates != updates || last->time_s < now;
}

bool has_new_update(const CurvePoint* last, std::uint64_t updates) {
  return !last || last->updates != updates;
}

void finish_curve(std::optional<EvalRecorder>& recorder, std::vector<CurvePoint>& timing_curve,
                  const Model* model, const Dataset& train_eval, const Dataset* test,
                  const ScoringControl& control, RunResult& result) {
  if (!recorder) {
    result.curve = std::move(timing_curve);
    return;
  }
  const std::size_t left = recorder->score_all(*model, train_eval, *test, control);
  result.curve = recorder->curve();
  if (left == 0) return;
  const std::string what = "interrupted by a signal while scoring: " + std::to_string(left) +
                           " of " + std::to_string(recorder->size()) +
                           " evaluation points not scored (NaN in the curve)";
  // A run that had finished by its rule is now an interrupted one (exit 1, summary says
  // so); a failed run keeps its reason and gains this note.
  if (finished_by_rule(result.stop_reason)) {
    result.error = what + "; the run had stopped by " + std::string(to_string(result.stop_reason));
    result.stop_reason = StopReason::interrupted;
  } else {
    result.error += (result.error.empty() ? "" : "; ") + what;
  }
}

Dataset subsample(const Dataset& data, std::size_t n, std::uint64_t seed) {
  const auto size = static_cast<std::size_t>(data.size());
  if (n == 0 || n >= size) return data;
  std::vector<std::size_t> idx(size);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  Rng rng(derive_seed(seed, 0, StreamPurpose::kOther));
  for (std::size_t i = 0; i < n; ++i) std::swap(idx[i], idx[i + rng.below(size - i)]);
  idx.resize(n);
  std::sort(idx.begin(), idx.end());
  Dataset out;
  out.name = data.name + "[subsample " + std::to_string(n) + "]";
  out.num_classes = data.num_classes;
  out.x.resize(static_cast<Eigen::Index>(n), data.dim());
  out.y.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    out.x.row(static_cast<Eigen::Index>(i)) = data.x.row(static_cast<Eigen::Index>(idx[i]));
    out.y[i] = data.y[idx[i]];
  }
  return out;
}

}  // namespace racesgd
