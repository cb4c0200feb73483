#include "core/cpu_time.h"

#include <ctime>

namespace racesgd {

namespace {
std::optional<std::chrono::nanoseconds> cpu_time(clockid_t clock) {
  timespec ts{};
  if (clock_gettime(clock, &ts) != 0) return std::nullopt;
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}
}  // namespace

std::optional<std::chrono::nanoseconds> thread_cpu_time() { return cpu_time(CLOCK_THREAD_CPUTIME_ID); }

std::optional<std::chrono::nanoseconds> process_cpu_time() { return cpu_time(CLOCK_PROCESS_CPUTIME_ID); }

}  // namespace racesgd
