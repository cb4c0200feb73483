// Counts heap allocations made by this process between start() and stop(), by replacing
// malloc/calloc/realloc/aligned_alloc/posix_memalign/memalign in the test executable
// (glibc's __libc_* entry points do the real work). Catches operator new, std containers
// and Eigen's internal buffers alike. Not available under sanitizers, which own malloc.
#pragma once

#include <cstddef>

namespace racesgd::test {

/// False in sanitizer builds: the counting hook is not installed and counts stay 0.
bool alloc_counting_available();
void alloc_counting_start();
/// Allocations since alloc_counting_start().
std::size_t alloc_counting_stop();

}  // namespace racesgd::test
