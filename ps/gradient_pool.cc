#include "ps/gradient_pool.h"

#include <new>

namespace racesgd {

GradientPool::GradientPool(std::size_t dim, std::size_t prefill) : dim_(dim) {
  RACESGD_CHECK_MSG(dim > 0, "GradientPool: dim must be positive");
  for (std::size_t i = 0; i < prefill; ++i) free_.push(allocate_buffer());
}

GradientPool::~GradientPool() {
  RACESGD_CHECK_MSG(outstanding() == 0,
                    "GradientPool destroyed while a GradientBuffer is still out");
  float* p = nullptr;
  while (free_.try_pop(p)) ::operator delete(p, std::align_val_t{64});
}

float* GradientPool::allocate_buffer() {
  float* p = static_cast<float*>(::operator new(dim_ * sizeof(float), std::align_val_t{64}));
  allocations_.fetch_add(1, std::memory_order_relaxed);
  return p;
}

GradientBuffer GradientPool::acquire() {
  float* p = nullptr;
  if (!free_.try_pop(p)) p = allocate_buffer();
  outstanding_.fetch_add(1, std::memory_order_relaxed);
  return GradientBuffer(this, p, dim_);
}

void GradientPool::give_back(float* data) noexcept {
  outstanding_.fetch_sub(1, std::memory_order_relaxed);
  // tbb's push can throw only on allocation failure; we treat that as fatal like new.
  free_.push(data);
}

}  // namespace racesgd
