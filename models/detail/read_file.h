// Reading a whole input file into memory, transparently gunzipping it. Every loader goes
// through here so that "missing file", "not a regular file" and "too large" read the same.
#pragma once

#include <cstdint>
#include <string>

namespace racesgd::detail {

/// The largest decompressed input (and dense feature matrix) a loader accepts by default:
/// far above MNIST's 47 MB, far below what would take the machine down.
inline constexpr std::uint64_t kDefaultMaxInputBytes = std::uint64_t{4} << 30;

/// Returns the whole contents of `path`, gunzipped when it is gzip (zlib reads plain files
/// as they are). Allocates about the decompressed size, growing as data arrives, so a
/// corrupt or hostile file can never make it allocate more than it really holds (capped at
/// max_bytes). Throws InputError naming the path: missing, not a regular file (a FIFO or a
/// directory would hang or fail late), unreadable, corrupt gzip (with the byte offset), or
/// more than max_bytes once decompressed.
std::string read_file_bytes(const std::string& path, std::uint64_t max_bytes);

}  // namespace racesgd::detail
