// The fuzzed entry points, shared by the libFuzzer executables (fuzz_main.cc) and the
// regression test that replays every input in tests/fuzz_regressions/<target>/.
//
// Each entry feeds arbitrary bytes to one parser the way racesgd reads user input. A
// racesgd::InputError is the expected answer to bad bytes and is swallowed (the entry
// returns false); an accepted input returns true. Anything else — another exception, a
// violated documented invariant (RACESGD_CHECK aborts), a sanitizer report, a hang or a
// huge allocation — is a bug and is left to crash the process.
#pragma once

#include <string_view>
#include <vector>

namespace racesgd::fuzz {

struct FuzzTarget {
  const char* name;                     // directory name under fuzz/corpus/ and tests/fuzz_regressions/
  bool (*run)(std::string_view bytes);  // true: accepted; false: InputError
};

/// Every target, in a fixed order. Thread-safe (a constant table).
const std::vector<FuzzTarget>& fuzz_targets();

/// The target named `name`, or nullptr.
const FuzzTarget* find_fuzz_target(std::string_view name);

}  // namespace racesgd::fuzz
