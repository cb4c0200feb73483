// Where racesgd looks for its plot scripts (bench/plot_script.h): next to an installed
// executable first, so an installed racesgd does not depend on the source tree it was built
// from; then the configured prefix; the source tree last.
#include "bench/plot_script.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using racesgd::find_plot_script;
using racesgd::plot_script_candidates;
using racesgd::plot_script_path;

TEST_CASE("plot scripts: looked for next to the executable, the prefix, then the source tree",
          "[plot_script]") {
  const std::vector<fs::path> where = plot_script_candidates("plot_race.py", "/opt/rs/bin/racesgd");
  REQUIRE(where.size() == 3);
  // The installed layout relative to bin/ (GNUInstallDirs: bin -> share).
  CHECK(where[0] == fs::path("/opt/rs/share/racesgd/plot/plot_race.py"));
  CHECK(where[1].filename() == "plot_race.py");
  CHECK(where[1].parent_path().filename() == "plot");
  CHECK(where[2] == fs::path(RACESGD_SOURCE_DIR) / "bench" / "plot_race.py");
  // No executable known: the prefix and the source tree only.
  CHECK(plot_script_candidates("plot_fit.py", {}).size() == 2);
}

TEST_CASE("plot scripts: a copy next to an installed executable wins", "[plot_script]") {
  const fs::path root = fs::temp_directory_path() / ("racesgd-plot-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "bin");
  const fs::path exe = root / "bin" / "racesgd";
  // Not installed there: the configured prefix's copy where one was installed, else the
  // source tree's (this build's).
  const std::vector<fs::path> where = plot_script_candidates("plot_race.py", exe);
  CHECK(find_plot_script("plot_race.py", exe) == (fs::exists(where[1]) ? where[1] : where[2]));
  fs::create_directories(root / "share" / "racesgd" / "plot");
  std::ofstream(root / "share" / "racesgd" / "plot" / "plot_race.py") << "# test\n";
  CHECK(find_plot_script("plot_race.py", exe) == root / "share" / "racesgd" / "plot" / "plot_race.py");
  // A script found nowhere: the source tree's path, for the message naming it.
  CHECK(find_plot_script("no_such_plot.py", exe) == fs::path(RACESGD_SOURCE_DIR) / "bench" / "no_such_plot.py");
  fs::remove_all(root);
}

TEST_CASE("plot scripts: this build finds every script racesgd runs", "[plot_script]") {
  for (const char* script : {"plot_race.py", "plot_fit.py", "plot_advise.py"}) {
    INFO(script);
    const fs::path p = plot_script_path(script);
    CHECK(p.filename() == script);
    CHECK(fs::exists(p));
  }
}
