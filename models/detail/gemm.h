// Allocation-free GEMM for the models' hot path.
//
// Eigen's product operator packs its operands into blocks whose size follows the cache
// sizes (hundreds of KiB to ~2 MiB for our shapes with the sizes racesgd sets) and allocates
// them on the heap on every call above EIGEN_STACK_ALLOCATION_LIMIT (128 KiB). A learner's
// gradient call must not allocate, so the models call Eigen's own sequential GEMM kernel
// (the one `a.noalias() += b * c` ends in) with packing buffers owned by the workspace.
// This is Eigen-internal API, hence the version check; the kernels and blocking heuristic
// are Eigen's, so speed matches a plain Eigen product of the same shapes.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <initializer_list>

#include "core/check.h"
#include "models/dataset.h"

static_assert(EIGEN_WORLD_VERSION == 3 && EIGEN_MAJOR_VERSION == 4,
              "models/detail/gemm.h drives Eigen 3.4's internal GEMM; re-check it on upgrade");

namespace racesgd::detail {

/// One product C += alpha * A * B in column-major terms: C is rows x cols, depth is the
/// shared dimension.
struct GemmShape {
  Eigen::Index rows = 0;
  Eigen::Index cols = 0;
  Eigen::Index depth = 0;
};

/// Packing buffers for Eigen's GEMM kernel. Not thread-safe: one per workspace.
template <typename T>
class GemmScratch {
 public:
  /// Grows the buffers to what Eigen's blocking heuristic asks for `shape` under the
  /// current cache sizes (Eigen::setCpuCacheSizes). Allocates.
  void reserve(const GemmShape& shape) {
    Blocks b = blocks_for(shape);
    if (b.kc * b.mc > a_.size()) a_.resize(b.kc * b.mc);
    if (b.kc * b.nc > b_.size()) b_.resize(b.kc * b.nc);
  }

  /// Reserves for every batch size 1..max_batch of shapes whose `batch_dim` (0 = rows,
  /// 1 = cols, 2 = depth) is the batch, because Eigen's blocks are not monotone in it.
  /// The largest blocks first, then one allocation per buffer: growing the buffers batch
  /// size by batch size reallocated them ~30 times per call, and every evaluation makes a
  /// workspace (models/evaluate_chunks.h); under ASan each of those buffers (128-270 KiB,
  /// above its size-class allocator) was a fresh mmap whose pages all faulted, which made
  /// a virtual-clock run of 2,000 updates take 60 s, 77 s of it in the kernel.
  void reserve_for_batches(GemmShape shape, int batch_dim, Eigen::Index max_batch) {
    Eigen::Index a = 0, b = 0;
    for (Eigen::Index m = 1; m <= max_batch; ++m) {
      (batch_dim == 0 ? shape.rows : batch_dim == 1 ? shape.cols : shape.depth) = m;
      const Blocks blk = blocks_for(shape);
      a = std::max(a, blk.kc * blk.mc);
      b = std::max(b, blk.kc * blk.nc);
    }
    if (a > a_.size()) a_.resize(a);
    if (b > b_.size()) b_.resize(b);
  }

  /// C(rows x cols, column-major, leading dimension ldc) += alpha * A * B, where A is
  /// rows x depth and B is depth x cols, each stored in the given order (Eigen::RowMajor or
  /// Eigen::ColMajor) with the given leading dimension. Never allocates: if the cache sizes
  /// grew since reserve(), the blocks shrink to fit (correct, possibly slower).
  template <int AOrder, int BOrder>
  void multiply_add(const GemmShape& s, const T* a, Eigen::Index lda, const T* b,
                    Eigen::Index ldb, T* c, Eigen::Index ldc, T alpha) {
    RACESGD_CHECK(s.rows > 0 && s.cols > 0 && s.depth > 0);
    Blocks blk = blocks_for(s);
    const Eigen::Index cap_a = a_.size(), cap_b = b_.size();
    RACESGD_CHECK_MSG(cap_a > 0 && cap_b > 0, "GemmScratch used before reserve()");
    blk.kc = std::min({blk.kc, cap_a, cap_b});
    blk.mc = std::max<Eigen::Index>(1, std::min(blk.mc, cap_a / blk.kc));
    blk.nc = std::max<Eigen::Index>(1, std::min(blk.nc, cap_b / blk.kc));
    Blocking blocking(a_.data(), b_.data(), blk);
    Eigen::internal::general_matrix_matrix_product<
        Eigen::Index, T, AOrder, false, T, BOrder, false, Eigen::ColMajor,
        1>::run(s.rows, s.cols, s.depth, a, lda, b, ldb, c, 1, ldc, alpha, blocking, nullptr);
  }

 private:
  struct Blocks {
    Eigen::Index kc, mc, nc;
  };
  // The same computation as Eigen's gemm_blocking_space for a column-major destination,
  // clipped like general_matrix_matrix_product::run clips it.
  static Blocks blocks_for(const GemmShape& s) {
    Eigen::Index kc = s.depth, mc = s.rows, nc = s.cols;
    Eigen::internal::computeProductBlockingSizes<T, T, 1>(kc, mc, nc, Eigen::Index(1));
    return {kc, std::min(s.rows, mc), std::min(s.cols, nc)};
  }

  class Blocking : public Eigen::internal::level3_blocking<T, T> {
   public:
    Blocking(T* a, T* b, const Blocks& blk) {
      this->m_blockA = a;
      this->m_blockB = b;
      this->m_kc = blk.kc;
      this->m_mc = blk.mc;
      this->m_nc = blk.nc;
    }
  };

  VectorX<T> a_;  // Eigen aligns its dynamic storage for the packet loads the kernel does
  VectorX<T> b_;
};

}  // namespace racesgd::detail
