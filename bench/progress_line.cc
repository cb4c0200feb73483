#include "bench/progress_line.h"

#include <cstdio>
#include <unistd.h>

#include "bench/format.h"

namespace racesgd {

ProgressLine::ProgressLine(const std::string& mode, std::string label)
    : on_(mode == "on" || (mode == "auto" && ::isatty(STDERR_FILENO))), label_(std::move(label)) {}

ProgressFn ProgressLine::callback() {
  if (!on_) return {};
  return [this](const Progress& p) {
    const std::string err = p.latest_error >= 0 ? format_fixed(p.latest_error, 4) : unscored_;
    const std::string line = "\r\033[K[" + label_ + (prefix_.empty() ? "" : " ") + prefix_ +
                             "] t=" + format_fixed(p.time_s, 2) + "s wall=" +
                             format_fixed(p.wall_s, 1) + "s updates=" +
                             std::to_string(p.updates) + " error=" + err;
    const std::string scoring = p.to_score > 0 ? " scoring " + std::to_string(p.scored) + "/" +
                                                     std::to_string(p.to_score)
                                               : std::string();
    std::fputs((line + scoring).c_str(), stderr);
    std::fflush(stderr);
    drawn_ = true;
  };
}

void ProgressLine::finish() {
  if (drawn_) std::fprintf(stderr, "\r\033[K");
  drawn_ = false;
}

}  // namespace racesgd
