// The delay cap (core/delay_cap.h): spec durations, trace values and hetero scales above it
// are input errors; every draw of every model built by make_delay_model -- built-in,
// nested, trace, plug-in -- is clamped to [0, kMaxDelaySeconds]; +infinity stays "never
// finishes" for the models that mean it (hang, trace end=stop).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>

#include "core/delay_cap.h"
#include "core/error.h"
#include "tests/delay/delay_spec_error.h"
#include "delay/delay_model.h"

namespace fs = std::filesystem;
using racesgd::DelayContext;
using racesgd::DelayFacts;
using racesgd::InputError;
using racesgd::kMaxDelaySeconds;
using racesgd::make_delay_model;
using racesgd::Rng;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

DelayContext learners(std::size_t n) {
  DelayContext ctx;
  ctx.num_learners = n;
  return ctx;
}

using racesgd::testing::error_of;

// Largest and smallest of n draws of every learner.
struct Range {
  double lo = kInf, hi = -kInf;
};
Range draws(racesgd::DelayModel& m, std::size_t num_learners, int n) {
  Rng rng(7);
  Range r;
  for (std::size_t w = 0; w < num_learners; ++w)
    for (int i = 0; i < n; ++i) {
      const double x = m.sample(w, rng);
      r.lo = std::min(r.lo, x);
      r.hi = std::max(r.hi, x);
    }
  return r;
}

// A plug-in that returns what it is told: raw:kind=big|neg|nan|inf[,finite=1]. finite=1
// says in its facts that its law has finite draws (p_never = 0).
class RawDelay final : public racesgd::DelayModel {
 public:
  RawDelay(std::string kind, bool finite) : kind_(std::move(kind)), finite_(finite) {}
  double sample(std::size_t, Rng&) override {
    if (kind_ == "big") return 1e300;
    if (kind_ == "neg") return -1e-3;
    if (kind_ == "nan") return std::numeric_limits<double>::quiet_NaN();
    return kInf;
  }
  std::string spec() const override {
    return "raw:kind=" + kind_ + (finite_ ? ",finite=1" : "");
  }
  DelayFacts facts() const override {
    DelayFacts f;
    if (finite_) f.p_never = 0;
    return f;
  }

 private:
  std::string kind_;
  bool finite_;
};

const racesgd::DelayModelRegistrar kRaw{
    "raw", "raw:kind=big|neg|nan|inf,finite=0|1  (test plug-in)",
    [](racesgd::SpecArgs& a, const DelayContext&) {
      return std::make_unique<RawDelay>(a.required_text("kind"), a.integer("finite", 0, 0, 1) == 1);
    }};

}  // namespace

TEST_CASE("spec durations above the cap are input errors naming the value", "[delay][cap]") {
  const auto ctx = learners(2);
  for (const char* spec :
       {"const:value=2e6s", "exp:mean=1e7s", "uniform:min=0s,max=1e300s",
        "shifted-exp:shift=1e9s,mean=1ms", "pareto:scale=1e12s,alpha=2",
        "lognormal:median=1e10ms,sigma=1", "hyperexp:p=0.5,mean1=1ms,mean2=1e9s",
        "straggler:base=exp:mean=1ms,slow=const:value=1e9s,p=0.1",
        "hetero:const:value=1e9s,scales=1,1"}) {
    INFO(spec);
    const std::string e = error_of(spec, ctx);
    CHECK(e.find("out of range") != std::string::npos);
    CHECK(e.find("1e+06s") != std::string::npos);
  }
  // The cap itself is allowed.
  CHECK_NOTHROW(make_delay_model("const:value=1e6s", ctx));
  CHECK_NOTHROW(make_delay_model("const:value=1000000s", ctx));
}

TEST_CASE("hetero scales that lift a mean above the cap are input errors", "[delay][cap]") {
  // The finding's commands: a 1e13 straggler (served at once on the real clock) and 1e299
  // scales (an infinite virtual clock).
  const std::string e = error_of("hetero:const:value=1ms,scales=1,1e13", learners(2));
  CHECK(e.find("scale 1e+13 of learner 1") != std::string::npos);
  CHECK(e.find("above the delay cap") != std::string::npos);
  CHECK(error_of("hetero:const:value=1s,scales=1e299,1e299,1e299,1e299", learners(4))
            .find("scale 1e+299 of learner 0") != std::string::npos);
  CHECK(error_of("hetero:(shifted-exp:shift=1ms,mean=1ms),scales=1,1e12", learners(2))
            .find("mean minibatch time 2e+09s") != std::string::npos);
  // Up to the cap is fine; a law with no mean (hang) takes any scale and stays infinite.
  auto at_cap = make_delay_model("hetero:const:value=1ms,scales=1,1e9", learners(2));
  CHECK(draws(*at_cap, 2, 3).hi == Approx(kMaxDelaySeconds));
  auto hang = make_delay_model("hetero:hang,scales=1,1e300", learners(2));
  CHECK(draws(*hang, 2, 3).lo == kInf);
}

TEST_CASE("every built-in law's draws are clamped to the cap", "[delay][cap]") {
  struct Case {
    const char* spec;
    bool reaches_cap;  // some draws are above the cap before clamping
  };
  for (const Case& c :
       {Case{"pareto:scale=1e6s,alpha=1.5", true}, Case{"shifted-exp:shift=1e6s,mean=1s", true},
        Case{"exp:mean=1e6s", true}, Case{"hyperexp:p=0.5,mean1=1ms,mean2=1e6s", true},
        // exp(1000 Z) overflows to +infinity half the time: a finite law, so the cap.
        Case{"lognormal:median=1ms,sigma=1000", true},
        Case{"hetero:exp:mean=1s,scales=1,1e6", true},
        Case{"straggler:base=exp:mean=1ms,slow=(shifted-exp:shift=1e6s,mean=1s),p=0.5", true},
        Case{"uniform:min=1s,max=1e6s", false}, Case{"exp:mean=1ms", false}}) {
    INFO(c.spec);
    auto m = make_delay_model(c.spec, learners(2));
    const Range r = draws(*m, 2, 2000);
    CHECK(r.lo >= 0);
    CHECK(r.hi <= kMaxDelaySeconds);
    CHECK((r.hi == kMaxDelaySeconds) == c.reaches_cap);
  }
}

TEST_CASE("trace values above the cap are input errors naming file, line and value",
          "[delay][cap][trace]") {
  const fs::path dir =
      fs::temp_directory_path() / ("racesgd_cap_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "big.csv") << "# delays\n0.5\n1e308\n";
  std::ofstream(dir / "big_ms.csv") << "w0,w1\n1,2\n3,2e9\n";
  std::ofstream(dir / "ok.csv") << "1e6\n0.25\n";
  DelayContext ctx = learners(2);
  ctx.base_dir = dir;
  const std::string e = error_of("trace:file=big.csv", ctx);
  CHECK(e.find("line 3") != std::string::npos);
  CHECK(e.find("1e308") != std::string::npos);
  CHECK(e.find("delay cap of 1e+06s") != std::string::npos);
  // The unit counts: 2e9 ms = 2e6 s.
  CHECK(error_of("trace:file=big_ms.csv,unit=ms", ctx).find("line 3") != std::string::npos);
  CHECK_NOTHROW(make_delay_model("trace:file=big_ms.csv,unit=us", ctx));
  auto ok = make_delay_model("trace:file=ok.csv", ctx);
  CHECK(ok->may_draw_ahead());  // a cursor per learner, whenever it is drawn
  CHECK(draws(*ok, 2, 4).hi == kMaxDelaySeconds);
  // end=stop: once a learner's values run out it draws +infinity on purpose, and keeps it.
  auto stop = make_delay_model("trace:file=ok.csv,end=stop", ctx);
  Rng rng(1);
  CHECK(stop->sample(0, rng) == kMaxDelaySeconds);
  CHECK(stop->sample(0, rng) == 0.25);
  CHECK(stop->sample(0, rng) == kInf);
  CHECK(stop->facts().runs_out);
  CHECK_FALSE(ok->facts().runs_out);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST_CASE("hang and slow=hang keep +infinity: they never finish on purpose", "[delay][cap]") {
  auto hang = make_delay_model("hang", learners(1));
  CHECK(draws(*hang, 1, 3).lo == kInf);
  CHECK(*hang->facts().p_never == 1.0);
  auto mixed = make_delay_model("straggler:base=exp:mean=1ms,slow=hang,p=0.5", learners(1));
  CHECK(draws(*mixed, 1, 200).hi == kInf);
  CHECK(*mixed->facts().p_never == Approx(0.5));
  CHECK(*make_delay_model("exp:mean=1ms", learners(1))->facts().p_never == 0.0);
}

TEST_CASE("plug-in draws go through the same clamp", "[delay][cap][plugin]") {
  const auto ctx = learners(2);
  Rng rng(3);
  CHECK(make_delay_model("raw:kind=big", ctx)->sample(0, rng) == kMaxDelaySeconds);
  CHECK(make_delay_model("raw:kind=neg", ctx)->sample(1, rng) == 0.0);
  // A plug-in that does not say its law is finite may mean +infinity ("never finishes");
  // one that says so overflowed, and gets the cap.
  CHECK(make_delay_model("raw:kind=inf", ctx)->sample(0, rng) == kInf);
  CHECK(make_delay_model("raw:kind=inf,finite=1", ctx)->sample(0, rng) == kMaxDelaySeconds);
  // NaN is no time at all: the learner fails, naming the model (a runtime catches it).
  CHECK_THROWS_WITH(make_delay_model("raw:kind=nan", ctx)->sample(1, rng),
                    Catch::Contains("raw:kind=nan") && Catch::Contains("NaN") &&
                        Catch::Contains("learner 1"));
  // Nested inside built-ins, too.
  auto nested = make_delay_model("hetero:raw:kind=big,scales=1,1e300", ctx);
  CHECK(draws(*nested, 2, 2).hi == kMaxDelaySeconds);
  CHECK(nested->spec() == "hetero:raw:kind=big,scales=1,1e+300");
}
