#include "core/durable_file.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace racesgd {
namespace {

std::string errno_text() { return std::strerror(errno); }

// write(2) until everything is out; false (errno set) on an error such as ENOSPC.
bool write_all(int fd, const std::string& content) {
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

void write_file_atomic(const std::filesystem::path& path, const std::string& content) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw WriteError("cannot create folder '" + dir.string() + "': " + ec.message());
  const std::filesystem::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw WriteError("cannot write '" + tmp.string() + "': " + errno_text());
  auto fail = [&](const std::string& what) {
    const std::string why = errno_text();
    ::close(fd);
    ::unlink(tmp.c_str());
    throw WriteError(what + " '" + path.string() + "': " + why);
  };
  if (!write_all(fd, content)) fail("cannot write");
  if (::fsync(fd) != 0) fail("cannot fsync");  // ENOSPC can surface only here (NFS, ...)
  if (::close(fd) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw WriteError("cannot close '" + path.string() + "': " + why);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw WriteError("cannot rename '" + tmp.string() + "' to '" + path.string() + "': " + why);
  }
  // The rename is durable only once the folder itself is synced.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || ::fsync(dfd) != 0) {
    const std::string why = errno_text();
    if (dfd >= 0) ::close(dfd);
    throw WriteError("cannot fsync folder '" + dir.string() + "': " + why);
  }
  ::close(dfd);
}

void check_writable_folder(const std::filesystem::path& dir, const std::string& flag) {
  // Creating a file is the test; it need not be durable (no fsync: start-up stays quick).
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw InputError(flag + ": cannot create folder '" + dir.string() + "': " + ec.message());
  const std::filesystem::path probe = dir / ".racesgd-write-test";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw InputError(flag + ": cannot write in '" + dir.string() + "': " + errno_text());
  ::close(fd);
  ::unlink(probe.c_str());
}

}  // namespace racesgd
