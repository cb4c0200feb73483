// An ExperimentConfig from `train` flags given as name/value pairs (the rest default), for
// the bench tests that need a validated config without a command line.
#pragma once

#include <initializer_list>
#include <utility>

#include "bench/experiment.h"
#include "bench/params.h"

namespace racesgd::test {

inline ExperimentConfig train_config(
    std::initializer_list<std::pair<const char*, const char*>> flags) {
  ParamValues v(train_params());
  for (const auto& [name, value] : flags) v.set(name, value);
  return parse_experiment(v);
}

}  // namespace racesgd::test
