// Parsing of durations ("5ms", "2.5s", "300us", "1e-3s", "1.5h", "10min") and plain
// numbers, with errors that name the offending text.
#pragma once

#include <string>
#include <string_view>

namespace racesgd {

/// Parses a duration with unit h, min, s, ms, us (or µs) or ns into seconds; the number may
/// have a fraction or exponent ("1.5h", "90s", "2e-3s"), one unit only ("1h30min" is an
/// error). "m" alone is rejected as ambiguous (minutes or milliseconds?) with a message
/// saying to write min or ms. A bare number is rejected unless `bare_unit_seconds` is set,
/// in which case it is taken as seconds. A duration that overflows to infinity ("1e307h")
/// is rejected. Throws InputError naming `what` (e.g. "--time" or
/// "delay spec 'exp:mean=5'") on bad text.
double parse_duration_seconds(std::string_view text, std::string_view what,
                              bool bare_unit_seconds = false);

/// Whether `text` ends in one of the unit letters above (h, min, s, ms, us, µs, ns, or the
/// ambiguous m), i.e. is meant as a duration rather than a count: for flags that take
/// either ("--eval-every 0.5s" or "--eval-every 100").
bool has_duration_unit(std::string_view text);

/// Parses a finite floating-point number, the whole text. Throws InputError naming `what`.
double parse_double(std::string_view text, std::string_view what);

/// Parses a non-negative integer, the whole text. Throws InputError naming `what`.
long long parse_int(std::string_view text, std::string_view what);

/// Formats seconds with a readable unit ("5ms", "1.25s", "300us").
std::string format_duration(double seconds);

/// A number as %g writes it ("0", "0.04", "1e-07", "1e+300"), for messages and spec texts.
std::string format_number(double x);

}  // namespace racesgd
