// Where racesgd looks for its plot scripts (bench/plot_script.h): next to an installed
// executable first, so an installed racesgd does not depend on the source tree it was built
// from; then the source tree (a build folder's racesgd runs the scripts being edited); the
// configured prefix last.
#include "bench/plot_script.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using racesgd::find_plot_script;
using racesgd::plot_script_candidates;
using racesgd::plot_script_missing;
using racesgd::plot_script_path;

TEST_CASE("plot scripts: looked for next to the executable, the source tree, then the prefix",
          "[plot_script]") {
  const std::vector<fs::path> where = plot_script_candidates("plot_race.py", "/opt/rs/bin/racesgd");
  REQUIRE(where.size() == 3);
  // The installed layout relative to bin/, whatever the install directories are.
  CHECK(where[0].filename() == "plot_race.py");
  CHECK(where[0].parent_path().filename() == "plot");
  CHECK(where[0].string().rfind("/opt/rs/", 0) == 0);
  CHECK(where[1] == fs::path(RACESGD_SOURCE_DIR) / "bench" / "plot_race.py");
  CHECK(where[2].filename() == "plot_race.py");
  CHECK(where[2].parent_path().filename() == "plot");
  // No executable known: the source tree and the prefix only.
  CHECK(plot_script_candidates("plot_fit.py", {}).size() == 2);
}

TEST_CASE("plot scripts: a copy next to an installed executable wins", "[plot_script]") {
  const fs::path root = fs::temp_directory_path() / ("racesgd-plot-" + std::to_string(::getpid()));
  fs::remove_all(root);
  const fs::path exe = root / "bin" / "racesgd";
  fs::create_directories(exe.parent_path());
  // Not installed there: this build's source tree.
  CHECK(find_plot_script("plot_race.py", exe) == fs::path(RACESGD_SOURCE_DIR) / "bench" / "plot_race.py");
  const fs::path beside = plot_script_candidates("plot_race.py", exe).front();
  fs::create_directories(beside.parent_path());
  std::ofstream(beside) << "# test\n";
  CHECK(find_plot_script("plot_race.py", exe) == beside);
  // Found nowhere: empty, and the message names every place looked at.
  CHECK(find_plot_script("no_such_plot.py", exe).empty());
  const std::string missing = plot_script_missing("no_such_plot.py");
  CHECK(missing.rfind("plot: skipped (no no_such_plot.py in ", 0) == 0);
  CHECK(missing.find((fs::path(RACESGD_SOURCE_DIR) / "bench" / "no_such_plot.py").string()) != std::string::npos);
  fs::remove_all(root);
}

TEST_CASE("plot scripts: this build runs its own source tree's scripts", "[plot_script]") {
  // A build folder's executable: nothing installed beside it, so the source tree's copy
  // (never one installed under the prefix, which may be older).
  for (const char* script : {"plot_race.py", "plot_fit.py", "plot_advise.py"}) {
    INFO(script);
    CHECK(plot_script_path(script) == fs::path(RACESGD_SOURCE_DIR) / "bench" / script);
  }
}
