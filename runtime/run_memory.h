// Run memory: how much a run's weight-sized buffers take, checked before anything big is
// allocated. A model too large for the evaluation snapshots' budget, or for the machine,
// is an InputError naming the model, its parameter count, the bytes needed and the flag to
// change -- not a std::bad_alloc (or the OOM killer) after seconds of allocating.
//
// Only buffers of d floats are counted (d = the model's parameter count): versioned
// weights, gradient buffers, the accumulator, the initial weights and the snapshots. Model
// workspaces (activations of a minibatch or a 1024-row scoring chunk per thread) and
// transient checkpoint copies come on top; for the models racesgd trains they are small
// next to a run's weight copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "models/model.h"

namespace racesgd {

/// Most snapshots a recorder keeps, however small the model: the auto schedule's ticks (100
/// linear plus ~155 a decade of run time from 1 ms, see bench/experiment.cc) fit a run of
/// up to ~10 min without thinning, and the thinning keeps longer runs at 512..1024 points.
inline constexpr std::size_t kMaxSnapshots = 1024;
/// Fewest snapshots the budget may leave a run: fewer is no curve (the thinning keeps the
/// first, the newest and half of those in between).
inline constexpr std::size_t kMinSnapshots = 8;
/// The automatic snapshot budget is 1/8 of the machine's memory, at most this: 1 GiB on a
/// 24 GiB workstation (a 512-point curve of a 500k-parameter model), 256 MiB on a 2 GiB
/// laptop (which still holds 100 points of MNIST's mlp:hidden=256).
inline constexpr std::uint64_t kAutoSnapshotBudgetMax = std::uint64_t{1} << 30;

/// The machine's memory in bytes: physical RAM, or a smaller cgroup (v2) limit; 0 if unknown.
std::uint64_t machine_memory_bytes();

/// `budget`, or for budget == 0 ("auto") 1/8 of `machine` bytes, at most
/// kAutoSnapshotBudgetMax (which is also the answer when `machine` is 0, unknown).
std::uint64_t resolve_snapshot_budget(std::uint64_t budget, std::uint64_t machine);

/// Snapshot slots of `dim` floats that fit in `budget` bytes, at most kMaxSnapshots.
std::size_t snapshot_slots(std::size_t dim, std::uint64_t budget);

/// Weight-sized buffers a run holds at once besides its snapshots. Mirrors the pools sized
/// in run_virtual (versioned weights for P + 2 readers, P learner gradients) and run_real
/// (versioned weights for real_clock_readers(P), 2P + 3 gradient buffers), plus the PS's
/// accumulator and the caller's initial weights. Keep in step with those runtimes.
std::size_t run_weight_copies(bool real_clock, std::size_t P);

/// The readers (pins alive at once) the real clock's VersionedWeights are sized for, with P
/// learners: three per learner (the job restart() set up, the one it computes, the one in
/// an inbox message), the one restart() pins before it drops the job it replaces, and the
/// PS's current pin, the evaluator's, AdaSync's loss prober's and the snapshot copy's
/// (docs/concurrency.md "Pool size").
constexpr std::size_t real_clock_readers(std::size_t P) { return 3 * P + 5; }

/// Checks that a run of `model` holding `weight_copies` weight-sized buffers fits: the
/// snapshot budget must hold kMinSnapshots snapshots, and the buffers plus the snapshots
/// the budget allows must fit in `machine` bytes (0: unknown, not checked). Returns the
/// snapshot slots. Throws InputError naming the model, its parameter count, the bytes
/// needed and --snapshot-memory.
std::size_t check_run_memory(const Model& model, std::size_t weight_copies,
                             std::uint64_t snapshot_budget, std::uint64_t machine);

/// check_run_memory on this machine (machine_memory_bytes()), with the budget resolved
/// from `snapshot_memory` (0 = auto).
std::size_t check_run_memory_here(const Model& model, std::size_t weight_copies,
                                  std::uint64_t snapshot_memory);

/// Parses a memory size: a positive number with an optional unit, B, K/KiB, M/MiB, G/GiB,
/// T/TiB (powers of 1024) or kB, MB, GB, TB (powers of 1000): "1GiB", "512M", "1.5GB".
/// Throws InputError naming `what` on anything else, zero included.
std::uint64_t parse_memory_size(std::string_view text, std::string_view what);

/// "606.6 MiB", "1.0 GiB", "512 B".
std::string format_bytes(std::uint64_t bytes);

}  // namespace racesgd
