// A user-defined straggler model, plugged into racesgd by name.
//
//   bursty:calm=1ms,burst=20ms,enter=0.05,leave=0.3
//
// Each learner is either calm or in a burst (a Markov-modulated exponential). Before every
// minibatch it may switch state: calm -> burst with probability `enter`, burst -> calm with
// probability `leave`; then it draws X ~ Exp(mean of its state). Learners start calm.
// Bursts last 1/leave minibatches on average, so slow minibatches come in runs, which the
// built-in i.i.d. models cannot express.
//
// Build this file into your program as an object file (not via a static library, whose
// linker may drop a translation unit nobody references) and the static registrar below adds
// "bursty" to make_delay_model() and to the --help list.
#include <cmath>
#include <memory>
#include <vector>

#include "core/check.h"
#include "core/units.h"
#include "delay/delay_model.h"

namespace {

class BurstyDelay final : public racesgd::DelayModel {
 public:
  BurstyDelay(double calm, double burst, double enter, double leave, std::size_t num_learners)
      : calm_(calm), burst_(burst), enter_(enter), leave_(leave), state_(num_learners) {}

  double sample(std::size_t learner, racesgd::Rng& rng) override {
    RACESGD_CHECK(learner < state_.size());
    bool& in_burst = state_[learner].in_burst;  // only `learner`'s own thread touches it
    in_burst = in_burst ? rng.uniform() >= leave_ : rng.uniform() < enter_;
    return rng.exponential(in_burst ? burst_ : calm_);
  }

  std::string spec() const override {
    return "bursty:calm=" + racesgd::format_duration(calm_) +
           ",burst=" + racesgd::format_duration(burst_) +
           ",enter=" + racesgd::format_spec_number(enter_) +
           ",leave=" + racesgd::format_spec_number(leave_);
  }

  // The stationary marginal of X: calm with probability leave / (enter + leave), i.e. a
  // hyperexponential. Consecutive draws are correlated, which these facts do not capture.
  racesgd::DelayFacts facts() const override {
    const double p = leave_ / (enter_ + leave_);
    racesgd::DelayFacts f;
    f.family = racesgd::DelayFacts::Family::kHyperExp;
    f.p = p;
    f.mean1 = calm_;
    f.mean2 = burst_;
    f.cdf = [p, m1 = calm_, m2 = burst_](double x) {
      return x <= 0 ? 0.0 : 1.0 - p * std::exp(-x / m1) - (1.0 - p) * std::exp(-x / m2);
    };
    f.mean_value = p * calm_ + (1.0 - p) * burst_;
    return f;
  }

 private:
  struct alignas(64) State {  // one cache line per learner: no false sharing between threads
    bool in_burst = false;
  };
  double calm_, burst_, enter_, leave_;
  std::vector<State> state_;
};

std::unique_ptr<racesgd::DelayModel> make_bursty(racesgd::SpecArgs& args,
                                                 const racesgd::DelayContext& ctx) {
  const double calm = args.duration("calm");
  const double burst = args.duration("burst");
  const double enter = args.number("enter", 0.05, 0.0, 1.0);
  const double leave = args.number("leave", 0.3, 0.0, 1.0);
  if (!(calm > 0 && burst > 0)) args.fail("calm and burst must be > 0");
  if (enter + leave == 0) args.fail("enter and leave cannot both be 0");
  return std::make_unique<BurstyDelay>(calm, burst, enter, leave, ctx.num_learners);
}

const racesgd::DelayModelRegistrar kBurstyRegistrar{
    "bursty", "bursty:calm=M1,burst=M2,enter=P,leave=Q  Markov-modulated Exp (example plug-in)",
    make_bursty};

}  // namespace
