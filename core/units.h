// Parsing of durations ("5ms", "2.5s", "300us", "1e-3s") and plain numbers, with errors
// that name the offending text.
#pragma once

#include <string>
#include <string_view>

namespace racesgd {

/// Parses a duration with unit s, ms, us (or µs) or ns into seconds. A bare number is
/// rejected unless `bare_unit_seconds` is set, in which case it is taken as seconds.
/// Throws InputError naming `what` (e.g. "--time" or "delay spec 'exp:mean=5'") on bad text.
double parse_duration_seconds(std::string_view text, std::string_view what,
                              bool bare_unit_seconds = false);

/// Parses a finite floating-point number, the whole text. Throws InputError naming `what`.
double parse_double(std::string_view text, std::string_view what);

/// Parses a non-negative integer, the whole text. Throws InputError naming `what`.
long long parse_int(std::string_view text, std::string_view what);

/// Formats seconds with a readable unit ("5ms", "1.25s", "300us").
std::string format_duration(double seconds);

}  // namespace racesgd
