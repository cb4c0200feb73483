#include "bench/trace_input.h"

#include <optional>
#include <string>

#include "core/error.h"
#include "core/spec.h"

namespace racesgd {

DelayTrace read_trace_flags(const ParamValues& values) {
  const std::string path = values.get("trace");
  if (path.empty()) throw InputError("--trace: required (a CSV of measured minibatch times)");
  const std::optional<double> unit = trace_unit_seconds(values.get("unit"));
  if (!unit) throw InputError("--unit '" + values.get("unit") + "': must be s, ms, us or ns");
  Spec spec;  // read_delay_trace names the file through a spec's arguments
  spec.text = path;
  spec.name = "trace";
  const SpecArgs args(spec, "--trace");
  return read_delay_trace(path, *unit, args);
}

}  // namespace racesgd
