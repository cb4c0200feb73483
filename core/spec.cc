#include "core/spec.h"

#include <cctype>

#include "core/error.h"
#include "core/units.h"

namespace racesgd {
namespace {

bool is_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}

// "key=value" with a well-formed key: returns the position of '=', else npos.
std::size_t key_split(std::string_view item) {
  std::size_t eq = item.find('=');
  if (eq == std::string_view::npos || eq == 0) return std::string_view::npos;
  for (std::size_t i = 0; i < eq; ++i)
    if (!is_key_char(item[i])) return std::string_view::npos;
  return eq;
}

std::string unwrap(std::string_view v) {
  if (v.size() >= 2 && v.front() == '(' && v.back() == ')') {
    // Only strip when the outer pair matches itself, e.g. "(a),(b)" stays.
    int depth = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '(' || v[i] == '[') ++depth;
      if (v[i] == ')' || v[i] == ']') --depth;
      if (depth == 0 && i + 1 < v.size()) return std::string(v);
    }
    return std::string(v.substr(1, v.size() - 2));
  }
  return std::string(v);
}

}  // namespace

Spec parse_spec(std::string_view text, std::string_view what) {
  auto fail = [&](const std::string& problem) -> void {
    throw InputError(std::string(what) + " '" + std::string(text) + "': " + problem);
  };
  Spec spec;
  spec.text = std::string(text);
  std::size_t colon = text.find(':');
  std::string_view name = text.substr(0, colon);
  if (name.empty()) fail("empty name");
  for (char c : name)
    if (!is_key_char(c)) fail("bad character '" + std::string(1, c) + "' in name");
  spec.name = std::string(name);
  if (colon == std::string_view::npos) return spec;

  std::string_view rest = text.substr(colon + 1);
  std::vector<std::string_view> items;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= rest.size(); ++i) {
    char c = i < rest.size() ? rest[i] : ',';
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') {
      if (--depth < 0) fail("unbalanced ')'");
    }
    if (c == ',' && depth == 0) {
      items.push_back(rest.substr(start, i - start));
      start = i + 1;
    }
  }
  if (depth != 0) fail("unbalanced '('");
  std::string* last_value = nullptr;
  for (std::string_view item : items) {
    if (item.empty()) fail("empty item (stray comma?)");
    std::size_t eq = key_split(item);
    if (eq != std::string_view::npos) {
      std::string key(item.substr(0, eq));
      for (const auto& kv : spec.params)
        if (kv.first == key) fail("parameter '" + key + "' given twice");
      std::string_view value = item.substr(eq + 1);
      if (value.empty()) fail("parameter '" + key + "' has no value");
      spec.params.emplace_back(key, unwrap(value));
      last_value = &spec.params.back().second;
    } else if (last_value != nullptr && item.front() != '(') {
      *last_value += ',';
      *last_value += std::string(item);
    } else {
      spec.positional.push_back(unwrap(item));
      last_value = nullptr;
    }
  }
  return spec;
}

SpecArgs::SpecArgs(Spec spec, std::string what) : spec_(std::move(spec)), what_(std::move(what)) {}

void SpecArgs::fail(const std::string& problem) const {
  throw InputError(what_ + " '" + spec_.text + "': " + problem);
}

const std::string* SpecArgs::find(const std::string& key) const {
  for (const auto& kv : spec_.params)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

bool SpecArgs::has(const std::string& key) const { return find(key) != nullptr; }

std::optional<std::string> SpecArgs::text(const std::string& key) {
  known_.insert(key);
  const std::string* v = find(key);
  if (!v) return std::nullopt;
  return *v;
}

std::string SpecArgs::required_text(const std::string& key) {
  auto v = text(key);
  if (!v) fail("missing parameter '" + key + "'");
  return *v;
}

double SpecArgs::duration(const std::string& key, std::optional<double> fallback, double min,
                          double max) {
  auto v = text(key);
  if (!v) {
    if (!fallback) fail("missing parameter '" + key + "' (a duration such as 5ms)");
    return *fallback;
  }
  double s = parse_duration_seconds(*v, what_ + " '" + spec_.text + "' parameter " + key);
  if (!(s >= min && s <= max))
    fail("parameter '" + key + "' = " + *v + " is out of range [" + format_duration(min) + ", " +
         format_duration(max) + "]");
  return s;
}

double SpecArgs::number(const std::string& key, std::optional<double> fallback, double min,
                        double max) {
  auto v = text(key);
  if (!v) {
    if (!fallback) fail("missing parameter '" + key + "'");
    return *fallback;
  }
  double x = parse_double(*v, what_ + " '" + spec_.text + "' parameter " + key);
  if (!(x >= min && x <= max))
    fail("parameter '" + key + "' = " + *v + " is out of range [" + format_number(min) + ", " + format_number(max) + "]");
  return x;
}

long long SpecArgs::integer(const std::string& key, std::optional<long long> fallback,
                            long long min, long long max) {
  auto v = text(key);
  if (!v) {
    if (!fallback) fail("missing parameter '" + key + "'");
    return *fallback;
  }
  long long x = parse_int(*v, what_ + " '" + spec_.text + "' parameter " + key);
  if (x < min || x > max)
    fail("parameter '" + key + "' = " + *v + " is out of range [" + std::to_string(min) + ", " +
         std::to_string(max) + "]");
  return x;
}

namespace {
std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == ',') {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  return out;
}
}  // namespace

std::vector<double> SpecArgs::number_list(const std::string& key, double min, double max) {
  std::string v = required_text(key);
  std::vector<double> out;
  for (const std::string& item : split_commas(v)) {
    double x = parse_double(item, what_ + " '" + spec_.text + "' parameter " + key);
    if (!(x >= min && x <= max))
      fail("parameter '" + key + "' has value " + item + " out of range [" + format_number(min) + ", " +
           format_number(max) + "]");
    out.push_back(x);
  }
  return out;
}

std::vector<long long> SpecArgs::integer_list(const std::string& key, long long min,
                                              long long max) {
  std::string v = required_text(key);
  std::vector<long long> out;
  for (const std::string& item : split_commas(v)) {
    long long x = parse_int(item, what_ + " '" + spec_.text + "' parameter " + key);
    if (x < min || x > max)
      fail("parameter '" + key + "' has value " + item + " out of range [" + std::to_string(min) +
           ", " + std::to_string(max) + "]");
    out.push_back(x);
  }
  return out;
}

const std::string& SpecArgs::positional(std::size_t i) const {
  if (i >= spec_.positional.size()) fail("missing positional argument " + std::to_string(i + 1));
  return spec_.positional[i];
}

void SpecArgs::finish() const {
  if (spec_.positional.size() > max_positional_) {
    fail("unexpected argument '" + spec_.positional[max_positional_] +
         "' (a nested spec with commas must be wrapped in parentheses)");
  }
  for (const auto& kv : spec_.params) {
    if (!known_.count(kv.first)) {
      std::string accepted;
      for (const auto& k : known_) accepted += (accepted.empty() ? "" : ", ") + k;
      fail("unknown parameter '" + kv.first + "'" +
           (accepted.empty() ? std::string(" (it takes none)")
                             : " (accepted: " + accepted + ")"));
    }
  }
}

}  // namespace racesgd
