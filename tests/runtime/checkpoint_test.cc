// Checkpoints: state round-trips, bit-identical resume on the virtual clock, and damaged
// files that must give an InputError (never a crash, never an overwritten good file).
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

#include "core/error.h"
#include "core/rng.h"
#include "models/model_registry.h"
#include "tests/runtime/blobs.h"
#include "runtime/checkpoint.h"
#include "sgd/compensation.h"
#include "sgd/coordinator.h"
#include "sgd/lr_schedule.h"
#include "runtime/real_runtime.h"
#include "sgd/staleness_tracker.h"
#include "sgd/update_accumulator.h"
#include "runtime/virtual_runtime.h"
#include "delay/delay_model.h"

using namespace racesgd;
namespace fs = std::filesystem;

namespace {

using racesgd::testing::blobs;

// A scratch folder removed at the end of the test.
struct TempDir {
  fs::path path = fs::temp_directory_path() /
                  ("racesgd_ckpt_test_" + std::to_string(::getpid()) + "_" +
                   std::to_string(counter()++));
  TempDir() { fs::create_directories(path); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

// Everything one run needs, rebuilt from scratch for the resumed run (a fresh delay
// model, as a new process would have).
struct Setup {
  std::string variant = "k-async";
  std::size_t P = 4, K = 2;
  std::uint64_t max_staleness = 0;  // Ringmaster's R (0: none)
  std::string delay = "exp:mean=1ms";
  std::string lr_spec = "constant";
  double lr_value = 0.1;
  bool timing_only = false;
  StopRule stop;
  EvalSchedule eval;
  bool continue_on_failure = false;
  std::string compensation = "none";
  std::string k_schedule = "fixed";
  fs::path base_dir = ".";

  Dataset train = blobs(600, 1);
  Dataset test = blobs(300, 2);
  std::unique_ptr<Model> model = make_model<float>("mlp:hidden=6", 8, 3, 0.0);
  std::vector<float> w0 = [&] {
    std::vector<float> w(static_cast<std::size_t>(model->num_params()));
    model->init(w, 7);
    return w;
  }();

  struct Built {
    std::unique_ptr<DelayModel> delay;
    std::unique_ptr<LrSchedule> lr;
    RunInputs in;
  };
  Built build() const {
    Built b;
    DelayContext ctx;
    ctx.num_learners = P;
    ctx.base_dir = base_dir;
    b.delay = make_delay_model(delay, ctx);
    b.lr = make_lr_schedule(lr_spec, lr_value, "none");
    b.in.model = model.get();
    b.in.train = &train;
    b.in.test = &test;
    b.in.delay = b.delay.get();
    b.in.lr = b.lr.get();
    b.in.w0 = w0;
    b.in.settings.variant = make_variant(variant, P, K, max_staleness);
    b.in.settings.batch = 16;
    b.in.settings.seed = 3;
    b.in.settings.timing_only = timing_only;
    b.in.settings.stop = stop;
    b.in.settings.eval = eval;
    b.in.settings.eval.train_samples = 200;
    b.in.settings.continue_on_learner_failure = continue_on_failure;
    b.in.settings.compensation = parse_compensation(compensation);
    b.in.settings.k_schedule = parse_k_schedule(k_schedule);
    return b;
  }
};

// Everything of a result that is not real (wall-clock) time, compared exactly.
void require_identical(const RunResult& a, const RunResult& b) {
  REQUIRE(a.curve.size() == b.curve.size());
  for (std::size_t i = 0; i < a.curve.size(); ++i) {
    INFO("curve point " << i);
    CHECK(a.curve[i].time_s == b.curve[i].time_s);
    CHECK(a.curve[i].updates == b.curve[i].updates);
    CHECK(a.curve[i].gradients == b.curve[i].gradients);
    CHECK(a.curve[i].train_loss == b.curve[i].train_loss);
    CHECK(a.curve[i].test_error == b.curve[i].test_error);
    CHECK(a.curve[i].staleness_mean == b.curve[i].staleness_mean);
    CHECK(a.curve[i].k == b.curve[i].k);
  }
  REQUIRE(a.k_changes.size() == b.k_changes.size());
  for (std::size_t i = 0; i < a.k_changes.size(); ++i) {
    CHECK(a.k_changes[i].time_s == b.k_changes[i].time_s);
    CHECK(a.k_changes[i].update == b.k_changes[i].update);
    CHECK(a.k_changes[i].loss == b.k_changes[i].loss);
    CHECK(a.k_changes[i].K == b.k_changes[i].K);
  }
  CHECK(a.stop_reason == b.stop_reason);
  CHECK(a.error == b.error);
  CHECK(a.run_time_s == b.run_time_s);
  CHECK(a.updates == b.updates);
  CHECK(a.gradients_applied == b.gradients_applied);
  CHECK(a.gradients_cancelled == b.gradients_cancelled);
  CHECK(a.last_update_time_s == b.last_update_time_s);
  CHECK(a.staleness_mean == b.staleness_mean);
  CHECK(a.staleness_max == b.staleness_max);
  CHECK(a.p0 == b.p0);
  CHECK(a.staleness_histogram == b.staleness_histogram);
  REQUIRE(a.per_learner.size() == b.per_learner.size());
  for (std::size_t w = 0; w < a.per_learner.size(); ++w) {
    CHECK(a.per_learner[w].applied == b.per_learner[w].applied);
    CHECK(a.per_learner[w].cancelled == b.per_learner[w].cancelled);
    CHECK(a.per_learner[w].staleness_sum == b.per_learner[w].staleness_sum);
    CHECK(a.per_learner[w].staleness_max == b.per_learner[w].staleness_max);
    CHECK(a.per_learner[w].idle_seconds == b.per_learner[w].idle_seconds);
  }
  CHECK(a.mean_lr == b.mean_lr);
  CHECK(a.delay_drawn_mean_s == b.delay_drawn_mean_s);
  REQUIRE(a.failures.size() == b.failures.size());
  for (std::size_t i = 0; i < a.failures.size(); ++i) {
    CHECK(a.failures[i].learner == b.failures[i].learner);
    CHECK(a.failures[i].what == b.failures[i].what);
    CHECK(a.failures[i].time_s == b.failures[i].time_s);
  }
}

// Runs uninterrupted with a checkpoint every `every` updates (and one at the end), then
// resumes from the first checkpoint (through the byte encoding) and from the final one;
// both must reproduce the uninterrupted run exactly, which in turn must equal a run
// without checkpoints.
void check_resume_identical(const Setup& s, std::uint64_t every) {
  RunResult plain;
  {
    auto b = s.build();
    plain = run_virtual(b.in);
  }
  std::vector<std::string> saved;
  RunResult full;
  {
    auto b = s.build();
    b.in.checkpoint.every_updates = every;
    b.in.checkpoint.at_end = true;
    b.in.checkpoint.save = [&](const RunCheckpoint& c) {
      saved.push_back(encode_checkpoint(CheckpointFile{"cfg", c}));
    };
    full = run_virtual(b.in);
  }
  REQUIRE(saved.size() >= 2);
  require_identical(plain, full);
  for (const std::size_t which : {std::size_t{0}, saved.size() / 2, saved.size() - 1}) {
    INFO("resuming from checkpoint " << which << " of " << saved.size());
    const CheckpointFile file = decode_checkpoint(saved[which], "test");
    CHECK(file.config == "cfg");
    CHECK(encode_checkpoint(file) == saved[which]);  // the round trip loses nothing
    auto b = s.build();
    b.in.checkpoint.resume = &file.run;
    const RunResult resumed = run_virtual(b.in);
    require_identical(full, resumed);
  }
}

}  // namespace

TEST_CASE("coordinator state round-trips and rejects foreign states", "[checkpoint]") {
  Coordinator a(make_variant("k-async", 4, 2));
  a.on_start();
  a.on_arrival(Arrival{2, 0});
  Coordinator b(make_variant("k-async", 4, 2));
  b.restore(a.state());
  const Decision da = a.on_arrival(Arrival{1, 0});
  const Decision db = b.on_arrival(Arrival{1, 0});
  CHECK(da.apply == db.apply);
  CHECK(da.restart == db.restart);
  CHECK(a.version() == b.version());
  CoordinatorState bad = a.state();
  bad.busy.pop_back();
  CHECK_THROWS_AS(b.restore(bad), InputError);
  bad = a.state();
  bad.pending = 5;
  CHECK_THROWS_AS(b.restore(bad), InputError);
  bad = a.state();
  bad.active[0] = 7;
  CHECK_THROWS_AS(b.restore(bad), InputError);
}

TEST_CASE("tracker and accumulator state round-trip", "[checkpoint]") {
  StalenessTracker t(3, 8);
  t.record_applied(0, 2);
  t.record_applied(1, 0);
  t.record_cancelled(2);
  t.record_idle(1, 0.5);
  StalenessTracker u(3, 8);
  u.restore(t.state());
  CHECK(u.mean() == t.mean());
  CHECK(u.histogram() == t.histogram());
  CHECK(u.take_interval_mean() == t.take_interval_mean());
  CHECK(u.per_learner()[1].idle_seconds == 0.5);
  StalenessTracker other(4, 8);
  CHECK_THROWS_AS(other.restore(t.state()), InputError);

  UpdateAccumulator acc(3);
  const std::vector<float> g{1, 2, 3};
  acc.add(g, 0.5);
  UpdateAccumulator acc2(3);
  acc2.restore(acc.sum(), acc.count());
  std::vector<float> w1(3), w2(3);
  const std::vector<float> cur{1, 1, 1};
  acc.apply_into(w1, cur);
  acc2.apply_into(w2, cur);
  CHECK(w1 == w2);
  CHECK_THROWS_AS(acc2.restore(std::vector<float>(2), 1), InputError);
}

TEST_CASE("stateful delay models save and restore their state", "[checkpoint]") {
  TempDir dir;
  std::ofstream(dir.path / "t.csv") << "1,5\n2,6\n3,7\n";
  DelayContext ctx;
  ctx.num_learners = 2;
  ctx.base_dir = dir.path;
  const std::string spec =
      "straggler:base=(faulty:base=(trace:file=t.csv,unit=ms),learner=1,after=100),slow=(hetero:(trace:"
      "file=t.csv,unit=ms),scales=1,2),p=0.5";
  auto a = make_delay_model(spec, ctx);
  Rng ra(1);
  for (int i = 0; i < 5; ++i) a->sample(static_cast<std::size_t>(i % 2), ra);
  std::vector<std::uint64_t> state;
  a->save_state(state);
  CHECK(state.size() == 2 + 2 + 2);  // trace cursors, fault counters, trace cursors
  auto b = make_delay_model(spec, ctx);
  std::span<const std::uint64_t> in(state);
  b->restore_state(in);
  CHECK(in.empty());
  Rng rb = ra;
  for (int i = 0; i < 20; ++i) {
    const auto w = static_cast<std::size_t>(i % 2);
    CHECK(a->sample(w, ra) == b->sample(w, rb));
  }
  std::span<const std::uint64_t> short_state(state.data(), 3);
  CHECK_THROWS_AS(b->restore_state(short_state), InputError);
  std::vector<std::uint64_t> past_end = state;
  past_end[2] = 99;  // the base trace's cursor of learner 0 (after two fault counters)
  std::span<const std::uint64_t> bad(past_end);
  CHECK_THROWS_AS(b->restore_state(bad), InputError);
}

TEST_CASE("virtual resume is bit-identical: k-async, k-sync, k-batch-async, k-batch-sync",
          "[checkpoint][virtual]") {
  for (const char* variant : {"k-async", "k-sync", "k-batch-async", "k-batch-sync", "async"}) {
    INFO(variant);
    Setup s;
    s.variant = variant;
    s.stop.updates = 120;
    s.eval.every_updates = 7;
    check_resume_identical(s, 40);
  }
}

TEST_CASE("virtual resume is bit-identical with a staleness threshold (Ringmaster)",
          "[checkpoint][virtual][ringmaster]") {
  for (const char* variant : {"async", "k-async", "k-batch-async"}) {
    INFO(variant);
    Setup s;
    s.variant = variant;
    s.max_staleness = 2;
    s.delay = "hetero:(exp:mean=1ms),scales=1,1,2,6";
    s.stop.updates = 150;
    s.eval.every_updates = 7;
    check_resume_identical(s, 40);
  }
}

TEST_CASE("a format-2 checkpoint reads: start versions from the pins of learners computing",
          "[checkpoint][ringmaster]") {
  const CheckpointFile c = read_checkpoint(fs::path(RACESGD_FIXTURES_DIR) / "checkpoint-0.1");
  CHECK(c.run.format == 2);  // RunLog::resume gives its curve points the variant's K
  CHECK_FALSE(c.run.has_k_schedule);
  CHECK(c.run.ps.coordinator.target_k == 0);  // the variant's K
  const CoordinatorState& co = c.run.ps.coordinator;
  REQUIRE(co.started.size() == co.busy.size());
  REQUIRE(c.run.learners.size() == co.busy.size());
  std::size_t computing = 0;
  for (std::size_t w = 0; w < co.busy.size(); ++w) {
    const LearnerCheckpoint& l = c.run.learners[w];
    if (co.busy[w] && l.has_pin) {
      CHECK(co.started[w] == l.pinned);
      ++computing;
    } else {
      CHECK(co.started[w] == co.version);
    }
  }
  CHECK(computing > 0);
  // Written again, it is the newest format, which reads back the same start versions.
  const CheckpointFile again = decode_checkpoint(encode_checkpoint(c), "again");
  CHECK(again.run.ps.coordinator.started == co.started);
}

TEST_CASE("virtual resume is bit-identical with the auto schedule's geometric ticks, thinned",
          "[checkpoint][virtual][eval]") {
  // Geometric ticks in time plus a linear grid, and a snapshot budget of 16 points, so the
  // recorder thins (linear points first) before and after the checkpoints.
  Setup s;
  s.stop.time_s = 0.3;
  s.eval.every_s = 0.003;
  s.eval.geometric_ratio = 2;  // 9 geometric ticks (1 ms .. 256 ms), 100 linear ones
  s.eval.geometric_from_s = 1e-3;
  s.eval.snapshot_memory = 16 * 75 * sizeof(float);  // mlp:hidden=6 on 8 features: 75 weights
  {
    auto b = s.build();
    const RunResult r = run_virtual(b.in);
    REQUIRE(r.curve.size() <= 16);
    REQUIRE(r.curve.size() >= 8);
    CHECK(r.curve[1].time_s < 0.002);  // the first geometric point survived the thinning
  }
  check_resume_identical(s, 60);
  // And in updates, for a run stopped by its update count.
  Setup u;
  u.stop.updates = 300;
  u.eval.every_updates = 30;
  u.eval.geometric_ratio = 1.1;
  u.eval.geometric_updates = true;
  check_resume_identical(u, 70);
}

TEST_CASE("virtual resume is bit-identical with a trace delay model and a time stop",
          "[checkpoint][virtual]") {
  TempDir dir;
  {
    std::ofstream t(dir.path / "delays.csv");
    Rng rng(5);
    t << "w0,w1,w2,w3\n";
    for (int i = 0; i < 37; ++i)  // cycles, so cursors wrap while the run goes on
      t << 0.5 + 2 * rng.uniform() << "," << 1 + rng.uniform() << "," << 0.2 + rng.uniform()
        << "," << 3 * rng.uniform() << "\n";
  }
  Setup s;
  s.base_dir = dir.path;
  s.delay = "trace:file=delays.csv,unit=ms";
  s.variant = "k-batch-async";
  s.stop.time_s = 0.2;
  s.eval.every_s = 0.01;
  check_resume_identical(s, 50);
  s.variant = "k-sync";
  check_resume_identical(s, 30);
}

TEST_CASE("virtual resume is bit-identical: timing-only, staleness lr, a learner that left",
          "[checkpoint][virtual]") {
  Setup s;
  s.timing_only = true;
  s.stop.updates = 3000;
  s.eval.every_updates = 100;
  s.delay = "hetero:(shifted-exp:shift=1ms,mean=2ms),scales=1,1,2,4";
  check_resume_identical(s, 1000);

  Setup t;
  t.lr_spec = "staleness:c=1";
  t.stop.updates = 100;
  t.eval.every_updates = 10;
  t.delay = "faulty:base=exp:mean=1ms,learner=2,after=30";
  t.continue_on_failure = true;
  check_resume_identical(t, 25);
}

TEST_CASE("a diverging run never checkpoints NaN weights", "[checkpoint][virtual]") {
  Setup s;
  s.lr_value = 1e30;
  s.stop.updates = 200;
  std::vector<RunCheckpoint> saved;
  auto b = s.build();
  b.in.checkpoint.every_updates = 1;
  b.in.checkpoint.at_end = true;
  b.in.checkpoint.save = [&](const RunCheckpoint& c) { saved.push_back(c); };
  const RunResult r = run_virtual(b.in);
  REQUIRE(r.stop_reason == StopReason::diverged);
  for (const RunCheckpoint& c : saved)
    for (const WeightsCheckpoint& v : c.weights)
      for (float x : v.w) REQUIRE(std::isfinite(x));
}

TEST_CASE("a truncated or corrupted checkpoint is an InputError, never a crash",
          "[checkpoint]") {
  Setup s;
  s.stop.updates = 30;
  s.eval.every_updates = 5;
  std::optional<std::string> bytes;
  auto b = s.build();
  b.in.checkpoint.every_updates = 15;
  b.in.checkpoint.save = [&](const RunCheckpoint& c) {
    if (!bytes) bytes = encode_checkpoint(CheckpointFile{"{}", c});
  };
  run_virtual(b.in);
  REQUIRE(bytes);
  const std::string good = *bytes;
  REQUIRE_NOTHROW(decode_checkpoint(good, "good"));
  std::size_t truncations = 0, flips = 0;
  for (std::size_t n = 0; n < good.size(); n += 97) {
    CHECK_THROWS_AS(decode_checkpoint(good.substr(0, n), "cut"), InputError);
    ++truncations;
  }
  for (std::size_t i = 0; i < good.size(); i += 97) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x5A);
    CHECK_THROWS_AS(decode_checkpoint(bad, "flipped"), InputError);
    // Without the checksum the parser must still fail cleanly or parse, never crash.
    try {
      decode_checkpoint(bad, "flipped", false);
    } catch (const InputError&) {
    }
    ++flips;
  }
  CHECK(truncations > 10);
  CHECK(flips > 10);
  // A length field claiming 2^60 elements fails before allocating.
  std::string huge = good;
  const std::uint64_t big = std::uint64_t{1} << 60;
  std::memcpy(huge.data() + 20, &big, 8);  // the config string's length
  CHECK_THROWS_WITH(decode_checkpoint(huge, "huge", false),
                    Catch::Contains("huge") && Catch::Contains("exceeds"));
  try {
    decode_checkpoint(good.substr(0, good.size() / 2), "checkpoint 'x.rsgd'");
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK_THAT(e.what(), Catch::Contains("x.rsgd") && Catch::Contains("payload length"));
  }
}

TEST_CASE("checkpoint files: atomic write, read back, the good one survives a failed write",
          "[checkpoint]") {
  Setup s;
  s.stop.updates = 20;
  std::optional<RunCheckpoint> state;
  auto b = s.build();
  b.in.checkpoint.every_updates = 10;
  b.in.checkpoint.save = [&](const RunCheckpoint& c) {
    if (!state) state = c;
  };
  run_virtual(b.in);
  REQUIRE(state);
  TempDir dir;
  const CheckpointFile file{"config text", *state};
  const std::size_t n = write_checkpoint(dir.path, file);
  CHECK(fs::file_size(checkpoint_path(dir.path)) == n);
  CHECK(encode_checkpoint(read_checkpoint(dir.path)) == encode_checkpoint(file));

  // Block the temporary name with a folder: the write fails, the old file stays.
  fs::create_directories(dir.path / (std::string(kCheckpointFileName) + ".tmp." +
                                     std::to_string(::getpid())));
  CheckpointFile other = file;
  other.config = "newer";
  CHECK_THROWS_WITH(write_checkpoint(dir.path, other), Catch::Contains("previous checkpoint is kept") ||
                                                           Catch::Contains("cannot create"));
  CHECK(read_checkpoint(dir.path).config == "config text");

  CHECK_THROWS_WITH(read_checkpoint(dir.path / "missing"), Catch::Contains("missing"));
  std::ofstream(dir.path / "junk.rsgd") << "not a checkpoint at all, just text";
  CHECK_THROWS_WITH(read_checkpoint(dir.path / "junk.rsgd"),
                    Catch::Contains("junk.rsgd") && Catch::Contains("bad magic"));
}

TEST_CASE("a checkpoint of another clock or run shape is rejected", "[checkpoint]") {
  Setup s;
  s.stop.updates = 20;
  std::optional<RunCheckpoint> state;
  auto b = s.build();
  b.in.checkpoint.every_updates = 10;
  b.in.checkpoint.save = [&](const RunCheckpoint& c) {
    if (!state) state = c;
  };
  run_virtual(b.in);
  REQUIRE(state);
  Setup other;
  other.stop.updates = 20;
  other.P = 3;
  auto ob = other.build();
  ob.in.checkpoint.resume = &*state;
  CHECK_THROWS_WITH(run_virtual(ob.in), Catch::Contains("learners"));
  auto rb = s.build();
  rb.in.checkpoint.resume = &*state;
  CHECK_THROWS_WITH(run_real(rb.in), Catch::Contains("virtual"));
}

TEST_CASE("real clock: a checkpoint resumes on the restored weights, version and curve",
          "[checkpoint][real]") {
  Setup s;
  s.variant = "k-async";
  s.stop.time_s = 0.15;
  s.eval.every_s = 0.03;
  std::optional<RunCheckpoint> state;
  RunResult first;
  {
    auto b = s.build();
    b.in.checkpoint.at_end = true;
    b.in.checkpoint.save = [&](const RunCheckpoint& c) { state = c; };
    first = run_real(b.in);
  }
  REQUIRE(state);
  REQUIRE(first.stop_reason == StopReason::time);
  const RunCheckpoint decoded = decode_checkpoint(encode_checkpoint({"", *state}), "t").run;
  Setup longer;
  longer.variant = "k-async";
  longer.eval.every_s = 0.03;
  longer.stop.time_s = 0.3;
  auto b = longer.build();
  b.in.checkpoint.resume = &decoded;
  const RunResult r = run_real(b.in);
  CHECK(r.stop_reason == StopReason::time);
  CHECK(r.updates > first.updates);  // continued from the restored version
  REQUIRE(r.curve.size() > first.curve.size());
  for (std::size_t i = 0; i < first.curve.size() - 1; ++i) {
    CHECK(r.curve[i].updates == first.curve[i].updates);
    CHECK(r.curve[i].test_error == first.curve[i].test_error);
  }
  CHECK(r.curve.back().time_s >= 0.3);
}

TEST_CASE("a checkpoint's run clock and next evaluation time are validated on load",
          "[checkpoint]") {
  // NaN or 1e300 used to restart the real clock at -9.2e9 s (int64 nanoseconds overflowed)
  // and `--time` never stopped the run; a next tick below the clock replays every tick in
  // between.
  constexpr double kInf = std::numeric_limits<double>::infinity();
  constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
  constexpr double kCap = kMaxCheckpointClockSeconds;
  RunCheckpoint c;
  c.clock = "virtual";
  const auto decode_with = [&](double now, double next_tick) {
    c.now = now;
    c.ticker_next_time = next_tick;
    return decode_checkpoint(encode_checkpoint({"{}", c}), "checkpoint 'c.rsgd'");
  };
  CHECK_NOTHROW(decode_with(0, 0));
  CHECK_NOTHROW(decode_with(1.5, 1.5));
  CHECK_NOTHROW(decode_with(1.5, 2));
  CHECK_NOTHROW(decode_with(1.5, kInf));  // time ticks off
  CHECK_NOTHROW(decode_with(kCap, kCap));
  for (const double now : {kNan, -kNan, -1.0, -kInf, kInf, 1e300, 2 * kCap}) {
    INFO("now " << now);
    CHECK_THROWS_AS(decode_with(now, kInf), InputError);
    CHECK_THROWS_WITH(decode_with(now, kInf), Catch::Contains("c.rsgd") && Catch::Contains("run clock"));
  }
  for (const double next : {kNan, -kInf, -1.0, 0.0, 1.0, 1e300, 2 * kCap}) {
    INFO("next tick " << next);
    CHECK_THROWS_AS(decode_with(1.5, next), InputError);
    CHECK_THROWS_WITH(decode_with(1.5, next), Catch::Contains("c.rsgd") && Catch::Contains("next evaluation time"));
  }
  c.clock = "real";
  CHECK_THROWS_WITH(decode_with(1e300, kInf),
                    Catch::Contains("run clock 1e+300 s is not in [0, 1e+09 s]"));
}

TEST_CASE("real clock: the checkpoint at the time stop loads back (its tick is not behind "
          "its clock)",
          "[checkpoint][real]") {
  // Ticks every 0.01 s add up to 0.09999999999999999 s, a hair below the 0.1 s stop; the
  // PS sees the clock pass both at once and stops without taking that tick. The saved
  // tick must still be no earlier than the saved clock, as decode_checkpoint requires.
  Setup s;
  s.timing_only = true;
  s.delay = "const:value=1ms";
  s.stop.time_s = 0.1;
  s.eval.every_s = 0.01;
  std::optional<RunCheckpoint> state;
  auto b = s.build();
  b.in.checkpoint.at_end = true;
  b.in.checkpoint.save = [&](const RunCheckpoint& c) { state = c; };
  REQUIRE(run_real(b.in).stop_reason == StopReason::time);
  REQUIRE(state);
  CHECK(state->now == 0.1);
  CHECK(state->ticker_next_time >= state->now);
  CHECK_NOTHROW(decode_checkpoint(encode_checkpoint({"", *state}), "t"));
}

TEST_CASE("virtual resume is bit-identical with delay compensation (dc-adaptive's MeanSquare "
          "travels in the checkpoint)", "[checkpoint][virtual][compensation]") {
  Setup s;
  s.variant = "async";
  s.stop.updates = 200;
  s.eval.every_updates = 20;
  s.compensation = "dc-adaptive";
  check_resume_identical(s, 70);
  s.variant = "k-async";  // K = 2: compensated gradients wait in the accumulator
  s.compensation = "dc:lambda=0.5";
  check_resume_identical(s, 70);
}

TEST_CASE("virtual resume is bit-identical with ssp (the learners' clocks travel in the "
          "checkpoint)", "[checkpoint][virtual][ssp]") {
  Setup s;
  s.variant = "ssp:S=1";
  s.K = 1;
  s.delay = "hetero:exp:mean=1ms,scales=1,1,2,4";
  s.stop.updates = 200;
  s.eval.every_updates = 20;
  check_resume_identical(s, 70);
}

TEST_CASE("virtual resume is bit-identical with AdaSync (F(w_0), the next check and the K "
          "changes travel in the checkpoint)", "[checkpoint][virtual][adasync]") {
  for (const char* variant : {"k-async", "k-sync", "k-batch-async", "k-batch-sync"}) {
    INFO(variant);
    Setup s;
    s.variant = variant;
    s.P = 6;
    s.K = 1;
    s.k_schedule = "adasync:every=4ms,samples=300";
    s.stop.updates = 240;
    s.eval.every_updates = 11;
    {
      auto b = s.build();  // the schedule acts inside the run, between the checkpoints
      const RunResult r = run_virtual(b.in);
      REQUIRE(r.k_changes.size() >= 2);
      CHECK(r.k_changes[1].update > 0);
      CHECK(r.k_changes[1].update < 240);
    }
    check_resume_identical(s, 60);
  }
}

TEST_CASE("a checkpoint with AdaSync cannot resume a fixed-K run, nor the reverse",
          "[checkpoint][adasync]") {
  Setup s;
  s.K = 1;
  s.k_schedule = "adasync:every=4ms";
  s.stop.updates = 80;
  std::vector<std::string> saved;
  {
    auto b = s.build();
    b.in.checkpoint.every_updates = 40;
    b.in.checkpoint.save = [&](const RunCheckpoint& c) {
      saved.push_back(encode_checkpoint(CheckpointFile{"cfg", c}));
    };
    run_virtual(b.in);
  }
  REQUIRE(!saved.empty());
  const CheckpointFile file = decode_checkpoint(saved.front(), "test");
  CHECK(file.run.has_k_schedule);
  s.k_schedule = "fixed";
  auto b = s.build();
  b.in.checkpoint.resume = &file.run;
  CHECK_THROWS_WITH(run_virtual(b.in), Catch::Contains("taken with an AdaSync K schedule"));
  s.k_schedule = "adasync:every=4ms";
  // A schedule whose K went down is no state of this run.
  CheckpointFile bad = file;
  bad.run.k_schedule.changes.push_back(KChange{0.01, 3, 1.0, 1});
  auto b2 = s.build();
  b2.in.checkpoint.resume = &bad.run;
  CHECK_THROWS_AS(run_virtual(b2.in), InputError);
}
