#include "core/units.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

#include "core/error.h"

namespace racesgd {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool to_double(std::string_view s, double& out) {
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(out);
}

}  // namespace

double parse_double(std::string_view text, std::string_view what) {
  double v = 0;
  if (!to_double(trim(text), v))
    throw InputError(std::string(what) + ": '" + std::string(text) + "' is not a finite number");
  return v;
}

long long parse_int(std::string_view text, std::string_view what) {
  std::string_view s = trim(text);
  long long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || v < 0)
    throw InputError(std::string(what) + ": '" + std::string(text) +
                     "' is not a non-negative integer");
  return v;
}

double parse_duration_seconds(std::string_view text, std::string_view what,
                              bool bare_unit_seconds) {
  std::string_view s = trim(text);
  struct Unit {
    std::string_view suffix;
    double scale;
  };
  // Longest suffixes first so "ms" is not read as "s" and "min" not as "in".
  static constexpr Unit kUnits[] = {{"min", 60.0}, {"ns", 1e-9}, {"us", 1e-6},
                                    {"\xC2\xB5s", 1e-6}, {"ms", 1e-3}, {"s", 1.0},
                                    {"h", 3600.0}};
  for (const Unit& u : kUnits) {
    if (s.size() > u.suffix.size() && s.ends_with(u.suffix)) {
      double v = 0;
      if (!to_double(trim(s.substr(0, s.size() - u.suffix.size())), v)) break;
      const double seconds = v * u.scale;
      if (!std::isfinite(seconds)) break;  // "1e307h": finite text, infinite duration
      return seconds;
    }
  }
  // "2m" reads as minutes to some and as a typo of "2ms" to others: refuse to guess.
  double v = 0;
  if (s.size() > 1 && s.back() == 'm' && to_double(trim(s.substr(0, s.size() - 1)), v))
    throw InputError(std::string(what) + ": '" + std::string(text) +
                     "' is ambiguous: write min for minutes or ms for milliseconds");
  if (bare_unit_seconds && to_double(s, v)) return v;
  throw InputError(std::string(what) + ": '" + std::string(text) +
                   "' is not a duration (expected a number with unit h, min, s, ms, us or ns, "
                   "e.g. 5ms or 1.5h)");
}

bool has_duration_unit(std::string_view text) {
  const std::string_view s = trim(text);
  return s.ends_with('s') || s.ends_with('h') || s.ends_with("min") || s.ends_with('m');
}

std::string format_duration(double seconds) {
  char buf[64];
  double a = std::fabs(seconds);
  if (a == 0.0) return "0s";
  if (a >= 1.0)
    std::snprintf(buf, sizeof buf, "%gs", seconds);
  else if (a >= 1e-3)
    std::snprintf(buf, sizeof buf, "%gms", seconds * 1e3);
  else if (a >= 1e-6)
    std::snprintf(buf, sizeof buf, "%gus", seconds * 1e6);
  else
    std::snprintf(buf, sizeof buf, "%gns", seconds * 1e9);
  return buf;
}

std::string format_number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

}  // namespace racesgd
