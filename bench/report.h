// Reporters: measuring is kept apart from reporting. These turn a run's curve and its
// summary (summarize, summary.h) into files: curve.csv (one row per evaluation point,
// '#'-prefixed context lines first) and summary.json. Files are written atomically and
// durably (core/durable_file.h).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/durable_file.h"
#include "runtime/run_types.h"

namespace racesgd {

struct CurveColumns {
  /// `wall_s` (real seconds): only on the real clock. A virtual-clock curve holds nothing
  /// that depends on the machine, so the same flags and seed reproduce it byte for byte.
  bool wall = true;
  /// train_loss and test_error: not with --timing-only, which computes no gradients and
  /// scores nothing (a 0 there would read as a perfect model).
  bool errors = true;
};

/// The CSV text of a curve: '# key: value' context lines, a header, one row per point.
std::string curve_csv(const std::vector<CurvePoint>& curve, const nlohmann::json& context,
                      CurveColumns columns);

/// DIR/curve.csv and DIR/summary.json; curve.csv's header lines include the stop reason.
/// Throws WriteError (durable_file.h) when a file cannot be written.
void write_run_outputs(const std::filesystem::path& dir, const std::vector<CurvePoint>& curve,
                       const nlohmann::json& summary);

/// Removes what write_run_outputs writes in `dir` (curve.csv, summary.json and temporary
/// files a killed racesgd left), and nothing else, so the outputs of an earlier run cannot
/// pass for this run's after a crash. Throws WriteError when one cannot be removed.
void clear_run_outputs(const std::filesystem::path& dir);

/// Removes `dir`/`name` and its temporary files (`name`.tmp.PID). Throws WriteError when
/// one cannot be removed.
void remove_output_file(const std::filesystem::path& dir, const std::string& name);

}  // namespace racesgd
