#include "bench/experiment_file.h"

#include <filesystem>
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

// Keys whose value is a comma-separated list, and so may be written as a TOML array. An
// array anywhere else (`P = [4]`) is a mistake, not a list of one.
bool takes_list(const std::string& key) {
  return key == "variants" || key == "binary" || key == "eigen-cache";
}

// An experiment file is a few hundred bytes of TOML; anything else (a folder, a device
// such as /dev/zero, a data file given by mistake) is refused before it is read.
constexpr std::uintmax_t kMaxExperimentFileBytes = 1 << 20;

void check_experiment_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st))
    throw InputError("--config: cannot read '" + path + "': no such file");
  if (!fs::is_regular_file(st))
    throw InputError("--config: '" + path + "' is not a regular file (a folder or a device?)");
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec || size > kMaxExperimentFileBytes)
    throw InputError("--config: '" + path + "' is " + std::to_string(size) +
                     " bytes; an experiment file is TOML of at most 1 MiB");
}

}  // namespace

void apply_experiment_file(const std::string& path, ParamValues& values) {
  check_experiment_file(path);
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
      if (!takes_list(key))
        throw InputError(where(path, node.source()) + ": '" + key +
                         "' takes one value, not an array (write " + key + " = value)");
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
    if (text.empty())
      throw InputError(where(path, node.source()) + ": '" + key +
                       "' is empty (give a value, or leave the key out)");
    values.set(key, text);
  }
}

}  // namespace racesgd
