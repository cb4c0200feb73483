// Durable, atomic file writes: the one writer for every file racesgd writes (curve.csv,
// summary.json, runs.csv, checkpoints): a temporary file beside the target, fsync, rename
// over the target, fsync of the folder. A reader never sees half a file, a crash (even
// kill -9) leaves either the old file or the new one, never a renamed but empty one, and a
// failed write leaves no temporary file behind.
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
