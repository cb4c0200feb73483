#include "core/host_steal.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <string>

namespace racesgd {

std::optional<MachineCpuTicks> parse_proc_stat_cpu(std::string_view line) {
  constexpr std::string_view kPrefix = "cpu ";
  if (line.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  line.remove_prefix(kPrefix.size());
  // guest and guest_nice (fields 9 and 10) are already counted in user and nice.
  constexpr int kSteal = 7;
  constexpr int kCounted = 8;
  MachineCpuTicks t;
  int field = 0;
  while (true) {
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (line.empty() || line.front() == '\n') break;
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), v);
    if (ec != std::errc{}) return std::nullopt;
    line.remove_prefix(static_cast<std::size_t>(end - line.data()));
    if (!line.empty() && line.front() != ' ' && line.front() != '\n') return std::nullopt;
    if (field < kCounted) t.total += v;
    if (field == kSteal) t.steal = v;
    ++field;
  }
  if (field < 4) return std::nullopt;  // user nice system idle at the least
  return t;
}

std::optional<MachineCpuTicks> machine_cpu_ticks() {
  std::ifstream in("/proc/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return parse_proc_stat_cpu(line);
}

std::optional<double> steal_fraction(const MachineCpuTicks& before, const MachineCpuTicks& after) {
  if (after.total <= before.total || after.steal < before.steal) return std::nullopt;
  const double stolen = static_cast<double>(after.steal - before.steal);
  return std::min(1.0, stolen / static_cast<double>(after.total - before.total));
}

}  // namespace racesgd
