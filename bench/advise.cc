#include "bench/advise.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "bench/format.h"
#include "core/error.h"

namespace racesgd {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Below this wait factor the delays are near-constant (waiting for all P costs < 25% per
// gradient); above kHeavyTail they are heavy-tailed (waiting costs more than twice).
constexpr double kNearConstant = 1.25;
constexpr double kHeavyTail = 2.0;
// A measured mean staleness below this is fresh (k-sync's 0, up to rounding).
constexpr double kFresh = 0.05;

std::string entry_of(const std::string& variant, std::size_t K) {
  if (variant == "sync" || variant == "async") return variant;
  return variant + ":K=" + std::to_string(K);
}

Candidate from_row(const TheoryRow& r) {
  Candidate c;
  c.variant = r.variant;
  c.K = r.K;
  c.entry = entry_of(r.variant, r.K);
  c.time_per_update_s = r.time_per_update.value;
  c.staleness = r.staleness ? *r.staleness : kNaN;
  c.method = r.time_per_update.method;
  return c;
}

// Fewer reached repeats rank lower; among equals, the lower mean time (or final error).
bool better(const RaceOutcome& a, const RaceOutcome& b) {
  const bool a_all = a.reached == a.repeats && a.reached > 0;
  const bool b_all = b.reached == b.repeats && b.reached > 0;
  if (a_all != b_all) return a_all;
  if (a.reached != b.reached) return a.reached > b.reached;
  if (a.reached > 0) return a.time_mean_s < b.time_mean_s;
  return a.final_error < b.final_error;
}

double number_or_nan(const nlohmann::json& j) { return j.is_number() ? j.get<double>() : kNaN; }

}  // namespace

std::vector<Candidate> theory_candidates(DelayModel& delay, std::size_t P, const TheoryOptions& base) {
  std::vector<Candidate> out;
  for (std::size_t K = 1;; K = std::min(P, 2 * K)) {
    TheoryOptions o = base;
    o.P = P;
    o.K = K;
    o.variants.clear();
    if (K == 1) o.variants = {"sync", "async"};
    for (const char* v : {"k-sync", "k-batch-sync", "k-async", "k-batch-async"}) {
      const std::string name = v;
      if ((name == "k-sync" && K == P) || (name == "k-async" && K == 1)) continue;
      o.variants.push_back(name);
    }
    for (const TheoryRow& r : predict(delay, o)) out.push_back(from_row(r));
    if (K == P) break;
  }
  return out;
}

double pruning_score(const Candidate& c, std::size_t P) {
  if (!std::isfinite(c.time_per_update_s)) return std::numeric_limits<double>::infinity();
  const double stale = std::isnan(c.staleness) ? static_cast<double>(P - 1) : c.staleness;
  return c.time_per_update_s / static_cast<double>(c.K) * (1 + stale);
}

std::vector<Candidate> prune_candidates(std::vector<Candidate> all, std::size_t P, std::size_t keep) {
  std::stable_sort(all.begin(), all.end(), [P](const Candidate& a, const Candidate& b) {
    return pruning_score(a, P) < pruning_score(b, P);
  });
  std::vector<Candidate> out;
  for (std::size_t i = 0; i < all.size(); ++i) {
    // sync and async: the two ends the reason compares, raced whatever their score.
    const bool baseline = all[i].variant == "sync" || all[i].variant == "async";
    if (i >= keep && !baseline) continue;
    all[i].why = "theory rank " + std::to_string(i + 1) + " of " + std::to_string(all.size()) +
                 (baseline && i >= keep ? " (raced as a baseline)" : "");
    out.push_back(all[i]);
  }
  return out;
}

std::vector<Candidate> beyond_paper_candidates(std::size_t P, std::size_t k0, const std::string& every) {
  auto make = [](std::string entry, std::string variant, std::size_t K, std::string why) {
    Candidate c;
    c.entry = std::move(entry);
    c.variant = std::move(variant);
    c.K = K;
    c.time_per_update_s = kNaN;
    c.staleness = kNaN;
    c.method = "measured by the race";
    c.why = std::move(why);
    return c;
  };
  std::vector<Candidate> out;
  out.push_back(make("async:R=" + std::to_string(P), "async", 1,
                     "beyond the paper: Ringmaster, R = P"));
  if (P > 1) out.push_back(make("ssp:S=2", "ssp", 1, "beyond the paper: SSP, bound 2"));
  const std::size_t k = std::clamp<std::size_t>(k0, 1, P);
  out.push_back(make("k-async:K=" + std::to_string(k) + ",adasync=" + every, "k-async", k,
                     "beyond the paper: AdaSync from K=" + std::to_string(k)));
  return out;
}

std::vector<RaceOutcome> race_outcomes(const nlohmann::json& summary) {
  std::vector<RaceOutcome> out;
  try {
    for (const nlohmann::json& v : summary.at("variants")) {
      RaceOutcome o;
      o.entry = v.at("entry").get<std::string>();
      o.variant = v.at("variant").get<std::string>();
      o.K = v.at("K").get<std::size_t>();
      o.repeats = v.at("repeats").get<std::size_t>();
      o.reached = v.at("reached_target").is_number() ? v.at("reached_target").get<std::size_t>() : 0;
      const nlohmann::json& t = v.at("time_to_target_s");
      o.time_mean_s = t.is_object() ? number_or_nan(t.at("mean")) : kNaN;
      o.time_ci95_s = t.is_object() ? number_or_nan(t.at("ci95")) : kNaN;
      const nlohmann::json& f = v.at("final_test_error");
      o.final_error = f.is_object() ? number_or_nan(f.at("mean")) : kNaN;
      o.update_interval_s = number_or_nan(v.at("mean_update_interval_s").at("measured"));
      o.staleness = number_or_nan(v.at("staleness_mean"));
      out.push_back(o);
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("race summary.json: ") + e.what());
  }
  return out;
}

std::vector<RaceOutcome> rank_outcomes(std::vector<RaceOutcome> outcomes) {
  std::stable_sort(outcomes.begin(), outcomes.end(), better);
  return outcomes;
}

bool is_synchronous(const RaceOutcome& o, std::size_t P) {
  if (o.variant == "sync") return true;
  if (o.variant == "ssp") return o.entry == "ssp S=0";
  return (o.variant == "k-sync" || o.variant == "k-batch-sync") && o.K == P;
}

double wait_factor(double sync_time_per_update_s, double async_time_per_update_s, std::size_t P) {
  const double per_gradient = async_time_per_update_s * static_cast<double>(P);
  if (!(per_gradient > 0) || !std::isfinite(sync_time_per_update_s)) return kNaN;
  return sync_time_per_update_s / per_gradient;
}

double runner_up_margin(const std::vector<RaceOutcome>& ranked) {
  if (ranked.size() < 2 || ranked[0].reached == 0 || ranked[1].reached == 0) return kNaN;
  return ranked[1].time_mean_s / ranked[0].time_mean_s;
}

std::string advice_reason(const std::vector<RaceOutcome>& ranked, double wait, std::size_t P) {
  if (ranked.empty() || ranked[0].reached == 0)
    return "no variant reached the target in the race: give a higher --target-error or a "
           "larger --budget";
  const RaceOutcome& w = ranked[0];
  const std::string learners = std::to_string(P) + " learners";
  std::string tail;
  if (std::isnan(wait))
    tail = "delays of unknown spread";
  else if (wait < kNearConstant)
    tail = "near-constant delays: waiting for all " + learners + " costs only " +
           format_fixed(wait, 2) + "x per gradient";
  else if (wait > kHeavyTail)
    tail = "heavy tail: waiting for all " + learners + " costs " + format_fixed(wait, 1) +
           "x per gradient";
  else
    tail = "spread delays: waiting for all " + learners + " costs " + format_fixed(wait, 2) +
           "x per gradient";

  std::string why;
  if (is_synchronous(w, P))
    why = "; " + w.entry + " applies no stale gradient and reaches the target first";
  else if (w.K < P && w.staleness < kFresh)
    why = "; " + w.entry + " waits for only " + std::to_string(w.K) + " of the " + learners +
          " per update, applies no stale gradient and reaches the target first";
  else
    why = "; " + w.entry + " reaches the target first despite mean staleness " +
          format_fixed(w.staleness, 1);
  // The comparison that matters: against the runner-up, and against sync when it is not that.
  const double margin = runner_up_margin(ranked);
  if (std::isfinite(margin)) {
    const RaceOutcome& r = ranked[1];
    why += ", " + format_fixed(margin, 2) + "x sooner than " + r.entry;
    const double lo_r = r.time_mean_s - r.time_ci95_s, hi_w = w.time_mean_s + w.time_ci95_s;
    if (lo_r <= hi_w) why += " (their 95% intervals overlap: the race cannot separate the two)";
  } else if (ranked.size() > 1) {
    why += "; " + ranked[1].entry + " did not reach it in every repeat";
  }
  return tail + why;
}

}  // namespace racesgd
