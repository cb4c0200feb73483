// Reporters: measuring is kept apart from reporting. These turn a RunOutput into files:
// curve.csv (one row per evaluation point, '#'-prefixed context lines first) and
// summary.json. Files are written atomically (temporary file, then rename), so a reader
// never sees half a file.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sgd/run_types.h"

namespace racesgd {

/// Writes `content` to `path` via a temporary file and rename. Creates parent folders.
/// Throws InputError naming the path when it cannot be written.
void write_file_atomic(const std::filesystem::path& path, const std::string& content);

/// The CSV text of a curve: '# key: value' context lines, a header, one row per point.
/// `wall_s` (real seconds) is a column only when `with_wall` is set: a virtual-clock curve
/// holds nothing that depends on the machine, so the same flags and seed reproduce it
/// byte for byte.
std::string curve_csv(const std::vector<CurvePoint>& curve, const nlohmann::json& context,
                      bool with_wall);

/// DIR/curve.csv and DIR/summary.json.
void write_run_outputs(const std::filesystem::path& dir, const std::vector<CurvePoint>& curve,
                       const nlohmann::json& summary);

}  // namespace racesgd
