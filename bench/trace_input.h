// The --trace FILE and --unit U flags that `racesgd fit` and `racesgd advise` share: the
// file read with delay/delay_trace.h, its values in seconds.
#pragma once

#include "bench/params.h"
#include "delay/delay_trace.h"

namespace racesgd {

/// Reads --trace in --unit. Throws InputError naming --trace (the file, its line) or --unit.
DelayTrace read_trace_flags(const ParamValues& values);

}  // namespace racesgd
