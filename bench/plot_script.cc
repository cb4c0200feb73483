#include "bench/plot_script.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>

namespace racesgd {

namespace {
constexpr int kPlotNoMatplotlib = 3;  // the plot scripts' exit code when matplotlib is missing
}  // namespace

void run_plot_script(const std::string& script, const std::filesystem::path& dir,
                     const std::string& png, const std::string& data_file, const std::string& what) {
  const std::filesystem::path path = std::filesystem::path(RACESGD_SOURCE_DIR) / "bench" / script;
  if (!std::filesystem::exists("/usr/bin/python3") || !std::filesystem::exists(path)) {
    std::printf("plot: skipped (needs /usr/bin/python3 and %s)\n", path.c_str());
    return;
  }
  const std::string cmd = "/usr/bin/python3 '" + path.string() + "' '" + dir.string() + "'";
  const int status = std::system(cmd.c_str());
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 0)
    std::printf("plot: %s\n", (dir / png).c_str());
  else if (code == kPlotNoMatplotlib)
    std::printf("plot: no %s: /usr/bin/python3 has no matplotlib (apt-get install "
                "python3-matplotlib); %s holds %s\n",
                png.c_str(), data_file.c_str(), what.c_str());
  else
    std::printf("plot: failed; %s is written. Rerun:\n  %s\n", data_file.c_str(), cmd.c_str());
}

}  // namespace racesgd
