#include "bench/report.h"

#include <sstream>

#include "bench/format.h"

namespace racesgd {

std::string curve_csv(const std::vector<CurvePoint>& curve, const nlohmann::json& context,
                      CurveColumns columns) {
  std::ostringstream os;
  for (const auto& [k, v] : context.items())
    os << "# " << k << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
  os << "time_s,updates,gradients" << (columns.errors ? ",train_loss,test_error" : "")
     << ",staleness_mean,K" << (columns.wall ? ",wall_s\n" : "\n");
  for (const CurvePoint& p : curve) {
    // format_fixed: the usual "%.6f", but a huge time (a 1e300 s delay) in a dozen
    // characters, not 300 digits cut at a buffer's end.
    os << format_fixed(p.time_s, 6) << "," << p.updates << "," << p.gradients;
    if (columns.errors) os << "," << format_g(p.train_loss) << "," << format_g(p.test_error);
    os << "," << format_fixed(p.staleness_mean, 4) << "," << p.k;
    if (columns.wall) os << "," << format_fixed(p.wall_s, 6);
    os << "\n";
  }
  return os.str();
}

void write_run_outputs(const std::filesystem::path& dir, const std::vector<CurvePoint>& curve,
                       const nlohmann::json& summary) {
  nlohmann::json header = summary.value("context", nlohmann::json::object());
  header.erase("started_utc");  // in summary.json; kept out so virtual curves reproduce exactly
  for (const char* k : {"variant", "P", "K", "delay", "model", "clock", "seed"})
    if (summary.contains(k)) header[k] = summary[k];
  // Says whether the curve ends because the run was done or cut short (interrupted,
  // diverged, stalled, a failed learner).
  if (summary.contains("stop_reason")) header["stop_reason"] = summary["stop_reason"];
  const auto timing = summary.find("timing_only");
  const bool timing_only = timing != summary.end() && *timing == true;
  if (timing_only) header["errors"] = "not measured (--timing-only)";
  if (summary.contains("config")) {
    // Where outputs and checkpoints go does not shape the run: kept out of the header so
    // a resumed or relocated virtual run reproduces curve.csv byte for byte.
    nlohmann::json config = summary["config"];
    for (const char* k : {"out", "progress", "checkpoint", "checkpoint-every", "resume"})
      config.erase(k);
    header["config"] = config.dump();
  }
  const auto clock = summary.find("clock");
  const bool real_clock = clock == summary.end() || *clock == "real";
  // Both files are attempted even when the first fails (the small summary may still fit
  // on a full disk); the first failure is then reported.
  std::string failure;
  auto write = [&](const char* name, const std::string& text) {
    try {
      write_file_atomic(dir / name, text);
    } catch (const WriteError& e) {
      if (failure.empty()) failure = e.what();
    }
  };
  write("curve.csv", curve_csv(curve, header, CurveColumns{real_clock, !timing_only}));
  write("summary.json", summary.dump(2) + "\n");
  if (!failure.empty()) throw WriteError(failure);
}

void remove_output_file(const std::filesystem::path& dir, const std::string& name) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return;
  std::vector<std::filesystem::path> doomed;
  const std::string tmp_prefix = name + ".tmp.";
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string f = entry.path().filename().string();
    if (f == name || f.rfind(tmp_prefix, 0) == 0) doomed.push_back(entry.path());
  }
  for (const auto& p : doomed) {
    std::filesystem::remove(p, ec);
    if (ec)
      throw WriteError("cannot remove the earlier run's '" + p.string() + "': " + ec.message());
  }
}

void clear_run_outputs(const std::filesystem::path& dir) {
  for (const char* name : {"curve.csv", "summary.json"}) remove_output_file(dir, name);
}

}  // namespace racesgd
