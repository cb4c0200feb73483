// How a command's failure reaches the user: one line on stderr and the exit code.
#pragma once

#include <string>

namespace racesgd {

/// Inside a catch block: prints the exception being handled as `racesgd COMMAND: ...` on
/// stderr and returns its exit code (2 for bad input, 1 for a failed run or write, out of
/// memory or any other std::exception); rethrows what is not a std::exception.
int report_current_error(const std::string& command);

}  // namespace racesgd
