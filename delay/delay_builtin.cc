// The built-in delay models. Each is a small class: parameters validated in its factory
// (InputError via SpecArgs::fail), a sample() that never allocates and never throws (except
// `faulty`'s, whose throw is the point), a canonical spec() and the closed-form facts the
// theory calculator uses (p_never = 0 for every law with finite draws: see DelayFacts).
#include "delay/delay_builtin.h"

#include <algorithm>
#include <stdexcept>
#include <cmath>
#include <limits>

#include "core/check.h"
#include "core/delay_cap.h"
#include "core/error.h"
#include "core/units.h"
#include "delay/delay_trace.h"

namespace racesgd::detail {

DelayFacts scale_delay_facts(const DelayFacts& f, double c) {
  RACESGD_CHECK(c > 0);
  DelayFacts s = f;
  for (double* d :
       {&s.value, &s.min, &s.max, &s.shift, &s.mean, &s.scale, &s.median, &s.mean1, &s.mean2})
    *d *= c;  // NaN stays NaN
  if (f.cdf) s.cdf = [cdf = f.cdf, c](double x) { return cdf(x / c); };
  if (f.sf) s.sf = [sf = f.sf, c](double x) { return sf(x / c); };
  if (f.mean_value) s.mean_value = *f.mean_value * c;
  if (f.variance) s.variance = *f.variance * c * c;
  return s;
}

DelayFacts pool_delay_facts(const std::vector<DelayFacts>& per_learner) {
  RACESGD_CHECK(!per_learner.empty());
  DelayFacts pooled;
  pooled.homogeneous = false;
  const double n = static_cast<double>(per_learner.size());
  bool all_cdf = true, all_mean = true, all_var = true;
  double sum_mean = 0, sum_second = 0;
  for (const DelayFacts& f : per_learner) {
    all_cdf = all_cdf && static_cast<bool>(f.cdf);
    all_mean = all_mean && f.mean_value.has_value();
    all_var = all_var && f.mean_value.has_value() && f.variance.has_value();
    if (f.mean_value) sum_mean += *f.mean_value;
    if (f.mean_value && f.variance) sum_second += *f.variance + *f.mean_value * *f.mean_value;
  }
  if (all_cdf) {
    std::vector<std::function<double(double)>> cdfs;
    for (const DelayFacts& f : per_learner) cdfs.push_back(f.cdf);
    pooled.cdf = [cdfs, n](double x) {
      double s = 0;
      for (const auto& c : cdfs) s += c(x);
      return s / n;
    };
  }
  if (all_mean) pooled.mean_value = sum_mean / n;
  if (all_var) pooled.variance = sum_second / n - (sum_mean / n) * (sum_mean / n);
  bool all_never = true;
  double sum_never = 0;
  for (const DelayFacts& f : per_learner) {
    all_never = all_never && f.p_never.has_value();
    if (f.p_never) sum_never += *f.p_never;
    pooled.runs_out = pooled.runs_out || f.runs_out;
  }
  if (all_never) pooled.p_never = sum_never / n;
  return pooled;
}

std::span<const std::uint64_t> take_delay_state(std::span<const std::uint64_t>& in, std::size_t n,
                                                const std::string& model) {
  if (in.size() < n)
    throw InputError("checkpoint: the saved delay-model state is too short for '" + model +
                     "' (a checkpoint of another delay model?)");
  const std::span<const std::uint64_t> head = in.first(n);
  in = in.subspan(n);
  return head;
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
using Family = DelayFacts::Family;

// A duration parameter that must be strictly positive (a scale of a continuous law).
double positive_duration(SpecArgs& args, const std::string& key) {
  const double v = args.duration(key);
  if (!(v > 0))
    args.fail("parameter '" + key + "' must be > 0 (use const:value=0s or none for no delay)");
  return v;
}

double probability(SpecArgs& args, const std::string& key) {
  return args.number(key, std::nullopt, 0.0, 1.0);
}

std::function<double(double)> step_cdf(double at) {
  return [at](double x) { return x >= at ? 1.0 : 0.0; };
}

// ---------------------------------------------------------------------------------------

class NoneDelay final : public DelayModel {
 public:
  bool may_draw_ahead() const override { return true; }
  double sample(std::size_t, Rng&) override { return 0.0; }
  std::string spec() const override { return "none"; }
  DelayFacts facts() const override {
    DelayFacts f;
    f.family = Family::kNone;
    f.value = 0;
    f.p_never = 0;
    f.cdf = step_cdf(0);
    f.mean_value = 0;
    f.variance = 0;
    return f;
  }
};

class HangDelay final : public DelayModel {
 public:
  bool may_draw_ahead() const override { return true; }
  double sample(std::size_t, Rng&) override { return kInf; }
  std::string spec() const override { return "hang"; }
  DelayFacts facts() const override {
    DelayFacts f;
    f.family = Family::kHang;
    f.value = kInf;
    f.cdf = [](double) { return 0.0; };
    f.p_never = 1;
    return f;  // no finite mean
  }
};

class ConstDelay final : public DelayModel {
 public:
  bool may_draw_ahead() const override { return true; }
  explicit ConstDelay(double value) : value_(value) {}
  double sample(std::size_t, Rng&) override { return value_; }
  std::string spec() const override { return "const:value=" + format_duration(value_); }
  DelayFacts facts() const override {
    DelayFacts f;
    f.family = Family::kConst;
    f.value = value_;
    f.p_never = 0;
    f.cdf = step_cdf(value_);
    f.mean_value = value_;
    f.variance = 0;
    return f;
  }

 private:
  double value_;
};

class UniformDelay final : public DelayModel {
 public:
  bool may_draw_ahead() const override { return true; }
  UniformDelay(double lo, double hi) : lo_(lo), hi_(hi) {}
  double sample(std::size_t, Rng& rng) override { return rng.uniform(lo_, hi_); }
  std::string spec() const override {
    return "uniform:min=" + format_duration(lo_) + ",max=" + format_duration(hi_);
  }
  DelayFacts facts() const override {
    DelayFacts f;
    f.family = Family::kUniform;
    f.p_never = 0;
    f.min = lo_;
    f.max = hi_;
    if (hi_ > lo_)
      f.cdf = [lo = lo_, hi = hi_](double x) { return std::clamp((x - lo) / (hi - lo), 0.0, 1.0); };
    else
      f.cdf = step_cdf(lo_);
    f.mean_value = 0.5 * (lo_ + hi_);
    f.variance = (hi_ - lo_) * (hi_ - lo_) / 12.0;
    return f;
  }

 private:
  double lo_, hi_;
};

// X = shift + Exp(mean); plain "exp" is the shift = 0 case with its own name and family.
class ShiftedExpDelay final : public DelayModel {
 public:
  bool may_draw_ahead() const override { return true; }
  ShiftedExpDelay(double shift, double mean, bool named_exp)
      : shift_(shift), mean_(mean), named_exp_(named_exp) {}
  double sample(std::size_t, Rng& rng) override { return shift_ + rng.exponential(mean_); }
  std::string spec() const override {
    if (named_exp_) return "exp:mean=" + format_duration(mean_);
    return "shifted-exp:shift=" + format_duration(shift_) + ",mean=" + format_duration(mean_);
  }
  DelayFacts facts() const override {
    DelayFacts f;
    f.family = named_exp_ ? Family::kExp : Family::kShiftedExp;
    f.p_never = 0;
    f.shift = shift_;
    f.mean = mean_;
    f.cdf = [s = shift_, m = mean_](double x) { return x <= s ? 0.0 : -std::expm1(-(x - s) / m); };
    f.sf = [s = shift_, m = mean_](double x) { return x <= s ? 1.0 : std::exp(-(x - s) / m); };
    f.mean_value = shift_ + mean_;
    f.variance = mean_ * mean_;
    return f;
  }

 private:
  double shift_, mean_;
  bool named_exp_;
};

class ParetoDelay final : public DelayModel {
 public:
  bool may_draw_ahead() const override { return true; }
  ParetoDelay(double scale, double alpha) : scale_(scale), alpha_(alpha) {}
  // Inverse cdf with U in (0, 1]: X = scale * U^(-1/alpha) >= scale, finite.
  double sample(std::size_t, Rng& rng) override {
    return scale_ * std::pow(rng.uniform_pos(), -1.0 / alpha_);
  }
  std::string spec() const override {
    return "pareto:scale=" + format_duration(scale_) + ",alpha=" + format_spec_number(alpha_);
  }
  DelayFacts facts() const override {
    DelayFacts f;
    f.family = Family::kPareto;
    f.p_never = 0;
    f.scale = scale_;
    f.alpha = alpha_;
    f.cdf = [s = scale_, a = alpha_](double x) { return x <= s ? 0.0 : 1.0 - std::pow(s / x, a); };
    f.sf = [s = scale_, a = alpha_](double x) { return x <= s ? 1.0 : std::pow(s / x, a); };
    f.mean_value = alpha_ * scale_ / (alpha_ - 1.0);
    if (alpha_ > 2.0)
      f.variance = scale_ * scale_ * alpha_ / ((alpha_ - 1.0) * (alpha_ - 1.0) * (alpha_ - 2.0));
    return f;
  }

 private:
  double scale_, alpha_;
};

class LogNormalDelay final : public DelayModel {
 public:
  bool may_draw_ahead() const override { return true; }
  LogNormalDelay(double median, double sigma) : median_(median), sigma_(sigma) {}
  double sample(std::size_t, Rng& rng) override {
    return median_ * std::exp(sigma_ * rng.normal());
  }
  std::string spec() const override {
    return "lognormal:median=" + format_duration(median_) + ",sigma=" + format_spec_number(sigma_);
  }
  DelayFacts facts() const override {
    DelayFacts f;
    f.family = Family::kLogNormal;
    f.p_never = 0;
    f.median = median_;
    f.sigma = sigma_;
    f.cdf = [m = median_, s = sigma_](double x) {
      return x <= 0 ? 0.0 : 0.5 * std::erfc(-std::log(x / m) / (s * std::sqrt(2.0)));
    };
    f.sf = [m = median_, s = sigma_](double x) {
      return x <= 0 ? 1.0 : 0.5 * std::erfc(std::log(x / m) / (s * std::sqrt(2.0)));
    };
    const double s2 = sigma_ * sigma_;
    f.mean_value = median_ * std::exp(0.5 * s2);
    f.variance = std::expm1(s2) * median_ * median_ * std::exp(s2);
    return f;
  }

 private:
  double median_, sigma_;
};

DelayFacts hyperexp_facts(double p, double m1, double m2) {
  DelayFacts f;
  f.family = Family::kHyperExp;
  f.p_never = 0;
  f.p = p;
  f.mean1 = m1;
  f.mean2 = m2;
  f.cdf = [p, m1, m2](double x) {
    return x <= 0 ? 0.0 : 1.0 - p * std::exp(-x / m1) - (1.0 - p) * std::exp(-x / m2);
  };
  f.sf = [p, m1, m2](double x) {
    return x <= 0 ? 1.0 : p * std::exp(-x / m1) + (1.0 - p) * std::exp(-x / m2);
  };
  const double mean = p * m1 + (1 - p) * m2;
  f.mean_value = mean;
  f.variance = 2.0 * (p * m1 * m1 + (1 - p) * m2 * m2) - mean * mean;
  return f;
}

class HyperExpDelay final : public DelayModel {
 public:
  bool may_draw_ahead() const override { return true; }
  HyperExpDelay(double p, double m1, double m2) : p_(p), m1_(m1), m2_(m2) {}
  double sample(std::size_t, Rng& rng) override {
    const double mean = rng.uniform() < p_ ? m1_ : m2_;
    return rng.exponential(mean);
  }
  std::string spec() const override {
    return "hyperexp:p=" + format_spec_number(p_) + ",mean1=" + format_duration(m1_) +
           ",mean2=" + format_duration(m2_);
  }
  DelayFacts facts() const override { return hyperexp_facts(p_, m1_, m2_); }

 private:
  double p_, m1_, m2_;
};

// Mixture: with probability p from `slow`, else from `base`. Two exponentials mix into a
// hyperexponential, which has a closed form.
DelayFacts mix_facts(const DelayFacts& base, const DelayFacts& slow, double p) {
  if (base.family == Family::kExp && slow.family == Family::kExp)
    return hyperexp_facts(1.0 - p, base.mean, slow.mean);
  DelayFacts f;
  if (base.cdf && slow.cdf)
    f.cdf = [b = base.cdf, s = slow.cdf, p](double x) { return (1 - p) * b(x) + p * s(x); };
  if (base.mean_value && slow.mean_value)
    f.mean_value = (1 - p) * *base.mean_value + p * *slow.mean_value;
  if (f.mean_value && base.variance && slow.variance) {
    const double second = (1 - p) * (*base.variance + *base.mean_value * *base.mean_value) +
                          p * (*slow.variance + *slow.mean_value * *slow.mean_value);
    f.variance = second - *f.mean_value * *f.mean_value;
  }
  if (base.p_never && slow.p_never) f.p_never = (1 - p) * *base.p_never + p * *slow.p_never;
  f.runs_out = (p < 1 && base.runs_out) || (p > 0 && slow.runs_out);
  return f;
}

class StragglerDelay final : public DelayModel {
 public:
  StragglerDelay(std::unique_ptr<DelayModel> base, std::unique_ptr<DelayModel> slow, double p)
      : base_(std::move(base)), slow_(std::move(slow)), p_(p) {}
  // The coin is always drawn first, so a seed fixes which minibatches are slow.
  double sample(std::size_t learner, Rng& rng) override {
    return rng.uniform() < p_ ? slow_->sample(learner, rng) : base_->sample(learner, rng);
  }
  bool may_draw_ahead() const override { return base_->may_draw_ahead() && slow_->may_draw_ahead(); }
  std::string spec() const override {
    return "straggler:base=" + quote_nested_spec(base_->spec()) +
           ",slow=" + quote_nested_spec(slow_->spec()) + ",p=" + format_spec_number(p_);
  }
  DelayFacts facts() const override {
    const DelayFacts b = base_->facts(), s = slow_->facts();
    DelayFacts f = mix_facts(b, s, p_);
    f.homogeneous = b.homogeneous && s.homogeneous;
    return f;
  }
  DelayFacts learner_facts(std::size_t learner) const override {
    return mix_facts(base_->learner_facts(learner), slow_->learner_facts(learner), p_);
  }
  void save_state(std::vector<std::uint64_t>& out) const override {
    base_->save_state(out);
    slow_->save_state(out);
  }
  void restore_state(std::span<const std::uint64_t>& in) override {
    base_->restore_state(in);
    slow_->restore_state(in);
  }

 private:
  std::unique_ptr<DelayModel> base_, slow_;
  double p_;
};

class HeteroDelay final : public DelayModel {
 public:
  HeteroDelay(std::unique_ptr<DelayModel> inner, std::vector<double> scales)
      : inner_(std::move(inner)), scales_(std::move(scales)) {}
  double sample(std::size_t learner, Rng& rng) override {
    RACESGD_CHECK(learner < scales_.size());
    return scales_[learner] * inner_->sample(learner, rng);
  }
  bool may_draw_ahead() const override { return inner_->may_draw_ahead(); }
  std::string spec() const override {
    std::string s = "hetero:" + quote_nested_spec(inner_->spec()) + ",scales=";
    for (std::size_t i = 0; i < scales_.size(); ++i)
      s += (i ? "," : "") + format_spec_number(scales_[i]);
    return s;
  }
  DelayFacts facts() const override {
    const bool equal =
        std::all_of(scales_.begin(), scales_.end(), [&](double c) { return c == scales_.front(); });
    if (equal) return scale_delay_facts(inner_->facts(), scales_.front());
    std::vector<DelayFacts> per;
    for (std::size_t i = 0; i < scales_.size(); ++i) per.push_back(learner_facts(i));
    return pool_delay_facts(per);
  }
  DelayFacts learner_facts(std::size_t learner) const override {
    RACESGD_CHECK(learner < scales_.size());
    return scale_delay_facts(inner_->learner_facts(learner), scales_[learner]);
  }
  void save_state(std::vector<std::uint64_t>& out) const override { inner_->save_state(out); }
  void restore_state(std::span<const std::uint64_t>& in) override { inner_->restore_state(in); }

 private:
  std::unique_ptr<DelayModel> inner_;
  std::vector<double> scales_;
};

// Fault injection: throws from sample() at learner `learner`'s (after+1)-th minibatch, so
// tests and users can see how a run survives a learner that fails mid-run.
class FaultyDelay final : public DelayModel {
 public:
  FaultyDelay(std::unique_ptr<DelayModel> base, std::size_t learner, std::uint64_t after,
              std::size_t num_learners)
      : base_(std::move(base)), learner_(learner), after_(after), count_(num_learners, 0) {}
  double sample(std::size_t learner, Rng& rng) override {
    RACESGD_CHECK(learner < count_.size());
    if (learner == learner_ && count_[learner]++ == after_)
      throw std::runtime_error("injected fault (delay model 'faulty') at minibatch " +
                               std::to_string(after_ + 1));
    return base_->sample(learner, rng);
  }
  // Its fault comes at a count of draws, whenever they are made.
  bool may_draw_ahead() const override { return base_->may_draw_ahead(); }
  std::string spec() const override {
    return "faulty:base=" + quote_nested_spec(base_->spec()) + ",learner=" +
           std::to_string(learner_) + ",after=" + std::to_string(after_);
  }
  DelayFacts facts() const override { return base_->facts(); }
  DelayFacts learner_facts(std::size_t learner) const override { return base_->learner_facts(learner); }
  // The per-learner minibatch counts, then the base model's state.
  void save_state(std::vector<std::uint64_t>& out) const override {
    out.insert(out.end(), count_.begin(), count_.end());
    base_->save_state(out);
  }
  void restore_state(std::span<const std::uint64_t>& in) override {
    const auto saved = take_delay_state(in, count_.size(), spec());
    std::copy(saved.begin(), saved.end(), count_.begin());
    base_->restore_state(in);
  }

 private:
  std::unique_ptr<DelayModel> base_;
  std::size_t learner_;
  std::uint64_t after_;
  std::vector<std::uint64_t> count_;  // per learner: each entry touched by its own thread only
};

// ---------------------------------------------------------------------------------------

std::unique_ptr<DelayModel> make_faulty(SpecArgs& a, const DelayContext& ctx) {
  auto base = make_nested_delay_model(a, a.required_text("base"), ctx);
  const auto learner = static_cast<std::size_t>(a.integer("learner", 0, 0, 1 << 20));
  if (learner >= ctx.num_learners)
    a.fail("learner " + std::to_string(learner) + " does not exist (there are " +
           std::to_string(ctx.num_learners) + " learners)");
  const auto after = static_cast<std::uint64_t>(a.integer("after", 0));
  return std::make_unique<FaultyDelay>(std::move(base), learner, after, ctx.num_learners);
}

std::unique_ptr<DelayModel> make_uniform(SpecArgs& a, const DelayContext&) {
  const double lo = a.duration("min"), hi = a.duration("max");
  if (hi < lo) a.fail("max must be >= min");
  return std::make_unique<UniformDelay>(lo, hi);
}

std::unique_ptr<DelayModel> make_pareto(SpecArgs& a, const DelayContext&) {
  const double scale = positive_duration(a, "scale");
  const double alpha = a.number("alpha", std::nullopt, 0.0);
  if (!(alpha > 1.0))
    a.fail("alpha = " + format_spec_number(alpha) +
           " gives an infinite mean; need alpha > 1 (alpha in (1, 2] has infinite variance)");
  return std::make_unique<ParetoDelay>(scale, alpha);
}

std::unique_ptr<DelayModel> make_lognormal(SpecArgs& a, const DelayContext&) {
  const double median = positive_duration(a, "median");
  const double sigma = a.number("sigma", std::nullopt, 0.0);
  if (!(sigma > 0)) a.fail("parameter 'sigma' must be > 0 (sigma = 0 is const:value=<median>)");
  return std::make_unique<LogNormalDelay>(median, sigma);
}

std::unique_ptr<DelayModel> make_straggler(SpecArgs& a, const DelayContext& ctx) {
  auto base = make_nested_delay_model(a, a.required_text("base"), ctx);
  auto slow = make_nested_delay_model(a, a.required_text("slow"), ctx);
  const double p = probability(a, "p");
  return std::make_unique<StragglerDelay>(std::move(base), std::move(slow), p);
}

std::unique_ptr<DelayModel> make_hetero(SpecArgs& a, const DelayContext& ctx) {
  a.allow_positional(1);  // finish() rejects a second positional
  if (a.num_positional() == 0)
    a.fail("needs the inner spec as its first argument, e.g. hetero:exp:mean=5ms,scales=1,4");
  auto inner = make_nested_delay_model(a, a.positional(0), ctx);
  std::vector<double> scales = a.number_list("scales", 0.0);
  if (scales.size() != ctx.num_learners)
    a.fail("scales has " + std::to_string(scales.size()) + " entries but there are " +
           std::to_string(ctx.num_learners) + " learners (one scale per learner)");
  for (std::size_t w = 0; w < scales.size(); ++w) {
    const double c = scales[w];
    if (!(c > 0)) a.fail("every scale must be > 0");
    // A scale that lifts the mean past the delay cap would have nearly every draw clamped:
    // the run would not be the one asked for (docs/delay-models.md, "The delay cap").
    const std::optional<double> mean = inner->learner_facts(w).mean_value;
    if (mean && c * *mean > kMaxDelaySeconds)
      a.fail("scale " + format_spec_number(c) + " of learner " + std::to_string(w) +
             " makes its mean minibatch time " + format_duration(c * *mean) +
             ", above the delay cap of " + format_duration(kMaxDelaySeconds));
  }
  return std::make_unique<HeteroDelay>(std::move(inner), std::move(scales));
}

}  // namespace

std::vector<DelayModelEntry> builtin_delay_models() {
  std::vector<DelayModelEntry> v;
  v.push_back({"none", "none  X = 0 (no injected delay)",
               [](SpecArgs&, const DelayContext&) { return std::make_unique<NoneDelay>(); }});
  v.push_back({"hang", "hang  X = +infinity: the learner never finishes (watchdog tests)",
               [](SpecArgs&, const DelayContext&) { return std::make_unique<HangDelay>(); }});
  v.push_back({"faulty",
               "faulty:base=SPEC,learner=W,after=N  like SPEC, but learner W's minibatch N+1 "
               "throws (fault injection)",
               make_faulty});
  v.push_back({"const", "const:value=D  X = D", [](SpecArgs& a, const DelayContext&) {
                 return std::make_unique<ConstDelay>(a.duration("value"));
               }});
  v.push_back({"uniform", "uniform:min=A,max=B  X ~ U[A, B]", make_uniform});
  v.push_back({"exp", "exp:mean=M  X ~ Exp(mean M)", [](SpecArgs& a, const DelayContext&) {
                 return std::make_unique<ShiftedExpDelay>(0.0, positive_duration(a, "mean"), true);
               }});
  v.push_back({"shifted-exp",
               "shifted-exp:shift=S,mean=M  X = S + Exp(mean M) (M: the exponential part's mean)",
               [](SpecArgs& a, const DelayContext&) {
                 const double shift = a.duration("shift");
                 return std::make_unique<ShiftedExpDelay>(shift, positive_duration(a, "mean"),
                                                          false);
               }});
  v.push_back(
      {"pareto", "pareto:scale=S,alpha=A  P(X > x) = (S/x)^A for x >= S; A > 1", make_pareto});
  v.push_back(
      {"lognormal", "lognormal:median=M,sigma=S  ln X ~ Normal(ln M, S^2)", make_lognormal});
  v.push_back({"hyperexp", "hyperexp:p=P,mean1=M1,mean2=M2  Exp(M1) with prob P, else Exp(M2)",
               [](SpecArgs& a, const DelayContext&) {
                 const double p = probability(a, "p");
                 const double m1 = positive_duration(a, "mean1");
                 return std::make_unique<HyperExpDelay>(p, m1, positive_duration(a, "mean2"));
               }});
  v.push_back({"straggler", "straggler:base=SPEC,slow=SPEC,p=P  each minibatch is slow with prob P",
               make_straggler});
  v.push_back(
      {"hetero", "hetero:SPEC,scales=C0,C1,...  learner i draws SPEC times Ci", make_hetero});
  v.push_back({"trace",
               "trace:file=F,end=cycle|stop,unit=s|ms|us|ns  replay CSV delays (per learner)",
               make_trace_delay_model});
  return v;
}

}  // namespace racesgd::detail
