// The reasoning of `racesgd advise` (bench/advise.h) on hand-made predictions and race
// summaries: which candidates are raced, how the race is ranked, what the reason says.
#include "bench/advise.h"

#include <cmath>
#include <limits>

#include <catch2/catch.hpp>

#include "core/error.h"
#include "runtime/timing_engine.h"

using namespace racesgd;

namespace {

Candidate candidate(std::string variant, std::size_t K, double t, double staleness) {
  Candidate c;
  c.variant = variant;
  c.entry = variant == "sync" || variant == "async" ? variant : variant + ":K=" + std::to_string(K);
  c.K = K;
  c.time_per_update_s = t;
  c.staleness = staleness;
  return c;
}

RaceOutcome outcome(std::string entry, std::string variant, std::size_t K, std::size_t reached,
                    double mean, double ci, double final_error = 0.1, double staleness = 0) {
  RaceOutcome o;
  o.entry = std::move(entry);
  o.variant = std::move(variant);
  o.K = K;
  o.repeats = 3;
  o.reached = reached;
  o.time_mean_s = reached ? mean : NAN;
  o.time_ci95_s = reached ? ci : NAN;
  o.final_error = final_error;
  o.staleness = staleness;
  return o;
}

std::vector<std::string> entries(const std::vector<Candidate>& cs) {
  std::vector<std::string> out;
  for (const Candidate& c : cs) out.push_back(c.entry);
  return out;
}

}  // namespace

TEST_CASE("pruning score: predicted time per gradient, a stale one worth less", "[advise]") {
  CHECK(pruning_score(candidate("sync", 8, 8e-3, 0), 8) == Approx(1e-3));
  CHECK(pruning_score(candidate("async", 1, 1e-3, 7), 8) == Approx(8e-3));
  // Staleness not modelled (Ringmaster, SSP): counted as async's, P - 1.
  CHECK(pruning_score(candidate("k-async", 2, 2e-3, NAN), 8) == Approx(1e-3 * 8));
  CHECK(std::isinf(pruning_score(candidate("sync", 8, INFINITY, 0), 8)));
}

TEST_CASE("prune keeps the best scores and always sync and async", "[advise]") {
  const std::vector<Candidate> all = {
      candidate("sync", 8, 80e-3, 0),          // score 10e-3: worst but the baseline
      candidate("async", 1, 5e-3, 7),          // 40e-3: the other baseline
      candidate("k-sync", 2, 2e-3, 0),         // 1e-3
      candidate("k-async", 4, 2e-3, 1),        // 1e-3: ties k-sync, listed after it
      candidate("k-batch-sync", 4, 8e-3, 0),   // 2e-3
      candidate("k-batch-async", 2, 10e-3, 1), // 10e-3
  };
  const std::vector<Candidate> kept = prune_candidates(all, 8, 2);
  CHECK(entries(kept) == std::vector<std::string>{"k-sync:K=2", "k-async:K=4", "sync", "async"});
  CHECK(kept[0].why == "theory rank 1 of 6");
  CHECK(kept[2].why == "theory rank 4 of 6 (raced as a baseline)");
  CHECK(entries(prune_candidates(all, 8, 3)).size() == 5);
}

TEST_CASE("beyond-the-paper entries: Ringmaster R = P, SSP S = 2, AdaSync from K0", "[advise]") {
  const std::vector<Candidate> b = beyond_paper_candidates(8, 4, "0.5s");
  CHECK(entries(b) == std::vector<std::string>{"async:R=8", "ssp:S=2", "k-async:K=4,adasync=0.5s"});
  CHECK(entries(beyond_paper_candidates(1, 4, "1s")) ==
        std::vector<std::string>{"async:R=1", "k-async:K=1,adasync=1s"});
}

TEST_CASE("theory covers every variant at K = 1, 2, 4, ..., P once", "[advise]") {
  DelayContext ctx;
  ctx.num_learners = 4;
  auto delay = make_delay_model("const:value=5ms", ctx);
  TheoryOptions o;
  o.engine = virtual_timing_engine();
  o.mc_updates = 2000;
  const std::vector<Candidate> all = theory_candidates(*delay, 4, o);
  // sync, async; K=1: k-sync, k-batch-sync, k-batch-async (k-async K=1 is async);
  // K=2: all four; K=4: all but k-sync (K=P is sync).
  CHECK(entries(all) == std::vector<std::string>{
                            "sync", "async", "k-sync:K=1", "k-batch-sync:K=1",
                            "k-batch-async:K=1", "k-sync:K=2", "k-batch-sync:K=2", "k-async:K=2",
                            "k-batch-async:K=2", "k-batch-sync:K=4", "k-async:K=4",
                            "k-batch-async:K=4"});
  CHECK(all[0].time_per_update_s == Approx(5e-3));
  CHECK(all[1].time_per_update_s == Approx(5e-3 / 4));
  // A constant delay: waiting for all learners costs nothing per gradient.
  CHECK(wait_factor(all[0].time_per_update_s, all[1].time_per_update_s, 4) == Approx(1.0));
}

TEST_CASE("ranking: all repeats reached by time, then fewer reached, then final error", "[advise]") {
  const std::vector<RaceOutcome> ranked = rank_outcomes({
      outcome("none-bad", "async", 1, 0, 0, 0, 0.5),
      outcome("slow", "sync", 8, 3, 2.0, 0.1),
      outcome("partial", "k-async", 2, 2, 0.5, 0.1),
      outcome("none-good", "async", 1, 0, 0, 0, 0.2),
      outcome("fast", "k-sync", 2, 3, 1.0, 0.1),
  });
  std::vector<std::string> order;
  for (const RaceOutcome& o : ranked) order.push_back(o.entry);
  CHECK(order == std::vector<std::string>{"fast", "slow", "partial", "none-good", "none-bad"});
  CHECK(runner_up_margin(ranked) == Approx(2.0));
  CHECK(std::isnan(runner_up_margin({ranked[0]})));
}

TEST_CASE("synchronous: a barrier every update", "[advise]") {
  CHECK(is_synchronous(outcome("sync K=8", "sync", 8, 3, 1, 0), 8));
  CHECK(is_synchronous(outcome("k-sync K=8", "k-sync", 8, 3, 1, 0), 8));
  CHECK(is_synchronous(outcome("k-batch-sync K=8", "k-batch-sync", 8, 3, 1, 0), 8));
  CHECK(is_synchronous(outcome("ssp S=0", "ssp", 1, 3, 1, 0), 8));
  CHECK_FALSE(is_synchronous(outcome("ssp S=2", "ssp", 1, 3, 1, 0), 8));
  CHECK_FALSE(is_synchronous(outcome("k-sync K=2", "k-sync", 2, 3, 1, 0), 8));
  CHECK_FALSE(is_synchronous(outcome("k-async K=8", "k-async", 8, 3, 1, 0), 8));
  CHECK_FALSE(is_synchronous(outcome("async K=1", "async", 1, 3, 1, 0), 8));
}

TEST_CASE("wait factor: E[T_sync] over P E[T_async]", "[advise]") {
  CHECK(wait_factor(27e-3, 1e-3 / 8 * 1, 8) == Approx(27.0));
  CHECK(std::isnan(wait_factor(INFINITY, 1e-3, 8)));
  CHECK(std::isnan(wait_factor(1e-3, 0, 8)));
}

TEST_CASE("the reason names the tail, the winner's edge and whether the race separates", "[advise]") {
  struct Case {
    std::vector<RaceOutcome> ranked;
    double wait;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {{outcome("async K=1", "async", 1, 3, 1.0, 0.1, 0.1, 7.2), outcome("sync K=8", "sync", 8, 3, 3.0, 0.2)},
       27.0,
       "heavy tail: waiting for all 8 learners costs 27.0x per gradient; async K=1 reaches the "
       "target first despite mean staleness 7.2, 3.00x sooner than sync K=8"},
      {{outcome("sync K=8", "sync", 8, 3, 1.0, 0.3), outcome("async K=1", "async", 1, 3, 1.2, 0.3, 0.1, 7)},
       1.02,
       "near-constant delays: waiting for all 8 learners costs only 1.02x per gradient; sync K=8 "
       "applies no stale gradient and reaches the target first, 1.20x sooner than async K=1 "
       "(their 95% intervals overlap: the race cannot separate the two)"},
      {{outcome("k-sync K=2", "k-sync", 2, 3, 1.0, 0.1), outcome("async K=1", "async", 1, 1, 1.5, 0.0, 0.1, 7)},
       1.6,
       "spread delays: waiting for all 8 learners costs 1.60x per gradient; k-sync K=2 waits for "
       "only 2 of the 8 learners per update, applies no stale gradient and reaches the target "
       "first, 1.50x sooner than async K=1"},
      {{outcome("sync K=8", "sync", 8, 3, 1.0, 0.1), outcome("async K=1", "async", 1, 0, 0, 0)},
       1.0,
       "near-constant delays: waiting for all 8 learners costs only 1.00x per gradient; sync K=8 "
       "applies no stale gradient and reaches the target first; async K=1 did not reach it in "
       "every repeat"},
      {{outcome("sync K=8", "sync", 8, 0, 0, 0)},
       1.0,
       "no variant reached the target in the race: give a higher --target-error or a larger "
       "--budget"},
  };
  for (const Case& c : cases) CHECK(advice_reason(c.ranked, c.wait, 8) == c.reason);
}

TEST_CASE("race summary.json is read back, and a missing field is an InputError", "[advise]") {
  const nlohmann::json summary = nlohmann::json::parse(R"({"variants": [
    {"entry": "async K=1 R=8", "variant": "async", "K": 1, "repeats": 3, "reached_target": 2,
     "time_to_target_s": {"mean": 0.5, "ci95": 0.1, "min": 0.4, "max": 0.6},
     "final_test_error": {"mean": 0.09, "sd": 0.01},
     "mean_update_interval_s": {"measured": 0.001}, "staleness_mean": 4.0},
    {"entry": "sync K=8", "variant": "sync", "K": 8, "repeats": 3, "reached_target": 0,
     "time_to_target_s": null, "final_test_error": {"mean": 0.3, "sd": 0.01},
     "mean_update_interval_s": {"measured": 0.01}, "staleness_mean": 0}]})");
  const std::vector<RaceOutcome> o = race_outcomes(summary);
  REQUIRE(o.size() == 2);
  CHECK(o[0].entry == "async K=1 R=8");
  CHECK(o[0].reached == 2);
  CHECK(o[0].time_mean_s == 0.5);
  CHECK(o[0].time_ci95_s == 0.1);
  CHECK(o[0].staleness == 4.0);
  CHECK(o[1].reached == 0);
  CHECK(std::isnan(o[1].time_mean_s));
  CHECK(o[1].final_error == 0.3);
  nlohmann::json broken = summary;
  broken["variants"][0].erase("repeats");
  CHECK_THROWS_AS(race_outcomes(broken), InputError);
}
