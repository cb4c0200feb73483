#include "bench/report.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "bench/format.h"

using namespace racesgd;

namespace {
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}
}  // namespace

TEST_CASE("numbers: huge values in %g form, nothing cut at a buffer's size", "[report]") {
  CHECK(format_fixed(1.5, 3) == "1.500");
  CHECK(format_fixed(1e300, 3) == "1e+300");
  CHECK(format_g(0.0123456789) == "0.0123457");
  const std::string long_text(1000, 'x');
  CHECK(format_text("%s!", long_text.c_str()).size() == 1001);
}

TEST_CASE("curve.csv: a huge time stays one short, complete row", "[report]") {
  std::vector<CurvePoint> curve(1);
  curve[0].time_s = 1e300;  // e.g. hetero:...,scales=1,1,1,1e300
  curve[0].updates = 7;
  curve[0].gradients = 28;
  curve[0].test_error = 0.5;
  curve[0].wall_s = 2e300;
  curve[0].k = 3;
  const auto rows = lines_of(curve_csv(curve, nlohmann::json::object(), CurveColumns{}));
  REQUIRE(rows.size() == 2);
  CHECK(rows[0] == "time_s,updates,gradients,train_loss,test_error,staleness_mean,K,wall_s");
  CHECK(rows[1] == "1e+300,7,28,0,0.5,0.0000,3,2e+300");
}

TEST_CASE("curve.csv: --timing-only writes no error columns", "[report]") {
  std::vector<CurvePoint> curve(1);
  curve[0].time_s = 0.25;
  curve[0].updates = 3;
  curve[0].k = 1;
  const auto rows =
      lines_of(curve_csv(curve, nlohmann::json::object(), CurveColumns{false, false}));
  REQUIRE(rows.size() == 2);
  CHECK(rows[0] == "time_s,updates,gradients,staleness_mean,K");
  CHECK(rows[1] == "0.250000,3,0,0.0000,1");
}

TEST_CASE("write_run_outputs: the curve header says why the run stopped", "[report]") {
  const auto dir = std::filesystem::temp_directory_path() / "racesgd-report-test-stop";
  std::filesystem::remove_all(dir);
  nlohmann::json summary = {{"stop_reason", "interrupted"}, {"clock", "virtual"}};
  write_run_outputs(dir, {}, summary);
  std::ifstream in(dir / "curve.csv");
  std::stringstream text;
  text << in.rdbuf();
  CHECK_THAT(text.str(), Catch::Contains("# stop_reason: interrupted\n"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("write_run_outputs: a file that cannot be written is a WriteError, the other is "
          "still written, no temporary file is left",
          "[report]") {
  const auto dir = std::filesystem::temp_directory_path() / "racesgd-report-test-fail";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "curve.csv" / "inside");  // the rename fails
  CHECK_THROWS_WITH(write_run_outputs(dir, {}, {{"clock", "virtual"}}),
                    Catch::Contains("curve.csv"));
  CHECK(std::filesystem::is_regular_file(dir / "summary.json"));
  for (const auto& e : std::filesystem::directory_iterator(dir))
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("clear_run_outputs removes only what a run writes", "[report]") {
  const auto dir = std::filesystem::temp_directory_path() / "racesgd-report-test-clear";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (const char* f : {"curve.csv", "summary.json", "summary.json.tmp.123", "notes.txt"})
    std::ofstream(dir / f) << "old";
  clear_run_outputs(dir);
  CHECK_FALSE(std::filesystem::exists(dir / "curve.csv"));
  CHECK_FALSE(std::filesystem::exists(dir / "summary.json"));
  CHECK_FALSE(std::filesystem::exists(dir / "summary.json.tmp.123"));
  CHECK(std::filesystem::exists(dir / "notes.txt"));
  clear_run_outputs(dir / "missing");  // nothing there: nothing to do
  std::filesystem::remove_all(dir);
}
