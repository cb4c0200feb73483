#include "sgd/parameter_server.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/check.h"
#include "core/error.h"
#include "sgd/run_types.h"

namespace racesgd {

namespace {
constexpr double kNotIdle = std::numeric_limits<double>::infinity();
}

ParameterServer::ParameterServer(const Variant& variant, VersionedWeights& weights,
                                 const LrSchedule& lr)
    : coordinator_(variant),
      weights_(weights),
      lr_(lr),
      accumulator_(weights.dim()),
      tracker_(variant.P),
      idle_since_(variant.P, kNotIdle),
      busy_since_(variant.P, 0.0) {
  current_ = weights_.pin_latest();
}

Decision ParameterServer::start(double time) {
  Decision d = coordinator_.on_start();
  account_restarts(d, time);
  last_update_time_ = time;
  return d;
}

void ParameterServer::account_restarts(const Decision& d, double time) {
  for (WorkerId w : d.cancel) tracker_.record_cancelled(w);
  for (WorkerId w : d.restart) {
    busy_since_[w] = time;
    if (idle_since_[w] != kNotIdle) {
      tracker_.record_idle(w, time - idle_since_[w]);
      idle_since_[w] = kNotIdle;
    }
  }
}

Decision ParameterServer::on_gradient(const GradientArrival& a) {
  RACESGD_CHECK(a.grad.size() == weights_.dim());
  Decision d = coordinator_.on_arrival(Arrival{a.worker, a.read});
  const Version update_index = coordinator_.version() - (d.apply ? 1 : 0);
  if (d.accept) {
    LrInputs in;
    in.staleness = d.staleness;
    in.update = update_index;
    in.time = a.time;
    if (lr_.needs_distance() && d.staleness > 0) {
      RACESGD_CHECK(a.read_weights.size() == weights_.dim());
      in.distance2 = squared_distance(current_.weights(), a.read_weights);
    }
    const double lr = lr_.rate(in);
    lr_sum_ += lr;
    const double g2 = accumulator_.add(a.grad, lr);
    if (!std::isfinite(g2))
      throw RunError("gradient from worker " + std::to_string(a.worker) + " (read version " +
                     std::to_string(a.read) + ") for update " + std::to_string(update_index + 1) +
                     " contains NaN or Inf: the run diverged (try a smaller --lr)");
    tracker_.record_applied(a.worker, d.staleness);
    if (log_updates_) pending_record_.contributions.emplace_back(a.worker, a.read);
  }
  if (d.apply) apply_update(d, a.worker, a.time);
  // A learner that pushed and is not restarted waits for new weights from now on.
  bool restarted = false;
  for (WorkerId w : d.restart) restarted = restarted || w == a.worker;
  if (!restarted) idle_since_[a.worker] = a.time;
  account_restarts(d, a.time);
  return d;
}

void ParameterServer::apply_update(const Decision& d, WorkerId last, double time) {
  double w2 = 0;
  weights_.publish([&](std::span<float> dst, std::span<const float> cur) {
    w2 = accumulator_.apply_into(dst, cur);
  });
  current_ = weights_.pin_latest();
  last_update_time_ = time;
  if (!std::isfinite(w2))
    throw RunError("weights after update " + std::to_string(coordinator_.version()) +
                   " (last gradient from worker " + std::to_string(last) +
                   ") contain NaN or Inf: the run diverged (try a smaller --lr)");
  if (log_updates_) {
    pending_record_.version = coordinator_.version();
    pending_record_.time = time;
    pending_record_.cancelled = d.cancel;
    update_log_.push_back(std::move(pending_record_));
    pending_record_ = UpdateRecord{};
  }
}

Decision ParameterServer::retire(WorkerId w, double time) {
  Decision d = coordinator_.retire(w);
  idle_since_[w] = kNotIdle;
  if (d.apply) apply_update(d, w, time);
  account_restarts(d, time);
  return d;
}

std::vector<std::pair<WorkerId, double>> ParameterServer::busy_workers(double now) const {
  std::vector<std::pair<WorkerId, double>> out;
  for (WorkerId w = 0; w < coordinator_.variant().P; ++w)
    if (coordinator_.busy(w)) out.emplace_back(w, now - busy_since_[w]);
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

ParameterServerState ParameterServer::state() const {
  ParameterServerState s;
  s.coordinator = coordinator_.state();
  s.pending_sum.assign(accumulator_.sum().begin(), accumulator_.sum().end());
  s.pending_count = accumulator_.count();
  s.tracker = tracker_.state();
  s.idle_since = idle_since_;
  s.busy_since = busy_since_;
  s.last_update_time = last_update_time_;
  s.lr_sum = lr_sum_;
  return s;
}

void ParameterServer::restore(const ParameterServerState& s) {
  const std::size_t P = coordinator_.variant().P;
  if (s.idle_since.size() != P || s.busy_since.size() != P)
    throw InputError("checkpoint: parameter-server state is not for " + std::to_string(P) +
                     " learners");
  if (s.pending_count != s.coordinator.pending)
    throw InputError("checkpoint: " + std::to_string(s.pending_count) +
                     " gradients in the pending update but the coordinator counts " +
                     std::to_string(s.coordinator.pending));
  RACESGD_CHECK(weights_.latest_version() == s.coordinator.version);
  coordinator_.restore(s.coordinator);  // validates; changes nothing when it throws
  tracker_.restore(s.tracker);
  accumulator_.restore(s.pending_sum, static_cast<std::size_t>(s.pending_count));
  idle_since_ = s.idle_since;
  busy_since_ = s.busy_since;
  last_update_time_ = s.last_update_time;
  lr_sum_ = s.lr_sum;
  current_ = weights_.pin_latest();
}

CurvePoint take_curve_counters(ParameterServer& ps, double time_s, double wall_s) {
  CurvePoint p;
  p.time_s = time_s;
  p.updates = ps.published_version();
  p.gradients = ps.gradients_applied() - ps.pending_gradients();
  p.staleness_mean = ps.tracker().take_interval_mean();
  p.wall_s = wall_s;
  return p;
}

void collect_ps_statistics(const ParameterServer& ps, RunResult& r) {
  // Counted as published: gradients still pending at the stop were accepted (and are in
  // the staleness statistics) but never applied.
  r.updates = ps.published_version();
  r.gradients_applied = ps.gradients_applied() - ps.pending_gradients();
  r.gradients_cancelled = ps.tracker().cancelled();
  r.last_update_time_s = ps.last_update_time();
  r.staleness_mean = ps.tracker().mean();
  r.staleness_max = ps.tracker().max();
  r.p0 = ps.tracker().fresh_fraction();
  r.staleness_histogram = ps.tracker().histogram();
  r.per_worker = ps.tracker().per_worker();
  r.mean_lr =
      ps.gradients_applied() ? ps.lr_sum() / static_cast<double>(ps.gradients_applied()) : 0;
  r.update_log = ps.update_log();
}

}  // namespace racesgd
