// Running one of the bench/plot_*.py scripts after the files it draws from are written: a
// missing python or matplotlib, or a failing script, is a note on stdout, never an error.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace racesgd {

/// Where a plot script (bench/plot_*.py, installed to share/racesgd/plot by cmake
/// --install) may be, in the order looked at: next to an installed executable
/// (<exe dir>/<bin to data>/racesgd/plot: the package, also after its prefix moved), in the
/// source tree the build came from (a build folder's racesgd runs the scripts being edited,
/// never an older installed copy), then under the prefix configured at build time (a
/// user's own executable linked against the installed package). `exe` is the running
/// executable (empty: none known).
std::vector<std::filesystem::path> plot_script_candidates(const std::string& script,
                                                          const std::filesystem::path& exe);

/// The first of plot_script_candidates(script, exe) that exists; empty when none does.
std::filesystem::path find_plot_script(const std::string& script, const std::filesystem::path& exe);
/// find_plot_script for this executable (/proc/self/exe).
std::filesystem::path plot_script_path(const std::string& script);
/// "plot: skipped (...)" for a script found nowhere: names every place looked at.
std::string plot_script_missing(const std::string& script);

/// Runs `/usr/bin/python3 <plot_script_path(script)> <dir>` and prints "plot: <dir>/<png>", or
/// why there is none: the script is missing, matplotlib is (the script exits 3; "<data_file>
/// holds <what>"), or it failed (with the command to rerun).
void run_plot_script(const std::string& script, const std::filesystem::path& dir,
                     const std::string& png, const std::string& data_file, const std::string& what);

}  // namespace racesgd
