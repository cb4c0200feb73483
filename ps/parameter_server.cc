#include "ps/parameter_server.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "core/check.h"
#include "core/error.h"

namespace racesgd {

namespace {
constexpr double kNotIdle = std::numeric_limits<double>::infinity();

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}
}  // namespace

ParameterServer::ParameterServer(const Variant& variant, VersionedWeights& weights,
                                 const LrSchedule& lr, const CompensationConfig& compensation)
    : coordinator_(variant),
      weights_(weights),
      lr_(lr),
      accumulator_(weights.dim()),
      tracker_(variant.P),
      compensation_(compensation, weights.dim()),
      idle_since_(variant.P, kNotIdle),
      busy_since_(variant.P, 0.0) {
  pending_.reserve(variant.P);
  if (compensation_.active()) compensated_.resize(weights.dim());
  current_ = weights_.pin_latest();
}

Decision ParameterServer::start(double time) {
  Decision d = coordinator_.on_start();
  account_restarts(d, time);
  last_update_time_ = time;
  return d;
}

void ParameterServer::account_restarts(const Decision& d, double time) {
  for (LearnerId w : d.cancel) tracker_.record_cancelled(w);
  for (LearnerId w : d.restart) {
    busy_since_[w] = time;
    if (idle_since_[w] != kNotIdle) {
      tracker_.record_idle(w, time - idle_since_[w]);
      idle_since_[w] = kNotIdle;
    }
  }
}

Decision ParameterServer::on_gradient(const GradientArrival& a) {
  RACESGD_CHECK(a.grad.size() == weights_.dim());
  RACESGD_CHECK(a.storage == nullptr || a.storage->data() == a.grad.data());
  Decision d = coordinator_.on_arrival(Arrival{a.learner, a.read});
  const Version update_index = coordinator_.version() - (d.apply ? 1 : 0);
  LrInputs in;
  in.staleness = d.staleness;
  in.update = update_index;
  in.time = a.time;
  if (lr_.needs_distance() && d.staleness > 0) {
    RACESGD_CHECK(a.read_weights.size() == weights_.dim());
    in.distance2 = squared_distance(current_.weights(), a.read_weights);
  }
  const double lr = lr_.rate(in);
  pending_.push_back(PendingGradient{a.learner, a.read, d.staleness, lr});
  // Delay compensation rewrites the gradient: in its own buffer when the PS may take it,
  // else in a copy.
  std::span<const float> g = a.grad;
  if (compensation_.active()) {
    RACESGD_CHECK(a.read_weights.size() == weights_.dim());
    std::span<float> out = compensated_;
    if (a.storage != nullptr)
      out = a.storage->span();
    else
      std::copy(a.grad.begin(), a.grad.end(), compensated_.begin());
    compensation_.apply(out, current_.weights(), a.read_weights, d.staleness > 0);
    g = out;
  }
  // An update of this gradient alone (async, k = 1) is folded into the publishing pass:
  // one pass over d floats fewer (docs/performance.md, "Parameter server"); so is the last
  // gradient of several when its buffer is the PS's to write.
  if (d.apply && (accumulator_.count() == 0 || a.storage != nullptr)) {
    apply_update(d, a.time, g, a.storage);
  } else {
    if (!std::isfinite(accumulator_.add(g, lr)))
      refuse(Divergence{update_index + 1, a.learner, a.read, d.staleness, lr, true});
    if (d.apply) apply_update(d, a.time);
  }
  // A learner that pushed and is not restarted waits for new weights from now on.
  bool restarted = false;
  for (LearnerId w : d.restart) restarted = restarted || w == a.learner;
  if (!restarted) idle_since_[a.learner] = a.time;
  account_restarts(d, a.time);
  return d;
}

void ParameterServer::refuse(Divergence d) {
  // Nothing of the refused update counts: its gradients leave with it.
  pending_.clear();
  divergence_ = d;
  const std::string facts = "learner " + std::to_string(d.learner) + ", read version " +
                            std::to_string(d.read) + ", staleness " +
                            std::to_string(d.staleness) + ", lr " + format_number(d.lr);
  const std::string what =
      d.in_gradient ? "the gradient for update " + std::to_string(d.update) + " (" + facts +
                          ") contains"
                    : "the weights after update " + std::to_string(d.update) +
                          " (last gradient: " + facts + ") contain";
  throw RunError(what + " NaN or Inf: the run diverged; update " +
                 std::to_string(d.update) + " was refused, the weights stay at version " +
                 std::to_string(weights_.latest_version()));
}

void ParameterServer::apply_update(const Decision& d, double time, std::span<const float> alone,
                                   GradientBuffer* storage) {
  RACESGD_CHECK(!pending_.empty());
  const PendingGradient last_gradient = pending_.back();
  // Alternate directions from one update to the next (sgd/update_accumulator.h, Sweep).
  const Sweep sweep = coordinator_.version() % 2 == 0 ? Sweep::forward : Sweep::backward;
  // Checked before the new weights become visible: throwing out of the fill publishes
  // nothing, so learners, evaluation and the curve keep the last finite weights.
  auto check = [&](const UpdateAccumulator::Norms& norms) {
    // The gradient first, as add() would have refused it; then the weights it made.
    const bool in_gradient = !std::isfinite(norms.gradient2);
    if (in_gradient || !std::isfinite(norms.weights2))
      refuse(Divergence{coordinator_.version(), last_gradient.learner, last_gradient.read,
                        last_gradient.staleness, last_gradient.lr, in_gradient});
  };
  if (storage != nullptr) {
    // The update's last gradient, in its own buffer: the new version is written over it,
    // the gradient alone or joining the ones accumulated before.
    weights_.publish_in(*storage, [&](std::span<float> g_then_w, std::span<const float> cur) {
      check(accumulator_.count() == 0
                ? accumulator_.apply_one_in_place(g_then_w, cur, last_gradient.lr, sweep)
                : accumulator_.apply_last_in_place(g_then_w, cur, last_gradient.lr, sweep));
    });
  } else {
    weights_.publish([&](std::span<float> dst, std::span<const float> cur) {
      UpdateAccumulator::Norms norms;
      if (alone.empty())
        norms.weights2 = accumulator_.apply_into(dst, cur, sweep);
      else
        norms = accumulator_.apply_one_into(dst, cur, alone, last_gradient.lr, sweep);
      check(norms);
    });
  }
  current_ = weights_.pin_latest();
  last_update_time_ = time;
  UpdateRecord record;
  if (log_updates_) {
    record.version = coordinator_.version();
    record.time = time;
    record.cancelled = d.cancel;
  }
  if (coordinator_.variant().is_ssp()) tracker_.record_clock_spread(coordinator_.clock_spread());
  for (const PendingGradient& g : pending_) {
    tracker_.record_applied(g.learner, g.staleness);
    lr_sum_ += g.lr;
    if (log_updates_) record.contributions.emplace_back(g.learner, g.read);
  }
  pending_.clear();
  if (log_updates_) update_log_.push_back(std::move(record));
}

Decision ParameterServer::retire(LearnerId w, double time) {
  Decision d = coordinator_.retire(w);
  idle_since_[w] = kNotIdle;
  if (d.apply) apply_update(d, time);
  account_restarts(d, time);
  return d;
}

Decision ParameterServer::set_k(std::size_t K, double time) {
  Decision d = coordinator_.set_k(K);
  if (d.apply) apply_update(d, time);
  account_restarts(d, time);
  return d;
}

std::vector<std::pair<LearnerId, double>> ParameterServer::busy_learners(double now) const {
  std::vector<std::pair<LearnerId, double>> out;
  for (LearnerId w = 0; w < coordinator_.variant().P; ++w)
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
  s.pending = pending_;
  s.tracker = tracker_.state();
  s.idle_since = idle_since_;
  s.busy_since = busy_since_;
  s.last_update_time = last_update_time_;
  s.lr_sum = lr_sum_;
  s.compensation_mean_square.assign(compensation_.mean_square().begin(),
                                    compensation_.mean_square().end());
  return s;
}

void ParameterServer::restore(const ParameterServerState& s) {
  const std::size_t P = coordinator_.variant().P;
  if (s.idle_since.size() != P || s.busy_since.size() != P)
    throw InputError("checkpoint: parameter-server state is not for " + std::to_string(P) +
                     " learners");
  if (s.pending_count != s.coordinator.pending || s.pending.size() != s.pending_count)
    throw InputError("checkpoint: " + std::to_string(s.pending_count) +
                     " gradients in the pending update but the coordinator counts " +
                     std::to_string(s.coordinator.pending) + " and their statistics " +
                     std::to_string(s.pending.size()));
  for (const PendingGradient& g : s.pending)
    if (g.learner >= P || g.read > s.coordinator.version ||
        g.staleness != s.coordinator.version - g.read)
      throw InputError("checkpoint: a pending gradient of learner " + std::to_string(g.learner) +
                       " read version " + std::to_string(g.read) +
                       " with staleness " + std::to_string(g.staleness) +
                       ", impossible at version " + std::to_string(s.coordinator.version));
  RACESGD_CHECK(weights_.latest_version() == s.coordinator.version);
  compensation_.restore(s.compensation_mean_square);  // validates first, like the next
  coordinator_.restore(s.coordinator);  // validates; changes nothing when it throws
  tracker_.restore(s.tracker);
  accumulator_.restore(s.pending_sum, static_cast<std::size_t>(s.pending_count));
  pending_ = s.pending;
  pending_.reserve(P);
  idle_since_ = s.idle_since;
  busy_since_ = s.busy_since;
  last_update_time_ = s.last_update_time;
  lr_sum_ = s.lr_sum;
  current_ = weights_.pin_latest();
}

ParameterServerState ParameterServer::without_pending(ParameterServerState s) {
  s.coordinator.pending = 0;
  std::fill(s.coordinator.contributed.begin(), s.coordinator.contributed.end(), 0);
  std::fill(s.pending_sum.begin(), s.pending_sum.end(), 0.0f);
  s.pending_count = 0;
  s.pending.clear();
  return s;
}

}  // namespace racesgd
