#include "sgd/coordinator.h"

#include "core/check.h"

namespace racesgd {

Coordinator::Coordinator(Variant variant)
    : variant_(std::move(variant)), busy_(variant_.P, 0), contributed_(variant_.P, 0) {
  RACESGD_CHECK(variant_.P >= 1 && variant_.K >= 1 && variant_.K <= variant_.P);
}

Decision Coordinator::on_start() {
  Decision d;
  restart_all_into(d);
  return d;
}

void Coordinator::restart_all_into(Decision& d) {
  for (WorkerId w = 0; w < variant_.P; ++w) {
    if (busy_[w]) d.cancel.push_back(w);
    busy_[w] = 1;
    d.restart.push_back(w);
  }
}

Decision Coordinator::on_arrival(const Arrival& a) {
  RACESGD_CHECK(a.worker < variant_.P);
  RACESGD_CHECK_MSG(busy_[a.worker], "gradient from a learner that was not computing");
  RACESGD_CHECK(a.read <= version_);
  busy_[a.worker] = 0;

  Decision d;
  d.accept = true;
  d.staleness = version_ - a.read;
  ++pending_;
  const bool complete = pending_ == variant_.K;

  switch (variant_.kind) {
    case VariantKind::kKSync:
      // K distinct learners, all on the current version; the pusher waits for the update.
      RACESGD_CHECK_MSG(a.read == version_, "sync-family gradient on an old version");
      RACESGD_CHECK_MSG(!contributed_[a.worker], "K-sync learner pushed twice");
      contributed_[a.worker] = 1;
      if (complete) restart_all_into(d);  // stragglers cancelled, all P restart
      break;
    case VariantKind::kKBatchSync:
      // Any K minibatches on the current version; the pusher goes on on the same weights.
      RACESGD_CHECK_MSG(a.read == version_, "sync-family gradient on an old version");
      if (complete) {
        restart_all_into(d);
      } else {
        busy_[a.worker] = 1;
        d.restart.push_back(a.worker);
      }
      break;
    case VariantKind::kKAsync:
      // K distinct learners, any versions; pushers wait idle; nobody is interrupted.
      RACESGD_CHECK_MSG(!contributed_[a.worker], "K-async learner pushed twice");
      contributed_[a.worker] = 1;
      if (complete) {
        for (WorkerId w = 0; w < variant_.P; ++w) {
          if (contributed_[w]) {
            busy_[w] = 1;
            d.restart.push_back(w);
          }
        }
      }
      break;
    case VariantKind::kKBatchAsync:
      // The pusher fetches the newest weights at once; no learner ever waits.
      busy_[a.worker] = 1;
      d.restart.push_back(a.worker);
      break;
  }

  if (complete) {
    d.apply = true;
    ++version_;
    pending_ = 0;
    std::fill(contributed_.begin(), contributed_.end(), 0);
  }
  return d;
}

}  // namespace racesgd
