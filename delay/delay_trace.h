// Trace-driven delays: "trace:file=delays.csv,end=cycle|stop,unit=ms" replays measured
// minibatch times from a CSV file, each learner its own sequence. The format is documented
// in docs/delay-models.md ("Trace files").
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "delay/delay_model.h"

namespace racesgd {

/// A parsed trace: one sequence of delays (seconds) per column. One column is shared by
/// every learner; otherwise column i belongs to learner i.
struct DelayTrace {
  std::vector<std::vector<double>> columns;
  /// The header row's cells, one per column; empty when the file has no header.
  std::vector<std::string> names;
};

/// Seconds per unit of a trace's values: "s", "ms", "us" or "ns"; nullopt for any other
/// text (the caller names the flag or spec key in its error).
std::optional<double> trace_unit_seconds(std::string_view unit);

/// Reads a trace CSV. `unit_seconds` scales every value (1e-3 for unit=ms). Throws
/// InputError via `args.fail` naming the path (and the line, for bad content) when the file
/// is unreadable, empty, ragged, negative or non-numeric. Allocates.
DelayTrace read_delay_trace(const std::filesystem::path& path, double unit_seconds,
                            const SpecArgs& args);

/// A trace model over values already in memory (a binding's array) rather than a file.
/// `label` stands for the file in spec() ("trace:file=LABEL,..."); `stop_at_end` is
/// end=stop. The caller checks the values (finite, >= 0) and that there is one column or
/// one per learner. Allocates.
std::unique_ptr<DelayModel> make_trace_delay(DelayTrace trace, std::size_t num_learners,
                                             bool stop_at_end, std::string label);

}  // namespace racesgd

namespace racesgd::detail {
/// The "trace" factory (registered as a built-in).
std::unique_ptr<DelayModel> make_trace_delay_model(SpecArgs& args, const DelayContext& ctx);
}  // namespace racesgd::detail
