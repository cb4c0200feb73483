// The six SGD variants of paper.md as data: a kind plus (P, K), and the policies beyond the
// paper that compose with them (today: Ringmaster's staleness cutoff). Parsed from the
// strings the CLI takes ("k-async", "sync", ...); sync and async are K-sync with K = P and
// K-async with K = 1, and are normalised to exactly those so they behave identically.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sgd/staleness_cutoff.h"

namespace racesgd {

enum class VariantKind { kKSync, kKBatchSync, kKAsync, kKBatchAsync, kSsp };

struct Variant {
  std::string name;   // as the user wrote it: "sync", "k-async", ...
  VariantKind kind = VariantKind::kKSync;
  std::size_t P = 1;  // learners
  std::size_t K = 1;  // gradients averaged per update
  // SSP (stale synchronous parallel, Ho et al. 2013): every gradient is applied on arrival,
  // as async, but a learner that has finished c minibatches starts its next only while
  // c <= (the fewest any learner has finished) + staleness_bound. 0 for the other kinds.
  std::size_t staleness_bound = 0;
  StalenessCutoff cutoff;  // Ringmaster's R (async family only); none by default

  /// Sync family: zero staleness, stragglers cancelled at every update.
  bool is_sync_family() const {
    return kind == VariantKind::kKSync || kind == VariantKind::kKBatchSync;
  }
  /// Batch variants let one learner contribute several minibatches to one update.
  bool is_batch() const {
    return kind == VariantKind::kKBatchSync || kind == VariantKind::kKBatchAsync;
  }
  bool is_ssp() const { return kind == VariantKind::kSsp; }
  /// "k-async(P=8,K=2)", "async(P=8,K=1,R=4)", "ssp(P=8,S=2)"
  std::string describe() const;
};

/// Parses a variant name with P learners and K (ignored for sync = P and async = 1), and
/// Ringmaster's staleness threshold R (0: none). SSP is named with its bound, "ssp:S=2"
/// (K is 1). Throws InputError on an unknown name, P = 0, K outside [1, P] (naming "-K"),
/// an ssp without a bound S >= 0, or R > 0 with a sync-family variant or ssp (naming
/// "--max-staleness": those never apply a gradient older than their rule allows).
Variant make_variant(std::string_view name, std::size_t P, std::size_t K,
                     std::uint64_t max_staleness = 0);

/// "ssp:S=2": the variant name make_variant takes for SSP with that bound.
std::string ssp_name(std::size_t staleness_bound);

/// The names accepted by make_variant, with one-line help each.
std::vector<std::pair<std::string, std::string>> variant_help();

}  // namespace racesgd
