// Eigen's GEMM blocking follows the cache sizes it detects. Some VMs report a huge L3
// (508 MiB here), which makes Eigen pick blocks that run ~6x slower; racesgd therefore sets
// the sizes explicitly at start-up (a setting: --eigen-cache).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace racesgd {

struct EigenCacheSizes {
  std::ptrdiff_t l1 = 48 << 10;
  std::ptrdiff_t l2 = 1 << 20;
  std::ptrdiff_t l3 = 32 << 20;
};

/// Parses "auto" (keep Eigen's detection; returns false in *use) or "L1,L2,L3" in bytes
/// with optional K/M suffixes ("48K,1M,32M"). Throws InputError naming `what`.
EigenCacheSizes parse_eigen_cache_sizes(std::string_view text, std::string_view what, bool* use);

/// Applies the sizes process-wide. Call once at start-up, before any learner starts.
void apply_eigen_cache_sizes(const EigenCacheSizes& sizes);

/// Eigen's current (l1, l2, l3) as "48K,1M,32M", for output file headers.
std::string describe_eigen_cache_sizes();

}  // namespace racesgd
