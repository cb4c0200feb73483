#include "sgd/coordinator.h"

#include <algorithm>
#include <cstdint>

#include "core/check.h"
#include "core/error.h"

namespace racesgd {

Coordinator::Coordinator(Variant variant)
    : variant_(std::move(variant)),
      busy_(variant_.P, 0),
      contributed_(variant_.P, 0),
      active_(variant_.P, 1),
      started_(variant_.P, 0),
      active_count_(variant_.P),
      target_k_(variant_.K),
      k_(variant_.K),
      clocks_(variant_.is_ssp() ? variant_.P : 0, 0) {
  RACESGD_CHECK(variant_.P >= 1 && variant_.K >= 1 && variant_.K <= variant_.P);
  RACESGD_CHECK(!variant_.is_ssp() || variant_.K == 1);
  RACESGD_CHECK_MSG(!(variant_.cutoff.enabled() && variant_.is_sync_family()),
                    "a staleness cutoff on a sync-family variant");
}

Decision Coordinator::on_start() {
  Decision d;
  restart_all_into(d);
  stamp_restarts(d);
  return d;
}

// Every learner a decision restarts reads the newest version after it (the one the
// update published, if any).
void Coordinator::stamp_restarts(const Decision& d) {
  for (LearnerId w : d.restart) started_[w] = version_;
}

void Coordinator::restart_all_into(Decision& d) {
  for (LearnerId w = 0; w < variant_.P; ++w) {
    if (!active_[w]) continue;
    if (busy_[w]) d.cancel.push_back(w);
    busy_[w] = 1;
    d.restart.push_back(w);
  }
}

Decision Coordinator::on_arrival(const Arrival& a) {
  RACESGD_CHECK(a.learner < variant_.P);
  RACESGD_CHECK_MSG(active_[a.learner], "gradient from a learner that left the run");
  RACESGD_CHECK_MSG(busy_[a.learner], "gradient from a learner that was not computing");
  RACESGD_CHECK(a.read <= version_);
  RACESGD_CHECK_MSG(!variant_.cutoff.expired(a.read, version_),
                    "gradient at staleness >= R: its learner should have been cancelled");
  busy_[a.learner] = 0;

  Decision d;
  d.staleness = version_ - a.read;
  ++pending_;
  const bool complete = pending_ >= k_;

  switch (variant_.kind) {
    case VariantKind::kKSync:
      // K distinct learners, all on the current version; the pusher waits for the update.
      RACESGD_CHECK_MSG(a.read == version_, "sync-family gradient on an old version");
      RACESGD_CHECK_MSG(!contributed_[a.learner], "K-sync learner pushed twice");
      contributed_[a.learner] = 1;
      break;
    case VariantKind::kKBatchSync:
      // Any K minibatches on the current version; the pusher goes on on the same weights.
      RACESGD_CHECK_MSG(a.read == version_, "sync-family gradient on an old version");
      if (!complete) {
        busy_[a.learner] = 1;
        d.restart.push_back(a.learner);
      }
      break;
    case VariantKind::kKAsync:
      // K distinct learners, any versions; pushers wait idle; nobody is interrupted.
      RACESGD_CHECK_MSG(!contributed_[a.learner], "K-async learner pushed twice");
      contributed_[a.learner] = 1;
      break;
    case VariantKind::kKBatchAsync:
      // The pusher fetches the newest weights at once; no learner ever waits.
      busy_[a.learner] = 1;
      d.restart.push_back(a.learner);
      break;
    case VariantKind::kSsp:
      // Applied at once (K = 1); who goes on is decided with the new clocks below.
      ++clocks_[a.learner];
      break;
  }
  if (complete) complete_into(d);
  stamp_restarts(d);
  return d;
}

void Coordinator::complete_into(Decision& d) {
  switch (variant_.kind) {
    case VariantKind::kKSync:
    case VariantKind::kKBatchSync:
      restart_all_into(d);  // stragglers cancelled, every learner restarts on the new version
      break;
    case VariantKind::kKAsync:
      for (LearnerId w = 0; w < variant_.P; ++w) {
        if (contributed_[w] && active_[w]) {  // only the K pushers get the new weights
          busy_[w] = 1;
          d.restart.push_back(w);
        }
      }
      break;
    case VariantKind::kKBatchAsync:  // pushers restarted on arrival
    case VariantKind::kSsp:          // learners restart below, once the version has moved
      break;
  }
  d.apply = true;
  ++version_;
  pending_ = 0;
  std::fill(contributed_.begin(), contributed_.end(), 0);
  if (variant_.is_ssp()) release_within_bound_into(d);
  cancel_expired_into(d);
}

// A learner is waiting when it is in the run and not computing. It may start its next
// minibatch while its clock is at most the slowest learner's plus S; the pusher is
// checked with its new clock, and a pusher that was the slowest may release others.
// Learners restart in learner order (the virtual clock's event order depends on it).
void Coordinator::release_within_bound_into(Decision& d) {
  if (active_count_ == 0) return;
  std::uint64_t slowest = UINT64_MAX;
  for (LearnerId w = 0; w < variant_.P; ++w)
    if (active_[w]) slowest = std::min(slowest, clocks_[w]);
  for (LearnerId w = 0; w < variant_.P; ++w) {
    if (!active_[w] || busy_[w] || clocks_[w] > slowest + variant_.staleness_bound) continue;
    busy_[w] = 1;
    d.restart.push_back(w);
  }
}

std::uint64_t Coordinator::clock_spread() const {
  if (clocks_.empty() || active_count_ == 0) return 0;
  std::uint64_t lo = UINT64_MAX, hi = 0;
  for (LearnerId w = 0; w < variant_.P; ++w)
    if (active_[w]) {
      lo = std::min(lo, clocks_[w]);
      hi = std::max(hi, clocks_[w]);
    }
  return hi - lo;
}

// Ringmaster: a computation this update made R versions old could only yield a gradient
// that is never applied, so it stops now and its learner starts over on the new weights.
// Learners this decision already restarts (pushers) are fresh.
void Coordinator::cancel_expired_into(Decision& d) {
  if (!variant_.cutoff.enabled()) return;
  for (LearnerId w = 0; w < variant_.P; ++w) {
    if (!busy_[w] || !active_[w] || !variant_.cutoff.expired(started_[w], version_)) continue;
    if (std::find(d.restart.begin(), d.restart.end(), w) != d.restart.end()) continue;
    d.cancel.push_back(w);
    d.restart.push_back(w);
  }
}

Decision Coordinator::set_k(std::size_t K) {
  RACESGD_CHECK_MSG(!variant_.is_ssp(), "a K schedule on ssp");
  RACESGD_CHECK(K >= variant_.K && K <= variant_.P);
  target_k_ = K;
  k_ = std::min(target_k_, active_count_);
  Decision d;
  if (active_count_ > 0 && pending_ > 0 && pending_ >= k_) complete_into(d);
  stamp_restarts(d);
  return d;
}

Decision Coordinator::retire(LearnerId w) {
  RACESGD_CHECK(w < variant_.P);
  RACESGD_CHECK_MSG(active_[w], "learner retired twice");
  active_[w] = 0;
  busy_[w] = 0;
  --active_count_;
  k_ = std::min(target_k_, active_count_);
  Decision d;
  if (active_count_ > 0 && pending_ > 0 && pending_ >= k_) complete_into(d);
  // SSP: the slowest learner may have left, letting the ones that waited for it go on.
  if (variant_.is_ssp()) release_within_bound_into(d);
  stamp_restarts(d);
  return d;
}

CoordinatorState Coordinator::state() const {
  return CoordinatorState{version_, pending_, k_, target_k_, busy_,
                          contributed_, active_, clocks_, started_};
}

void Coordinator::restore(const CoordinatorState& s) {
  const std::size_t P = variant_.P;
  auto flags_ok = [P](const std::vector<char>& v) {
    return v.size() == P && std::all_of(v.begin(), v.end(), [](char c) { return c == 0 || c == 1; });
  };
  if (!flags_ok(s.busy) || !flags_ok(s.contributed) || !flags_ok(s.active) ||
      s.clocks.size() != clocks_.size())
    throw InputError("checkpoint: coordinator state is not for " + std::to_string(P) +
                     " learners" + (variant_.is_ssp() ? " of ssp" : ""));
  const auto active = static_cast<std::size_t>(std::count(s.active.begin(), s.active.end(), 1));
  const std::size_t target = s.target_k == 0 ? variant_.K : s.target_k;
  if (target < variant_.K || target > P || (variant_.is_ssp() && target != 1))
    throw InputError("checkpoint: coordinator state has a target K = " + std::to_string(target) +
                     ", impossible for " + variant_.describe());
  if (s.k != std::min(target, active) || (active > 0 && s.pending >= s.k))
    throw InputError("checkpoint: coordinator state has K = " + std::to_string(s.k) + " and " +
                     std::to_string(s.pending) + " pending gradients, impossible for " +
                     variant_.describe() + " with " + std::to_string(active) + " active learners");
  if (s.started.size() != P)
    throw InputError("checkpoint: coordinator state has " + std::to_string(s.started.size()) +
                     " learner start versions, not " + std::to_string(P));
  for (LearnerId w = 0; w < P; ++w) {
    if (s.started[w] > s.version)
      throw InputError("checkpoint: learner " + std::to_string(w) + " started on version " +
                       std::to_string(s.started[w]) + ", after the current version " +
                       std::to_string(s.version));
    if (s.busy[w] && variant_.cutoff.expired(s.started[w], s.version))
      throw InputError("checkpoint: learner " + std::to_string(w) + " computes on version " +
                       std::to_string(s.started[w]) + ", too stale for " + variant_.describe() +
                       " at version " + std::to_string(s.version));
  }
  version_ = s.version;
  pending_ = s.pending;
  k_ = s.k;
  target_k_ = target;
  busy_ = s.busy;
  contributed_ = s.contributed;
  active_ = s.active;
  started_ = s.started;
  active_count_ = active;
  clocks_ = s.clocks;
}

}  // namespace racesgd
