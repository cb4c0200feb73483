#include "bench/report.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "core/error.h"

namespace racesgd {

void write_file_atomic(const std::filesystem::path& path, const std::string& content) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) throw InputError("cannot create folder '" + path.parent_path().string() + "': " + ec.message());
  const std::filesystem::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw InputError("cannot write '" + tmp.string() + "'");
    out << content;
    out.flush();
    if (!out) throw InputError("error writing '" + tmp.string() + "' (disk full?)");
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw InputError("cannot rename '" + tmp.string() + "' to '" + path.string() + "'");
  }
}

std::string curve_csv(const std::vector<CurvePoint>& curve, const nlohmann::json& context,
                      bool with_wall) {
  std::ostringstream os;
  for (const auto& [k, v] : context.items())
    os << "# " << k << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
  os << "time_s,updates,gradients,train_loss,test_error,staleness_mean"
     << (with_wall ? ",wall_s\n" : "\n");
  char line[256];
  for (const CurvePoint& p : curve) {
    std::snprintf(line, sizeof line, "%.6f,%llu,%llu,%.6g,%.6g,%.4f", p.time_s,
                  static_cast<unsigned long long>(p.updates),
                  static_cast<unsigned long long>(p.gradients), p.train_loss, p.test_error,
                  p.staleness_mean);
    os << line;
    if (with_wall) {
      std::snprintf(line, sizeof line, ",%.6f", p.wall_s);
      os << line;
    }
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
  if (summary.contains("config")) {
    // Where outputs and checkpoints go does not shape the run: kept out of the header so
    // a resumed or relocated virtual run reproduces curve.csv byte for byte.
    nlohmann::json config = summary["config"];
    for (const char* k : {"out", "progress", "checkpoint", "checkpoint-every", "resume"})
      config.erase(k);
    header["config"] = config.dump();
  }
  const bool real_clock = summary.value("clock", std::string("real")) == "real";
  write_file_atomic(dir / "curve.csv", curve_csv(curve, header, real_clock));
  write_file_atomic(dir / "summary.json", summary.dump(2) + "\n");
}

}  // namespace racesgd
