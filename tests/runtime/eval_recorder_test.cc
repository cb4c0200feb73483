// Evaluation snapshots: memory follows the budget (allocated as recorded, never 1024 x d up
// front), checkpoint restore thins to the capacity, post-run scoring stops on a signal and
// leaves NaN, and evaluation ticks never repeat a point (one per update at most, in O(1)
// per event however small --eval-every is).
#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <memory>
#include <vector>

#include "core/error.h"
#include "models/model_registry.h"
#include "runtime/eval_recorder.h"
#include "sgd/lr_schedule.h"
#include "runtime/real_runtime.h"
#include "runtime/run_memory.h"
#include "runtime/virtual_runtime.h"
#include "tests/runtime/blobs.h"
#include "tests/runtime/curve_point.h"
#include "tests/runtime/run_fixture.h"
#include "delay/delay_model.h"

using namespace racesgd;
using racesgd::testing::at;
using racesgd::testing::blobs;

namespace {

std::vector<float> filled(std::size_t dim, float v) { return std::vector<float>(dim, v); }

using Problem = racesgd::testing::RunFixture;

}  // namespace

TEST_CASE("snapshot storage is allocated as points are recorded, up to the capacity",
          "[eval][memory]") {
  constexpr std::size_t dim = 1000;
  EvalRecorder r(dim, 16);
  CHECK(r.allocated_bytes() == 0);  // not 16 (or 512) x d up front
  r.record(at(0, 0), filled(dim, 0));
  CHECK(r.allocated_bytes() == dim * sizeof(float));
  for (std::uint64_t u = 1; u < 100; ++u) {
    r.record(at(static_cast<double>(u), u), filled(dim, static_cast<float>(u)));
    CHECK(r.size() <= 16);
    CHECK(r.allocated_bytes() <= 16 * dim * sizeof(float));
  }
  // Halving keeps the start and the newest point, each with its own weights.
  CHECK(r.point(0).updates == 0);
  CHECK(r.point(r.size() - 1).updates == 99);
  for (std::size_t i = 0; i < r.size(); ++i)
    CHECK(r.weights(i)[dim - 1] == static_cast<float>(r.point(i).updates));
}

TEST_CASE("the real clock reserves the points its schedule will record, up to the capacity",
          "[eval][memory]") {
  StopRule stop;
  EvalSchedule eval;
  CHECK(expected_points(stop, eval) == 2);
  stop.time_s = 5;
  eval.every_s = 0.05;
  CHECK(expected_points(stop, eval) == 102);
  stop.updates = 1000;
  eval.every_updates = 100;
  CHECK(expected_points(stop, eval) == 112);
  eval.every_s = 1e-12;  // bounded, not an overflow
  CHECK(expected_points(stop, eval) >= 1000000);
  // The auto schedule of a 12 s run: 100 linear ticks and ln(12 s / 1 ms) / ln(1.015) + 1
  // = 631 geometric ones (docs/performance.md, "Evaluation resolution").
  StopRule twelve;
  twelve.time_s = 12;
  EvalSchedule auto_schedule;
  auto_schedule.every_s = 0.12;
  auto_schedule.geometric_ratio = 1.015;
  auto_schedule.geometric_from_s = 1e-3;
  CHECK(expected_points(twelve, auto_schedule) == 2 + 100 + 631);
  StopRule counted;
  counted.updates = 64;
  EvalSchedule doubling;
  doubling.geometric_ratio = 2;
  doubling.geometric_updates = true;  // updates 1, 2, 4, ..., 64
  CHECK(expected_points(counted, doubling) == 2 + 7);

  EvalRecorder r(10, 16);
  r.reserve(5);
  CHECK(r.allocated_bytes() == 5 * 10 * sizeof(float));
  r.reserve(1000);
  CHECK(r.allocated_bytes() == 16 * 10 * sizeof(float));
  for (std::uint64_t u = 0; u < 40; ++u) r.record(at(static_cast<double>(u), u), filled(10, 1));
  CHECK(r.allocated_bytes() == 16 * 10 * sizeof(float));
}

TEST_CASE("the snapshot budget sets the slots: min(1024, budget / 4d)", "[eval][memory]") {
  CHECK(snapshot_slots(1000, 1 << 20) == 262);
  CHECK(snapshot_slots(10, std::uint64_t{1} << 30) == kMaxSnapshots);
  CHECK(snapshot_slots(159'000'010, std::uint64_t{1} << 30) == 1);
  CHECK(resolve_snapshot_budget(0, std::uint64_t{24} << 30) == std::uint64_t{1} << 30);
  CHECK(resolve_snapshot_budget(0, std::uint64_t{2} << 30) == std::uint64_t{256} << 20);
  CHECK(resolve_snapshot_budget(0, 0) == kAutoSnapshotBudgetMax);
  CHECK(resolve_snapshot_budget(12345, std::uint64_t{2} << 30) == 12345);
}

TEST_CASE("memory sizes parse with binary and decimal units, bad ones name the flag",
          "[eval][memory]") {
  CHECK(parse_memory_size("1GiB", "--snapshot-memory") == std::uint64_t{1} << 30);
  CHECK(parse_memory_size("512MiB", "--snapshot-memory") == std::uint64_t{512} << 20);
  CHECK(parse_memory_size("512M", "--snapshot-memory") == std::uint64_t{512} << 20);
  CHECK(parse_memory_size("1.5GB", "--snapshot-memory") == 1'500'000'000);
  CHECK(parse_memory_size("4096", "--snapshot-memory") == 4096);
  for (const char* bad : {"0", "abc", "-1", "1XB", "", "GiB", "0.1B"})
    CHECK_THROWS_WITH(parse_memory_size(bad, "--snapshot-memory"),
                      Catch::Contains("--snapshot-memory") && Catch::Contains("memory size"));
}

TEST_CASE("a model that cannot keep a few snapshots, or fit the machine, is an InputError",
          "[eval][memory]") {
  // Building an MLP allocates no weights: only the check runs here.
  auto big = make_model<float>("mlp:hidden=200000", 784, 10, 0.0);
  CHECK_THROWS_AS(check_run_memory(*big, 10, std::uint64_t{1} << 30, 0), InputError);
  CHECK_THROWS_WITH(check_run_memory(*big, 10, std::uint64_t{1} << 30, 0),
                    Catch::Contains("mlp:hidden=200000") && Catch::Contains("159,000,010") &&
                        Catch::Contains("4.7 GiB") && Catch::Contains("--snapshot-memory"));
  auto small = make_model<float>("softmax", 8, 3, 0.0);  // 27 parameters, 108 bytes
  CHECK(check_run_memory(*small, 10, 1 << 20, 0) == kMaxSnapshots);
  CHECK(check_run_memory(*small, 10, 108 * 9, 0) == 9);
  CHECK_THROWS_WITH(check_run_memory(*small, 10, 108 * 7, 0),
                    Catch::Contains("8 evaluation snapshots"));
  // 10 copies + 9 snapshots = 19 x 108 bytes: a machine with less is too small.
  CHECK_NOTHROW(check_run_memory(*small, 10, 108 * 9, 19 * 108));
  CHECK_THROWS_WITH(check_run_memory(*small, 10, 108 * 9, 19 * 108 - 1),
                    Catch::Contains("this machine's") && Catch::Contains("softmax"));
  CHECK(run_weight_copies(false, 2) == 2 + 4 + 2 + 2);
  // Real clock: versioned weights for 3P + 5 readers (+2), 2P + 3 gradients, +2.
  CHECK(run_weight_copies(true, 2) == (3 * 2 + 5 + 2) + 7 + 2);
}

TEST_CASE("both runtimes reject a snapshot budget the model does not fit, before running",
          "[eval][memory][virtual][real]") {
  Problem f;
  RunInputs in = f.inputs("async", 2, 1, "const:value=1ms", false);
  in.settings.stop.updates = 5;
  in.settings.eval.snapshot_memory = 27 * sizeof(float) * 4;  // 4 slots: fewer than a curve needs
  CHECK_THROWS_WITH(run_virtual(in), Catch::Contains("--snapshot-memory"));
  CHECK_THROWS_WITH(run_real(in), Catch::Contains("--snapshot-memory"));
  in.settings.eval.snapshot_memory = 27 * sizeof(float) * 8;
  CHECK(run_virtual(in).updates == 5);
}

TEST_CASE("restoring more points than the capacity thins them as a run would",
          "[eval][checkpoint]") {
  constexpr std::size_t dim = 5;
  std::vector<EvalRecorder::Saved> saved;
  for (std::uint64_t u = 0; u < 20; ++u) {
    EvalRecorder::Saved s;
    s.point = at(static_cast<double>(u), u);
    s.scored = u % 3 == 0;
    if (s.scored) s.point.test_error = 0.5;
    else s.weights = filled(dim, static_cast<float>(u));
    saved.push_back(s);
  }
  EvalRecorder r(dim, 8);
  r.restore(saved);
  REQUIRE(r.size() <= 8);
  CHECK(r.size() >= 4);
  CHECK(r.point(0).updates == 0);
  CHECK(r.point(r.size() - 1).updates == 19);
  CHECK(r.allocated_bytes() <= 8 * dim * sizeof(float));
  for (std::size_t i = 0; i + 1 < r.size(); ++i) CHECK(r.point(i).updates < r.point(i + 1).updates);
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (r.scored(i)) {
      CHECK(r.point(i).test_error == 0.5);
    } else {
      CHECK(std::isnan(r.point(i).test_error));
      CHECK(r.weights(i)[0] == static_cast<float>(r.point(i).updates));
    }
  }
  // The same points fit a larger recorder unchanged.
  EvalRecorder all(dim, 32);
  all.restore(saved);
  CHECK(all.size() == 20);
}

TEST_CASE("score_all stops on a raised interrupt flag and leaves the points NaN",
          "[eval][signal]") {
  Problem f;
  const auto dim = static_cast<std::size_t>(f.model->num_params());
  EvalRecorder r(dim, 64);
  for (std::uint64_t u = 0; u < 40; ++u) r.record(at(static_cast<double>(u), u), f.w0);
  std::atomic<bool> flag{true};
  std::vector<std::pair<std::size_t, std::size_t>> reports;
  ScoringControl c;
  c.interrupt = &flag;
  c.progress = [&](std::size_t done, std::size_t total) { reports.emplace_back(done, total); };
  CHECK(r.score_all(*f.model, f.train, f.test, c) == 40);
  for (const CurvePoint& p : r.curve()) {
    CHECK(std::isnan(p.test_error));
    CHECK(std::isnan(p.train_loss));
  }
  REQUIRE(!reports.empty());
  CHECK(reports.front() == std::pair<std::size_t, std::size_t>{0, 40});

  flag = false;
  CHECK(r.score_all(*f.model, f.train, f.test, c) == 0);
  for (const CurvePoint& p : r.curve()) CHECK(p.test_error == Approx(2.0 / 3.0));
}

TEST_CASE("score_all scores the newest point first: an interrupted scoring keeps the final error",
          "[eval][signal]") {
  Problem f;
  const auto dim = static_cast<std::size_t>(f.model->num_params());
  EvalRecorder r(dim, 64);
  for (std::uint64_t u = 0; u < 40; ++u) r.record(at(static_cast<double>(u), u), f.w0);
  std::atomic<bool> flag{false};
  ScoringControl c;
  c.interrupt = &flag;
  c.progress_every_s = 0;  // a report after each snapshot this thread scores
  c.progress = [&](std::size_t done, std::size_t) {
    if (done > 0) flag = true;
  };
  const std::size_t left = r.score_all(*f.model, f.train, f.test, c);
  CHECK(r.point(39).test_error == Approx(2.0 / 3.0));
  std::size_t nan = 0;
  for (const CurvePoint& p : r.curve()) nan += std::isnan(p.test_error) ? 1 : 0;
  CHECK(nan == left);
}

TEST_CASE("a signal during post-run scoring marks the run interrupted, its curve NaN",
          "[eval][signal][virtual][real]") {
  for (const bool real : {false, true}) {
    Problem f;
    RunInputs in = f.inputs("async", 2, 1, "const:value=1ms", false);
    if (real) in.settings.stop.time_s = 0.05;
    else in.settings.stop.updates = 30;
    in.settings.eval.every_updates = 3;
    std::atomic<bool> flag{false};
    in.interrupt = &flag;
    // The first scoring report comes before any snapshot is scored: raise the flag there.
    in.progress = [&](const Progress& p) {
      if (p.to_score > 0) flag = true;
    };
    const RunResult r = real ? run_real(in) : run_virtual(in);
    CAPTURE(real, r.error);
    CHECK(r.stop_reason == StopReason::interrupted);
    CHECK_THAT(r.error, Catch::Contains("not scored") && Catch::Contains("had stopped by"));
    REQUIRE(r.curve.size() >= 2);
    for (const CurvePoint& p : r.curve) CHECK(std::isnan(p.test_error));
  }
}

TEST_CASE("a run stopped by a signal is still scored", "[eval][signal][virtual]") {
  Problem f;
  RunInputs in = f.inputs("async", 2, 1, "const:value=1ms", false);
  in.settings.stop.updates = 30;
  std::atomic<bool> flag{true};
  in.interrupt = &flag;
  const RunResult r = run_virtual(in);
  CHECK(r.stop_reason == StopReason::interrupted);
  REQUIRE(!r.curve.empty());
  for (const CurvePoint& p : r.curve) CHECK(p.test_error == Approx(2.0 / 3.0));
}

TEST_CASE("EvalTicker::skip_past moves past billions of ticks in a few steps", "[eval][ticks]") {
  EvalSchedule s;
  s.every_s = 1e-9;
  EvalTicker t(s);
  t.skip_past(1000.0);
  CHECK(t.next_time() > 1000.0);
  CHECK(t.next_time() < 1000.0 + 1e-6);
  const double before = t.next_time();
  t.skip_past(before - 1.0);  // already past: unchanged
  CHECK(t.next_time() == before);
  EvalSchedule off;
  EvalTicker none(off);
  none.skip_past(5.0);
  CHECK(std::isinf(none.next_time()));
}

TEST_CASE("virtual clock: a tiny --eval-every gives at most one point per update",
          "[eval][ticks][virtual]") {
  Problem f;
  RunInputs in = f.inputs("k-async", 3, 1, "exp:mean=1ms", false);
  in.settings.variant = make_variant("k-async", 3, 2);
  in.settings.stop.updates = 40;
  in.settings.eval.every_s = 1e-7;  // ~10^4 ticks between two events
  const RunResult r = run_virtual(in);
  REQUIRE(r.stop_reason == StopReason::updates);
  REQUIRE(r.curve.size() >= 2);
  CHECK(r.curve.size() <= 40 + 2);
  // No two points show the same state (the final one may close the curve at the stop).
  for (std::size_t i = 1; i + 1 < r.curve.size(); ++i)
    CHECK(r.curve[i].updates > r.curve[i - 1].updates);
}

TEST_CASE("virtual clock: geometric ticks make the early curve dense, one point per update "
          "at most", "[eval][ticks][virtual]") {
  Problem f;
  RunInputs in = f.inputs("async", 2, 1, "exp:mean=1ms", false);
  in.settings.stop.time_s = 1.0;
  in.settings.eval.every_s = 0.01;
  const std::size_t linear_only = run_virtual(in).curve.size();
  in.settings.eval.geometric_ratio = 1.015;
  in.settings.eval.geometric_from_s = 1e-3;
  const RunResult r = run_virtual(in);
  REQUIRE(r.stop_reason == StopReason::time);
  std::size_t early = 0;  // points in the first 50 ms: the linear grid alone has 5
  for (const CurvePoint& p : r.curve) early += p.time_s > 0 && p.time_s <= 0.05;
  CHECK(early >= 40);
  CHECK(r.curve.size() > linear_only + 40);
  for (std::size_t i = 1; i + 1 < r.curve.size(); ++i) {
    CHECK(r.curve[i].updates > r.curve[i - 1].updates);
    CHECK(r.curve[i].time_s > r.curve[i - 1].time_s);
  }
  // From 10 ms on, no two neighbouring points are more than 1.5% apart plus one update.
  for (std::size_t i = 1; i < r.curve.size(); ++i)
    if (r.curve[i - 1].time_s >= 0.01)
      CHECK(r.curve[i].time_s - r.curve[i - 1].time_s <= 0.015 * r.curve[i].time_s + 0.01);
}

TEST_CASE("virtual clock: --time 1ns writes the start and the end, not 100 copies",
          "[eval][ticks][virtual]") {
  Problem f;
  RunInputs in = f.inputs("async", 2, 1, "exp:mean=5ms", false);
  in.settings.stop.time_s = 1e-9;
  in.settings.eval.every_s = 1e-11;
  const RunResult r = run_virtual(in);
  CHECK(r.stop_reason == StopReason::time);
  REQUIRE(r.curve.size() == 2);
  CHECK(r.curve[0].time_s == 0.0);
  CHECK(r.curve[1].time_s == 1e-9);
}

TEST_CASE("real clock: a tiny --eval-every does not repeat points", "[eval][ticks][real]") {
  Problem f;
  RunInputs in = f.inputs("sync", 2, 1, "const:value=20ms", false);
  in.settings.stop.time_s = 0.1;
  in.settings.eval.every_s = 1e-9;
  const RunResult r = run_real(in);
  REQUIRE(r.curve.size() >= 2);
  for (std::size_t i = 1; i + 1 < r.curve.size(); ++i)
    CHECK(r.curve[i].updates > r.curve[i - 1].updates);
}
