// Learning-rate schedules (paper.md): constant, the paper's staleness-adaptive rate
// eta = min(C / ||w_j - w_tau||^2, eta_max), and inverse staleness eta0 / max(1, tau),
// each optionally multiplied by a step decay. Rates are per gradient: for K > 1 the PS
// averages lr_i * g_i over the K gradients of an update.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace racesgd {

struct LrInputs {
  std::uint64_t staleness = 0;  // current version - version read
  double distance2 = 0;         // ||w_current - w_read||^2 (only when needs_distance())
  std::uint64_t update = 0;     // index of the update this gradient joins
  double time = 0;              // run time in seconds (real or virtual)
};

class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  /// Rate for one gradient. Cheap; never throws; always finite and >= 0.
  virtual double rate(const LrInputs& in) const = 0;
  /// True if rate() reads distance2 (the PS then computes ||w_j - w_tau||^2).
  virtual bool needs_distance() const { return false; }
  /// Canonical spec, for output files.
  virtual std::string spec() const = 0;
};

/// Builds a schedule from `schedule` ("constant", "staleness:c=0.01", "inverse-staleness"),
/// the base rate `lr` (eta, eta_max or eta0) and a decay spec ("none",
/// "step:every=1000,factor=0.5" in updates, or "step:every=10s,factor=0.5" in run time).
/// Throws InputError naming --lr-schedule / --lr-decay / --lr on bad input.
std::unique_ptr<LrSchedule> make_lr_schedule(std::string_view schedule, double lr,
                                             std::string_view decay);

std::vector<std::pair<std::string, std::string>> lr_schedule_help();

}  // namespace racesgd
