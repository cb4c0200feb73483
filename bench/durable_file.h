// Durable, atomic file writes for every output file bench/ writes (curve.csv,
// summary.json, runs.csv, ...): a temporary file beside the target, fsync, rename over the
// target, fsync of the folder. A reader never sees half a file, a crash never leaves a
// renamed but empty one, and a failed write leaves no temporary file behind.
// (sgd/checkpoint.cc writes checkpoints the same way; both are to move into one writer in
// core/.)
#pragma once

#include <filesystem>
#include <string>

#include "core/error.h"

namespace racesgd {

/// A file could not be written (disk full, permissions, a vanished folder). A RunError: a
/// write that fails after a run ends the process with exit 1, not the bad-input code.
class WriteError : public RunError {
 public:
  using RunError::RunError;
};

/// Writes `content` to `path` atomically and durably, creating parent folders. Throws
/// WriteError naming the path and the system's reason; the temporary file is removed and
/// an existing `path` is left as it was.
void write_file_atomic(const std::filesystem::path& path, const std::string& content);

/// Fails early, before a long run, when `dir` cannot be created or written: throws
/// InputError naming `flag` and the folder.
void check_writable_folder(const std::filesystem::path& dir, const std::string& flag);

}  // namespace racesgd
