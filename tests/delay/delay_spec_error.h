// The InputError message make_delay_model gives for a spec, for tests of bad specs; a spec
// that is accepted fails the test.
#pragma once

#include <catch2/catch.hpp>
#include <cstddef>
#include <string>

#include "core/error.h"
#include "delay/delay_model.h"

namespace racesgd::testing {

inline std::string error_of(const std::string& spec, const DelayContext& ctx) {
  try {
    make_delay_model(spec, ctx);
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("no InputError for spec '" << spec << "'");
  return {};
}

inline std::string error_of(const std::string& spec, std::size_t num_learners = 2) {
  DelayContext ctx;
  ctx.num_learners = num_learners;
  return error_of(spec, ctx);
}

}  // namespace racesgd::testing
