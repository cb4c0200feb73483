// MinibatchSampler: one learner's minibatch stream. Epoch-wise sampling without
// replacement: each epoch visits every row exactly once, in an order reshuffled at the
// start of the epoch. Batches are always batch_size rows; a batch that runs past the end
// of an epoch is completed from the start of the next one (so a row can appear twice in
// that one batch, once per epoch). Rows are gathered into the sampler's own buffers,
// allocated once in the constructor.
#pragma once

#include <cstdint>
#include <cstring>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "models/dataset.h"
#include "models/model.h"

namespace racesgd {

template <typename T>
class MinibatchSamplerT {
 public:
  /// Where a sampler is in its stream: enough to continue it exactly after a restart.
  struct State {
    std::uint64_t epoch_rng[4] = {0, 0, 0, 0};  // generator state before this epoch's shuffle
    std::uint64_t epoch = 0;                    // epochs begun before the current one
    std::int64_t position = 0;                  // rows of the current epoch already drawn
  };

  /// Samples `data` (which must outlive the sampler and not change) with a stream seeded
  /// by `seed`. Allocates the batch buffers and the row order. Throws InputError when
  /// batch_size is < 1 or larger than the dataset.
  MinibatchSamplerT(const DatasetT<T>& data, Eigen::Index batch_size, std::uint64_t seed)
      : data_(&data),
        batch_size_(checked_batch_size(data, batch_size)),
        rng_(seed),
        order_(static_cast<std::size_t>(data.size())),
        x_(batch_size_, data.dim()),
        y_(static_cast<std::size_t>(batch_size_)) {
    start_epoch();
  }

  /// Learner `learner`'s sampler in run `run_seed`: seeded by
  /// derive_seed(run_seed, learner, StreamPurpose::kBatches), so learners draw different,
  /// reproducible streams.
  static MinibatchSamplerT for_learner(const DatasetT<T>& data, Eigen::Index batch_size,
                                      std::uint64_t run_seed, std::uint64_t learner) {
    return MinibatchSamplerT(data, batch_size,
                             derive_seed(run_seed, learner, StreamPurpose::kBatches));
  }

  /// The next minibatch, a view of this sampler's buffers valid until the next call.
  /// Never allocates, never throws. Not thread-safe: one sampler per learner thread.
  BatchView<T> next() {
    const Eigen::Index d = data_->dim();
    const auto row_bytes = static_cast<std::size_t>(d) * sizeof(T);
    const auto n = static_cast<std::int64_t>(order_.size());
    for (Eigen::Index i = 0; i < batch_size_; ++i) {
      if (position_ == n) {
        ++epoch_;
        start_epoch();
      }
      const Eigen::Index r = order_[static_cast<std::size_t>(position_++)];
      if (row_bytes > 0) std::memcpy(x_.row(i).data(), data_->x.row(r).data(), row_bytes);
      y_[static_cast<std::size_t>(i)] = data_->y[static_cast<std::size_t>(r)];
    }
    return BatchView<T>{x_, std::span<const std::int32_t>(y_)};
  }

  Eigen::Index batch_size() const { return batch_size_; }
  /// Epochs begun before the current one (0 during the first pass).
  std::uint64_t epoch() const { return epoch_; }
  /// Rows of the current epoch already drawn, in [0, size].
  std::int64_t position() const { return position_; }

  State state() const {
    State s;
    for (int i = 0; i < 4; ++i) s.epoch_rng[i] = epoch_rng_[i];
    s.epoch = epoch_;
    s.position = position_;
    return s;
  }

  /// Continues from a saved state (of a sampler over the same dataset): redoes that
  /// epoch's shuffle, then skips the rows already drawn. Allocation-free. Throws
  /// InputError when the position does not fit this dataset (a checkpoint of another one).
  void restore(const State& s) {
    if (s.position < 0 || s.position > static_cast<std::int64_t>(order_.size())) {
      throw InputError("sampler state: position " + std::to_string(s.position) + " is outside 0.." +
                       std::to_string(order_.size()) + " (a checkpoint of another dataset?)");
    }
    rng_.set_state(s.epoch_rng);
    start_epoch();
    epoch_ = s.epoch;
    position_ = s.position;
  }

 private:
  static Eigen::Index checked_batch_size(const DatasetT<T>& data, Eigen::Index batch_size) {
    if (batch_size < 1 || batch_size > data.size()) {
      throw InputError("batch size " + std::to_string(batch_size) + " must lie in 1.." +
                       std::to_string(data.size()) + " (the number of samples in " + data.name +
                       ")");
    }
    return batch_size;
  }

  // Remembers the generator state (for State), then shuffles the identity order with
  // Fisher-Yates so an epoch's order depends only on that state.
  void start_epoch() {
    for (int i = 0; i < 4; ++i) epoch_rng_[i] = rng_.state()[i];
    std::iota(order_.begin(), order_.end(), Eigen::Index{0});
    for (std::size_t i = order_.size(); i > 1; --i) {
      const auto j = static_cast<std::size_t>(rng_.below(i));
      std::swap(order_[i - 1], order_[j]);
    }
    position_ = 0;
  }

  const DatasetT<T>* data_;
  Eigen::Index batch_size_;
  Rng rng_;
  std::uint64_t epoch_rng_[4] = {0, 0, 0, 0};
  std::uint64_t epoch_ = 0;
  std::int64_t position_ = 0;
  std::vector<Eigen::Index> order_;
  MatrixRM<T> x_;
  std::vector<std::int32_t> y_;
};

using MinibatchSampler = MinibatchSamplerT<float>;

}  // namespace racesgd
