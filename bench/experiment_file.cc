#include "bench/experiment_file.h"

#include <sstream>

#include <toml++/toml.h>

#include "core/error.h"

namespace racesgd {
namespace {

std::string where(const std::string& path, const toml::source_region& r) {
  return path + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
}

std::string scalar_text(const toml::node& n, const std::string& path, const std::string& key) {
  if (auto s = n.value<std::string>()) return *s;
  if (n.is_boolean()) return *n.value<bool>() ? "true" : "false";
  if (n.is_integer()) return std::to_string(*n.value<std::int64_t>());
  if (n.is_floating_point()) {
    std::ostringstream os;
    os.precision(17);
    os << *n.value<double>();
    return os.str();
  }
  throw InputError(where(path, n.source()) + ": '" + key +
                   "' must be a string, number, boolean or an array of those");
}

}  // namespace

void apply_experiment_file(const std::string& path, ParamValues& values) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& r = e.source();
    if (r.begin.line == 0)
      throw InputError("--config: cannot read '" + path + "': " + std::string(e.description()));
    throw InputError(where(path, r) + ": " + std::string(e.description()));
  }
  for (const auto& [k, node] : table) {
    const std::string key(k.str());
    bool known = false;
    for (const ParamDef& d : values.defs()) known = known || d.name == key;
    if (!known || key == "config")
      throw InputError(where(path, node.source()) + ": unknown parameter '" + key +
                       "' (keys are the flags of 'racesgd race --help', without dashes)");
    if (values.given(key)) continue;  // the command line wins
    std::string text;
    if (const toml::array* arr = node.as_array()) {
      for (const toml::node& item : *arr) {
        if (item.is_array() || item.is_table())
          throw InputError(where(path, item.source()) + ": '" + key + "' may not nest arrays or tables");
        text += (text.empty() ? "" : ",") + scalar_text(item, path, key);
      }
    } else if (node.is_table()) {
      throw InputError(where(path, node.source()) + ": '" + key + "' may not be a table");
    } else {
      text = scalar_text(node, path, key);
    }
    values.set(key, text);
  }
}

}  // namespace racesgd
