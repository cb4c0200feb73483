#include "tests/models/model/alloc_counter.h"

#include <atomic>
#include <cstdlib>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RACESGD_TEST_NO_MALLOC_HOOK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define RACESGD_TEST_NO_MALLOC_HOOK 1
#endif
#endif

namespace {
std::atomic<bool> g_counting{false};
std::atomic<std::size_t> g_count{0};

[[maybe_unused]] void note_allocation() {
  if (g_counting.load(std::memory_order_relaxed))  // counters only: no ordering needed
    g_count.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

#ifndef RACESGD_TEST_NO_MALLOC_HOOK
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t n, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);

void* malloc(std::size_t size) {
  note_allocation();
  return __libc_malloc(size);
}
void* calloc(std::size_t n, std::size_t size) {
  note_allocation();
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t size) {
  note_allocation();
  return __libc_realloc(p, size);
}
void* memalign(std::size_t alignment, std::size_t size) {
  note_allocation();
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) {
  note_allocation();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  note_allocation();
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return 12;  // ENOMEM
  *out = p;
  return 0;
}
}  // extern "C"
#endif

namespace racesgd::test {

bool alloc_counting_available() {
#ifdef RACESGD_TEST_NO_MALLOC_HOOK
  return false;
#else
  return true;
#endif
}

void alloc_counting_start() {
  g_count.store(0, std::memory_order_relaxed);
  g_counting.store(true, std::memory_order_relaxed);  // single-threaded test: no ordering
}

std::size_t alloc_counting_stop() {
  g_counting.store(false, std::memory_order_relaxed);
  return g_count.load(std::memory_order_relaxed);
}

}  // namespace racesgd::test
