// The theory's timing engine on the virtual clock: timing-only runs (delays, variants and
// the PS's bookkeeping, no gradients) for sgd/theory's Monte Carlo estimates and
// measurements. sgd/ has no clock, so the engine is handed to it from here.
#pragma once

#include "sgd/theory.h"

namespace racesgd {

/// A TimingEngine that runs run_virtual with settings.timing_only and a constant learning
/// rate; a run that stops other than by its update count or a stall (a learner failed:
/// a faulty delay model) is a RunError.
TimingEngine virtual_timing_engine();

}  // namespace racesgd
