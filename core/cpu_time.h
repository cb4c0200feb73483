// CPU time used so far, by the calling thread or by the whole process (user + system).
#pragma once

#include <chrono>
#include <optional>

namespace racesgd {

/// CPU time the calling thread has used so far; nullopt when the system cannot say.
std::optional<std::chrono::nanoseconds> thread_cpu_time();

/// CPU time all threads of this process have used so far; nullopt when the system cannot say.
std::optional<std::chrono::nanoseconds> process_cpu_time();

}  // namespace racesgd
