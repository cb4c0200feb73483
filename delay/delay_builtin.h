// The built-in delay models, handed to the registry when it is first used. Kept as a
// function the registry's translation unit calls (rather than self-registering statics) so
// the linker can never drop them from the static library.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "delay/delay_model.h"

namespace racesgd::detail {

struct DelayModelEntry {
  std::string name;
  std::string help;
  DelayFactory factory;
};

/// none, const, uniform, exp, shifted-exp, pareto, lognormal, hyperexp, straggler,
/// hetero, trace, hang. Allocates.
std::vector<DelayModelEntry> builtin_delay_models();

/// Facts of c * X given the facts of X (c > 0): closed-form parameters, cdf, mean and
/// variance all rescaled. Used by hetero.
DelayFacts scale_delay_facts(const DelayFacts& f, double c);

/// Facts of "a uniformly chosen learner's X" from per-learner facts (homogeneous = false):
/// averaged cdf, mean and second moment, each only if every learner's is known.
DelayFacts pool_delay_facts(const std::vector<DelayFacts>& per_learner);

/// For restore_state: takes `n` values off the front of `in`, or throws InputError naming
/// `model` when fewer are left (a checkpoint of another delay model).
std::span<const std::uint64_t> take_delay_state(std::span<const std::uint64_t>& in, std::size_t n,
                                                const std::string& model);

}  // namespace racesgd::detail
