// K schedules: how many gradients an update waits for, over a run. `fixed` keeps the
// variant's K; `adasync` is AdaSync (Dutta et al., IEEE JSAIT 2021; ../shared/paper.md
// "Beyond the paper"): the error-runtime bound says a small K wins early and a large K late,
// so every T0 of run time K becomes
//     K = min(P, ceil(K0 * sqrt(F(w_0) / F(w_t)))),   never decreasing,
// F the training loss on a fixed subsample. The schedule is pure arithmetic on losses and
// times the runtime hands it (it reads no clock and scores nothing); the Coordinator
// accepts the new K between two updates (Coordinator::set_k).
// docs/decisions/0007-adasync.md has the choices.
//
// Threads: none; the PS's thread (or the event loop) only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sgd/variant.h"

namespace racesgd {

struct KScheduleConfig {
  enum class Kind { fixed, adasync };
  Kind kind = Kind::fixed;
  double every_s = 0;        // adasync: T0, run-clock seconds between loss checks
  std::size_t k0 = 0;        // adasync: K0 (0: the variant's K)
  std::size_t samples = 2000;  // adasync: training samples F is scored on (0: all)
  bool adaptive() const { return kind == Kind::adasync; }
};

/// Parses --k-schedule: "fixed" or "adasync:every=T0[,k0=K0][,samples=N]" (T0 a duration,
/// "0.5s"). Throws InputError naming the flag and what is wrong.
KScheduleConfig parse_k_schedule(std::string_view spec);

/// The canonical spec, every parameter spelled out (summary.json, checkpoints).
std::string to_string(const KScheduleConfig& c);

/// Throws InputError (naming --k-schedule) when `c` cannot drive `v`: AdaSync needs a
/// variant whose K means "gradients per update" and may change -- k-sync, k-batch-sync,
/// k-async, k-batch-async -- not sync (K = P by definition), async (K = 1) or ssp; and K0
/// must lie in [1, P].
void check_k_schedule(const KScheduleConfig& c, const Variant& v);

/// AdaSync's rule: min(P, ceil(k0 * sqrt(f0 / f))), and never below `current`. A loss that
/// is not finite and positive where the rule needs it (f0 <= 0, f NaN) leaves K alone; f = 0
/// (a perfect fit) gives P.
std::size_t adasync_k(std::size_t k0, std::size_t P, double f0, double f, std::size_t current);

/// The first check strictly after run time `t` on the grid T0, 2 T0, ... (each a function
/// of its index, so a resumed run checks at the same times).
double next_check_after(double every_s, double t);

/// One K change (or the start): when, at which update, the loss that caused it, the new K.
struct KChange {
  double time_s = 0;
  std::uint64_t update = 0;
  double loss = 0;
  std::size_t K = 0;
};

/// AdaSync's state over a run: F(w_0), the next check time and every change so far.
class AdaSyncSchedule {
 public:
  struct State {
    double f0 = 0;
    double next_s = 0;      // the next check, run clock (+inf once K = P: nothing can change)
    std::vector<KChange> changes;  // the first is the start (K0 at F(w_0))
  };

  /// Starts at K0 with F(w_0) = f0 (time 0, update 0). P: the run's learners.
  AdaSyncSchedule(const KScheduleConfig& c, std::size_t k0, std::size_t P, double f0);

  /// The next time a loss is wanted (+inf when K already is P).
  double next_check() const { return s_.next_s; }
  std::size_t k() const { return s_.changes.back().K; }
  const std::vector<KChange>& changes() const { return s_.changes; }

  /// The loss F(w) scored for the check due at next_check(), taken at run time `time` (at
  /// or after it) with `update` updates applied. Moves the next check to the first
  /// multiple of T0 after `time`. Returns the new K when it grew (recorded as a change), 0
  /// otherwise.
  std::size_t on_loss(double time, std::uint64_t update, double loss);

  /// Moves the next check to the first multiple of T0 after `t`, as on_loss(t, ...) with
  /// an unchanged loss would (nothing is recorded); no-op once K = P.
  void skip_past(double t);

  const State& state() const { return s_; }
  /// Continues from a saved state. Throws InputError when it cannot belong to this
  /// schedule (no start entry, K outside [1, P] or decreasing, a next check before the
  /// last change).
  void restore(State s);

 private:
  KScheduleConfig c_;
  std::size_t k0_;
  std::size_t P_;
  State s_;
};

}  // namespace racesgd
