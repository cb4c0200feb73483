#include "sgd/variant.h"

#include "core/error.h"

namespace racesgd {

std::string Variant::describe() const {
  return name + "(P=" + std::to_string(P) + ",K=" + std::to_string(K) + cutoff.describe() + ")";
}

std::vector<std::pair<std::string, std::string>> variant_help() {
  return {
      {"sync", "wait for all P gradients; everyone restarts on the new weights (K = P)"},
      {"k-sync", "update after the first K gradients from K distinct learners; cancel the rest"},
      {"k-batch-sync", "update after the first K minibatches from any learners; cancel the rest"},
      {"async", "update on every gradient; only the pusher gets the new weights (K = 1)"},
      {"k-async", "update after K gradients from K distinct learners; pushers wait idle"},
      {"k-batch-async", "update after any K minibatches; no learner ever waits or is cancelled"},
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
  v.cutoff.R = max_staleness;
}

Variant make_kind(std::string_view name, std::size_t P, std::size_t K) {
  if (P == 0) throw InputError("-P: the number of learners must be at least 1");
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
