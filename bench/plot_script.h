// Running one of the bench/plot_*.py scripts after the files it draws from are written: a
// missing python or matplotlib, or a failing script, is a note on stdout, never an error.
#pragma once

#include <filesystem>
#include <string>

namespace racesgd {

/// Runs `/usr/bin/python3 <source>/bench/<script> <dir>` and prints "plot: <dir>/<png>", or
/// why there is none: the script is missing, matplotlib is (the script exits 3; "<data_file>
/// holds <what>"), or it failed (with the command to rerun).
void run_plot_script(const std::string& script, const std::filesystem::path& dir,
                     const std::string& png, const std::string& data_file, const std::string& what);

}  // namespace racesgd
