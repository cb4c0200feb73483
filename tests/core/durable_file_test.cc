#include "core/durable_file.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

using namespace racesgd;

TEST_CASE("write_file_atomic: a failed write is a WriteError and leaves no temporary file",
          "[durable_file]") {
  const auto dir = std::filesystem::temp_directory_path() / "racesgd-durable-file-test";
  std::filesystem::remove_all(dir);
  write_file_atomic(dir / "a.txt", "hello");
  CHECK(std::filesystem::file_size(dir / "a.txt") == 5);
  // A target that is a folder: the temporary file is written, the rename fails.
  std::filesystem::create_directories(dir / "folder" / "inside");
  CHECK_THROWS_AS(write_file_atomic(dir / "folder", "x"), WriteError);
  for (const auto& e : std::filesystem::directory_iterator(dir))
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
  // Under /proc nothing can be created: a WriteError (exit 1 after a run), not InputError.
  CHECK_THROWS_AS(write_file_atomic("/proc/racesgd-no/such.txt", "x"), WriteError);
  CHECK_THROWS_WITH(check_writable_folder("/proc/racesgd-no", "--out"),
                    Catch::Contains("--out") && Catch::Contains("/proc/racesgd-no"));
  std::filesystem::remove_all(dir);
}
