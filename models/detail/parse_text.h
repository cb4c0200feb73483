// Small text-scanning helpers shared by the LIBSVM and CSV readers. Strict: a number is
// the whole token, finite, and in range; nothing is silently skipped.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>

namespace racesgd::detail {

inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

/// A finite double from the whole of `s` (a leading '+' allowed: LIBSVM writes "+1").
inline bool parse_finite_double(std::string_view s, double& out) {
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) return false;  // "+-1"
  }
  if (s.empty()) return false;
  double v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return false;
  if (!std::isfinite(v)) return false;
  out = v;
  return true;
}

/// A finite float from the whole of `s`; values beyond float's range are rejected, values
/// too small for it round to (sub)normals or zero.
inline bool parse_finite_float(std::string_view s, float& out) {
  double v = 0;
  if (!parse_finite_double(s, v)) return false;
  if (std::fabs(v) > static_cast<double>(std::numeric_limits<float>::max())) return false;
  out = static_cast<float>(v);
  return true;
}

/// A non-negative decimal integer from the whole of `s`, without overflow.
inline bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return false;
  out = v;
  return true;
}

/// A number as %g writes it ("-1", "2.5"), for messages.
inline std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

/// `s` cut to at most `max` characters for an error message, with "..." when cut.
inline std::string excerpt(std::string_view s, std::size_t max = 40) {
  if (s.size() <= max) return std::string(s);
  return std::string(s.substr(0, max)) + "...";
}

}  // namespace racesgd::detail
