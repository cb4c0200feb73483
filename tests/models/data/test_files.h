// Scratch files for the loader tests: a private temporary directory (removed on
// destruction) and helpers to write plain, gzipped and corrupted copies into it.
#pragma once

#include <unistd.h>
#include <zlib.h>

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace racesgd::test {

inline std::string fixture(const std::string& name) {
  return std::string(RACESGD_FIXTURES_DIR) + "/" + name;
}

// Smallest / largest coefficient by plain loops: Eigen's vectorised reductions trip a false
// -Wmaybe-uninitialized in GCC 12's AVX-512 intrinsics.
template <typename M>
float min_of(const M& m) {
  float v = m(0, 0);
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) v = std::min(v, static_cast<float>(m(i, j)));
  return v;
}
template <typename M>
float max_of(const M& m) {
  float v = m(0, 0);
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) v = std::max(v, static_cast<float>(m(i, j)));
  return v;
}

inline std::string read_binary(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error("test: cannot read " + path);
  std::string bytes(static_cast<std::size_t>(in.tellg()), '\0');
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!in) throw std::runtime_error("test: cannot read " + path);
  return bytes;
}

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const int k = counter.fetch_add(1, std::memory_order_relaxed);  // only uniqueness matters
    path_ = std::filesystem::temp_directory_path() /
            ("racesgd-data-test-" + std::to_string(::getpid()) + "-" + std::to_string(k));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  /// Writes `bytes` to <dir>/<name>; returns the full path.
  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string p = (path_ / name).string();
    std::ofstream out(p, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("test: cannot write " + p);
    return p;
  }

  /// Writes `bytes` gzip-compressed to <dir>/<name>; returns the full path.
  std::string write_gz(const std::string& name, const std::string& bytes) const {
    const std::string p = (path_ / name).string();
    gzFile f = gzopen(p.c_str(), "wb");
    if (f == nullptr) throw std::runtime_error("test: cannot gzopen " + p);
    const int n = gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
    if (n != static_cast<int>(bytes.size()))
      throw std::runtime_error("test: gzwrite failed for " + p);
    return p;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace racesgd::test
