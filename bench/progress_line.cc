#include "bench/progress_line.h"

#include <cstdio>
#include <unistd.h>

namespace racesgd {

ProgressLine::ProgressLine(const std::string& mode, std::string label)
    : on_(mode == "on" || (mode == "auto" && ::isatty(STDERR_FILENO))), label_(std::move(label)) {}

ProgressFn ProgressLine::callback() {
  if (!on_) return {};
  return [this](const Progress& p) {
    char err[32] = "-";
    if (p.latest_error >= 0) std::snprintf(err, sizeof err, "%.4f", p.latest_error);
    std::fprintf(stderr, "\r\033[K[%s%s%s] t=%.2fs wall=%.1fs updates=%llu error=%s",
                 label_.c_str(), prefix_.empty() ? "" : " ", prefix_.c_str(), p.time_s, p.wall_s,
                 static_cast<unsigned long long>(p.updates), err);
    if (p.to_score > 0) std::fprintf(stderr, " scoring %zu/%zu", p.scored, p.to_score);
    std::fflush(stderr);
    drawn_ = true;
  };
}

void ProgressLine::finish() {
  if (drawn_) std::fprintf(stderr, "\r\033[K");
  drawn_ = false;
}

}  // namespace racesgd
