#include "sgd/k_schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/spec.h"
#include "core/units.h"

namespace racesgd {

KScheduleConfig parse_k_schedule(std::string_view spec) {
  SpecArgs s(parse_spec(spec, "--k-schedule"), "--k-schedule");
  KScheduleConfig c;
  if (s.name() == "fixed") {
    c.kind = KScheduleConfig::Kind::fixed;
  } else if (s.name() == "adasync") {
    c.kind = KScheduleConfig::Kind::adasync;
    if (!s.has("every")) s.fail("adasync needs every=T0, the run time between loss checks (e.g. every=0.5s)");
    c.every_s = s.duration("every", std::nullopt, 1e-6, 1e9);
    c.k0 = static_cast<std::size_t>(s.integer("k0", 0, 1, 1 << 20));
    c.samples = static_cast<std::size_t>(s.integer("samples", static_cast<long long>(c.samples), 0, 1LL << 40));
  } else {
    s.fail("unknown K schedule '" + s.name() + "' (known: fixed, adasync:every=T0[,k0=K0][,samples=N])");
  }
  s.finish();
  return c;
}

std::string to_string(const KScheduleConfig& c) {
  if (!c.adaptive()) return "fixed";
  return "adasync:every=" + format_number(c.every_s) + "s" + (c.k0 ? ",k0=" + std::to_string(c.k0) : "") +
         ",samples=" + std::to_string(c.samples);
}

void check_k_schedule(const KScheduleConfig& c, const Variant& v) {
  if (!c.adaptive()) return;
  const bool k_named = v.name == "k-sync" || v.name == "k-batch-sync" || v.name == "k-async" ||
                       v.name == "k-batch-async";
  if (!k_named) {
    const std::string why = v.name == "sync" ? "sync waits for all P learners by definition"
                                             : v.name + " applies every gradient alone (K = 1)";
    throw InputError("--k-schedule " + to_string(c) + ": AdaSync raises K, but " + why +
                     "; use k-sync, k-batch-sync, k-async or k-batch-async");
  }
  if (c.k0 > v.P)
    throw InputError("--k-schedule: k0=" + std::to_string(c.k0) + " is more than the " +
                     std::to_string(v.P) + " learners (-P)");
}

std::size_t adasync_k(std::size_t k0, std::size_t P, double f0, double f, std::size_t current) {
  if (!(f0 > 0) || !std::isfinite(f0) || std::isnan(f) || f < 0) return current;
  const double ratio = f > 0 ? std::sqrt(f0 / f) : std::numeric_limits<double>::infinity();
  const double k = std::ceil(static_cast<double>(k0) * ratio);
  const std::size_t target = k >= static_cast<double>(P) ? P : static_cast<std::size_t>(std::max(1.0, k));
  return std::max(current, target);
}

double next_check_after(double every_s, double t) {
  double n = std::floor(t / every_s) + 1;
  while (n * every_s <= t) ++n;
  return n * every_s;
}

AdaSyncSchedule::AdaSyncSchedule(const KScheduleConfig& c, std::size_t k0, std::size_t P, double f0)
    : c_(c), k0_(k0), P_(P) {
  s_.f0 = f0;
  s_.changes.push_back(KChange{0.0, 0, f0, k0});
  s_.next_s = k0 >= P ? std::numeric_limits<double>::infinity() : c.every_s;
}

std::size_t AdaSyncSchedule::on_loss(double time, std::uint64_t update, double loss) {
  const std::size_t before = k();
  const std::size_t now = adasync_k(k0_, P_, s_.f0, loss, before);
  s_.next_s = now >= P_ ? std::numeric_limits<double>::infinity() : next_check_after(c_.every_s, time);
  if (now == before) return 0;
  s_.changes.push_back(KChange{time, update, loss, now});
  return now;
}

void AdaSyncSchedule::skip_past(double t) {
  if (std::isfinite(s_.next_s) && s_.next_s <= t) s_.next_s = next_check_after(c_.every_s, t);
}

void AdaSyncSchedule::restore(State s) {
  auto bad = [](const std::string& what) { throw InputError("checkpoint: AdaSync state " + what); };
  if (s.changes.empty()) bad("has no start entry");
  for (std::size_t i = 0; i < s.changes.size(); ++i) {
    const KChange& ch = s.changes[i];
    if (ch.K < 1 || ch.K > P_ || (i > 0 && ch.K <= s.changes[i - 1].K))
      bad("has K = " + std::to_string(ch.K) + " at change " + std::to_string(i) +
          ", impossible for " + std::to_string(P_) + " learners starting at K0 = " + std::to_string(k0_));
  }
  if (s.changes.front().K != k0_)
    bad("starts at K = " + std::to_string(s.changes.front().K) + ", this run at K0 = " + std::to_string(k0_));
  if (!(s.next_s >= s.changes.back().time_s)) bad("checks next before its last change");
  s_ = std::move(s);
}

}  // namespace racesgd
