#include "delay/delay_model.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "core/check.h"
#include "core/delay_cap.h"
#include "core/error.h"
#include "core/name_registry.h"
#include "delay/delay_builtin.h"

namespace racesgd {

DelayFacts DelayModel::facts() const { return DelayFacts{}; }

DelayFacts DelayModel::learner_facts(std::size_t /*learner*/) const { return facts(); }

void DelayModel::save_state(std::vector<std::uint64_t>& /*out*/) const {}

void DelayModel::restore_state(std::span<const std::uint64_t>& /*in*/) {}

namespace {

constexpr const char* kWhat = "delay spec";

struct Registered {
  std::string help;
  DelayFactory factory;
};

// The registry lives in a function-local static so that plug-ins registering from their
// own static initialisers never see it unconstructed, and its constructor adds the
// built-ins, so they exist whenever anything can look a name up.
class Registry {
 public:
  Registry() {
    for (auto& e : detail::builtin_delay_models())
      add(std::move(e.name), std::move(e.help), std::move(e.factory));
  }

  void add(std::string name, std::string help, DelayFactory factory) {
    RACESGD_CHECK_MSG(valid_registry_name(name), name.c_str());
    RACESGD_CHECK_MSG(factory != nullptr, name.c_str());
    const std::string what = "delay model name registered twice: " + name;
    const bool inserted = entries_.add(std::move(name), Registered{std::move(help), std::move(factory)});
    RACESGD_CHECK_MSG(inserted, what.c_str());
  }

  std::optional<DelayFactory> find(const std::string& name) const {
    std::optional<Registered> e = entries_.find(name);
    if (!e) return std::nullopt;
    return std::move(e->factory);
  }

  std::vector<std::pair<std::string, std::string>> help() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& [name, e] : entries_.entries()) out.emplace_back(name, e.help);
    return out;  // sorted by name
  }

  std::string known_names() const { return entries_.known_names(); }

 private:
  NameRegistry<Registered> entries_;
};

Registry& registry() {
  static Registry r;
  return r;
}

// The one place every draw passes through (make_delay_model wraps every model, nested ones
// included): clamps it to [0, kMaxDelaySeconds] so that no law's tail, trace or plug-in
// arithmetic can hand a clock an astronomically long or negative delay. +infinity stays
// "never finishes" unless the model's facts say its draws are finite (p_never = 0), in
// which case it is an overflow (lognormal with a huge sigma) and becomes the cap. NaN has
// no meaning as a time: it fails the learner, naming the model.
class CappedDelay final : public DelayModel {
 public:
  explicit CappedDelay(std::unique_ptr<DelayModel> inner)
      : inner_(std::move(inner)), may_never_finish_(inner_->facts().may_never_finish()) {}

  double sample(std::size_t learner, Rng& rng) override {
    const double x = clamp_delay_seconds(inner_->sample(learner, rng), may_never_finish_);
    if (std::isnan(x))
      throw std::runtime_error("delay model '" + inner_->spec() + "' drew NaN for learner " +
                               std::to_string(learner));
    return x;
  }
  bool may_draw_ahead() const override { return inner_->may_draw_ahead(); }
  std::string spec() const override { return inner_->spec(); }
  DelayFacts facts() const override { return inner_->facts(); }
  DelayFacts learner_facts(std::size_t learner) const override {
    return inner_->learner_facts(learner);
  }
  void save_state(std::vector<std::uint64_t>& out) const override { inner_->save_state(out); }
  void restore_state(std::span<const std::uint64_t>& in) override { inner_->restore_state(in); }

 private:
  std::unique_ptr<DelayModel> inner_;
  bool may_never_finish_;
};

}  // namespace

std::unique_ptr<DelayModel> make_delay_model(std::string_view text, const DelayContext& ctx) {
  RACESGD_CHECK(ctx.num_learners >= 1);
  Spec spec = parse_spec(text, kWhat);
  std::optional<DelayFactory> factory = registry().find(spec.name);
  SpecArgs args(std::move(spec), kWhat);
  if (!factory) {
    args.fail("unknown delay model '" + args.name() + "' (known: " + registry().known_names() + ")");
  }
  std::unique_ptr<DelayModel> model = (*factory)(args, ctx);
  RACESGD_CHECK_MSG(model != nullptr, args.name().c_str());
  args.finish();
  return std::make_unique<CappedDelay>(std::move(model));
}

std::unique_ptr<DelayModel> make_nested_delay_model(const SpecArgs& outer,
                                                    const std::string& inner_text,
                                                    const DelayContext& ctx) {
  try {
    return make_delay_model(inner_text, ctx);
  } catch (const InputError& e) {
    // "base=shifted-exp:shift=1ms,mean=2ms" splits at the comma: say how to fix that.
    const std::string& text = outer.spec().text;
    const bool maybe_split = text.find(inner_text + ",") != std::string::npos &&
                             text.find("(" + inner_text + ")") == std::string::npos;
    outer.fail(std::string("in nested spec: ") + e.what() +
               (maybe_split ? " (a nested spec with commas must be wrapped in parentheses)" : ""));
  }
}

void register_delay_model(std::string name, std::string help, DelayFactory factory) {
  registry().add(std::move(name), std::move(help), std::move(factory));
}

std::vector<std::pair<std::string, std::string>> delay_model_help() { return registry().help(); }

std::string format_spec_number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

std::string quote_nested_spec(const std::string& spec) {
  return spec.find(',') == std::string::npos ? spec : "(" + spec + ")";
}

}  // namespace racesgd
