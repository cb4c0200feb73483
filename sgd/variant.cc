#include "sgd/variant.h"

#include "core/error.h"
#include "core/spec.h"

namespace racesgd {

std::string Variant::describe() const {
  if (kind == VariantKind::kSsp)
    return "ssp(P=" + std::to_string(P) + ",S=" + std::to_string(staleness_bound) + ")";
  return name + "(P=" + std::to_string(P) + ",K=" + std::to_string(K) + cutoff.describe() + ")";
}

std::string ssp_name(std::size_t staleness_bound) {
  return "ssp:S=" + std::to_string(staleness_bound);
}

std::vector<std::pair<std::string, std::string>> variant_help() {
  return {
      {"sync", "wait for all P gradients; everyone restarts on the new weights (K = P)"},
      {"k-sync", "update after the first K gradients from K distinct learners; cancel the rest"},
      {"k-batch-sync", "update after the first K minibatches from any learners; cancel the rest"},
      {"async", "update on every gradient; only the pusher gets the new weights (K = 1)"},
      {"k-async", "update after K gradients from K distinct learners; pushers wait idle"},
      {"k-batch-async", "update after any K minibatches; no learner ever waits or is cancelled"},
      {"ssp", "update on every gradient; a learner waits while it is more than S minibatches "
              "ahead of the slowest (--staleness-bound S, or ssp:S=S)"},
  };
}

namespace {

// Ringmaster's threshold applies where stale gradients exist: the async family.
void set_cutoff(Variant& v, std::uint64_t max_staleness) {
  if (max_staleness == 0) return;
  if (v.is_sync_family())
    throw InputError("--max-staleness: " + v.name +
                     " never applies a stale gradient (every update uses gradients of the "
                     "current version only, staleness 0), so a staleness threshold has nothing "
                     "to cut; use it with async, k-async or k-batch-async");
  if (v.is_ssp())
    throw InputError("--max-staleness: ssp bounds staleness with its own rule (--staleness-bound); "
                     "use one or the other");
  v.cutoff.R = max_staleness;
}

Variant make_kind(std::string_view name, std::size_t P, std::size_t K) {
  if (P == 0) throw InputError("-P: the number of learners must be at least 1");
  if (name == "ssp" || name.starts_with("ssp:")) {
    SpecArgs s(parse_spec(name, "--variant"), "--variant");
    if (!s.has("S"))
      s.fail("ssp needs its staleness bound: --staleness-bound S (or ssp:S=S), S >= 0");
    Variant v;
    v.kind = VariantKind::kSsp;
    v.P = P;
    v.K = 1;
    v.staleness_bound = static_cast<std::size_t>(s.integer("S", std::nullopt, 0, 1LL << 40));
    s.finish();
    v.name = ssp_name(v.staleness_bound);
    return v;
  }
  Variant v;
  v.name = std::string(name);
  v.P = P;
  if (name == "sync") {
    v.kind = VariantKind::kKSync;
    v.K = P;
    return v;
  }
  if (name == "async") {
    v.kind = VariantKind::kKAsync;
    v.K = 1;
    return v;
  }
  if (name == "k-sync") {
    v.kind = VariantKind::kKSync;
  } else if (name == "k-batch-sync") {
    v.kind = VariantKind::kKBatchSync;
  } else if (name == "k-async") {
    v.kind = VariantKind::kKAsync;
  } else if (name == "k-batch-async") {
    v.kind = VariantKind::kKBatchAsync;
  } else {
    std::string known;
    for (const auto& [n, help] : variant_help()) known += (known.empty() ? "" : ", ") + n;
    throw InputError("--variant: unknown variant '" + std::string(name) + "' (known: " + known +
                     ")");
  }
  // K-batch variants may take K > P in principle (a learner gives several minibatches),
  // but paper.md defines K in [1, P] for all four; keep one rule for all.
  if (K < 1 || K > P)
    throw InputError("-K: K = " + std::to_string(K) + " must lie in [1, P = " + std::to_string(P) +
                     "] for " + std::string(name));
  v.K = K;
  return v;
}

}  // namespace

Variant make_variant(std::string_view name, std::size_t P, std::size_t K,
                     std::uint64_t max_staleness) {
  Variant v = make_kind(name, P, K);
  set_cutoff(v, max_staleness);
  return v;
}

}  // namespace racesgd
