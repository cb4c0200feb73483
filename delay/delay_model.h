// DelayModel: the distribution (or trace) of one minibatch's wall-clock time X on one
// learner — the paper's straggler model — plus the name -> factory registry that turns spec
// strings ("exp:mean=5ms", "hetero:(shifted-exp:shift=1ms,mean=2ms),scales=1,4") into
// models. docs/delay-models.md lists every built-in model and the plug-in API.
//
// Thread-safety: a model is built during set-up (make_delay_model may throw InputError);
// afterwards sample() is called concurrently from P learner threads, each passing its own
// learner index and its own Rng. Models keep per-learner state (trace cursors, Markov states)
// in per-learner slots, so concurrent sample() calls for distinct learners never race.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "core/spec.h"

namespace racesgd {

/// What the theory calculator may know about a model's distribution. Every field is
/// optional in spirit: `family` says which of the closed-form parameters below are set;
/// `cdf`, `mean_value` and `variance` are set whenever they are known and finite.
/// All durations are in seconds.
struct DelayFacts {
  enum class Family {
    kUnknown,     // no closed form; use cdf / mean_value if present
    kNone,        // X = 0
    kConst,       // X = value
    kUniform,     // X ~ U[min, max]
    kExp,         // X ~ Exp with mean `mean` (rate 1/mean)
    kShiftedExp,  // X = shift + Exp(mean): `mean` is the exponential part's mean only
    kPareto,      // P(X > x) = (scale / x)^alpha for x >= scale
    kLogNormal,   // ln X ~ Normal(ln median, sigma^2)
    kHyperExp,    // with prob p Exp(mean1), else Exp(mean2)
    kEmpirical,   // a trace: cdf / mean_value are the empirical ones
    kHang,        // X = +infinity: the learner never finishes
  };
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

  Family family = Family::kUnknown;
  double value = kNaN;                          // kConst
  double min = kNaN, max = kNaN;                // kUniform
  double shift = kNaN, mean = kNaN;             // kShiftedExp (shift, mean); kExp (mean; shift = 0)
  double scale = kNaN, alpha = kNaN;            // kPareto
  double median = kNaN, sigma = kNaN;           // kLogNormal
  double p = kNaN, mean1 = kNaN, mean2 = kNaN;  // kHyperExp

  /// True when every learner draws from one distribution. When false, the fields above
  /// describe the pooled law of "a uniformly chosen learner's X" and per-learner facts come
  /// from DelayModel::learner_facts().
  bool homogeneous = true;
  /// P(X <= x); empty if unknown. Must be callable from any thread (captures by value).
  std::function<double(double)> cdf;
  /// P(X > x), computed directly (not as 1 - cdf, which loses all precision in the tail);
  /// empty if the model has no better formula than 1 - cdf.
  std::function<double(double)> sf;
  std::optional<double> mean_value;  // E[X] when known and finite
  std::optional<double> variance;    // Var[X] when known and finite

  /// P(X = +infinity) for one draw, i.e. that the learner never finishes: 0 for every law
  /// whose draws are finite, 1 for hang, P for straggler:...,slow=hang,p=P. Empty when
  /// unknown (the default, e.g. a plug-in that does not say). The other facts describe the
  /// finite part (cdf, mean), so cdf(x) tends to 1 - p_never.
  /// Setting it to 0 also tells the registry's wrapper that a +infinity draw is an
  /// overflow, to be clamped to kMaxDelaySeconds rather than served as "never".
  std::optional<double> p_never;
  /// True when draws turn +infinity for good after finitely many (trace:...,end=stop once
  /// its values run out): the long-run time per update is then infinite whatever the
  /// facts above say about the values themselves.
  bool runs_out = false;

  /// Whether a learner can be stuck forever: p_never > 0 or runs_out.
  bool may_never_finish() const { return runs_out || !p_never || *p_never > 0; }
  /// Whether the facts say some draw is +infinity (p_never > 0 known, or runs_out): unlike
  /// may_never_finish(), an unknown p_never counts as "no".
  bool known_to_never_finish() const { return runs_out || (p_never && *p_never > 0); }
};

/// Where a model is built: how many learners will call sample() (learner indices are
/// 0..num_learners-1) and the directory relative trace paths are resolved against.
struct DelayContext {
  std::size_t num_learners = 1;
  std::filesystem::path base_dir = ".";
};

class DelayModel {
 public:
  virtual ~DelayModel() = default;

  /// Draws learner `learner`'s next minibatch time X in seconds (>= 0; +infinity = never
  /// finishes). `rng` is that learner's own stream. Called only from the thread that owns
  /// `learner`'s stream (one thread per learner index), so per-learner state indexed by
  /// `learner` needs no locking. Should not allocate (hot path);
  /// learner >= num_learners is a programming error (RACESGD_CHECK).
  /// May throw std::exception to fail this learner (fault injection: the built-in `faulty`
  /// does): both runtimes catch it and report "learner W failed: what()", then stop the run
  /// (exit 1) or, with --on-learner-failure continue, go on without the learner. Models
  /// built by make_delay_model are wrapped so that every draw is clamped to
  /// [0, kMaxDelaySeconds] (core/delay_cap.h) and a NaN draw throws, naming the model.
  virtual double sample(std::size_t learner, Rng& rng) = 0;

  /// Whether learner w's draws depend only on w's stream and the model's state for w (a
  /// count, a cursor; nothing shared between learners), never on when they are made: then the real clock may draw a learner's next X one update
  /// early -- the same values, in the same order -- to know which job comes first
  /// (worker/learner_pool.h). The default says no: a model may read a clock, or a knob
  /// another thread sets. The built-in models and traces say yes; composite ones when
  /// their parts do.
  virtual bool may_draw_ahead() const { return false; }

  /// Canonical spec string, e.g. "exp:mean=5ms"; make_delay_model(spec()) builds an
  /// equivalent model (durations are printed with 6 significant digits).
  virtual std::string spec() const = 0;

  /// Facts for the theory calculator. The default knows nothing (Family::kUnknown).
  /// Thread-safe (const, no shared mutable state). Allocates.
  virtual DelayFacts facts() const;

  /// Facts about learner `learner`'s own distribution. The default returns facts(), which is
  /// right for homogeneous models; heterogeneous ones override it.
  virtual DelayFacts learner_facts(std::size_t learner) const;

  /// Checkpoints: appends the model's mutable state (trace cursors, fault counters) to
  /// `out`; composite models append their inner models' after their own. Stateless models
  /// (the default) append nothing. Call only while no sample() runs. Allocates.
  virtual void save_state(std::vector<std::uint64_t>& out) const;

  /// Restores what save_state appended, consuming it from the front of `in` (which then
  /// starts at the next model's state). The default consumes nothing. Call only while no
  /// sample() runs. Throws InputError when `in` is too short or its values do not fit this
  /// model (a checkpoint of another delay model or trace).
  virtual void restore_state(std::span<const std::uint64_t>& in);
};

/// Parses a spec string into a model for ctx.num_learners learners. The model the factory
/// built is returned inside a thin wrapper that forwards everything and clamps each draw
/// (see sample() and core/delay_cap.h): every model, built-in or plug-in, nested or not,
/// goes through that one clamp. Throws InputError whose
/// message names the spec text and the problem (unknown model — listing the known ones —,
/// missing/unknown/out-of-range parameter, bad unit, unbalanced parentheses, unreadable or
/// malformed trace file with its path and line). Thread-safe; allocates.
std::unique_ptr<DelayModel> make_delay_model(std::string_view text, const DelayContext& ctx);

/// Builds a nested model from a parameter or positional of an outer spec. Errors name both
/// the outer spec (via `outer`) and the inner text. For factories of composite models.
std::unique_ptr<DelayModel> make_nested_delay_model(const SpecArgs& outer,
                                                    const std::string& inner_text,
                                                    const DelayContext& ctx);

/// A factory reads its parameters through `args` (typed getters; each getter marks the key
/// as accepted, and make_delay_model rejects any other key after the factory returns) and
/// throws InputError via args.fail() on bad values. Must not return null.
using DelayFactory =
    std::function<std::unique_ptr<DelayModel>(SpecArgs& args, const DelayContext& ctx)>;

/// Plug-in API: registers a model under `name` (a spec-grammar name: letters, digits,
/// '_', '-', '.'), with one line of help text ("exp:mean=D  exponential, mean D").
/// Thread-safe; may be called during static initialisation (see DelayModelRegistrar).
/// A name that is taken (built-ins included) or malformed is a programming error
/// (RACESGD_CHECK aborts naming it).
void register_delay_model(std::string name, std::string help, DelayFactory factory);

/// (name, help) of every registered model, sorted by name, for --help. Thread-safe.
std::vector<std::pair<std::string, std::string>> delay_model_help();

/// Registers a model when constructed; declare one at namespace scope in the plug-in's
/// translation unit:  `const racesgd::DelayModelRegistrar kReg{"bursty", "...", factory};`
/// A static registrar in a static library can be dropped by the linker when nothing else
/// references its translation unit: link such plug-ins as object files, or call
/// register_delay_model() explicitly from main().
struct DelayModelRegistrar {
  DelayModelRegistrar(std::string name, std::string help, DelayFactory factory) {
    register_delay_model(std::move(name), std::move(help), std::move(factory));
  }
};

/// Formats a number the way canonical specs print it ("%g"): "0.1", "2.5", "1e-05".
std::string format_spec_number(double x);

/// Wraps a nested spec in parentheses when it contains a comma, so it can be written as
/// one parameter value or positional of an outer spec.
std::string quote_nested_spec(const std::string& spec);

}  // namespace racesgd
