#include "ps/versioned_weights.h"

#include <algorithm>
#include <new>

namespace racesgd {
VersionedWeights::VersionedWeights(std::span<const float> w0, std::size_t pool_size,
                                   Version first_version)
    : dim_(w0.size()), pool_size_(pool_size) {
  RACESGD_CHECK_MSG(pool_size >= 2 && pool_size <= kMaxPoolSize,
                    "VersionedWeights: pool_size must be in [2, 65536]");
  RACESGD_CHECK_MSG(!w0.empty(), "VersionedWeights: empty weight vector");
  RACESGD_CHECK_MSG(first_version <= kMaxVersion, "VersionedWeights: first version too large");
  slots_ = std::make_unique<Slot[]>(pool_size_);
  // One allocation per buffer, of the kind GradientPool makes: publish_in exchanges them.
  for (std::size_t i = 0; i < pool_size_; ++i) {
    slots_[i].data = static_cast<float*>(::operator new(dim_ * sizeof(float), std::align_val_t{64}));
    std::fill_n(slots_[i].data, dim_, 0.0f);
  }
  std::copy(w0.begin(), w0.end(), buffer(0));
  // No reader can exist yet; the constructor's completion publishes everything.
  current_.store(pack(0, first_version), std::memory_order_relaxed);
}

VersionedWeights::~VersionedWeights() {
  RACESGD_CHECK_MSG(pinned_count() == 0,
                    "VersionedWeights destroyed while a Pin is alive (it would dangle)");
  for (std::size_t i = 0; i < pool_size_; ++i) ::operator delete(slots_[i].data, std::align_val_t{64});
}

VersionedWeights::Pin VersionedWeights::pin_latest() const noexcept {
  for (;;) {
    // acquire is enough here: the re-check below is the load the proof relies on.
    const std::uint64_t word = current_.load(std::memory_order_acquire);
    const std::uint32_t i = index_of(word);
    // seq_cst RMW then seq_cst load: store-load order against the writer's seq_cst
    // store of a new word followed by its seq_cst load of this count (docs/concurrency.md).
    slots_[i].pins.fetch_add(1, std::memory_order_seq_cst);
    if (current_.load(std::memory_order_seq_cst) == word) {
      return Pin(this, i, version_of(word), buffer(i), dim_);
    }
    // The writer published in between: buffer i may already be being overwritten.
    unpin(i);
  }
}

void VersionedWeights::unpin(std::uint32_t index) const noexcept {
  // release: our reads of the buffer happen-before the writer's reuse, which loads this
  // count with seq_cst (an acquire) before it writes.
  const std::uint32_t before = slots_[index].pins.fetch_sub(1, std::memory_order_release);
  RACESGD_CHECK_MSG(before != 0, "VersionedWeights: pin count underflow");
}

void VersionedWeights::Pin::reset() noexcept {
  if (owner_ == nullptr) return;
  owner_->unpin(index_);
  owner_ = nullptr;
  data_ = nullptr;
  dim_ = 0;
  version_ = 0;
  index_ = 0;
}

std::optional<std::uint32_t> VersionedWeights::find_free_buffer(std::uint32_t current) noexcept {
  for (std::uint32_t i = 0; i < pool_size_; ++i) {
    if (i == current) continue;
    // seq_cst: must not be ordered before our own preceding seq_cst store of the word
    // (store-load), and acquires the readers' released unpins before we overwrite.
    if (slots_[i].pins.load(std::memory_order_seq_cst) == 0) return i;
  }
  return std::nullopt;
}

std::size_t VersionedWeights::pinned_count() const noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < pool_size_; ++i) {
    if (slots_[i].pins.load(std::memory_order_relaxed) != 0) ++n;  // diagnostics only
  }
  return n;
}

}  // namespace racesgd
