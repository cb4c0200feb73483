// Experiment files: a study as a reviewable TOML file whose keys are the CLI's parameter
// names (`variants = ["sync", "k-async:K=4"]`, `time = "10s"`, `P = 8`). Flags given on the
// command line win over the file.
#pragma once

#include <string>

#include "bench/params.h"

namespace racesgd {

/// Reads `path` and sets every key the user did not give on the command line. Throws
/// InputError naming the file (and line) on a parse error, an unknown key or a value of
/// an unusable type (tables, nested arrays).
void apply_experiment_file(const std::string& path, ParamValues& values);

}  // namespace racesgd
