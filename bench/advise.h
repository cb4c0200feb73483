// The reasoning of `racesgd advise` (docs/advise.md), kept apart from running anything:
// which variants theory says are worth racing (prune_candidates), how the race's results
// are ranked (rank_outcomes) and why the winner won, in words (advice_reason). Each is a
// function of predictions and race summaries, so the tests check them without a run.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "delay/delay_model.h"
#include "sgd/theory.h"

namespace racesgd {

/// One variant at one K as theory sees it, and as a race entry (bench/race_command.cc).
struct Candidate {
  std::string entry;              // race entry: "sync", "k-async:K=2", "async:R=16", "ssp:S=2"
  std::string variant;            // "k-async"
  std::size_t K = 1;              // gradients per update
  double time_per_update_s = 0;   // predicted E[T]; +infinity when updates stop
  double staleness = 0;           // predicted mean staleness; NaN when not modelled
  std::string method;             // how E[T] was predicted (Estimate::method)
  std::string why;                // why it is raced: "baseline", "theory rank 2", ...
};

/// Theory for every variant of the paper and every K in {1, 2, 4, ..., P}: sync and async
/// once, the K-variants at each K except the one where they are sync (k-sync at K = P) or
/// async (k-async at K = 1) again. `base` gives the Monte Carlo budget, seed and engine.
std::vector<Candidate> theory_candidates(DelayModel& delay, std::size_t P,
                                         const TheoryOptions& base);

/// The pruning score: predicted run time per gradient, E[T] / K, times (1 + staleness) --
/// a stale gradient is worth less -- with an unmodelled staleness counted as async's, P - 1.
/// Lower is more promising; +infinity for a variant that never updates.
double pruning_score(const Candidate& c, std::size_t P);

/// The `keep` most promising candidates by pruning_score (ties: the earlier one), with sync
/// and async always among them as the baselines the reason compares. Each one's `why` says
/// why it is raced.
std::vector<Candidate> prune_candidates(std::vector<Candidate> all, std::size_t P, std::size_t keep);

/// The beyond-the-paper entries raced next to the paper's: Ringmaster (async:R=P: cancel
/// gradients P updates old: the tail beyond async's mean staleness P - 1), SSP with bound 2, and AdaSync growing K
/// from `k0` every `every` of run time. Their E[T] is not predicted here (NaN; the race
/// measures it).
std::vector<Candidate> beyond_paper_candidates(std::size_t P, std::size_t k0, const std::string& every);

/// One race entry's result, read from the race's summary.json.
struct RaceOutcome {
  std::string entry;           // the race's label: "k-async K=2"
  std::string variant;
  std::size_t K = 1;
  std::size_t repeats = 0;
  std::size_t reached = 0;     // repeats that reached the target
  double time_mean_s = 0;      // time to target over those that reached it (NaN: none did)
  double time_ci95_s = 0;
  double final_error = 0;      // mean final test error (NaN: not scored)
  double update_interval_s = 0;  // measured mean time per update
  double staleness = 0;          // measured mean staleness
};

/// The race's summary.json "variants" as outcomes. Throws InputError when it lacks a field.
std::vector<RaceOutcome> race_outcomes(const nlohmann::json& summary);

/// Best first: every repeat reached the target, by mean time; then fewer repeats reached
/// (more first, then by time); then none, by final error.
std::vector<RaceOutcome> rank_outcomes(std::vector<RaceOutcome> outcomes);

/// Synchronous: a barrier every update -- P fresh gradients of the same weights, none stale
/// (sync; k-sync and k-batch-sync at K = P; ssp with S = 0).
bool is_synchronous(const RaceOutcome& o, std::size_t P);

/// E[T_sync] / (P E[T_async]) = E[max of P delays] / E[delay]: how much waiting for all P
/// learners costs per gradient. 1 for a constant delay; grows with the tail.
double wait_factor(double sync_time_per_update_s, double async_time_per_update_s, std::size_t P);

/// The runner-up's mean time to target over the winner's (NaN when either has none).
double runner_up_margin(const std::vector<RaceOutcome>& ranked);

/// The recommendation's reason in words, from the delay's wait factor and the ranked race:
/// "heavy tail: waiting for all 8 learners costs 3.6x per gradient; async K=1 reaches the
/// target 2.1x sooner than sync despite staleness 7.0", and when the race cannot separate
/// the first two, says so.
std::string advice_reason(const std::vector<RaceOutcome>& ranked, double wait, std::size_t P);

}  // namespace racesgd
