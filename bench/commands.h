// The subcommands, each a function from validated parameters to an exit code.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/experiment.h"
#include "bench/params.h"

namespace racesgd {

/// `racesgd train`: one run; writes DIR/curve.csv and DIR/summary.json. Returns 0, or 1
/// when the run could not finish normally (diverged, stalled, interrupted).
int train_command(const ParamValues& given, const std::atomic<bool>* interrupt);

/// `racesgd race`: several variants on the same data, model, delays and seeds, repeated;
/// writes runs.csv, summary.csv, summary.json and error_vs_time.png/.svg.
int race_command(ParamValues values, const std::atomic<bool>* interrupt);

/// One run of a race: its entry ("k-async K=2"), repeat and seed, and the run itself.
struct RaceRun {
  std::string entry;
  std::string variant;
  std::size_t K = 0;
  std::size_t repeat = 0;
  std::uint64_t seed = 0;
  RunOutput out;
};

/// What a race produced: every run, and summary.json's content.
struct RaceOutput {
  std::vector<RaceRun> runs;
  nlohmann::json summary;
  bool interrupted = false;
  std::size_t finished_runs = 0;
  // Settings the plot needs, as resolved (--config's file included).
  std::filesystem::path out_dir;
  std::string clock;
  std::uint64_t first_seed = 0;
  bool plot = false;
  std::string plot_title;
};

struct RaceOptions {
  /// The command line: prints the table, and once the runs are done lets SIGINT/SIGTERM
  /// end the process. An embedding caller (the Python module) sets false.
  bool cli = true;
  /// Also called with every run's progress (e.g. a binding's Ctrl-C check). Optional.
  ProgressFn progress;
  /// The data every run trains on, brought by the caller (the Python module's numpy
  /// arrays) instead of loaded from --data. Borrowed for the call. Optional.
  const PreparedData* data = nullptr;
};

/// The race's work without the plot and the exit code: validates, runs every entry and
/// writes runs.csv, summary.csv, summary.json and runs/ under --out. Throws InputError on
/// bad parameters before any run, WriteError when an output could not be written.
RaceOutput race(ParamValues values, const std::atomic<bool>* interrupt, const RaceOptions& options);

/// `racesgd theory --json`'s content (the values decide everything else the command
/// does; --json itself is not needed).
nlohmann::json theory_json(const ParamValues& values);

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
