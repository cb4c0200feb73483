// A small learning problem wired into RunInputs for runtime tests: softmax regression on
// the blobs data, a constant learning rate, a delay model built from a spec, and the update
// log on. One fixture for the runtime, accounting and other run-level tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "models/model_registry.h"
#include "sgd/lr_schedule.h"
#include "runtime/real_runtime.h"
#include "runtime/run_inputs.h"
#include "runtime/virtual_runtime.h"
#include "tests/runtime/blobs.h"
#include "delay/delay_model.h"

namespace racesgd::testing {

struct RunFixture {
  Dataset train = blobs(600, 1);
  Dataset test = blobs(300, 2);
  std::unique_ptr<Model> model;
  std::vector<float> w0;
  std::unique_ptr<LrSchedule> lr;
  std::unique_ptr<DelayModel> delay;
  double time_limit_s = std::numeric_limits<double>::infinity();  // run clock, per run

  explicit RunFixture(double l2 = 0.0, double rate = 0.1)
      : model(make_model<float>("softmax", 8, 3, l2)),
        w0(static_cast<std::size_t>(model->num_params()), 0.0f),
        lr(make_lr_schedule("constant", rate, "none")) {}

  /// Inputs with a delay model built from `delay_spec` (owned by the fixture).
  RunInputs inputs(const std::string& variant, std::size_t P, std::size_t K,
                   const std::string& delay_spec, bool timing_only,
                   std::uint64_t max_staleness = 0) {
    DelayContext ctx;
    ctx.num_learners = P;
    delay = make_delay_model(delay_spec, ctx);
    RunInputs in = inputs_with(variant, P, K, delay.get(), timing_only);
    in.settings.variant = make_variant(variant, P, K, max_staleness);
    return in;
  }
  /// Inputs with the caller's delay model.
  RunInputs inputs_with(const std::string& variant, std::size_t P, std::size_t K, DelayModel* d,
                        bool timing_only) {
    RunInputs in;
    in.model = model.get();
    in.train = &train;
    in.test = &test;
    in.delay = d;
    in.lr = lr.get();
    in.w0 = w0;
    in.settings.variant = make_variant(variant, P, K);
    in.settings.batch = 16;
    in.settings.timing_only = timing_only;
    in.settings.record_updates = true;
    in.settings.stop.time_s = time_limit_s;
    return in;
  }
};

inline RunResult run_on(const RunInputs& in, bool real) {
  return real ? run_real(in) : run_virtual(in);
}

}  // namespace racesgd::testing
