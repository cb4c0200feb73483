// GradientPool / GradientBuffer: dim-sized float buffers recycled between the learners
// (which fill them with gradients) and the parameter server (which consumes them), so
// that a run in steady state allocates no gradient memory.
//
// A GradientBuffer is a move-only RAII handle: it knows its pool and returns its storage
// there when destroyed or reset, whichever thread does it. That makes a dropped message
// (a cancelled minibatch, a shutdown with messages still queued) recycle its buffer
// without anyone having to remember to.
//
// The free list is a tbb::concurrent_queue of raw buffer pointers: no mutex, and no thread
// ever waits for the consumer; it is ticket-based, so an operation may spin briefly on
// another thread that is mid-push (see docs/concurrency.md). FIFO rather than a LIFO
// Treiber stack costs some cache warmth but needs no ABA protection. The queue itself
// allocates a small page every 32 pushes (oneTBB stores 8-byte items 32 to a page); only
// gradient storage is counted by allocations().
//
// Threads: owns none. Every method is thread-safe unless stated otherwise.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>

#include <tbb/concurrent_queue.h>

#include "core/check.h"

namespace racesgd {

class GradientPool;
class VersionedWeights;

/// A pooled float buffer of the pool's dim. Move-only; empty when default-constructed or
/// moved from. Its contents on acquire are whatever the previous user left: overwrite all
/// of it. Must not outlive its pool. Not synchronised itself: one thread at a time.
class GradientBuffer {
 public:
  GradientBuffer() = default;
  GradientBuffer(GradientBuffer&& o) noexcept
      : pool_(std::exchange(o.pool_, nullptr)),
        data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)) {}
  GradientBuffer& operator=(GradientBuffer&& o) noexcept {
    GradientBuffer(std::move(o)).swap(*this);
    return *this;
  }
  GradientBuffer(const GradientBuffer&) = delete;
  GradientBuffer& operator=(const GradientBuffer&) = delete;
  ~GradientBuffer() { reset(); }

  bool valid() const noexcept { return data_ != nullptr; }
  std::size_t size() const noexcept { return size_; }
  float* data() noexcept { return data_; }
  const float* data() const noexcept { return data_; }
  std::span<float> span() noexcept { return {data_, size_}; }
  std::span<const float> span() const noexcept { return {data_, size_}; }
  /// Returns the storage to the pool now (no-op when empty). Never blocks.
  void reset() noexcept;

  void swap(GradientBuffer& o) noexcept {
    std::swap(pool_, o.pool_);
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
  }

 private:
  friend class GradientPool;
  friend class VersionedWeights;  // publish_in takes a gradient's storage for new weights
  GradientBuffer(GradientPool* pool, float* data, std::size_t size)
      : pool_(pool), data_(data), size_(size) {}
  /// Puts `other` in place of this buffer's storage and returns the storage it held.
  /// `other` must be an allocation of the pool's kind: size() floats from ::operator new
  /// with std::align_val_t{64} (the pool frees what it is given back that way).
  float* exchange_storage(float* other) noexcept { return std::exchange(data_, other); }

  GradientPool* pool_ = nullptr;
  float* data_ = nullptr;
  std::size_t size_ = 0;
};

class GradientPool {
 public:
  /// Buffers of dim floats (64-byte aligned); `prefill` of them are allocated now so a
  /// run can start warm. CHECK-fails on dim == 0.
  explicit GradientPool(std::size_t dim, std::size_t prefill = 0);
  /// CHECK-fails if a GradientBuffer is still out (it would dangle); frees all storage.
  ~GradientPool();
  GradientPool(const GradientPool&) = delete;
  GradientPool& operator=(const GradientPool&) = delete;

  /// A free buffer; allocates a new one (counted in allocations()) only when none is free.
  /// Any thread; lock-free when a buffer is free. Throws std::bad_alloc only if the
  /// system is out of memory.
  GradientBuffer acquire();

  std::size_t dim() const noexcept { return dim_; }
  /// Buffers allocated over the pool's life (prefill included). Any thread (relaxed).
  std::uint64_t allocations() const noexcept {
    return allocations_.load(std::memory_order_relaxed);
  }
  /// Buffers currently handed out. Any thread; momentary (relaxed).
  std::int64_t outstanding() const noexcept {
    return outstanding_.load(std::memory_order_relaxed);
  }

 private:
  friend class GradientBuffer;
  void give_back(float* data) noexcept;
  float* allocate_buffer();

  std::size_t dim_;
  // std::allocator, not TBB's default cache_aligned_allocator: its pages come from libtbb's
  // uninstrumented allocator, and ThreadSanitizer then reports page reuse as races.
  tbb::concurrent_queue<float*, std::allocator<float*>> free_;
  // Statistics only: nothing is ordered by them, so relaxed throughout.
  std::atomic<std::uint64_t> allocations_{0};
  std::atomic<std::int64_t> outstanding_{0};
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
};

inline void GradientBuffer::reset() noexcept {
  if (data_ == nullptr) return;
  RACESGD_CHECK(pool_ != nullptr);  // storage always comes from a pool (clang-analyzer)
  pool_->give_back(std::exchange(data_, nullptr));
  pool_ = nullptr;
  size_ = 0;
}

}  // namespace racesgd
