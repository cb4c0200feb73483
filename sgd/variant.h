// The six SGD variants of paper.md as data: a kind plus (P, K). Parsed from the strings
// the CLI takes ("k-async", "sync", ...); sync and async are K-sync with K = P and K-async
// with K = 1, and are normalised to exactly those so they behave identically.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

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

  /// Sync family: zero staleness, stragglers cancelled at every update.
  bool is_sync_family() const {
    return kind == VariantKind::kKSync || kind == VariantKind::kKBatchSync;
  }
  /// Batch variants let one learner contribute several minibatches to one update.
  bool is_batch() const {
    return kind == VariantKind::kKBatchSync || kind == VariantKind::kKBatchAsync;
  }
  bool is_ssp() const { return kind == VariantKind::kSsp; }
  /// "k-async(P=8,K=2)"
  std::string describe() const;
};

/// Parses a variant name with P learners and K (ignored for sync = P and async = 1).
/// SSP is named with its bound, "ssp:S=2" (K is 1). Throws InputError on an unknown name,
/// P = 0, K outside [1, P] (naming "-K"), or an ssp without a bound S >= 0.
Variant make_variant(std::string_view name, std::size_t P, std::size_t K);

/// "ssp:S=2": the variant name make_variant takes for SSP with that bound.
std::string ssp_name(std::size_t staleness_bound);

/// The names accepted by make_variant, with one-line help each.
std::vector<std::pair<std::string, std::string>> variant_help();

}  // namespace racesgd
