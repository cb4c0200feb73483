#include "sgd/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "core/spec.h"
#include "core/units.h"

namespace racesgd {
namespace {

std::string num(double x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

class ConstantLr final : public LrSchedule {
 public:
  explicit ConstantLr(double eta) : eta_(eta) {}
  double rate(const LrInputs&) const override { return eta_; }
  std::string spec() const override { return "constant(lr=" + num(eta_) + ")"; }

 private:
  double eta_;
};

class StalenessAdaptiveLr final : public LrSchedule {
 public:
  StalenessAdaptiveLr(double c, double eta_max) : c_(c), eta_max_(eta_max) {}
  double rate(const LrInputs& in) const override {
    // A fresh gradient (w_tau == w_j) has distance 0 and gets eta_max.
    if (!(in.distance2 > 0.0)) return eta_max_;
    return std::min(c_ / in.distance2, eta_max_);
  }
  bool needs_distance() const override { return true; }
  std::string spec() const override {
    return "staleness(c=" + num(c_) + ",lr_max=" + num(eta_max_) + ")";
  }

 private:
  double c_, eta_max_;
};

class InverseStalenessLr final : public LrSchedule {
 public:
  explicit InverseStalenessLr(double eta0) : eta0_(eta0) {}
  double rate(const LrInputs& in) const override {
    return eta0_ / static_cast<double>(std::max<std::uint64_t>(1, in.staleness));
  }
  std::string spec() const override { return "inverse-staleness(lr=" + num(eta0_) + ")"; }

 private:
  double eta0_;
};

class StepDecay final : public LrSchedule {
 public:
  StepDecay(std::unique_ptr<LrSchedule> inner, double every, bool by_time, double factor)
      : inner_(std::move(inner)), every_(every), by_time_(by_time), factor_(factor) {}
  double rate(const LrInputs& in) const override {
    const double progress = by_time_ ? in.time : static_cast<double>(in.update);
    const double steps = std::floor(progress / every_);
    return inner_->rate(in) * std::pow(factor_, steps);
  }
  bool needs_distance() const override { return inner_->needs_distance(); }
  std::string spec() const override {
    return inner_->spec() + "*step(every=" + (by_time_ ? format_duration(every_) : num(every_)) +
           ",factor=" + num(factor_) + ")";
  }

 private:
  std::unique_ptr<LrSchedule> inner_;
  double every_;
  bool by_time_;
  double factor_;
};

}  // namespace

std::vector<std::pair<std::string, std::string>> lr_schedule_help() {
  return {
      {"constant", "eta = --lr for every gradient"},
      {"staleness:c=C", "eta = min(C / ||w_j - w_tau||^2, --lr) per gradient (paper.md)"},
      {"inverse-staleness", "eta = --lr / max(1, staleness) per gradient (Zhang et al. 2016)"},
  };
}

std::unique_ptr<LrSchedule> make_lr_schedule(std::string_view schedule, double lr,
                                             std::string_view decay) {
  if (!(lr > 0.0) || !std::isfinite(lr))
    throw InputError("--lr: the learning rate must be a positive finite number, got " + num(lr));
  SpecArgs s(parse_spec(schedule, "--lr-schedule"), "--lr-schedule");
  std::unique_ptr<LrSchedule> base;
  if (s.name() == "constant") {
    base = std::make_unique<ConstantLr>(lr);
  } else if (s.name() == "staleness") {
    const double c = s.number("c", std::nullopt, 1e-300, 1e300);
    base = std::make_unique<StalenessAdaptiveLr>(c, lr);
  } else if (s.name() == "inverse-staleness") {
    base = std::make_unique<InverseStalenessLr>(lr);
  } else {
    s.fail("unknown schedule '" + s.name() + "' (known: constant, staleness:c=C, inverse-staleness)");
  }
  s.finish();

  SpecArgs d(parse_spec(decay, "--lr-decay"), "--lr-decay");
  if (d.name() == "none") {
    d.finish();
    return base;
  }
  if (d.name() != "step") d.fail("unknown decay '" + d.name() + "' (known: none, step)");
  const std::string every_text = d.required_text("every");
  const double factor = d.number("factor", 0.5, 1e-12, 1.0);
  d.finish();
  bool by_time = false;
  double every = 0;
  if (has_duration_unit(every_text)) {
    by_time = true;
    every = parse_duration_seconds(every_text, "--lr-decay every");
  } else {
    every = static_cast<double>(parse_int(every_text, "--lr-decay every"));
  }
  if (!(every > 0)) d.fail("'every' must be positive");
  return std::make_unique<StepDecay>(std::move(base), every, by_time, factor);
}

}  // namespace racesgd
