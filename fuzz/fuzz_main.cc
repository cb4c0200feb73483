// One libFuzzer executable per target: RACESGD_FUZZ_TARGET (a compile definition) names
// the entry in fuzz_entries.cc this binary drives.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fuzz/fuzz_entries.h"

namespace {

const racesgd::fuzz::FuzzTarget& target() {
  static const racesgd::fuzz::FuzzTarget* const t = [] {
    const auto* found = racesgd::fuzz::find_fuzz_target(RACESGD_FUZZ_TARGET);
    if (found == nullptr) {
      std::fprintf(stderr, "unknown fuzz target '%s'\n", RACESGD_FUZZ_TARGET);
      std::abort();
    }
    return found;
  }();
  return *t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)target().run(bytes);
  return 0;
}
