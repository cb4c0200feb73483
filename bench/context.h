// The context every output file records: racesgd version and git sha, build type,
// compiler, CPU, Eigen's cache sizes, the time of the run. Measurements taken on a debug
// build are flagged loudly (see debug_build_warning()).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace racesgd {

nlohmann::json run_context();

/// "racesgd 0.1.0 (git 0123456789ab, Release build, with MPI)": `racesgd --version`.
std::string version_text();

/// Non-empty on a build without optimisation (Debug or assertions on): print it with
/// every measurement.
std::string debug_build_warning();

/// "model name" from /proc/cpuinfo, or "unknown".
std::string cpu_model();

}  // namespace racesgd
