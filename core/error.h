// The user-facing error tier: bad flags, files and spec strings throw InputError during
// set-up; the CLI prints what() and exits with kExitInputError. Hot paths never throw.
#pragma once

#include <stdexcept>
#include <string>

namespace racesgd {

inline constexpr int kExitInputError = 2;

/// Bad user input (flag, file, spec string). The message names what is wrong and where
/// (flag name, file path with line or byte offset, spec string).
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A run that had to stop: divergence (NaN/Inf), a failed learner, a stall. The message
/// names the update and learner; outputs written so far stay valid.
class RunError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace racesgd
