// NameRegistry: the name -> entry table behind every plug-in registry (delay models,
// models). A registry is filled by built-ins and by plug-ins, possibly from static
// initialisers, and read while specs are parsed on any thread: every member locks.
#pragma once

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace racesgd {

/// A spec-grammar name (core/spec.h): non-empty; letters, digits, '_', '-', '.'.
inline bool valid_registry_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

template <typename Entry>
class NameRegistry {
 public:
  /// Adds `entry` under `name`; false (and nothing added) when the name is taken.
  /// Thread-safe; allocates.
  bool add(std::string name, Entry entry) {
    std::lock_guard lock(mutex_);
    return entries_.emplace(std::move(name), std::move(entry)).second;
  }

  /// A copy of the entry, so the caller uses it without the lock (factories recurse into
  /// the registry for nested specs). Thread-safe.
  std::optional<Entry> find(const std::string& name) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }

  /// Every (name, entry), sorted by name. Thread-safe; allocates.
  std::vector<std::pair<std::string, Entry>> entries() const {
    std::lock_guard lock(mutex_);
    return {entries_.begin(), entries_.end()};
  }

  /// "a, b, c": the registered names, sorted, for "unknown ... (known: ...)" messages.
  std::string known_names() const {
    std::lock_guard lock(mutex_);
    std::string list;
    for (const auto& kv : entries_) list += (list.empty() ? "" : ", ") + kv.first;
    return list;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;  // sorted by name
};

}  // namespace racesgd
