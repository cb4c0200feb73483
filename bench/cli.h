// The racesgd command line: subcommand dispatch and the shared parsing of the parameter
// table (params.h) with cxxopts. Kept in one translation unit because every file that
// includes cxxopts costs seconds to compile.
#pragma once

#include <string>
#include <vector>

namespace racesgd {

/// Runs `racesgd <args>`; returns the process exit code (2 on bad input).
int run_cli(int argc, char** argv);

}  // namespace racesgd
