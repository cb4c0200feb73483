#include "runtime/run_memory.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>

#include "core/error.h"
#include "core/units.h"

namespace racesgd {
namespace {

constexpr std::uint64_t kFloatBytes = sizeof(float);

// 159010010 -> "159,010,010": parameter counts are read by people.
std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// a * b, saturating (a model of 2^62 parameters must not wrap around into "fits").
std::uint64_t times(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a)
    return std::numeric_limits<std::uint64_t>::max();
  return a * b;
}

std::uint64_t plus(std::uint64_t a, std::uint64_t b) {
  return b > std::numeric_limits<std::uint64_t>::max() - a
             ? std::numeric_limits<std::uint64_t>::max()
             : a + b;
}

}  // namespace

std::uint64_t machine_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  std::uint64_t bytes = pages > 0 && page > 0 ? times(static_cast<std::uint64_t>(pages),
                                                      static_cast<std::uint64_t>(page))
                                              : 0;
  // A container's limit is what the kernel enforces ("max" when there is none).
  std::ifstream cgroup("/sys/fs/cgroup/memory.max");
  std::string limit;
  if (cgroup >> limit && limit != "max") {
    try {
      const std::uint64_t l = std::stoull(limit);
      if (l > 0) bytes = bytes == 0 ? l : std::min(bytes, l);
    } catch (const std::exception&) {
      // unreadable: keep the physical size
    }
  }
  return bytes;
}

std::uint64_t resolve_snapshot_budget(std::uint64_t budget, std::uint64_t machine) {
  if (budget > 0) return budget;
  if (machine == 0) return kAutoSnapshotBudgetMax;
  return std::min(kAutoSnapshotBudgetMax, machine / 8);
}

std::size_t snapshot_slots(std::size_t dim, std::uint64_t budget) {
  const std::uint64_t per_slot = times(std::max<std::uint64_t>(dim, 1), kFloatBytes);
  return static_cast<std::size_t>(std::min<std::uint64_t>(kMaxSnapshots, budget / per_slot));
}

std::size_t run_weight_copies(bool real_clock, std::size_t P) {
  // Versioned weights: pool_size_for(readers) = readers + 2 buffers.
  const std::size_t pool = real_clock ? real_clock_readers(P) + 2 : (P + 2) + 2;
  const std::size_t gradients = real_clock ? 2 * P + 3 : P;
  return pool + gradients + 1 /* accumulator */ + 1 /* initial weights */;
}

std::size_t check_run_memory(const Model& model, std::size_t weight_copies,
                             std::uint64_t snapshot_budget, std::uint64_t machine) {
  const auto dim = static_cast<std::uint64_t>(model.num_params());
  const std::uint64_t copy = times(dim, kFloatBytes);
  const std::string head = "--model " + model.spec() + " has " + grouped(dim) +
                           " parameters (" + format_bytes(copy) + " per copy of the weights): ";
  const std::size_t slots = snapshot_slots(static_cast<std::size_t>(dim), snapshot_budget);
  if (slots < kMinSnapshots)
    throw InputError(head + "the " + std::to_string(kMinSnapshots) +
                     " evaluation snapshots a curve needs take " +
                     format_bytes(times(copy, kMinSnapshots)) +
                     ", more than the snapshot memory budget of " + format_bytes(snapshot_budget) +
                     "; raise --snapshot-memory or use a smaller model");
  const std::uint64_t run = times(copy, weight_copies);
  const std::uint64_t snapshots = times(copy, slots);
  const std::uint64_t total = plus(run, snapshots);
  if (machine > 0 && total > machine)
    throw InputError(head + "the run needs about " + format_bytes(total) + " (" +
                     std::to_string(weight_copies) +
                     " copies for versioned weights, gradients and the accumulator, " +
                     format_bytes(run) + "; " + std::to_string(slots) + " evaluation snapshots, " +
                     format_bytes(snapshots) + "), more than this machine's " +
                     format_bytes(machine) +
                     " of memory; use a smaller model, fewer learners (-P) or a smaller "
                     "--snapshot-memory");
  return slots;
}

std::size_t check_run_memory_here(const Model& model, std::size_t weight_copies,
                                  std::uint64_t snapshot_memory) {
  const std::uint64_t machine = machine_memory_bytes();
  return check_run_memory(model, weight_copies, resolve_snapshot_budget(snapshot_memory, machine),
                          machine);
}

std::uint64_t parse_memory_size(std::string_view text, std::string_view what) {
  struct Unit {
    std::string_view suffix;
    double scale;
  };
  // Longest suffixes first, so "MiB" is not read as "B" after a bad number "1Mi".
  static constexpr Unit kUnits[] = {
      {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0},
      {"kB", 1e3},     {"KB", 1e3},        {"MB", 1e6},           {"GB", 1e9},
      {"TB", 1e12},    {"K", 1024.0},      {"k", 1024.0},         {"M", 1048576.0},
      {"G", 1073741824.0}, {"T", 1099511627776.0}, {"B", 1.0}};
  const std::string bad = std::string(what) + ": '" + std::string(text) +
                          "' is not a memory size (expected a positive number with unit B, "
                          "KiB, MiB, GiB or TiB, e.g. 1GiB or 512MiB)";
  std::string_view number = text;
  double scale = 1.0;
  for (const Unit& u : kUnits) {
    if (text.size() > u.suffix.size() && text.ends_with(u.suffix)) {
      number = text.substr(0, text.size() - u.suffix.size());
      scale = u.scale;
      break;
    }
  }
  double v = 0;
  try {
    v = parse_double(number, what);
  } catch (const InputError&) {
    throw InputError(bad);
  }
  const double bytes = std::floor(v * scale);
  if (!(bytes >= 1.0) || bytes >= 1.8e19) throw InputError(bad);
  return static_cast<std::uint64_t>(bytes);
}

std::string format_bytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes) / 1024.0;
  std::size_t u = 0;
  while (v >= 1024.0 && u + 1 < std::size(kUnits)) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

}  // namespace racesgd
