// Iteration counts for the concurrency stress tests: full in plain builds, cut down under
// sanitizers (ThreadSanitizer runs such code 5-20x slower) so each test stays well under a
// third of its time limit there (cmake/test_limits.cmake; measured times in
// docs/reliability.md, "The test suite: jobs, limits, times").
#pragma once

#include <cstddef>

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define RACESGD_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define RACESGD_TEST_SANITIZED 1
#endif
#endif

namespace racesgd::test {
#ifdef RACESGD_TEST_SANITIZED
inline constexpr std::size_t kStressDivisor = 2;
#else
inline constexpr std::size_t kStressDivisor = 1;
#endif
/// n iterations in a plain build, n / kStressDivisor under a sanitizer.
constexpr std::size_t scaled(std::size_t n) { return n / kStressDivisor; }
}  // namespace racesgd::test
