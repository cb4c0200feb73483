#include "sgd/checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/error.h"

namespace racesgd {
namespace {

constexpr char kMagic[8] = {'R', 'S', 'G', 'D', 'C', 'K', 'P', 'T'};
constexpr std::size_t kHeaderBytes = 8 + 4 + 8;
constexpr std::size_t kTrailerBytes = 4;

template <class T>
void put(std::string& out, T v) {
  static_assert(std::is_trivially_copyable_v<T>);
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // the project targets little-endian x86-64 (static_assert below)
  out.append(b, sizeof(T));
}
static_assert(std::endian::native == std::endian::little,
              "checkpoints are written little-endian by memcpy");

std::uint32_t crc_of(std::string_view bytes) {
  return static_cast<std::uint32_t>(
      crc32_z(crc32_z(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

void put_point(CheckpointWriter& w, const CurvePoint& p) {
  w.f64(p.time_s);
  w.u64(p.updates);
  w.u64(p.gradients);
  w.f64(p.train_loss);
  w.f64(p.test_error);
  w.f64(p.staleness_mean);
  w.f64(p.wall_s);
}

CurvePoint get_point(CheckpointReader& r) {
  CurvePoint p;
  p.time_s = r.f64("curve time");
  p.updates = r.u64("curve updates");
  p.gradients = r.u64("curve gradients");
  p.train_loss = r.f64("curve train loss");
  p.test_error = r.f64("curve test error");
  p.staleness_mean = r.f64("curve staleness");
  p.wall_s = r.f64("curve wall time");
  return p;
}

void put_ps(CheckpointWriter& w, const ParameterServerState& s) {
  const CoordinatorState& c = s.coordinator;
  w.u64(c.version);
  w.u64(c.pending);
  w.u64(c.k);
  w.chars(c.busy);
  w.chars(c.contributed);
  w.chars(c.active);
  w.f32s(s.pending_sum);
  w.u64(s.pending_count);
  const StalenessTracker::State& t = s.tracker;
  w.u64(t.per_worker.size());
  for (const auto& p : t.per_worker) {
    w.u64(p.applied);
    w.u64(p.cancelled);
    w.f64(p.staleness_sum);
    w.u64(p.staleness_max);
    w.f64(p.idle_seconds);
  }
  w.u64s(t.histogram);
  w.u64(t.applied);
  w.u64(t.cancelled);
  w.u64(t.fresh);
  w.u64(t.max);
  w.f64(t.sum);
  w.f64(t.interval_sum);
  w.u64(t.interval_count);
  w.f64s(s.idle_since);
  w.f64s(s.busy_since);
  w.f64(s.last_update_time);
  w.f64(s.lr_sum);
}

ParameterServerState get_ps(CheckpointReader& r) {
  ParameterServerState s;
  CoordinatorState& c = s.coordinator;
  c.version = r.u64("version");
  c.pending = r.u64("pending gradients");
  c.k = r.u64("effective K");
  c.busy = r.chars("busy flags");
  c.contributed = r.chars("contributed flags");
  c.active = r.chars("active flags");
  s.pending_sum = r.f32s("pending update");
  s.pending_count = r.u64("pending count");
  StalenessTracker::State& t = s.tracker;
  t.per_worker.resize(r.count("per-worker staleness", 40));
  for (auto& p : t.per_worker) {
    p.applied = r.u64("worker applied");
    p.cancelled = r.u64("worker cancelled");
    p.staleness_sum = r.f64("worker staleness sum");
    p.staleness_max = r.u64("worker staleness max");
    p.idle_seconds = r.f64("worker idle");
  }
  t.histogram = r.u64s("staleness histogram");
  t.applied = r.u64("applied");
  t.cancelled = r.u64("cancelled");
  t.fresh = r.u64("fresh");
  t.max = r.u64("staleness max");
  t.sum = r.f64("staleness sum");
  t.interval_sum = r.f64("interval staleness sum");
  t.interval_count = r.u64("interval count");
  s.idle_since = r.f64s("idle since");
  s.busy_since = r.f64s("busy since");
  s.last_update_time = r.f64("last update time");
  s.lr_sum = r.f64("lr sum");
  return s;
}

void put_run(CheckpointWriter& w, const RunCheckpoint& c) {
  w.str(c.clock);
  w.f64(c.now);
  w.f64(c.ticker_next_time);
  put_ps(w, c.ps);
  w.u64(c.weights.size());
  for (const WeightsCheckpoint& v : c.weights) {
    w.u64(v.version);
    w.f32s(v.w);
  }
  w.u64(c.learners.size());
  for (const LearnerCheckpoint& l : c.learners) {
    w.u64(l.generation);
    w.flag(l.has_pin);
    w.u64(l.pinned);
    for (std::uint64_t x : l.delay_rng) w.u64(x);
    w.flag(l.has_sampler);
    for (std::uint64_t x : l.sampler.epoch_rng) w.u64(x);
    w.u64(l.sampler.epoch);
    w.u64(static_cast<std::uint64_t>(l.sampler.position));
  }
  w.u64s(c.delay_state);
  w.u64(c.curve.size());
  for (const EvalRecorder::Saved& p : c.curve) {
    put_point(w, p.point);
    w.flag(p.scored);
    w.f32s(p.weights);
  }
  w.f64(c.delays.drawn_sum);
  w.f64(c.delays.served_sum);
  w.f64(c.delays.compute_sum);
  w.u64(c.delays.count);
  w.u64(c.delays.exceeded);
  w.f64(c.latest_error);
  w.flag(c.target_reached);
  w.u64(c.failures.size());
  for (const WorkerFailure& f : c.failures) {
    w.u64(f.worker);
    w.str(f.what);
    w.f64(f.time_s);
  }
  w.u64(c.next_seq);
  w.u64(c.events.size());
  for (const EventCheckpoint& e : c.events) {
    w.f64(e.time);
    w.u64(e.seq);
    w.u64(e.worker);
    w.u64(e.generation);
  }
}

// Shortest text that reads back as the same double, so that a tick a hair below the clock
// does not print as equal to it.
std::string seconds_text(double s) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, s);
  return std::string(buf, ec == std::errc() ? end : buf) + " s";
}

// The runtimes trust both clocks (docs/reliability.md "Checkpoints"): `now` restarts the
// real clock (as steady_clock nanoseconds) or the virtual one, and a next tick below `now`
// would replay every tick in between. NaN fails every comparison, so it fails here too.
void check_run_clock(const CheckpointReader& r, double now, double next_tick) {
  const std::string range = "[0, " + seconds_text(kMaxCheckpointClockSeconds) + "]";
  if (!(now >= 0 && now <= kMaxCheckpointClockSeconds))
    r.fail("run clock " + seconds_text(now) + " is not in " + range);
  if (next_tick == std::numeric_limits<double>::infinity()) return;  // time ticks off
  if (!(next_tick >= now && next_tick <= kMaxCheckpointClockSeconds))
    r.fail("next evaluation time " + seconds_text(next_tick) + " is neither +inf nor in [" +
           seconds_text(now) + " (the run clock), " + seconds_text(kMaxCheckpointClockSeconds) +
           "]");
}

RunCheckpoint get_run(CheckpointReader& r) {
  RunCheckpoint c;
  c.clock = r.str("clock");
  if (c.clock != "virtual" && c.clock != "real") r.fail("clock '" + c.clock + "' is not virtual or real");
  c.now = r.f64("run clock");
  c.ticker_next_time = r.f64("next evaluation time");
  check_run_clock(r, c.now, c.ticker_next_time);
  c.ps = get_ps(r);
  c.weights.resize(r.count("weight versions", 16));
  for (WeightsCheckpoint& v : c.weights) {
    v.version = r.u64("weights version");
    v.w = r.f32s("weights");
  }
  c.learners.resize(r.count("learners", 8 + 1 + 8 + 32 + 1 + 32 + 16));
  for (LearnerCheckpoint& l : c.learners) {
    l.generation = r.u64("learner generation");
    l.has_pin = r.flag("learner pin flag");
    l.pinned = r.u64("learner pinned version");
    for (std::uint64_t& x : l.delay_rng) x = r.u64("learner delay rng");
    l.has_sampler = r.flag("learner sampler flag");
    for (std::uint64_t& x : l.sampler.epoch_rng) x = r.u64("learner sampler rng");
    l.sampler.epoch = r.u64("learner sampler epoch");
    l.sampler.position = static_cast<std::int64_t>(r.u64("learner sampler position"));
  }
  c.delay_state = r.u64s("delay-model state");
  c.curve.resize(r.count("curve points", 7 * 8 + 1 + 8));
  for (EvalRecorder::Saved& p : c.curve) {
    p.point = get_point(r);
    p.scored = r.flag("curve scored flag");
    p.weights = r.f32s("curve snapshot");
  }
  c.delays.drawn_sum = r.f64("drawn delay sum");
  c.delays.served_sum = r.f64("served delay sum");
  c.delays.compute_sum = r.f64("compute time sum");
  c.delays.count = r.u64("delay count");
  c.delays.exceeded = r.u64("delays exceeded");
  c.latest_error = r.f64("latest error");
  c.target_reached = r.flag("target reached");
  c.failures.resize(r.count("failures", 8 + 8 + 8));
  for (WorkerFailure& f : c.failures) {
    f.worker = r.u64("failed worker");
    f.what = r.str("failure message");
    f.time_s = r.f64("failure time");
  }
  c.next_seq = r.u64("event sequence");
  c.events.resize(r.count("events", 32));
  for (EventCheckpoint& e : c.events) {
    e.time = r.f64("event time");
    e.seq = r.u64("event sequence number");
    e.worker = r.u64("event worker");
    e.generation = r.u64("event generation");
  }
  return c;
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

void CheckpointWriter::u32(std::uint32_t v) { put(out_, v); }
void CheckpointWriter::u64(std::uint64_t v) { put(out_, v); }
void CheckpointWriter::f64(double v) { put(out_, v); }
void CheckpointWriter::str(std::string_view s) {
  u64(s.size());
  out_.append(s);
}
void CheckpointWriter::f32s(std::span<const float> v) {
  u64(v.size());
  out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}
void CheckpointWriter::f64s(std::span<const double> v) {
  u64(v.size());
  out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double));
}
void CheckpointWriter::u64s(std::span<const std::uint64_t> v) {
  u64(v.size());
  out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(std::uint64_t));
}
void CheckpointWriter::chars(const std::vector<char>& v) {
  u64(v.size());
  out_.append(v.data(), v.size());
}

CheckpointReader::CheckpointReader(std::string_view bytes, std::string where)
    : bytes_(bytes), where_(std::move(where)) {}

void CheckpointReader::fail(const std::string& problem) const {
  throw InputError(where_ + ": " + problem + " (at byte " + std::to_string(pos_) +
                   "): the checkpoint is corrupted or truncated");
}

const char* CheckpointReader::take(std::size_t n, const char* what) {
  if (n > remaining())
    fail(std::string("truncated: ") + what + " needs " + std::to_string(n) + " bytes, " +
         std::to_string(remaining()) + " left");
  const char* p = bytes_.data() + pos_;
  pos_ += n;
  return p;
}

std::uint8_t CheckpointReader::u8(const char* what) {
  return static_cast<std::uint8_t>(*take(1, what));
}
std::uint32_t CheckpointReader::u32(const char* what) {
  std::uint32_t v;
  std::memcpy(&v, take(4, what), 4);
  return v;
}
std::uint64_t CheckpointReader::u64(const char* what) {
  std::uint64_t v;
  std::memcpy(&v, take(8, what), 8);
  return v;
}
double CheckpointReader::f64(const char* what) {
  double v;
  std::memcpy(&v, take(8, what), 8);
  return v;
}
bool CheckpointReader::flag(const char* what) {
  const std::uint8_t v = u8(what);
  if (v > 1) fail(std::string(what) + " is " + std::to_string(v) + ", not 0 or 1");
  return v == 1;
}

std::size_t CheckpointReader::count(const char* what, std::size_t min_bytes_each) {
  const std::uint64_t n = u64(what);
  if (min_bytes_each > 0 && n > remaining() / min_bytes_each)
    fail(std::string("length ") + std::to_string(n) + " of " + what + " exceeds the " +
         std::to_string(remaining()) + " bytes left");
  return static_cast<std::size_t>(n);
}

std::string CheckpointReader::str(const char* what) {
  const std::size_t n = count(what, 1);
  return std::string(take(n, what), n);
}
std::vector<float> CheckpointReader::f32s(const char* what) {
  const std::size_t n = count(what, sizeof(float));
  std::vector<float> v(n);
  if (n) std::memcpy(v.data(), take(n * sizeof(float), what), n * sizeof(float));
  return v;
}
std::vector<double> CheckpointReader::f64s(const char* what) {
  const std::size_t n = count(what, sizeof(double));
  std::vector<double> v(n);
  if (n) std::memcpy(v.data(), take(n * sizeof(double), what), n * sizeof(double));
  return v;
}
std::vector<std::uint64_t> CheckpointReader::u64s(const char* what) {
  const std::size_t n = count(what, sizeof(std::uint64_t));
  std::vector<std::uint64_t> v(n);
  if (n) std::memcpy(v.data(), take(n * 8, what), n * 8);
  return v;
}
std::vector<char> CheckpointReader::chars(const char* what) {
  const std::size_t n = count(what, 1);
  const char* p = take(n, what);
  return std::vector<char>(p, p + n);
}

std::string encode_checkpoint(const CheckpointFile& c) {
  CheckpointWriter payload;
  payload.str(c.config);
  put_run(payload, c.run);
  std::string out;
  out.reserve(kHeaderBytes + payload.bytes().size() + kTrailerBytes);
  out.append(kMagic, sizeof kMagic);
  put(out, kCheckpointFormatVersion);
  put(out, static_cast<std::uint64_t>(payload.bytes().size()));
  out.append(payload.bytes());
  put(out, crc_of(out));
  return out;
}

CheckpointFile decode_checkpoint(std::string_view bytes, const std::string& where,
                                 bool verify_checksum) {
  CheckpointReader head(bytes, where);
  if (bytes.size() < kHeaderBytes + kTrailerBytes)
    head.fail("only " + std::to_string(bytes.size()) + " bytes, shorter than the " +
              std::to_string(kHeaderBytes + kTrailerBytes) + "-byte header and checksum");
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    head.fail("not a racesgd checkpoint (bad magic)");
  head.skip(sizeof kMagic, "magic");
  const std::uint32_t version = head.u32("format version");
  if (version != kCheckpointFormatVersion)
    head.fail("format version " + std::to_string(version) + ", this racesgd reads version " +
              std::to_string(kCheckpointFormatVersion));
  const std::uint64_t length = head.u64("payload length");
  if (length != bytes.size() - kHeaderBytes - kTrailerBytes)
    head.fail("payload length " + std::to_string(length) + " but the file holds " +
              std::to_string(bytes.size() - kHeaderBytes - kTrailerBytes) + " payload bytes");
  if (verify_checksum) {
    std::uint32_t stored;
    std::memcpy(&stored, bytes.data() + bytes.size() - kTrailerBytes, kTrailerBytes);
    if (stored != crc_of(bytes.substr(0, bytes.size() - kTrailerBytes)))
      head.fail("checksum mismatch");
  }
  CheckpointReader r(bytes.substr(0, bytes.size() - kTrailerBytes), where);
  r.skip(kHeaderBytes, "header");
  CheckpointFile c;
  c.config = r.str("config");
  c.run = get_run(r);
  if (r.remaining() != 0) r.fail(std::to_string(r.remaining()) + " unexpected bytes after the state");
  return c;
}

std::filesystem::path checkpoint_path(const std::filesystem::path& dir) {
  return dir / kCheckpointFileName;
}

std::size_t write_checkpoint(const std::filesystem::path& dir, const CheckpointFile& c) {
  const std::string bytes = encode_checkpoint(c);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw InputError("checkpoint: cannot create folder '" + dir.string() + "': " + ec.message());
  const std::filesystem::path final_path = checkpoint_path(dir);
  const std::filesystem::path tmp =
      dir / (std::string(kCheckpointFileName) + ".tmp." + std::to_string(::getpid()));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw InputError("checkpoint: cannot create '" + tmp.string() + "': " + errno_text());
  auto fail = [&](const std::string& what) {
    const std::string why = errno_text();
    ::close(fd);
    ::unlink(tmp.c_str());
    throw InputError("checkpoint: " + what + " '" + tmp.string() + "': " + why +
                     " (the previous checkpoint is kept)");
  };
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("cannot write");
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("cannot fsync");
  if (::close(fd) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw InputError("checkpoint: cannot close '" + tmp.string() + "': " + why);
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw InputError("checkpoint: cannot rename '" + tmp.string() + "' to '" +
                     final_path.string() + "': " + why + " (the previous checkpoint is kept)");
  }
  // The rename is durable only once the folder itself is synced.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || ::fsync(dfd) != 0) {
    const std::string why = errno_text();
    if (dfd >= 0) ::close(dfd);
    throw InputError("checkpoint: cannot fsync folder '" + dir.string() + "': " + why);
  }
  ::close(dfd);
  return bytes.size();
}

CheckpointFile read_checkpoint(const std::filesystem::path& path) {
  std::error_code ec;
  const std::filesystem::path file =
      std::filesystem::is_directory(path, ec) ? checkpoint_path(path) : path;
  const std::string where = "checkpoint '" + file.string() + "'";
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError("cannot read " + where + ": " + errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw InputError("cannot read " + where + ": not a regular file");
  }
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = errno_text();
      ::close(fd);
      throw InputError("error while reading " + where + ": " + why);
    }
    if (n == 0) break;  // shrank while we read: decode reports the truncation
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  bytes.resize(done);
  return decode_checkpoint(bytes, where);
}

}  // namespace racesgd
