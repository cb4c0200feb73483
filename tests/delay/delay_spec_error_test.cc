// Every malformed delay spec is an InputError whose message quotes the spec text.
#include <catch2/catch.hpp>
#include <string>

#include "core/error.h"
#include "tests/delay/delay_spec_error.h"
#include "delay/delay_model.h"

using racesgd::DelayContext;
using racesgd::InputError;
using racesgd::make_delay_model;

namespace {

// Returns the error message, failing the test if no InputError is thrown.
using racesgd::testing::error_of;

void check_error(const std::string& spec, const std::string& problem) {
  INFO("spec: " << spec);
  const std::string msg = error_of(spec);
  INFO("message: " << msg);
  CHECK(msg.find("'" + spec + "'") != std::string::npos);
  CHECK(msg.find(problem) != std::string::npos);
}

}  // namespace

TEST_CASE("delay spec errors: unknown model lists the known ones", "[delay][errors]") {
  check_error("gamma:shape=2", "unknown delay model 'gamma'");
  const std::string msg = error_of("gamma:shape=2");
  for (const char* known : {"exp", "shifted-exp", "pareto", "straggler", "trace", "bursty"})
    CHECK(msg.find(known) != std::string::npos);
}

TEST_CASE("delay spec errors: missing, negative, zero and out-of-range parameters",
          "[delay][errors]") {
  check_error("exp", "missing parameter 'mean'");
  check_error("exp:mean=-5ms", "out of range");
  check_error("exp:mean=0ms", "must be > 0");
  check_error("const:value=-1ms", "out of range");
  check_error("uniform:min=1ms", "missing parameter 'max'");
  check_error("uniform:min=3ms,max=1ms", "max must be >= min");
  check_error("shifted-exp:shift=-1ms,mean=2ms", "out of range");
  check_error("shifted-exp:shift=1ms", "missing parameter 'mean'");
  check_error("lognormal:median=5ms,sigma=0", "sigma");
  check_error("lognormal:median=5ms,sigma=-1", "out of range");
  check_error("hyperexp:p=1.5,mean1=1ms,mean2=2ms", "out of range");
  check_error("hyperexp:p=-0.1,mean1=1ms,mean2=2ms", "out of range");
  check_error("straggler:base=exp:mean=1ms,slow=exp:mean=2ms,p=1.01", "out of range");
  check_error("straggler:base=exp:mean=1ms,p=0.1", "missing parameter 'slow'");
}

TEST_CASE("delay spec errors: pareto alpha <= 1 has an infinite mean", "[delay][errors]") {
  check_error("pareto:scale=1ms,alpha=1", "infinite mean");
  check_error("pareto:scale=1ms,alpha=0.5", "infinite mean");
  check_error("pareto:scale=0ms,alpha=2", "must be > 0");
}

TEST_CASE("delay spec errors: unknown parameter, bad unit, bad number", "[delay][errors]") {
  check_error("exp:mean=5ms,shape=2", "unknown parameter 'shape'");
  check_error("none:x=1", "unknown parameter 'x'");
  check_error("exp:mean=5parsecs", "is not a duration");
  check_error("exp:mean=5", "is not a duration");  // a bare number has no unit
  check_error("pareto:scale=1ms,alpha=many", "is not a finite number");
}

TEST_CASE("delay spec errors: grammar problems", "[delay][errors]") {
  check_error("hetero:(exp:mean=1ms,scales=1,1", "unbalanced");
  check_error("hetero:exp:mean=1ms),scales=1,1", "unbalanced");
  check_error("exp:mean=1ms,,", "empty item");
  check_error("exp:mean=1ms,mean=2ms", "given twice");
  // An unparenthesised nested spec with commas is cut at its first comma; the error says so.
  check_error("straggler:base=shifted-exp:shift=1ms,mean=2ms,slow=exp:mean=1ms,p=0.1",
              "must be wrapped in parentheses");
  check_error("straggler:base=exp:mean=1ms,slow=exp:mean=2ms,p=0.1,mean=3ms",
              "unknown parameter 'mean'");
}

TEST_CASE("delay spec errors: nested specs name the outer and the inner spec", "[delay][errors]") {
  const std::string spec = "straggler:base=exp:mean=-1ms,slow=exp:mean=2ms,p=0.1";
  const std::string msg = error_of(spec);
  CHECK(msg.find("'" + spec + "'") != std::string::npos);
  CHECK(msg.find("'exp:mean=-1ms'") != std::string::npos);
  check_error("hetero:(nosuch:x=1),scales=1,1", "unknown delay model 'nosuch'");
}

TEST_CASE("delay spec errors: hetero needs one positive scale per learner", "[delay][errors]") {
  check_error("hetero:exp:mean=1ms,scales=1,2,3", "3 entries but there are 2 learners");
  check_error("hetero:exp:mean=1ms,scales=1,0", "must be > 0");
  check_error("hetero:exp:mean=1ms", "missing parameter 'scales'");
  check_error("hetero:scales=1,1", "inner spec");
  check_error("hetero:exp:mean=1ms,(exp:mean=2ms),scales=1,1", "unexpected argument");
}
