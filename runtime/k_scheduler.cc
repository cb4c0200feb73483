#include "runtime/k_scheduler.h"

#include <limits>

#include "core/error.h"
#include "core/rng.h"
#include "models/transforms.h"

namespace racesgd {

KScheduler::KScheduler(const RunInputs& in, const RunCheckpoint* resume) {
  const RunSettings& s = in.settings;
  if (!s.k_schedule.adaptive()) return;
  check_k_schedule(s.k_schedule, s.variant);
  if (s.timing_only || !in.model || !in.train)
    throw InputError("--k-schedule " + to_string(s.k_schedule) +
                     ": AdaSync scores the training loss, which --timing-only does not compute");
  model_ = in.model;
  every_s_ = s.k_schedule.every_s;
  // Its own stream (index 1; the curve's train-loss subsample draws from index 0): other
  // rows than the curve's, and unchanged when --eval-train-samples changes.
  sample_ = subsample(*in.train, static_cast<std::int64_t>(s.k_schedule.samples),
                      derive_seed(s.seed, 1, StreamPurpose::kOther));
  // The variant's K is K0 (experiment parsing makes k0= and -K one value).
  const double f0 = resume ? 0.0 : loss(in.w0);
  schedule_.emplace(s.k_schedule, s.variant.K, s.variant.P, f0);
}

double KScheduler::next_check() const {
  return schedule_ ? schedule_->next_check() : std::numeric_limits<double>::infinity();
}

double KScheduler::loss(std::span<const float> w) const {
  return model_->evaluate(w, sample_).loss;
}

std::size_t KScheduler::on_loss(double time, std::uint64_t update, double loss) {
  return schedule_->on_loss(time, update, loss);
}

void KScheduler::skip_past(double t) { schedule_->skip_past(t); }

std::vector<KChange> KScheduler::changes() const {
  return schedule_ ? schedule_->changes() : std::vector<KChange>{};
}

void KScheduler::save(RunCheckpoint& c) const {
  c.has_k_schedule = schedule_.has_value();
  if (schedule_) c.k_schedule = schedule_->state();
}

void KScheduler::restore(const RunCheckpoint& c) {
  if (c.has_k_schedule != schedule_.has_value())
    throw InputError(std::string("checkpoint: taken with ") +
                     (c.has_k_schedule ? "an AdaSync K schedule" : "a fixed K") +
                     ", resumed with " + (schedule_ ? "an AdaSync one" : "a fixed K"));
  if (!schedule_) return;
  schedule_->restore(c.k_schedule);
  if (schedule_->k() != c.ps.coordinator.target_k)
    throw InputError("checkpoint: AdaSync's K " + std::to_string(schedule_->k()) +
                     " is not the coordinator's " + std::to_string(c.ps.coordinator.target_k));
}

}  // namespace racesgd
