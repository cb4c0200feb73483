#include "bench/error_report.h"

#include <catch2/catch.hpp>
#include <iostream>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>

#include "core/durable_file.h"
#include "core/error.h"

using racesgd::report_current_error;

namespace {
struct Reported {
  int code;
  std::string text;
};

// Throws `e`, reports it as command "train", and returns the code and what stderr got.
template <typename E>
Reported report(const E& e) {
  std::ostringstream err;
  std::streambuf* old = std::cerr.rdbuf(err.rdbuf());
  int code = -1;
  try {
    throw e;
  } catch (...) {
    code = report_current_error("train");
  }
  std::cerr.rdbuf(old);
  return {code, err.str()};
}
}  // namespace

TEST_CASE("error report: bad input is exit 2 with its message", "[error_report]") {
  const Reported r = report(racesgd::InputError("--lr: must be positive"));
  CHECK(r.code == racesgd::kExitInputError);
  CHECK(r.text == "racesgd train: error: --lr: must be positive\n");
}

TEST_CASE("error report: a failed run and a failed write are exit 1, each said as such", "[error_report]") {
  const Reported run = report(racesgd::RunError("learner 3 threw"));
  CHECK(run.code == 1);
  CHECK(run.text == "racesgd train: run failed: learner 3 threw\n");
  const Reported write = report(racesgd::WriteError("disk full"));
  CHECK(write.code == 1);
  CHECK(write.text == "racesgd train: cannot write the outputs: disk full\n");
}

TEST_CASE("error report: out of memory and any other std::exception are exit 1, never an abort",
          "[error_report]") {
  const Reported oom = report(std::bad_alloc());
  CHECK(oom.code == 1);
  CHECK(oom.text.rfind("racesgd train: out of memory", 0) == 0);
  const Reported other = report(std::runtime_error("json: bad key"));
  CHECK(other.code == 1);
  CHECK(other.text == "racesgd train: failed: json: bad key\n");
}

TEST_CASE("error report: what is not a std::exception goes on to the caller", "[error_report]") {
  bool rethrown = false;
  try {
    try {
      throw 42;
    } catch (...) {
      report_current_error("train");
    }
  } catch (int v) {
    rethrown = v == 42;
  }
  CHECK(rethrown);
}
