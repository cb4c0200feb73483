// VersionedWeights: the parameter server's snapshot store. One writer (the PS update path)
// publishes immutable weight vectors w_0, w_1, ...; any number of readers (learners, the
// evaluator) pin the latest one and read it for as long as they hold the pin.
//
// Scheme (docs/concurrency.md has the proof sketch and the atomics ledger;
// docs/decisions/0001-versioned-weights.md says why this and not a seqlock, RCU or
// std::atomic<std::shared_ptr>):
//   - a fixed pool of pool_size buffers, allocated once in the constructor;
//   - each buffer has an atomic pin count on its own cache line;
//   - the current (buffer index, version) pair lives in ONE 64-bit atomic word, so readers
//     see both change together and the ever-growing version defeats ABA;
//   - pin: load word, increment that buffer's pin count, re-load the word; if it changed,
//     unpin and retry (the buffer may already be being overwritten);
//   - publish: pick a buffer that is not current and whose pin count reads 0, fill it,
//     store the new word.
// The increment/re-load (reader) against store-word/load-pin-count (writer) is the
// store-load pattern, so those four operations are seq_cst.
//
// Threads: owns none. Readers never block and never block the writer; the writer never
// waits for readers (it fails loudly instead if the pool is too small, see publish).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>

#include "core/check.h"
#include "ps/gradient_pool.h"

namespace racesgd {

using Version = std::uint64_t;

class VersionedWeights {
 public:
  /// Bits of the packed word that hold the buffer index; the rest hold the version.
  static constexpr unsigned kIndexBits = 16;
  static constexpr std::size_t kMaxPoolSize = std::size_t{1} << kIndexBits;
  static constexpr Version kMaxVersion = (Version{1} << (64 - kIndexBits)) - 1;

  /// Smallest safe pool for a run. `peak_reader_use` is the most non-current buffers that
  /// can have a nonzero pin count when the writer scans for a free one (pins on one version
  /// share its buffer; pins on the current version cost nothing); the pool needs that plus
  /// the current buffer plus the one being written. Summing, per reader thread, the pins it
  /// (or the messages it handed them to) can hold at once, plus 1 while it is inside
  /// pin_latest, always gives at least that number.
  /// The real runtime needs pool_size_for(P + 2) and allocates pool_size_for(2 * P + 3);
  /// docs/concurrency.md "Pool size" has the argument (pins per learner are not bounded in
  /// the sync family, distinct versions at the scan are).
  static constexpr std::size_t pool_size_for(std::size_t peak_reader_use) {
    return peak_reader_use + 2;
  }

  /// pool_size >= 2 buffers of w0.size() floats; w0 becomes version `first_version` (0
  /// for a new run; a resumed run starts at its checkpoint's version).
  /// Allocates (the only place that does). CHECK-fails on pool_size < 2 or > kMaxPoolSize,
  /// on empty w0, or on first_version > kMaxVersion.
  VersionedWeights(std::span<const float> w0, std::size_t pool_size, Version first_version = 0);
  /// CHECK-fails if any Pin is still alive (it would dangle).
  ~VersionedWeights();
  VersionedWeights(const VersionedWeights&) = delete;
  VersionedWeights& operator=(const VersionedWeights&) = delete;

  /// A move-only RAII handle that keeps one immutable snapshot alive. Default-constructed
  /// and moved-from pins are empty (valid() == false). A Pin must not outlive its
  /// VersionedWeights. A Pin itself is not synchronised: one thread uses it at a time (it
  /// may be handed to another thread, e.g. inside a GradientMessage).
  class Pin {
   public:
    Pin() = default;
    Pin(Pin&& other) noexcept { swap(other); }
    Pin& operator=(Pin&& other) noexcept {
      Pin(std::move(other)).swap(*this);
      return *this;
    }
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;
    ~Pin() { reset(); }

    /// Version of the snapshot; CHECK-fails when empty.
    Version version() const {
      RACESGD_CHECK(valid());
      return version_;
    }
    /// The snapshot's dim() floats; immutable while this pin lives. CHECK-fails when empty.
    std::span<const float> weights() const {
      RACESGD_CHECK(valid());
      return {data_, dim_};
    }
    bool valid() const { return owner_ != nullptr; }
    /// Unpins early (no-op when empty). Lock-free, never allocates.
    void reset() noexcept;

   private:
    friend class VersionedWeights;
    Pin(const VersionedWeights* owner, std::uint32_t index, Version version, const float* data,
        std::size_t dim)
        : owner_(owner), index_(index), version_(version), data_(data), dim_(dim) {}
    void swap(Pin& o) noexcept {
      std::swap(owner_, o.owner_);
      std::swap(index_, o.index_);
      std::swap(version_, o.version_);
      std::swap(data_, o.data_);
      std::swap(dim_, o.dim_);
    }

    const VersionedWeights* owner_ = nullptr;
    std::uint32_t index_ = 0;
    Version version_ = 0;
    const float* data_ = nullptr;
    std::size_t dim_ = 0;
  };

  /// Pins the latest published snapshot. Any thread. Lock-free (retries only when the
  /// writer published in between), never blocks the writer, never allocates, never fails.
  Pin pin_latest() const noexcept;

  /// Latest published version. Any thread; lock-free.
  Version latest_version() const noexcept {
    return version_of(current_.load(std::memory_order_acquire));
  }
  std::size_t dim() const noexcept { return dim_; }
  std::size_t pool_size() const noexcept { return pool_size_; }

  /// Writer only (one thread for the object's lifetime). Takes a free buffer (not current,
  /// pin count 0), calls fill(std::span<float> dst, std::span<const float> current) — dst
  /// holds stale data and fill must write all of it — and publishes dst as version
  /// latest_version() + 1. Returns the new version. Never allocates, never blocks.
  /// If fill throws, nothing is published (the buffer stays free) and the exception
  /// propagates: the parameter server refuses NaN/Inf weights that way.
  /// CHECK-fails when no buffer is free: the pool was sized too small (see pool_size_for).
  template <class Fill>
  Version publish(Fill&& fill) {
    std::optional<Version> v = try_publish(std::forward<Fill>(fill));
    RACESGD_CHECK_MSG(v.has_value(),
                      "VersionedWeights: no free buffer; size the pool with pool_size_for()");
    return *v;
  }

  /// Writer only. As publish, but returns nullopt (and does not call fill) when every
  /// non-current buffer is pinned.
  template <class Fill>
  std::optional<Version> try_publish(Fill&& fill) {
    return try_publish_as(latest_version() + 1, std::forward<Fill>(fill));
  }

  /// Writer only. As publish, but the new snapshot gets version `next` (> latest_version(),
  /// CHECK-fails otherwise): restoring a checkpoint re-publishes the old versions learners
  /// still read, with their original numbers, so staleness stays exact.
  template <class Fill>
  Version publish_as(Version next, Fill&& fill) {
    std::optional<Version> v = try_publish_as(next, std::forward<Fill>(fill));
    RACESGD_CHECK_MSG(v.has_value(),
                      "VersionedWeights: no free buffer; size the pool with pool_size_for()");
    return *v;
  }

  /// Writer only. publish_as, or nullopt (fill not called) when every non-current buffer
  /// is pinned.
  template <class Fill>
  std::optional<Version> try_publish_as(Version next, Fill&& fill) {
    const std::uint64_t word = current_.load(std::memory_order_relaxed);  // only we store it
    const std::uint32_t cur = index_of(word);
    RACESGD_CHECK(next > version_of(word) && next <= kMaxVersion);
    const std::optional<std::uint32_t> dst = find_free_buffer(cur);
    if (!dst) return std::nullopt;
    fill(std::span<float>(buffer(*dst), dim_), std::span<const float>(buffer(cur), dim_));
    // seq_cst: (1) release — the fill above is visible to whoever loads this word;
    // (2) store-load order against our next find_free_buffer's pin-count loads, which
    // must not be satisfied before this store is globally visible (docs/concurrency.md).
    current_.store(pack(*dst, next), std::memory_order_seq_cst);
    return next;
  }

  /// Writer only. As publish, but the new snapshot takes g's storage: the free buffer's
  /// storage and g's are exchanged first, so fill(dst, current) gets dst = the floats g
  /// held (an update can then be computed in place, reading the gradient it overwrites)
  /// and g is left with the free buffer's stale floats, which go back to g's pool when g
  /// is reset. Writing the new version into the gradient just received, instead of into a
  /// buffer last touched versions ago, keeps an update's memory to two arrays, as an
  /// in-place update's (docs/performance.md, "Parameter server"). If fill throws, nothing
  /// is published (the exchange stands: the free buffer holds g's floats, g stale ones).
  /// CHECK-fails when g.size() != dim() or no buffer is free.
  template <class Fill>
  Version publish_in(GradientBuffer& g, Fill&& fill) {
    RACESGD_CHECK(g.valid() && g.size() == dim_);
    const std::uint64_t word = current_.load(std::memory_order_relaxed);  // only we store it
    const std::uint32_t cur = index_of(word);
    const Version next = version_of(word) + 1;
    RACESGD_CHECK(next <= kMaxVersion);
    const std::optional<std::uint32_t> dst = find_free_buffer(cur);
    RACESGD_CHECK_MSG(dst.has_value(),
                      "VersionedWeights: no free buffer; size the pool with pool_size_for()");
    // The slot is free (pin count 0, not current): no reader looks at its storage pointer
    // until the store of the word below publishes it, exactly as for its floats.
    slots_[*dst].data = g.exchange_storage(slots_[*dst].data);
    fill(std::span<float>(slots_[*dst].data, dim_), std::span<const float>(slots_[cur].data, dim_));
    current_.store(pack(*dst, next), std::memory_order_seq_cst);  // as in try_publish_as
    return next;
  }

  /// Diagnostics: how many buffers have a pin count > 0 right now (includes transient
  /// counts of readers inside pin_latest). Any thread; a momentary, relaxed view.
  std::size_t pinned_count() const noexcept;

 private:
  // One cache line per pin count: readers of different buffers never false-share, and
  // the count never shares a line with the packed word readers all poll.
  struct alignas(64) Slot {
    std::atomic<std::uint32_t> pins{0};
    // dim_ floats from ::operator new(align 64), owned; the writer may exchange it (with a
    // gradient's, publish_in) only while the slot is free, like the floats themselves.
    float* data = nullptr;
  };
  static_assert(alignof(Slot) == 64);
  static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

  static std::uint64_t pack(std::uint32_t index, Version v) noexcept {
    return (v << kIndexBits) | index;
  }
  static std::uint32_t index_of(std::uint64_t w) noexcept {
    return static_cast<std::uint32_t>(w & (kMaxPoolSize - 1));
  }
  static Version version_of(std::uint64_t w) noexcept { return w >> kIndexBits; }

  float* buffer(std::uint32_t i) const noexcept { return slots_[i].data; }
  /// Writer only: the lowest-index buffer other than `current` whose pin count reads 0.
  /// Lowest-first keeps the writer's working set small (unpinned runs ping-pong between two
  /// buffers that stay in cache).
  std::optional<std::uint32_t> find_free_buffer(std::uint32_t current) noexcept;
  void unpin(std::uint32_t index) const noexcept;

  std::size_t dim_;
  std::size_t pool_size_;
  std::unique_ptr<Slot[]> slots_;
  // Own cache line: every publish writes it, so it must not share a line with the
  // read-mostly fields above.
  alignas(64) std::atomic<std::uint64_t> current_;  // (version << kIndexBits) | index
};

}  // namespace racesgd
