#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_entries.h"

namespace fs = std::filesystem;
using racesgd::fuzz::fuzz_targets;
using racesgd::fuzz::FuzzTarget;

namespace {

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename() != "README.md") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

struct Replay {
  int accepted = 0;
  int rejected = 0;
};

// Each input must come back (accepted, or rejected with InputError); a crash, an abort or
// a sanitizer report kills the test process and fails it.
Replay replay(const FuzzTarget& t, const fs::path& dir) {
  Replay r;
  for (const fs::path& file : files_in(dir)) {
    INFO(t.name << ": " << file.string());
    (t.run(read_bytes(file)) ? r.accepted : r.rejected) += 1;
  }
  return r;
}

}  // namespace

TEST_CASE("crashing inputs found by fuzzing stay fixed", "[fuzz]") {
  const fs::path root = fs::path(RACESGD_SOURCE_DIR) / "tests" / "fuzz_regressions";
  int replayed = 0;
  for (const FuzzTarget& t : fuzz_targets()) {
    const Replay r = replay(t, root / t.name);
    replayed += r.accepted + r.rejected;
  }
  // Every regression directory must belong to a target (a renamed target would silently
  // stop replaying its inputs).
  for (const auto& e : fs::directory_iterator(root)) {
    if (!e.is_directory()) continue;
    INFO("tests/fuzz_regressions/" << e.path().filename().string());
    CHECK(racesgd::fuzz::find_fuzz_target(e.path().filename().string()) != nullptr);
  }
  SUCCEED("replayed " << replayed << " regression inputs");
}

TEST_CASE("every seed corpus holds inputs the target accepts and inputs it rejects", "[fuzz]") {
  const fs::path root = fs::path(RACESGD_SOURCE_DIR) / "fuzz" / "corpus";
  for (const FuzzTarget& t : fuzz_targets()) {
    INFO("fuzz/corpus/" << t.name);
    const Replay r = replay(t, root / t.name);
    // A harness that rejects every seed would fuzz nothing but the error path.
    CHECK(r.accepted > 0);
    CHECK(r.rejected > 0);
  }
}
