// Checkpoints: the whole state of a run at one moment, as one self-checking binary file.
//
// File layout (little-endian; docs/reliability.md "Checkpoints" has the payload fields):
//   0   8 bytes  magic "RSGDCKPT"
//   8   u32      format version (kCheckpointFormatVersion)
//   12  u64      payload length L
//   20  L bytes  payload: the caller's config text, then the RunCheckpoint fields
//   20+L u32     zlib crc32 of bytes [0, 20 + L)
// Reading verifies magic, version, length and checksum before parsing, and the parser
// checks every length field against the bytes that remain before allocating anything, so
// a truncated or corrupted file is an InputError naming the file and the problem -- never
// a crash or a huge allocation.
//
// Writing is atomic: a temporary file in the checkpoint folder, fsync, rename over the
// previous checkpoint, fsync of the folder. Until the rename the previous checkpoint is
// untouched, so a crash (or kill -9) at any moment leaves either the old or the new one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/minibatch.h"
#include "runtime/eval_recorder.h"
#include "ps/parameter_server.h"
#include "runtime/run_types.h"
#include "sgd/k_schedule.h"

namespace racesgd {

// 2: the parameter server's pending gradients carry their statistics (PendingGradient).
// 3: the coordinator's per-learner start versions (the staleness cutoff's clock) and SSP
//    clocks, the staleness tracker's clock-spread statistics, and the delay compensation's
//    MeanSquare (sgd/compensation.h). A format-2 file still reads: its start versions are
//    derived from the learners' pins; SSP and compensation did not exist (empty, zeros).
// 4: the K schedule (AdaSync: F(w_0), the next check, the changes), the coordinator's
//    target K and each curve point's K. A format-3 file still reads: its runs had a fixed
//    K (the variant's), which is what the missing fields become.
inline constexpr std::uint32_t kCheckpointFormatVersion = 4;
inline constexpr std::uint32_t kOldestCheckpointFormatVersion = 2;
inline constexpr const char* kCheckpointFileName = "checkpoint.rsgd";

/// The largest run clock (`now`, and a finite next evaluation tick) a checkpoint may hold:
/// 1e9 s, about 31.7 years of run time. The real clock turns the clock into steady_clock
/// nanoseconds (int64, which overflows past 9.2e9 s: a NaN or 1e300 clock became
/// -9.2e9 s and `--time` never stopped the run), so the cap must sit below that.
inline constexpr double kMaxCheckpointClockSeconds = 1e9;

/// Appends little-endian values to a byte string. Allocates as it grows.
class CheckpointWriter {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v);
  void u64(std::uint64_t v);
  void f64(double v);
  void flag(bool v) { u8(v ? 1 : 0); }
  void str(std::string_view s);                  // u64 length, bytes
  void f32s(std::span<const float> v);           // u64 count, values
  void f64s(std::span<const double> v);          // u64 count, values
  void u64s(std::span<const std::uint64_t> v);   // u64 count, values
  void chars(const std::vector<char>& v);        // u64 count, one byte each
  const std::string& bytes() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

/// Reads what CheckpointWriter wrote, checking every read against the bytes left. Every
/// failure throws InputError "<where>: <problem> (at byte N)". Counts are validated against
/// the remaining bytes before a vector is allocated. Not thread-safe.
class CheckpointReader {
 public:
  CheckpointReader(std::string_view bytes, std::string where);
  std::uint8_t u8(const char* what);
  std::uint32_t u32(const char* what);
  std::uint64_t u64(const char* what);
  double f64(const char* what);
  bool flag(const char* what);  // 0 or 1, anything else fails
  std::string str(const char* what);
  std::vector<float> f32s(const char* what);
  std::vector<double> f64s(const char* what);
  std::vector<std::uint64_t> u64s(const char* what);
  std::vector<char> chars(const char* what);
  /// Reads a count of elements that take at least `min_bytes_each` bytes each, failing
  /// when that many cannot fit in what is left.
  std::size_t count(const char* what, std::size_t min_bytes_each);
  /// Skips n bytes (failing when fewer are left).
  void skip(std::size_t n, const char* what) { take(n, what); }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  std::size_t position() const { return pos_; }
  [[noreturn]] void fail(const std::string& problem) const;

 private:
  const char* take(std::size_t n, const char* what);
  std::string_view bytes_;
  std::size_t pos_ = 0;
  std::string where_;
};

/// One learner of the virtual clock (the real clock saves only the RNG states).
struct LearnerCheckpoint {
  std::uint64_t ticket = 0;       // its ticket (stale events carry older ones)
  bool has_pin = false;               // false for a learner that failed and left
  Version pinned = 0;                 // the version its minibatch in flight reads
  std::uint64_t delay_rng[4] = {0, 0, 0, 0};
  bool has_sampler = false;           // false with timing_only
  MinibatchSampler::State sampler;
};

/// A scheduled minibatch finish of the virtual clock's event queue.
struct EventCheckpoint {
  double time = 0;
  std::uint64_t seq = 0;
  std::uint64_t learner = 0;
  std::uint64_t ticket = 0;
};

/// One weight version still referenced (the current one, or one a learner reads).
struct WeightsCheckpoint {
  Version version = 0;
  std::vector<float> w;
};

/// Injected-delay accounting.
struct DelayTally {
  double drawn_sum = 0;
  double served_sum = 0;    // real clock
  double compute_sum = 0;   // real clock
  std::uint64_t count = 0;
  std::uint64_t exceeded = 0;  // real clock: compute took longer than X
};

/// The state of a run between two events.
struct RunCheckpoint {
  std::uint32_t format = kCheckpointFormatVersion;  // the file's format (not a payload field)
  std::string clock;                        // "virtual" or "real"
  double now = 0;                           // run clock, in [0, kMaxCheckpointClockSeconds]
  double ticker_next_time = 0;              // EvalTicker: in [now, cap], or +inf (time ticks off)
  ParameterServerState ps;
  std::vector<WeightsCheckpoint> weights;   // ascending distinct versions; the last is current
  std::vector<LearnerCheckpoint> learners;  // size P
  std::vector<std::uint64_t> delay_state;   // DelayModel::save_state
  std::vector<EvalRecorder::Saved> curve;   // recorded points (timing-only: scored, no weights)
  DelayTally delays;
  double latest_error = -1;
  bool target_reached = false;
  std::vector<LearnerFailure> failures;
  bool has_k_schedule = false;              // AdaSync's state follows (else a fixed K)
  AdaSyncSchedule::State k_schedule;
  // Virtual clock only.
  std::uint64_t next_seq = 0;
  std::vector<EventCheckpoint> events;      // the queue, in any order
};

/// A checkpoint file's content: the caller's configuration (opaque text; the CLI stores
/// its parameters as JSON) and the run state.
struct CheckpointFile {
  std::string config;
  RunCheckpoint run;
};

/// The whole file (header, payload, checksum). Allocates.
std::string encode_checkpoint(const CheckpointFile& c);

/// Parses a whole file. Throws InputError naming `where` and the problem on a bad magic,
/// unknown version, wrong length, checksum mismatch, truncation or an impossible value
/// (among them a run clock or next evaluation tick outside the range RunCheckpoint states).
/// verify_checksum = false skips the crc (fuzzing reaches the parser that way).
CheckpointFile decode_checkpoint(std::string_view bytes, const std::string& where,
                                 bool verify_checksum = true);

/// dir/kCheckpointFileName.
std::filesystem::path checkpoint_path(const std::filesystem::path& dir);

/// Writes `c` atomically to dir/checkpoint.rsgd (creating dir) with core/durable_file.h:
/// temporary file in dir, fsync, rename, fsync of dir. Returns the bytes written. Throws
/// WriteError naming the path when anything fails; the previous checkpoint is then untouched.
std::size_t write_checkpoint(const std::filesystem::path& dir, const CheckpointFile& c);

/// Reads dir/checkpoint.rsgd (or `path` itself when it is a file). Throws InputError
/// naming the file when it is missing, unreadable, truncated or corrupted.
CheckpointFile read_checkpoint(const std::filesystem::path& path);

}  // namespace racesgd
