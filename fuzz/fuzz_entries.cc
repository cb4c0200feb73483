#include "fuzz/fuzz_entries.h"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "bench/experiment_file.h"
#include "bench/params.h"
#include "core/check.h"
#include "core/delay_cap.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/spec.h"
#include "models/csv.h"
#include "models/idx.h"
#include "models/libsvm.h"
#include "runtime/checkpoint.h"
#include "sgd/lr_schedule.h"
#include "delay/delay_model.h"

namespace racesgd::fuzz {
namespace {

namespace fs = std::filesystem;

// The loaders' default cap (4 GiB) is above libFuzzer's -rss_limit_mb=2048 by design: a
// 100-byte LIBSVM file may legitimately ask for a 1 x 2^26 dense matrix. The fuzzer
// checks that the cap is enforced, so it runs with a cap that fits its memory limit.
constexpr std::uint64_t kFuzzMaxBytes = std::uint64_t{256} << 20;

// One scratch directory per process (libFuzzer's -fork/-jobs children each get their own),
// removed at exit. Holds the temporary files of the file-reading targets and serves as the
// base directory for relative trace paths in delay specs.
class Scratch {
 public:
  Scratch() {
    dir_ = fs::temp_directory_path() / ("racesgd_fuzz_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  const fs::path& dir() const { return dir_; }

  // Writes `bytes` to dir/name (truncating) and returns the path.
  fs::path write(const std::string& name, std::string_view bytes) const {
    const fs::path path = dir_ / name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    RACESGD_CHECK_MSG(static_cast<bool>(out), "cannot write the fuzz scratch file");
    return path;
  }

 private:
  fs::path dir_;
};

const Scratch& scratch() {
  static const Scratch s;
  return s;
}

// Splits off the first line (without its '\n'); the rest follows it.
std::string_view take_line(std::string_view& bytes) {
  const std::size_t nl = bytes.find('\n');
  std::string_view line = bytes.substr(0, nl);
  bytes = nl == std::string_view::npos ? std::string_view() : bytes.substr(nl + 1);
  return line;
}

void check_dataset(const Dataset& data) {
  RACESGD_CHECK(data.x.rows() > 0 && data.x.cols() > 0);
  RACESGD_CHECK(static_cast<std::size_t>(data.x.rows()) == data.y.size());
  for (const int label : data.y) RACESGD_CHECK(label >= 0 && label < data.num_classes);
}

// Two bytes choose where the images file ends and the labels file starts.
bool run_idx(std::string_view bytes) {
  std::string_view images = bytes;
  std::string_view labels;
  if (bytes.size() >= 2) {
    const std::size_t hint = static_cast<unsigned char>(bytes[0]) |
                             (std::size_t{static_cast<unsigned char>(bytes[1])} << 8);
    const std::string_view rest = bytes.substr(2);
    const std::size_t split = hint % (rest.size() + 1);
    images = rest.substr(0, split);
    labels = rest.substr(split);
  }
  try {
    (void)parse_idx_header(images, "images");
  } catch (const InputError&) {
  }
  try {
    IdxOptions options;
    options.max_bytes = kFuzzMaxBytes;
    check_dataset(parse_idx(images, "images", labels, "labels", options));
    return true;
  } catch (const InputError&) {
    return false;
  }
}

bool run_libsvm(std::string_view bytes) {
  try {
    LibsvmOptions options;
    options.max_bytes = kFuzzMaxBytes;
    const TextDataset train = parse_libsvm(bytes, "fuzz.svm", options);
    check_dataset(train.data);
    // Re-read as a test file with the training file's label map and width.
    options.labels = train.labels;
    options.num_features = train.data.x.cols();
    check_dataset(parse_libsvm(bytes, "fuzz.svm", options).data);
    return true;
  } catch (const InputError&) {
    return false;
  }
}

// The first byte picks the options (header mode, label column, delimiter); the rest is text.
bool run_csv(std::string_view bytes) {
  CsvOptions options;
  options.max_bytes = kFuzzMaxBytes;
  if (!bytes.empty()) {
    const unsigned sel = static_cast<unsigned char>(bytes[0]);
    bytes.remove_prefix(1);
    constexpr CsvHeader kHeaders[] = {CsvHeader::kAuto, CsvHeader::kYes, CsvHeader::kNo,
                                      CsvHeader::kAuto};
    const char* const kLabels[] = {"", "0", "1", "label"};
    constexpr char kDelims[] = {',', ';', '\t', ' '};
    options.header = kHeaders[sel & 3];
    options.label_column = kLabels[(sel >> 2) & 3];
    options.delimiter = kDelims[(sel >> 4) & 3];
  }
  try {
    const TextDataset train = parse_csv(bytes, "fuzz.csv", options);
    check_dataset(train.data);
    options.labels = train.labels;
    options.num_features = train.data.x.cols();
    check_dataset(parse_csv(bytes, "fuzz.csv", options).data);
    return true;
  } catch (const InputError&) {
    return false;
  }
}

// parse_spec, then every typed getter on every key (each may fail on its own).
bool run_spec(std::string_view bytes) {
  try {
    SpecArgs args(parse_spec(bytes, "spec"), "spec");
    const auto params = args.spec().params;
    for (const auto& kv : params) {
      const std::string& key = kv.first;  // clang 14 lambdas cannot capture bindings
      RACESGD_CHECK(args.has(key));
      const auto attempt = [](auto&& get) {
        try {
          get();
        } catch (const InputError&) {
        }
      };
      attempt([&] { (void)args.duration(key); });
      attempt([&] { (void)args.number(key); });
      attempt([&] { (void)args.integer(key); });
      attempt([&] { (void)args.number_list(key); });
      attempt([&] { (void)args.integer_list(key); });
    }
    for (std::size_t i = 0; i <= args.num_positional(); ++i) {
      try {
        (void)args.positional(i);
      } catch (const InputError&) {
        RACESGD_CHECK(i == args.num_positional());
      }
    }
    args.allow_positional(1);
    args.finish();
    return true;
  } catch (const InputError&) {
    return false;
  }
}

// Samples, facts and the canonical spec of a model that was accepted. A model documents
// X in [0, kMaxDelaySeconds] (or +infinity) and that make_delay_model(spec()) builds an equivalent model.
void exercise_delay_model(DelayModel& model, const DelayContext& ctx) {
  Rng rng(12345);
  const bool may_never_finish = model.facts().may_never_finish();
  for (std::size_t w = 0; w < ctx.num_learners; ++w) {
    for (int i = 0; i < 8; ++i) {
      const double x = model.sample(w, rng);
      RACESGD_CHECK_MSG(x >= 0.0, "DelayModel::sample returned a negative or NaN time");
      RACESGD_CHECK_MSG(x <= kMaxDelaySeconds ||
                            (may_never_finish && x == std::numeric_limits<double>::infinity()),
                        "DelayModel::sample returned a time above the delay cap (or +infinity "
                        "from a law whose facts say its draws are finite)");
    }
    const DelayFacts f = model.learner_facts(w);
    if (f.cdf) (void)f.cdf(1e-3);
  }
  const DelayFacts f = model.facts();
  if (f.cdf) (void)f.cdf(1e-3);
  const std::string canonical = model.spec();
  try {
    (void)make_delay_model(canonical, ctx);
  } catch (const InputError& e) {
    std::fprintf(stderr, "canonical spec '%s' does not parse: %s\n", canonical.c_str(), e.what());
    RACESGD_CHECK_MSG(false, "make_delay_model(spec()) rejected a model's own canonical spec");
  }
}

bool run_delay_spec(std::string_view bytes) {
  bool accepted = false;
  for (const std::size_t learners : {1, 2, 4}) {
    DelayContext ctx;
    ctx.num_learners = learners;
    ctx.base_dir = scratch().dir();
    try {
      const auto model = make_delay_model(bytes, ctx);
      RACESGD_CHECK(model != nullptr);
      exercise_delay_model(*model, ctx);
      accepted = true;
    } catch (const InputError&) {
    }
  }
  return accepted;
}

// The bytes are a trace CSV, replayed by 1 learner (one column) or 3 (one or three columns).
bool run_trace(std::string_view bytes) {
  const fs::path path = scratch().write("trace.csv", bytes);
  bool accepted = false;
  for (const std::size_t learners : {1, 3}) {
    DelayContext ctx;
    ctx.num_learners = learners;
    ctx.base_dir = scratch().dir();
    try {
      const auto model = make_delay_model("trace:file=trace.csv,unit=ms", ctx);
      exercise_delay_model(*model, ctx);
      accepted = true;
    } catch (const InputError&) {
    }
  }
  (void)path;
  return accepted;
}

bool run_experiment_toml(std::string_view bytes) {
  const fs::path path = scratch().write("experiment.toml", bytes);
  try {
    ParamValues values(race_params());
    apply_experiment_file(path.string(), values);
    (void)values.to_json().dump();
    return true;
  } catch (const InputError&) {
    return false;
  }
}

// Three lines: the schedule spec, the base rate, the decay spec. Every rate must be finite
// and >= 0 (LrSchedule::rate's contract).
bool run_lr_schedule(std::string_view bytes) {
  const std::string_view schedule = take_line(bytes);
  const std::string_view lr_text = take_line(bytes);
  const std::string_view decay = bytes;
  double lr = 0.1;
  (void)std::from_chars(lr_text.data(), lr_text.data() + lr_text.size(), lr);
  try {
    const auto s = make_lr_schedule(schedule, lr, decay.empty() ? "none" : decay);
    for (const std::uint64_t staleness : {std::uint64_t{0}, std::uint64_t{3}, ~std::uint64_t{0}}) {
      for (const double d2 : {0.0, 1e-300, 0.5, 1e300}) {
        for (const double t : {0.0, 1.5, 1e9}) {
          LrInputs in;
          in.staleness = staleness;
          in.distance2 = d2;
          in.update = staleness;
          in.time = t;
          const double r = s->rate(in);
          RACESGD_CHECK_MSG(std::isfinite(r) && r >= 0.0, "LrSchedule::rate out of contract");
        }
      }
    }
    (void)s->spec();
    return true;
  } catch (const InputError&) {
    return false;
  }
}

// A whole checkpoint file. The crc is skipped so that mutations reach the payload parser
// (a fuzzer cannot forge crc32s); an accepted file must survive encode -> decode -> encode
// unchanged (what write_checkpoint then read_checkpoint rely on).
bool run_checkpoint(std::string_view bytes) {
  try {
    (void)decode_checkpoint(bytes, "fuzz.rsgd", /*verify_checksum=*/true);
  } catch (const InputError&) {
  }
  CheckpointFile file;
  try {
    file = decode_checkpoint(bytes, "fuzz.rsgd", /*verify_checksum=*/false);
  } catch (const InputError&) {
    return false;
  }
  const std::string encoded = encode_checkpoint(file);
  try {
    RACESGD_CHECK_MSG(encode_checkpoint(decode_checkpoint(encoded, "re-encoded")) == encoded,
                      "a decoded checkpoint does not re-encode to the same bytes");
  } catch (const InputError& e) {
    std::fprintf(stderr, "re-encoded checkpoint rejected: %s\n", e.what());
    RACESGD_CHECK_MSG(false, "decode_checkpoint rejects what encode_checkpoint wrote");
  }
  return true;
}

}  // namespace

const std::vector<FuzzTarget>& fuzz_targets() {
  static const std::vector<FuzzTarget> targets = {
      {"idx", run_idx},
      {"libsvm", run_libsvm},
      {"csv", run_csv},
      {"spec", run_spec},
      {"delay_spec", run_delay_spec},
      {"trace", run_trace},
      {"experiment_toml", run_experiment_toml},
      {"lr_schedule", run_lr_schedule},
      {"checkpoint", run_checkpoint},
  };
  return targets;
}

const FuzzTarget* find_fuzz_target(std::string_view name) {
  for (const FuzzTarget& t : fuzz_targets())
    if (name == t.name) return &t;
  return nullptr;
}

}  // namespace racesgd::fuzz
