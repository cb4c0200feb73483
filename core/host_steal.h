// How much of this machine's CPU time its host took for others (steal time): on a virtual
// machine whose host is busy, the vCPUs stop for tens of microseconds to milliseconds at a
// time, and a real-clock run then measures the host's other tenants along with the delay
// model (docs/performance.md, "Tenth pass": 18% steal made the same run 5-60% slow).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace racesgd {

/// The machine's CPU time so far, in the kernel's clock ticks (USER_HZ): all of it, and
/// the share the hypervisor gave to others while a vCPU wanted to run (steal).
struct MachineCpuTicks {
  std::uint64_t total = 0;
  std::uint64_t steal = 0;
};

/// The aggregate "cpu" line of /proc/stat ("cpu  user nice system idle iowait irq softirq
/// steal guest guest_nice"; kernels before 2.6.11 stop before steal, which then is 0);
/// nullopt when `line` is not such a line.
std::optional<MachineCpuTicks> parse_proc_stat_cpu(std::string_view line);

/// This machine's ticks now (/proc/stat); nullopt when they cannot be read.
std::optional<MachineCpuTicks> machine_cpu_ticks();

/// The share of the machine's CPU time from `before` to `after` that was stolen, in
/// [0, 1]; nullopt when no time passed or the counters went backwards.
std::optional<double> steal_fraction(const MachineCpuTicks& before, const MachineCpuTicks& after);

}  // namespace racesgd
