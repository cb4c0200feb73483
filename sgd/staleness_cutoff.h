// StalenessCutoff: Ringmaster ASGD's staleness threshold R (Maranjyan, Tyurin, Richtarik,
// ICML 2025; ../shared/paper.md "Beyond the paper"). A gradient computed on version tau is
// never applied at a version j with j - tau >= R: the computation is cancelled the moment
// the update that makes it that stale is applied, and the learner restarts on the new
// weights. It is a policy of the Coordinator beside the variant (which K, who waits): the
// Coordinator asks it one question after every update. R = 0 means no cutoff (today's
// behaviour). The sync family never applies a stale gradient, so it takes no cutoff
// (make_variant refuses one). docs/decisions/0004-staleness-cutoff.md has the choices.
#pragma once

#include <cstdint>
#include <string>

namespace racesgd {

struct StalenessCutoff {
  std::uint64_t R = 0;  // 0: no cutoff; else gradients of staleness >= R are never applied

  bool enabled() const { return R > 0; }
  /// A computation on version `read` can no longer be applied once version `now` is current.
  bool expired(std::uint64_t read, std::uint64_t now) const { return R > 0 && now - read >= R; }
  /// ",R=4" for describe() strings; empty without a cutoff.
  std::string describe() const { return R > 0 ? ",R=" + std::to_string(R) : std::string(); }
};

}  // namespace racesgd
