#include "runtime/timing_engine.h"

#include "core/error.h"
#include "runtime/virtual_runtime.h"
#include "sgd/lr_schedule.h"
#include "sgd/variant.h"

namespace racesgd {

TimingEngine virtual_timing_engine() {
  return [](DelayModel& delay, const Variant& variant, std::uint64_t seed,
            std::uint64_t updates, std::uint64_t every) {
    const auto lr = make_lr_schedule("constant", 1.0, "none");
    RunInputs in;
    in.delay = &delay;
    in.lr = lr.get();
    in.settings.variant = variant;
    in.settings.timing_only = true;
    in.settings.seed = seed;
    in.settings.stop.updates = updates;
    in.settings.eval.every_updates = every;
    const RunResult res = run_virtual(in);
    if (res.stop_reason != StopReason::updates && res.stop_reason != StopReason::stalled)
      throw RunError("theory: the virtual-clock run of " + variant.describe() + " stopped (" +
                     std::string(to_string(res.stop_reason)) + "): " + res.error);
    TimingRun t;
    t.updates = res.updates;
    t.last_update_time_s = res.last_update_time_s;
    if (res.stop_reason == StopReason::stalled)
      t.stalled = "the virtual-clock run stalled after " + std::to_string(res.updates) +
                  " updates: " + res.error;
    if (every > 0) {
      t.ticks.reserve(res.curve.size());
      for (const CurvePoint& p : res.curve) t.ticks.emplace_back(p.time_s, p.updates);
    }
    return t;
  };
}

}  // namespace racesgd
