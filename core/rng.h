// Rng: the project's random stream. xoshiro256** seeded through splitmix64, with
// distributions implemented here (not <random>'s, whose algorithms differ between standard
// libraries) so a seed gives the same numbers on every platform and build.
// Not thread-safe: each learner owns its streams.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace racesgd {

/// Mixes (seed, stream, purpose) into a 64-bit seed so that streams never overlap in
/// practice: learner i's minibatch stream is derive_seed(run_seed, i, kPurposeBatches).
constexpr std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

enum class StreamPurpose : std::uint64_t {
  kBatches = 1,  // minibatch sampling
  kDelays = 2,   // straggler delays
  kInit = 3,     // weight initialisation
  kSplit = 4,    // train/test split of a dataset without one
  kOther = 5,
  kMeasurement = 6,  // theory --measure: a run independent of the Monte Carlo predictions
};

constexpr std::uint64_t derive_seed(std::uint64_t run_seed, std::uint64_t stream,
                                    StreamPurpose purpose) {
  std::uint64_t s = run_seed;
  std::uint64_t a = splitmix64(s);
  s = a ^ (stream * 0xD1B54A32D192ED03ULL);
  std::uint64_t b = splitmix64(s);
  s = b ^ (static_cast<std::uint64_t>(purpose) * 0x8CB92BA72F3D8DD7ULL);
  return splitmix64(s);
}

class Rng {
 public:
  using result_type = std::uint64_t;
  explicit Rng(std::uint64_t seed = 0) { reseed(seed); }

  void reseed(std::uint64_t seed) {
    std::uint64_t s = seed;
    for (auto& w : s_) w = splitmix64(s);
  }

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

  result_type operator()() { return next(); }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform in (0, 1]: safe to take the log of.
  double uniform_pos() { return static_cast<double>((next() >> 11) + 1) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Exponential with the given mean.
  double exponential(double mean) { return -mean * std::log(uniform_pos()); }
  /// Standard normal (Box-Muller; one value per call, deterministic).
  double normal() {
    const double u1 = uniform_pos();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  /// Uniform integer in [0, n), n > 0, unbiased (Lemire's method).
  std::uint64_t below(std::uint64_t n) {
    __extension__ using U128 = unsigned __int128;  // -Wpedantic: a GCC/clang extension
    U128 m = static_cast<U128>(next()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<U128>(next()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  /// Full state, for checkpoints.
  const std::uint64_t* state() const { return s_; }
  void set_state(const std::uint64_t (&s)[4]) {
    for (int i = 0; i < 4; ++i) s_[i] = s[i];
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
  }
  std::uint64_t s_[4];
};

}  // namespace racesgd
