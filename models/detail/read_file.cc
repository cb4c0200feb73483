#include "models/detail/read_file.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

#include "core/error.h"

namespace racesgd::detail {
namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

}  // namespace

std::string read_file_bytes(const std::string& path, std::uint64_t max_bytes) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw InputError(path + ": no such file");
  if (!fs::is_regular_file(st)) throw InputError(path + ": not a regular file");
  const std::uintmax_t on_disk = fs::file_size(path, ec);

  errno = 0;
  std::unique_ptr<gzFile_s, GzCloser> file(gzopen(path.c_str(), "rb"));
  if (!file) {
    throw InputError(path +
                     ": cannot open: " + (errno != 0 ? std::strerror(errno) : "out of memory"));
  }
  gzbuffer(file.get(), 1 << 17);

  // A plain file's size is its content size (one pass, one allocation); a gzip file's is
  // a lower bound on it. Either way the buffer then grows only with what really arrives.
  constexpr std::size_t kChunk = std::size_t{1} << 20;
  std::string bytes;
  if (!ec && on_disk < max_bytes) bytes.resize(static_cast<std::size_t>(on_disk) + kChunk);
  std::size_t size = 0;
  for (;;) {
    if (bytes.size() < size + kChunk) {
      // Doubling, but never far past the cap: a gzip bomb stops at max_bytes + one chunk.
      const std::uint64_t cap = max_bytes + 2 * kChunk;
      bytes.resize(static_cast<std::size_t>(
          std::min<std::uint64_t>(std::max<std::uint64_t>(size + kChunk, 2 * bytes.size()), cap)));
    }
    const int got = gzread(file.get(), bytes.data() + size, static_cast<unsigned>(kChunk));
    if (got < 0) {
      int errnum = 0;
      const char* msg = gzerror(file.get(), &errnum);
      throw InputError(path + ": byte " + std::to_string(size) +
                       " (decompressed): corrupt or truncated gzip data (" +
                       (msg != nullptr ? msg : "unknown zlib error") + ")");
    }
    if (got == 0) break;
    size += static_cast<std::size_t>(got);
    if (size > max_bytes) {
      throw InputError(path + ": larger than " + std::to_string(max_bytes) +
                       " bytes once decompressed; refusing to load it");
    }
  }
  // zlib reports a gzip stream cut short only through gzerror after the final read.
  int errnum = 0;
  const char* msg = gzerror(file.get(), &errnum);
  if (errnum != Z_OK) {
    throw InputError(path + ": byte " + std::to_string(size) +
                     " (decompressed): corrupt or truncated gzip data (" +
                     (msg != nullptr ? msg : "unknown zlib error") + ")");
  }
  bytes.resize(size);
  bytes.shrink_to_fit();
  return bytes;
}

}  // namespace racesgd::detail
