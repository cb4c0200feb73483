// The subcommands, each a function from validated parameters to an exit code.
#pragma once

#include <atomic>

#include "bench/params.h"

namespace racesgd {

/// `racesgd train`: one run; writes DIR/curve.csv and DIR/summary.json. Returns 0, or 1
/// when the run could not finish normally (diverged, stalled, interrupted).
int train_command(const ParamValues& given, const std::atomic<bool>* interrupt);

/// `racesgd race`: several variants on the same data, model, delays and seeds, repeated;
/// writes runs.csv, summary.csv, summary.json and error_vs_time.png/.svg.
int race_command(ParamValues values, const std::atomic<bool>* interrupt);

/// `racesgd theory`: predicted time per update, staleness and speed-up per variant.
int theory_command(const ParamValues& values);

/// `racesgd fit`: maximum-likelihood fits of the delay families to measured times, ranked
/// by AIC; prints the best spec, writes DIR/fit.json and DIR/qq.png. Returns 0.
int fit_command(const ParamValues& values);

/// `racesgd advise`: theory for every variant and K, a virtual-clock race of the most
/// promising, a ranking by time to target and its reason; writes advice.json, advice.md
/// and the race's files in DIR/race (--sweep: sweep.csv and phase.png). Returns 0, or 1
/// when no variant reached the target or the race was interrupted.
int advise_command(const ParamValues& values, const std::atomic<bool>* interrupt);

}  // namespace racesgd
