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
  out.push_back(std::filesystem::path(RACESGD_SOURCE_DIR) / "bench" / script);
  out.push_back(std::filesystem::path(RACESGD_PLOT_INSTALL_DIR) / script);
  return out;
}

std::filesystem::path find_plot_script(const std::string& script, const std::filesystem::path& exe) {
  std::error_code ec;
  for (const std::filesystem::path& p : plot_script_candidates(script, exe))
    if (std::filesystem::exists(p, ec)) return p;
  return {};
}

namespace {
std::filesystem::path this_executable() {
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe;
}
}  // namespace

std::filesystem::path plot_script_path(const std::string& script) {
  return find_plot_script(script, this_executable());
}

std::string plot_script_missing(const std::string& script) {
  std::string where;
  for (const std::filesystem::path& p : plot_script_candidates(script, this_executable()))
    where += (where.empty() ? "" : ", ") + p.string();
  return "plot: skipped (no " + script + " in " + where + ")";
}

void run_plot_script(const std::string& script, const std::filesystem::path& dir,
                     const std::string& png, const std::string& data_file, const std::string& what) {
  const std::filesystem::path path = plot_script_path(script);
  if (path.empty()) {
    std::printf("%s\n", plot_script_missing(script).c_str());
    return;
  }
  if (!std::filesystem::exists("/usr/bin/python3")) {
    std::printf("plot: skipped (needs /usr/bin/python3 to run %s)\n", path.c_str());
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
