// The embedding API (bench/api.h): flags as key/values with the CLI's errors, a run of a
// plug-in model on the virtual clock with its curve and summary as values, and the hooks
// (progress, stop).
#include "bench/api.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <unistd.h>

#include "bench/commands.h"
#include "bench/experiment_file.h"
#include "core/error.h"
#include "models/mlp.h"
#include "models/model_registry.h"

using Catch::Contains;
using racesgd::make_train_config;
using racesgd::TrainFlags;

namespace {

// "api-softmax": softmax regression registered as a plug-in would be.
template <typename T>
std::unique_ptr<racesgd::ModelT<T>> make_api_softmax(racesgd::SpecArgs& /*args*/,
                                                     const racesgd::ModelShape& s) {
  return std::make_unique<racesgd::MlpT<T>>(s.input_dim, std::vector<Eigen::Index>{},
                                            s.num_classes, s.l2);
}

void register_api_softmax() {
  static std::once_flag once;
  std::call_once(once, [] {
    racesgd::register_model("api-softmax", "api-softmax", "softmax as a plug-in",
                            {&make_api_softmax<float>, &make_api_softmax<double>});
  });
}

TrainFlags fixture_run(const std::string& model, const std::string& updates) {
  return {{"model", model},
          {"data", RACESGD_FIXTURES_DIR "/mnist100-images-idx3-ubyte"},
          {"test-fraction", "0.3"},
          {"batch", "8"},
          {"variant", "k-async"},
          {"P", "3"},
          {"K", "2"},
          {"delay", "exp:mean=1ms"},
          {"clock", "virtual"},
          {"updates", updates},
          {"progress", "off"}};
}

}  // namespace

TEST_CASE("api: flags as key/values, with the CLI's errors", "[api]") {
  const racesgd::ExperimentConfig c = make_train_config({{"variant", "k-async"}, {"P", "8"}, {"timing-only", "true"}});
  CHECK(c.variant == "k-async");
  CHECK(c.P == 8);
  CHECK(c.K == 2);  // the default
  CHECK(c.timing_only);
  CHECK(c.raw["variant"] == "k-async");  // what summary.json's "config" shows
  CHECK_THROWS_WITH(make_train_config({{"bogus", "1"}}), Contains("unknown parameter 'bogus'"));
  CHECK_THROWS_WITH(make_train_config({{"P", "2"}, {"P", "4"}}), Contains("-P: given more than once"));
  CHECK_THROWS_WITH(make_train_config({{"batch", "0"}}), Contains("--batch"));
  CHECK_THROWS_WITH(make_train_config({{"delay", "exp:mean=-1ms"}}), Contains("exp:mean=-1ms"));
}

TEST_CASE("api: a plug-in model trains on the virtual clock, curve and summary as values",
          "[api][plugin]") {
  register_api_softmax();
  std::size_t reports = 0, to_score = 0;
  racesgd::TrainHooks hooks;
  hooks.progress = [&](const racesgd::Progress& p) {
    ++reports;
    to_score = std::max(to_score, p.to_score);
  };
  const racesgd::RunOutput out = racesgd::train(make_train_config(fixture_run("api-softmax", "120")), hooks);
  CHECK(out.result.updates == 120);
  CHECK(out.result.stop_reason == racesgd::StopReason::updates);
  REQUIRE(out.result.curve.size() >= 2);
  CHECK(out.result.curve.back().test_error < out.result.curve.front().test_error);
  CHECK(out.summary["model"] == "softmax");  // the spec the built model gives itself
  CHECK(out.summary["config"]["model"] == "api-softmax");
  CHECK(out.summary["updates"] == 120);
  CHECK(reports >= 1);  // at least when the evaluation snapshots are scored
  CHECK(to_score == out.result.curve.size());

  // The same run with the built-in softmax: the plug-in path changes nothing.
  const racesgd::RunOutput builtin = racesgd::train(make_train_config(fixture_run("softmax", "120")));
  CHECK(builtin.result.curve.back().train_loss == out.result.curve.back().train_loss);
  CHECK(builtin.result.curve.back().test_error == out.result.curve.back().test_error);

  CHECK_THROWS_WITH(racesgd::train(make_train_config(fixture_run("api-softmax:x=1", "5"))),
                    Contains("api-softmax:x=1") && Contains("unknown parameter 'x'"));
  CHECK_THROWS_WITH(racesgd::train(make_train_config(fixture_run("nope", "5"))),
                    Contains("unknown model 'nope'") && Contains("api-softmax"));
}

TEST_CASE("api: the stop flag ends a run early with a partial result", "[api]") {
  std::atomic<bool> stop{true};  // set before the start: the run stops at its first check
  racesgd::TrainHooks hooks;
  hooks.stop = &stop;
  const racesgd::RunOutput out = racesgd::train(make_train_config(fixture_run("softmax", "100000")), hooks);
  CHECK(out.result.stop_reason == racesgd::StopReason::interrupted);
  CHECK(out.result.updates < 100000);
  CHECK(out.summary["stop_reason"] == "interrupted");
}

TEST_CASE("a plug-in model works in a race from an experiment file", "[api][plugin][race]") {
  register_api_softmax();
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("racesgd-api-race-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream toml(dir / "race.toml");
    toml << "model = \"api-softmax\"\n"
         << "data = \"" << RACESGD_FIXTURES_DIR << "/mnist100-images-idx3-ubyte\"\n"
         << "test-fraction = 0.3\nbatch = 8\nP = 2\nvariants = [\"sync\", \"async\"]\n"
         << "repeats = 1\nupdates = 10\nclock = \"virtual\"\nplot = false\nprogress = \"off\"\n"
         << "out = \"" << (dir / "out").string() << "\"\n";
  }
  racesgd::ParamValues values(racesgd::race_params());
  racesgd::apply_experiment_file((dir / "race.toml").string(), values);
  CHECK(racesgd::race_command(values, nullptr) == 0);
  std::ifstream summary(dir / "out" / "summary.json");
  const nlohmann::json j = nlohmann::json::parse(summary, nullptr, false);
  std::filesystem::remove_all(dir);
  REQUIRE(j.is_object());
  CHECK(j.dump().find("api-softmax") != std::string::npos);
}
