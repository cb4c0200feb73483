#include "sgd/eval_recorder.h"

#include <algorithm>
#include <numeric>
#include <atomic>
#include <thread>

#include "core/check.h"
#include "core/error.h"
#include "core/rng.h"

namespace racesgd {

EvalRecorder::EvalRecorder(std::size_t dim, std::size_t capacity)
    : dim_(dim), capacity_(std::max<std::size_t>(capacity, 4)), storage_(capacity_ * dim) {
  points_.reserve(capacity_);
  scored_.reserve(capacity_);
}

void EvalRecorder::compact() {
  // Keep snapshots 0, 2, 4, ... and always the newest, halving the resolution.
  std::size_t out = 0;
  for (std::size_t i = 0; i < points_.size(); ++i) {
    if (i % 2 != 0 && i + 1 != points_.size()) continue;
    if (out != i) {
      points_[out] = points_[i];
      scored_[out] = scored_[i];
      std::copy_n(storage_.begin() + static_cast<std::ptrdiff_t>(i * dim_), dim_,
                  storage_.begin() + static_cast<std::ptrdiff_t>(out * dim_));
    }
    ++out;
  }
  points_.resize(out);
  scored_.resize(out);
}

void EvalRecorder::record(const CurvePoint& counters, std::span<const float> weights) {
  RACESGD_CHECK(weights.size() == dim_);
  if (points_.size() == capacity_) compact();
  const std::size_t slot = points_.size();
  std::copy(weights.begin(), weights.end(),
            storage_.begin() + static_cast<std::ptrdiff_t>(slot * dim_));
  points_.push_back(counters);
  scored_.push_back(0);
}

std::span<const float> EvalRecorder::weights(std::size_t i) const {
  RACESGD_CHECK(i < points_.size());
  return {storage_.data() + i * dim_, dim_};
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

void EvalRecorder::score_all(const Model& model, const Dataset& train_eval, const Dataset& test) {
  // Our own short-lived threads rather than oneTBB's pool: scoring runs once per run, and
  // an uninstrumented libtbb makes ThreadSanitizer report false races inside parallel_for.
  // Each snapshot is scored by exactly one thread (distinct slots; score() allocates its
  // own scratch), so the result does not depend on the thread count.
  const std::size_t n = points_.size();
  const std::size_t threads =
      std::min<std::size_t>(n, std::max(1u, std::thread::hardware_concurrency()));
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next.fetch_add(1, std::memory_order_relaxed); i < n;
         i = next.fetch_add(1, std::memory_order_relaxed))
      score(i, model, train_eval, test);
  };
  std::vector<std::jthread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
}  // the jthreads join here: their writes happen-before score_all returns

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
  if (points.size() > capacity_)
    throw InputError("checkpoint: " + std::to_string(points.size()) +
                     " curve points, more than the " + std::to_string(capacity_) + " kept");
  for (const Saved& p : points)
    if (!p.scored && p.weights.size() != dim_)
      throw InputError("checkpoint: an unscored curve point holds " +
                       std::to_string(p.weights.size()) + " weights, the model has " +
                       std::to_string(dim_));
  points_.clear();
  scored_.clear();
  for (std::size_t i = 0; i < points.size(); ++i) {
    points_.push_back(points[i].point);
    scored_.push_back(points[i].scored ? 1 : 0);
    float* slot = storage_.data() + i * dim_;
    if (points[i].scored)
      std::fill_n(slot, dim_, 0.0f);  // never read: score() skips scored points
    else
      std::copy(points[i].weights.begin(), points[i].weights.end(), slot);
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

std::vector<CurvePoint> finish_curve(std::optional<EvalRecorder>& recorder,
                                     std::vector<CurvePoint>& timing_curve, const Model* model,
                                     const Dataset& train_eval, const Dataset* test) {
  if (!recorder) return std::move(timing_curve);
  recorder->score_all(*model, train_eval, *test);
  return recorder->curve();
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
