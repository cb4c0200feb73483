// Programming-error checks: a failed check is a bug in racesgd, never bad user input.
// It prints file:line and the failed condition, then aborts (core dump, debugger stop).
// Bad user input throws racesgd::InputError instead (see error.h).
#pragma once

#include <cstdio>
#include <cstdlib>

namespace racesgd::detail {
[[noreturn]] inline void check_failed(const char* file, int line, const char* cond,
                                      const char* msg) {
  std::fprintf(stderr, "racesgd: CHECK failed at %s:%d: %s%s%s\n", file, line, cond,
               msg[0] ? " -- " : "", msg);
  std::fflush(stderr);
  std::abort();
}
}  // namespace racesgd::detail

/// Always on (Release included): the conditions guarded are cheap and a silent violation
/// would corrupt results.
#define RACESGD_CHECK(cond)                                                    \
  do {                                                                         \
    if (!(cond)) [[unlikely]]                                                  \
      ::racesgd::detail::check_failed(__FILE__, __LINE__, #cond, "");          \
  } while (false)

#define RACESGD_CHECK_MSG(cond, msg)                                           \
  do {                                                                         \
    if (!(cond)) [[unlikely]]                                                  \
      ::racesgd::detail::check_failed(__FILE__, __LINE__, #cond, (msg));       \
  } while (false)
