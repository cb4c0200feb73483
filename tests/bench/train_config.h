// An ExperimentConfig from `train` flags given as name/value pairs (the rest default), for
// the bench tests that need a validated config without a command line: the embedding
// API's make_train_config with a literal-friendly signature.
#pragma once

#include <initializer_list>
#include <utility>

#include "bench/api.h"

namespace racesgd::test {

inline ExperimentConfig train_config(
    std::initializer_list<std::pair<const char*, const char*>> flags) {
  return make_train_config(TrainFlags(flags.begin(), flags.end()));
}

}  // namespace racesgd::test
