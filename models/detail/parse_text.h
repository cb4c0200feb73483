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

#include "core/error.h"

namespace racesgd::detail {

/// Walks `text` one line at a time ('\n' ends a line; the last one may lack it), numbering
/// the lines from 1 for error messages. The text must outlive the cursor.
class LineCursor {
 public:
  explicit LineCursor(std::string_view text) : text_(text) {}
  /// The next line, without its '\n' (a '\r' before it stays: trim() removes it), or false
  /// at the end of the text.
  bool next(std::string_view& line) {
    if (pos_ >= text_.size()) return false;
    std::size_t eol = text_.find('\n', pos_);
    if (eol == std::string_view::npos) eol = text_.size();
    line = text_.substr(pos_, eol - pos_);
    pos_ = eol + 1;
    ++number_;
    return true;
  }
  /// The number of the line next() returned last (1-based).
  std::size_t number() const { return number_; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t number_ = 0;
};

/// Throws InputError "<name>: line <line>: <problem>".
[[noreturn]] inline void fail_line(const std::string& name, std::size_t line,
                                   const std::string& problem) {
  throw InputError(name + ": line " + std::to_string(line) + ": " + problem);
}

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
