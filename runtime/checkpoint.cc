#include "runtime/checkpoint.h"

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

#include "core/durable_file.h"
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

// Each structure's fields are listed once, in file order, in a template that both
// directions run: with Save it writes each field of a const object, with Load it reads
// each field into the object. So writer and reader cannot drift apart, and every read
// names its field for the error message ("truncated: curve time needs 8 bytes ...").
class Save {
 public:
  explicit Save(CheckpointWriter& w) : w_(w) {}
  void u64(std::uint64_t v, const char*) { w_.u64(v); }
  void i64(std::int64_t v, const char*) { w_.u64(static_cast<std::uint64_t>(v)); }
  void f64(double v, const char*) { w_.f64(v); }
  void flag(bool v, const char*) { w_.flag(v); }
  void str(const std::string& v, const char*) { w_.str(v); }
  void f32s(const std::vector<float>& v, const char*) { w_.f32s(v); }
  void f64s(const std::vector<double>& v, const char*) { w_.f64s(v); }
  void u64s(const std::vector<std::uint64_t>& v, const char*) { w_.u64s(v); }
  void chars(const std::vector<char>& v, const char*) { w_.chars(v); }
  /// A count, then each element's fields.
  template <class T, class Fields>
  void list(const std::vector<T>& v, const char*, std::size_t /*min_bytes_each*/, Fields fields) {
    w_.u64(v.size());
    for (const T& x : v) fields(x);
  }
  /// Loading checks a value once it is read; saving has nothing to check.
  template <class Check>
  void check(Check&&) {}
  /// Whether the file has the fields format `version` added: a file is always written in
  /// the newest format.
  bool since(std::uint32_t) const { return true; }

 private:
  CheckpointWriter& w_;
};

class Load {
 public:
  Load(CheckpointReader& r, std::uint32_t format) : r_(r), format_(format) {}
  void u64(std::uint64_t& v, const char* what) { v = r_.u64(what); }
  void i64(std::int64_t& v, const char* what) { v = static_cast<std::int64_t>(r_.u64(what)); }
  void f64(double& v, const char* what) { v = r_.f64(what); }
  void flag(bool& v, const char* what) { v = r_.flag(what); }
  void str(std::string& v, const char* what) { v = r_.str(what); }
  void f32s(std::vector<float>& v, const char* what) { v = r_.f32s(what); }
  void f64s(std::vector<double>& v, const char* what) { v = r_.f64s(what); }
  void u64s(std::vector<std::uint64_t>& v, const char* what) { v = r_.u64s(what); }
  void chars(std::vector<char>& v, const char* what) { v = r_.chars(what); }
  /// The count is checked against the bytes left (each element needs at least
  /// min_bytes_each) before anything is allocated.
  template <class T, class Fields>
  void list(std::vector<T>& v, const char* what, std::size_t min_bytes_each, Fields fields) {
    v.resize(r_.count(what, min_bytes_each));
    for (T& x : v) fields(x);
  }
  template <class Check>
  void check(Check&& check) {
    check(static_cast<const CheckpointReader&>(r_));
  }
  bool since(std::uint32_t version) const { return format_ >= version; }

 private:
  CheckpointReader& r_;
  std::uint32_t format_;
};

// Point: CurvePoint or const CurvePoint (Load or Save); likewise below.
template <class Io, class Point>
void point_fields(Io& io, Point& p) {
  io.f64(p.time_s, "curve time");
  io.u64(p.updates, "curve updates");
  io.u64(p.gradients, "curve gradients");
  io.f64(p.train_loss, "curve train loss");
  io.f64(p.test_error, "curve test error");
  io.f64(p.staleness_mean, "curve staleness");
  io.f64(p.wall_s, "curve wall time");
  if (io.since(4)) io.u64(p.k, "curve K");
}

template <class Io, class State>
void ps_fields(Io& io, State& s) {
  auto& c = s.coordinator;
  io.u64(c.version, "version");
  io.u64(c.pending, "pending gradients");
  io.u64(c.k, "effective K");
  if (io.since(4)) io.u64(c.target_k, "target K");
  io.chars(c.busy, "busy flags");
  io.chars(c.contributed, "contributed flags");
  io.chars(c.active, "active flags");
  if (io.since(3)) io.u64s(c.started, "learner start versions");
  if (io.since(3)) io.u64s(c.clocks, "ssp clocks");
  io.f32s(s.pending_sum, "pending update");
  io.u64(s.pending_count, "pending count");
  io.list(s.pending, "pending gradients' statistics", 32, [&](auto& g) {
    io.u64(g.learner, "pending gradient learner");
    io.u64(g.read, "pending gradient read version");
    io.u64(g.staleness, "pending gradient staleness");
    io.f64(g.lr, "pending gradient lr");
  });
  auto& t = s.tracker;
  io.list(t.per_learner, "per-learner staleness", 40, [&](auto& p) {
    io.u64(p.applied, "learner applied");
    io.u64(p.cancelled, "learner cancelled");
    io.f64(p.staleness_sum, "learner staleness sum");
    io.u64(p.staleness_max, "learner staleness max");
    io.f64(p.idle_seconds, "learner idle");
  });
  io.u64s(t.histogram, "staleness histogram");
  io.u64(t.applied, "applied");
  io.u64(t.cancelled, "cancelled");
  io.u64(t.fresh, "fresh");
  io.u64(t.max, "staleness max");
  io.f64(t.sum, "staleness sum");
  io.f64(t.interval_sum, "interval staleness sum");
  io.u64(t.interval_count, "interval count");
  if (io.since(3)) {
    io.f64(t.spread_sum, "clock spread sum");
    io.u64(t.spread_count, "clock spread count");
    io.u64(t.spread_max, "clock spread max");
  }
  io.f64s(s.idle_since, "idle since");
  io.f64s(s.busy_since, "busy since");
  io.f64(s.last_update_time, "last update time");
  io.f64(s.lr_sum, "lr sum");
  if (io.since(3)) io.f32s(s.compensation_mean_square, "compensation mean square");
}

template <class Io, class Run>
void run_fields(Io& io, Run& c) {
  io.str(c.clock, "clock");
  io.check([&](const CheckpointReader& r) {
    if (c.clock != "virtual" && c.clock != "real")
      r.fail("clock '" + c.clock + "' is not virtual or real");
  });
  io.f64(c.now, "run clock");
  io.f64(c.ticker_next_time, "next evaluation time");
  io.check([&](const CheckpointReader& r) { check_run_clock(r, c.now, c.ticker_next_time); });
  ps_fields(io, c.ps);
  io.list(c.weights, "weight versions", 16, [&](auto& v) {
    io.u64(v.version, "weights version");
    io.f32s(v.w, "weights");
  });
  io.list(c.learners, "learners", 8 + 1 + 8 + 32 + 1 + 32 + 16, [&](auto& l) {
    io.u64(l.ticket, "learner ticket");
    io.flag(l.has_pin, "learner pin flag");
    io.u64(l.pinned, "learner pinned version");
    for (auto& x : l.delay_rng) io.u64(x, "learner delay rng");
    io.flag(l.has_sampler, "learner sampler flag");
    for (auto& x : l.sampler.epoch_rng) io.u64(x, "learner sampler rng");
    io.u64(l.sampler.epoch, "learner sampler epoch");
    io.i64(l.sampler.position, "learner sampler position");
  });
  io.u64s(c.delay_state, "delay-model state");
  io.list(c.curve, "curve points", 7 * 8 + 1 + 8, [&](auto& p) {
    point_fields(io, p.point);
    io.flag(p.scored, "curve scored flag");
    io.f32s(p.weights, "curve snapshot");
  });
  io.f64(c.delays.drawn_sum, "drawn delay sum");
  io.f64(c.delays.served_sum, "served delay sum");
  io.f64(c.delays.compute_sum, "compute time sum");
  io.u64(c.delays.count, "delay count");
  io.u64(c.delays.exceeded, "delays exceeded");
  io.f64(c.latest_error, "latest error");
  io.flag(c.target_reached, "target reached");
  io.list(c.failures, "failures", 8 + 8 + 8, [&](auto& f) {
    io.u64(f.learner, "failed learner");
    io.str(f.what, "failure message");
    io.f64(f.time_s, "failure time");
  });
  io.u64(c.next_seq, "event sequence");
  io.list(c.events, "events", 32, [&](auto& e) {
    io.f64(e.time, "event time");
    io.u64(e.seq, "event sequence number");
    io.u64(e.learner, "event learner");
    io.u64(e.ticket, "event ticket");
  });
  if (io.since(4)) {
    io.flag(c.has_k_schedule, "K schedule flag");
    auto& k = c.k_schedule;
    io.f64(k.f0, "K schedule initial loss");
    io.f64(k.next_s, "K schedule next check");
    io.list(k.changes, "K changes", 32, [&](auto& ch) {
      io.f64(ch.time_s, "K change time");
      io.u64(ch.update, "K change update");
      io.f64(ch.loss, "K change loss");
      io.u64(ch.K, "K change K");
    });
  }
}

void put_run(CheckpointWriter& w, const RunCheckpoint& c) {
  Save save(w);
  run_fields(save, c);
}

// Format 2 predates the start versions. A learner computing on the virtual clock started
// on the version it pinned; any other learner's start version is never read before its
// next restart (a real-clock resume restarts them all), so the current version will do.
void derive_start_versions(RunCheckpoint& c) {
  auto& co = c.ps.coordinator;
  co.started.assign(co.busy.size(), co.version);
  for (std::size_t w = 0; w < co.started.size() && w < c.learners.size(); ++w)
    if (co.busy[w] && c.learners[w].has_pin) co.started[w] = c.learners[w].pinned;
}

RunCheckpoint get_run(CheckpointReader& r, std::uint32_t format) {
  RunCheckpoint c;
  c.format = format;
  Load load(r, format);
  run_fields(load, c);
  if (format < 3) derive_start_versions(c);
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
  if (version < kOldestCheckpointFormatVersion || version > kCheckpointFormatVersion)
    head.fail("format version " + std::to_string(version) + ", this racesgd reads versions " +
              std::to_string(kOldestCheckpointFormatVersion) + " to " +
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
  c.run = get_run(r, version);
  if (r.remaining() != 0) r.fail(std::to_string(r.remaining()) + " unexpected bytes after the state");
  return c;
}

std::filesystem::path checkpoint_path(const std::filesystem::path& dir) {
  return dir / kCheckpointFileName;
}

std::size_t write_checkpoint(const std::filesystem::path& dir, const CheckpointFile& c) {
  const std::string bytes = encode_checkpoint(c);
  try {
    write_file_atomic(checkpoint_path(dir), bytes);
  } catch (const WriteError& e) {
    throw WriteError(std::string("checkpoint: ") + e.what() + " (the previous checkpoint is kept)");
  }
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
