#include "bench/plot_script.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>

namespace racesgd {

namespace {
constexpr int kPlotNoMatplotlib = 3;  // the plot scripts' exit code when matplotlib is missing
}  // namespace

std::vector<std::filesystem::path> plot_script_candidates(const std::string& script,
                                                          const std::filesystem::path& exe) {
  std::vector<std::filesystem::path> out;
  if (!exe.empty())
    out.push_back((exe.parent_path() / RACESGD_PLOT_DIR_FROM_BIN / script).lexically_normal());
  out.push_back(std::filesystem::path(RACESGD_PLOT_INSTALL_DIR) / script);
  out.push_back(std::filesystem::path(RACESGD_SOURCE_DIR) / "bench" / script);
  return out;
}

std::filesystem::path find_plot_script(const std::string& script, const std::filesystem::path& exe) {
  const std::vector<std::filesystem::path> where = plot_script_candidates(script, exe);
  std::error_code ec;
  for (const std::filesystem::path& p : where)
    if (std::filesystem::exists(p, ec)) return p;
  return where.back();
}

std::filesystem::path plot_script_path(const std::string& script) {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return find_plot_script(script, ec ? std::filesystem::path() : exe);
}

void run_plot_script(const std::string& script, const std::filesystem::path& dir,
                     const std::string& png, const std::string& data_file, const std::string& what) {
  const std::filesystem::path path = plot_script_path(script);
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
