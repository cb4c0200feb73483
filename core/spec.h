// Spec strings: the one grammar every run-time choice is named by, e.g.
//   "exp:mean=5ms"   "mlp:hidden=256,128"   "hetero:(shifted-exp:shift=1ms,mean=2ms),scales=1,1,4"
//   "straggler:base=exp:mean=1ms,slow=exp:mean=20ms,p=0.1"
//
// Grammar: NAME [":" ITEM ("," ITEM)*]. Items are split at commas outside parentheses or
// brackets. An item "key=value" (key: letters, digits, '_', '-', '.') starts a parameter;
// an item without a key continues the previous parameter's value as a list ("256,128");
// before any key it is a positional argument. A value or positional wrapped in (...) is
// taken verbatim without the parentheses, which is how a nested spec with commas is written.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/delay_cap.h"

namespace racesgd {

struct Spec {
  std::string text;                                         // as the user wrote it
  std::string name;                                         // "exp"
  std::vector<std::string> positional;                      // "exp:mean=5ms" in hetero:...
  std::vector<std::pair<std::string, std::string>> params;  // in order of appearance
};

/// Parses `text`. Throws InputError naming `what` (e.g. "delay spec") and the text on an
/// empty name, unbalanced parentheses, an empty item or a repeated key.
Spec parse_spec(std::string_view text, std::string_view what);

/// Typed, validated access to a parsed spec's parameters. Every getter records the key as
/// known; finish() then rejects any parameter nobody asked for, listing the accepted ones.
/// Errors are InputError messages of the form "<what> '<text>': <problem>".
class SpecArgs {
 public:
  SpecArgs(Spec spec, std::string what);

  const Spec& spec() const { return spec_; }
  const std::string& name() const { return spec_.name; }
  /// What the spec is, as errors name it ("delay spec", or a flag such as "--trace").
  const std::string& what() const { return what_; }
  [[noreturn]] void fail(const std::string& problem) const;

  bool has(const std::string& key) const;
  std::optional<std::string> text(const std::string& key);
  std::string required_text(const std::string& key);

  /// Durations in seconds ("5ms"); must lie in [min, max]. The default max is the delay
  /// cap (core/delay_cap.h): spec durations are delay-model parameters, and one above the
  /// cap is an input error here rather than a silently clamped draw later.
  double duration(const std::string& key, std::optional<double> fallback = std::nullopt,
                  double min = 0.0, double max = kMaxDelaySeconds);
  double number(const std::string& key, std::optional<double> fallback = std::nullopt,
                double min = -1e300, double max = 1e300);
  long long integer(const std::string& key, std::optional<long long> fallback = std::nullopt,
                    long long min = 0, long long max = (1LL << 62));
  std::vector<double> number_list(const std::string& key, double min = -1e300,
                                  double max = 1e300);
  std::vector<long long> integer_list(const std::string& key, long long min = 0,
                                      long long max = (1LL << 62));

  std::size_t num_positional() const { return spec_.positional.size(); }
  const std::string& positional(std::size_t i) const;
  /// Declares how many positional arguments are allowed (default 0).
  void allow_positional(std::size_t max) { max_positional_ = max; }

  /// Throws if a parameter was never asked for or too many positionals were given.
  void finish() const;

 private:
  const std::string* find(const std::string& key) const;
  Spec spec_;
  std::string what_;
  std::set<std::string> known_;
  std::size_t max_positional_ = 0;
};

}  // namespace racesgd
