// StopReason: why a run ended, for every runtime and whoever reads a RunResult (the CLI's
// train and race commands, theory's timing engine, the tests). The text of each value is
// what curve.csv's "# stop_reason:" line, summary.json and the race tables print, so
// to_string must never change for an existing value.
#pragma once

#include <string_view>

namespace racesgd {

enum class StopReason {
  running,         // not stopped yet (a RunResult is only returned once stopped)
  time,            // the run clock reached StopRule::time_s
  updates,         // the version reached StopRule::updates
  target_error,    // the test error reached StopRule::target_error
  stalled,         // no learner can make progress (stuck, or every one failed)
  diverged,        // an update was refused (NaN/Inf)
  learner_failed,  // a learner's minibatch threw and the run does not go on without it
  interrupted,     // a signal
  transport_failed,  // the learners' transport broke (an MPI call failed, a peer vanished)
};

/// The output text: "time", "updates", "target-error", "stalled", "diverged",
/// "learner-failed", "interrupted", "transport-failed" ("running" for a run not stopped yet).
constexpr std::string_view to_string(StopReason r) {
  switch (r) {
    case StopReason::running: return "running";
    case StopReason::time: return "time";
    case StopReason::updates: return "updates";
    case StopReason::target_error: return "target-error";
    case StopReason::stalled: return "stalled";
    case StopReason::diverged: return "diverged";
    case StopReason::learner_failed: return "learner-failed";
    case StopReason::interrupted: return "interrupted";
    case StopReason::transport_failed: return "transport-failed";
  }
  return "unknown";
}

/// Stopped by its stop rule (time, updates, target error): the run finished as asked.
constexpr bool finished_by_rule(StopReason r) {
  return r == StopReason::time || r == StopReason::updates || r == StopReason::target_error;
}

}  // namespace racesgd
