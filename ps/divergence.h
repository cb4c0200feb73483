// The likely cause of a divergence, named from the run's configuration: what a user reads
// after the parameter server refused a NaN/Inf update (ParameterServer::divergence()).
// The PS sees only the gradient that broke; the flags that made it break (--l2, --scale,
// --lr, the staleness the variant and delays produce) are the caller's.
#pragma once

#include <string>

#include "ps/parameter_server.h"

namespace racesgd {

struct DivergenceSuspects {
  double l2 = 0;               // --l2
  std::string scaling;         // --scale as applied to the features ("none", "max", ...)
  double max_abs_feature = 0;  // largest |x| of the (scaled) training features
  double staleness_mean = 0;   // of the gradients applied before the refused update
};

/// One sentence naming the flag most likely at fault and what to try, checked in this
/// order: an L2 term that overshoots by itself (lr x l2 > 1), unscaled features (|x| >
/// 100), stale gradients (the breaking one >= 2 updates old or a mean >= 1), else --lr.
std::string likely_divergence_cause(const Divergence& d, const DivergenceSuspects& s);

}  // namespace racesgd
