// The parameter table: every CLI parameter declared once, with its default, valid range
// and help text. The one table drives --help, validation (experiment_config.h) and the
// "config" section of every output file.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace racesgd {

struct ParamDef {
  std::string name;           // long flag without dashes: "variant"
  std::string short_name;     // one letter ("P"), or ""
  std::string default_value;  // textual default; "" = unset
  std::string range;          // valid values, for --help: "1..P", "> 0", "real|virtual"
  std::string help;
  std::string group;          // --help section
  bool is_flag = false;       // boolean switch without a value
};

/// The parameters of `racesgd train` (the race adds its own on top, see race_params()).
const std::vector<ParamDef>& train_params();

/// The parameters of `racesgd race`: train's (without --variant) plus the race's own.
const std::vector<ParamDef>& race_params();

/// The parameters of `racesgd theory`.
const std::vector<ParamDef>& theory_params();

/// The parameters of `racesgd fit`.
const std::vector<ParamDef>& fit_params();

/// The parameters of `racesgd advise`: its own, plus train's data, model, learning-rate,
/// batch, delay and evaluation settings (what a race of any variant shares).
const std::vector<ParamDef>& advise_params();

/// Raw parameter values: defaults, overridden by what the user gave.
class ParamValues {
 public:
  explicit ParamValues(const std::vector<ParamDef>& defs);
  /// Sets a value the user gave. Throws InputError on an unknown name.
  void set(const std::string& name, const std::string& value);
  const std::string& get(const std::string& name) const;
  bool given(const std::string& name) const { return given_.count(name) != 0; }
  /// Whether this command has the parameter at all.
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  bool flag(const std::string& name) const;
  /// {name: value} for every parameter, for output files.
  nlohmann::json to_json() const;
  const std::vector<ParamDef>& defs() const { return *defs_; }

 private:
  const std::vector<ParamDef>* defs_;
  std::map<std::string, std::string> values_;
  std::set<std::string> given_;
};

/// A parameter as a checkpoint saved it, in today's names: checkpoints written before the
/// role was renamed "learner" (docs/decisions/0003-layers.md) say on-worker-failure, and a
/// faulty delay spec there says worker=W. Everything else is returned as it is.
std::pair<std::string, std::string> upgrade_saved_param(const std::string& name,
                                                        const std::string& value);

/// "--name" or "-P" as the user would type it, for error messages.
std::string flag_text(const ParamDef& def);
std::string flag_text(const std::vector<ParamDef>& defs, std::string_view name);

}  // namespace racesgd
