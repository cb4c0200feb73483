// Number formatting for everything bench/ prints or writes. "%f" prints 1e300 as 301
// digits and a fixed char buffer cuts whatever does not fit (a curve row was cut at 255
// characters): these helpers switch to "%g" for huge magnitudes and always return a
// std::string sized to what they hold.
#pragma once

#include <string>

namespace racesgd {

/// printf into a std::string of whatever length the result needs.
std::string format_text(const char* format, ...) __attribute__((format(printf, 1, 2)));

/// `x` with `significant` significant digits ("%.6g"): 0.0123457, 1.5e+300.
std::string format_g(double x, int significant = 6);

/// `x` with `decimals` decimals ("%.3f") while |x| < 1e9, else "%.6g": fixed-point for the
/// ordinary range of run times and errors, never hundreds of digits.
std::string format_fixed(double x, int decimals);

}  // namespace racesgd
