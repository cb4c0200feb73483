#include "bench/context.h"

#include <chrono>
#include <ctime>
#include <fstream>
#include <thread>

#include "models/eigen_setup.h"

#ifndef RACESGD_GIT_SHA
#define RACESGD_GIT_SHA "unknown"
#endif
#ifndef RACESGD_VERSION
#define RACESGD_VERSION "unknown"
#endif

namespace racesgd {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown";
}

std::string debug_build_warning() {
  const std::string type = RACESGD_BUILD_TYPE;
#ifdef NDEBUG
  const bool asserts = false;
#else
  const bool asserts = true;
#endif
  if (type == "Debug" || asserts)
    return "WARNING: racesgd was built as '" + type +
           "' (unoptimised or with assertions): timings are not representative; use the "
           "release preset for measurements";
  return "";
}

std::string version_text() {
#ifdef RACESGD_HAVE_MPI
  const char* mpi = "with MPI";  // --transport mpi
#else
  const char* mpi = "without MPI";
#endif
  return std::string("racesgd ") + RACESGD_VERSION + " (git " + RACESGD_GIT_SHA + ", " +
         RACESGD_BUILD_TYPE + " build, " + mpi + ")";
}

nlohmann::json run_context() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  char stamp[32];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  nlohmann::json j;
  j["racesgd_version"] = RACESGD_VERSION;
  j["git_sha"] = RACESGD_GIT_SHA;
  j["build_type"] = RACESGD_BUILD_TYPE;
  j["compiler"] = std::string(
#if defined(__clang__)
      "clang "
#elif defined(__GNUC__)
      "gcc "
#endif
      __VERSION__);
  j["cpu"] = cpu_model();
  j["hardware_threads"] = std::thread::hardware_concurrency();
  j["eigen_cache_sizes"] = describe_eigen_cache_sizes();
  j["started_utc"] = stamp;
  const std::string warn = debug_build_warning();
  if (!warn.empty()) j["warning"] = warn;
  return j;
}

}  // namespace racesgd
