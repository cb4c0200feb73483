#include "delay/delay_trace.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/spec.h"
#include "tests/delay/delay_spec_error.h"
#include "delay/delay_model.h"

namespace fs = std::filesystem;
using racesgd::DelayContext;
using racesgd::DelayFacts;
using racesgd::InputError;
using racesgd::make_delay_model;
using racesgd::Rng;

namespace {

// A fresh directory per test case, removed at the end.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("racesgd_trace_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
  }
  DelayContext ctx(std::size_t learners) const {
    DelayContext c;
    c.num_learners = learners;
    c.base_dir = path_;
    return c;
  }

 private:
  fs::path path_;
};

using racesgd::testing::error_of;

}  // namespace

TEST_CASE("trace: one column is replayed by every learner, in order, cycling", "[delay][trace]") {
  TempDir dir;
  dir.write("d.csv", "delay\n0.001\n0.002\n0.003\n");
  auto m = make_delay_model("trace:file=d.csv", dir.ctx(2));
  Rng rng(0);
  for (double want : {1e-3, 2e-3, 3e-3, 1e-3, 2e-3}) CHECK(m->sample(0, rng) == Approx(want));
  // Learner 1 has its own cursor: it starts at the top regardless of learner 0.
  for (double want : {1e-3, 2e-3}) CHECK(m->sample(1, rng) == Approx(want));
  CHECK(m->sample(0, rng) == Approx(3e-3));
  CHECK(m->spec() == "trace:file=d.csv,end=cycle,unit=s");
}

TEST_CASE("trace: columns per learner, units, end=stop gives +infinity", "[delay][trace]") {
  TempDir dir;
  dir.write("w.csv",
            "# measured on node A\n"
            "w0, w1\n"
            "1, 10\n"
            "2, 20\n"
            ", 30\n"
            "\n");
  auto m = make_delay_model("trace:file=w.csv,end=stop,unit=ms", dir.ctx(2));
  Rng rng(0);
  CHECK(m->sample(0, rng) == Approx(1e-3));
  CHECK(m->sample(1, rng) == Approx(10e-3));
  CHECK(m->sample(0, rng) == Approx(2e-3));
  CHECK(std::isinf(m->sample(0, rng)));  // learner 0's column ended after two rows
  CHECK(std::isinf(m->sample(0, rng)));
  CHECK(m->sample(1, rng) == Approx(20e-3));
  CHECK(m->sample(1, rng) == Approx(30e-3));
  CHECK(std::isinf(m->sample(1, rng)));

  const DelayFacts f = m->facts();
  CHECK(f.family == DelayFacts::Family::kEmpirical);
  CHECK_FALSE(f.homogeneous);
  CHECK(*f.mean_value == Approx(63e-3 / 5));
  CHECK(f.cdf(2e-3) == Approx(0.4));
  const DelayFacts w1 = m->learner_facts(1);
  CHECK(*w1.mean_value == Approx(20e-3));
  CHECK(w1.cdf(9e-3) == 0.0);
  CHECK(w1.cdf(20e-3) == Approx(2.0 / 3));
  CHECK(*w1.variance == Approx(200e-6 / 3));
}

TEST_CASE("trace reader: header names are kept, units scale, no header gives no names",
          "[delay][trace]") {
  TempDir dir;
  dir.write("h.csv", "w0, w1\n1, 10\n2, 20\n");
  dir.write("plain.csv", "1\n2\n");
  const racesgd::SpecArgs args(racesgd::parse_spec("trace:file=h.csv", "delay spec"), "delay spec");
  const racesgd::DelayTrace h = racesgd::read_delay_trace(dir.path() / "h.csv", 1e-3, args);
  CHECK(h.names == std::vector<std::string>{"w0", "w1"});
  CHECK(h.columns[1][1] == Approx(20e-3));
  CHECK(racesgd::read_delay_trace(dir.path() / "plain.csv", 1, args).names.empty());
  CHECK(racesgd::trace_unit_seconds("us") == Approx(1e-6));
  CHECK(racesgd::trace_unit_seconds("ms") == Approx(1e-3));
  CHECK_FALSE(racesgd::trace_unit_seconds("min").has_value());
}

TEST_CASE("trace: absolute paths and the base directory", "[delay][trace]") {
  TempDir dir;
  dir.write("a.csv", "0.5\n");
  DelayContext elsewhere;
  elsewhere.base_dir = "/nonexistent";
  auto m = make_delay_model("trace:file=" + (dir.path() / "a.csv").string(), elsewhere);
  Rng rng(0);
  CHECK(m->sample(0, rng) == 0.5);
  CHECK(m->facts().homogeneous);
}

TEST_CASE("trace: bad files are InputErrors naming the spec, path and line",
          "[delay][trace][errors]") {
  TempDir dir;
  const auto ctx = dir.ctx(2);
  {
    const std::string msg = error_of("trace:file=missing.csv", ctx);
    CHECK(msg.find("trace:file=missing.csv") != std::string::npos);
    CHECK(msg.find((dir.path() / "missing.csv").string()) != std::string::npos);
  }
  dir.write("empty.csv", "");
  CHECK_THAT(error_of("trace:file=empty.csv", ctx), Catch::Contains("holds no delays"));
  dir.write("header.csv", "delay\n\n");
  CHECK_THAT(error_of("trace:file=header.csv", ctx), Catch::Contains("holds no delays"));
  dir.write("text.csv", "delay\n0.1\nfast\n");
  CHECK_THAT(error_of("trace:file=text.csv", ctx), Catch::Contains("text.csv' line 3") &&
                                                       Catch::Contains("'fast'") &&
                                                       Catch::Contains("trace:file=text.csv"));
  dir.write("neg.csv", "0.1\n-0.2\n");
  CHECK_THAT(error_of("trace:file=neg.csv", ctx),
             Catch::Contains("line 2") && Catch::Contains("negative"));
  dir.write("ragged.csv", "1,2\n3\n");
  CHECK_THAT(error_of("trace:file=ragged.csv", ctx),
             Catch::Contains("line 2") && Catch::Contains("expected 2"));
  dir.write("hole.csv", "1,2\n,3\n4,5\n");
  CHECK_THAT(error_of("trace:file=hole.csv", ctx),
             Catch::Contains("line 3") && Catch::Contains("after an empty cell"));
  dir.write("three.csv", "1,2,3\n");
  CHECK_THAT(error_of("trace:file=three.csv", ctx),
             Catch::Contains("3 columns but there are 2 learners"));
  dir.write("ok.csv", "1\n");
  CHECK_THAT(error_of("trace:file=ok.csv,end=wrap", ctx), Catch::Contains("cycle or stop"));
  CHECK_THAT(error_of("trace:file=ok.csv,unit=min", ctx), Catch::Contains("s, ms, us or ns"));
  CHECK_THAT(error_of("trace:end=stop", ctx), Catch::Contains("missing parameter 'file'"));
  CHECK_THAT(error_of("trace:file=.", ctx), Catch::Contains("is a directory"));
}
