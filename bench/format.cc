#include "bench/format.h"

#include <cmath>
#include <cstdarg>
#include <cstdio>

namespace racesgd {

std::string format_text(const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list again;
  va_copy(again, args);
  const int n = std::vsnprintf(nullptr, 0, format, args);
  va_end(args);
  std::string out;
  if (n > 0) {
    out.resize(static_cast<std::size_t>(n) + 1);
    std::vsnprintf(out.data(), out.size(), format, again);
    out.resize(static_cast<std::size_t>(n));
  }
  va_end(again);
  return out;
}

std::string format_g(double x, int significant) { return format_text("%.*g", significant, x); }

std::string format_fixed(double x, int decimals) {
  if (std::isfinite(x) && std::fabs(x) >= 1e9) return format_g(x, 6);
  return format_text("%.*f", decimals, x);
}

}  // namespace racesgd
