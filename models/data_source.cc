#include "models/data_source.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>

#include "core/error.h"
#include "core/rng.h"
#include "models/csv.h"
#include "models/detail/parse_text.h"
#include "models/idx.h"
#include "models/libsvm.h"
#include "models/transforms.h"

#ifndef RACESGD_DEFAULT_DATA_DIR
#error "data_sources.cmake defines RACESGD_DEFAULT_DATA_DIR for this file"
#endif

namespace racesgd {
namespace {

namespace fs = std::filesystem;

constexpr int kMnistClasses = 10;

// Seeds of the data streams: stream 0 splits, 1 and 2 subsample train and test.
std::uint64_t split_seed(std::uint64_t run_seed) {
  return derive_seed(run_seed, 0, StreamPurpose::kSplit);
}
std::uint64_t subsample_seed(std::uint64_t run_seed, std::uint64_t which) {
  return derive_seed(run_seed, 1 + which, StreamPurpose::kSplit);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "<dir>/<base>" if present, else "<dir>/<base>.gz" if present.
std::optional<std::string> find_plain_or_gz(const fs::path& dir, const std::string& base) {
  std::error_code ec;
  for (const std::string& name : {base, base + ".gz"}) {
    const fs::path p = dir / name;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  return std::nullopt;
}

// What a training file's labels must give a classifier: at least two classes present (an
// error otherwise: there is nothing to learn), and a few rows per class (a warning
// otherwise). `labels` names the label values of the text formats; IDX labels are their
// own values.
void check_training_labels(const Dataset& train, const LabelMap* labels, DataInfo& info) {
  std::vector<bool> present(static_cast<std::size_t>(std::max(train.num_classes, 0)), false);
  int distinct = 0;
  for (const std::int32_t y : train.y) {
    const auto c = static_cast<std::size_t>(y);
    if (y < 0 || c >= present.size() || present[c]) continue;
    present[c] = true;
    ++distinct;
  }
  if (distinct == 1) {
    const std::int32_t c = train.y.front();
    const std::string value =
        labels ? detail::format_number(labels->values()[static_cast<std::size_t>(c)])
               : std::to_string(c);
    throw InputError(train.name + ": all " + std::to_string(train.size()) +
                     " training rows have the label " + value +
                     ": a classifier needs at least 2 classes to learn from");
  }
  const double rows_per_class = static_cast<double>(train.size()) / static_cast<double>(distinct);
  if (rows_per_class < kMinRowsPerClass) {
    info.warnings.push_back(train.name + ": " + std::to_string(distinct) + " classes in " +
                            std::to_string(train.size()) +
                            " training rows (fewer than 2 per class): are the labels classes, "
                            "not a feature or a regression target?");
  }
}

TrainTest load_named_idx(const std::string& source, const fs::path& data_dir, DataInfo& info) {
  const fs::path dir = data_dir / source;
  const std::string pretty = source == "mnist" ? "MNIST" : "Fashion-MNIST";
  const std::string how =
      source == "mnist"
          ? "run scripts/setup.sh to fetch it, or point " + std::string(data_flags::kDataDir) +
                " at a directory holding mnist/"
          : "run scripts/setup.sh (it installs Debian's dataset-fashion-mnist and links it "
            "into data/), or point " +
                std::string(data_flags::kDataDir) + " at a directory holding fashion-mnist/";
  std::string files[4];
  const char* bases[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
  for (int i = 0; i < 4; ++i) {
    const auto found = find_plain_or_gz(dir, bases[i]);
    if (!found) {
      throw InputError(std::string(data_flags::kSource) + " " + source + ": " + pretty +
                       " not found: no " + (dir / bases[i]).string() + "[.gz]; " + how);
    }
    files[i] = *found;
  }
  IdxOptions opts;
  opts.num_classes = kMnistClasses;
  TrainTest tt{load_idx(files[0], files[1], opts, source + "/train"),
               load_idx(files[2], files[3], opts, source + "/test")};
  check_training_labels(tt.train, nullptr, info);
  info.format = "idx";
  info.train_source = files[0] + " + " + files[1];
  info.test_source = files[2] + " + " + files[3];
  info.label_map = "identity";
  return tt;
}

void check_same_dim(const Dataset& train, const Dataset& test) {
  if (train.dim() != test.dim()) {
    throw InputError(test.name + ": " + std::to_string(test.dim()) +
                     " features, but the training set " + train.name + " has " +
                     std::to_string(train.dim()));
  }
}

TrainTest load_path(const DataOptions& o, DataInfo& info) {
  DataFormat fmt = parse_data_format(o.format);
  if (fmt == DataFormat::kAuto) fmt = detect_format(o.source);
  info.format = std::string(data_format_name(fmt));
  const bool has_test = !o.test_path.empty();
  if (!o.label_column.empty() && fmt != DataFormat::kCsv) {
    throw InputError(std::string(data_flags::kLabelColumn) + ": applies to CSV only, but " +
                     o.source + " is " + info.format);
  }

  Dataset train;
  std::optional<Dataset> test;
  switch (fmt) {
    case DataFormat::kIdx: {
      const std::string labels = idx_labels_path(o.source, data_flags::kSource);
      train = load_idx(o.source, labels);
      check_training_labels(train, nullptr, info);
      info.train_source = o.source + " + " + labels;
      info.label_map = "identity";
      if (has_test) {
        const std::string test_labels = idx_labels_path(o.test_path, data_flags::kTestPath);
        IdxOptions topts;
        topts.num_classes = train.num_classes;
        test = load_idx(o.test_path, test_labels, topts);
        info.test_source = o.test_path + " + " + test_labels;
      }
      break;
    }
    case DataFormat::kLibsvm: {
      TextDataset tr = load_libsvm(o.source);
      check_training_labels(tr.data, &tr.labels, info);
      info.train_source = o.source;
      info.label_map = tr.labels.describe();
      if (has_test) {
        LibsvmOptions topts;
        topts.num_features = tr.data.dim();
        topts.labels = tr.labels;
        test = load_libsvm(o.test_path, topts).data;
        info.test_source = o.test_path;
      }
      train = std::move(tr.data);
      break;
    }
    case DataFormat::kCsv: {
      CsvOptions copts;
      copts.label_column = o.label_column;
      TextDataset tr = load_csv(o.source, copts);
      check_training_labels(tr.data, &tr.labels, info);
      info.train_source = o.source;
      info.label_map = tr.labels.describe();
      if (has_test) {
        copts.num_features = tr.data.dim();
        copts.labels = tr.labels;
        test = load_csv(o.test_path, copts).data;
        info.test_source = o.test_path;
      }
      train = std::move(tr.data);
      break;
    }
    case DataFormat::kAuto:
      break;  // resolved above
  }
  if (test) {
    check_same_dim(train, *test);
    test->num_classes = train.num_classes;
    return TrainTest{std::move(train), std::move(*test)};
  }
  TrainTest tt =
      split_train_test(train, o.test_fraction, split_seed(o.seed), data_flags::kTestFraction);
  info.test_source =
      "split of " + o.source + " (test fraction " + std::to_string(o.test_fraction) + ")";
  return tt;
}

}  // namespace

DataFormat parse_data_format(std::string_view text, std::string_view flag) {
  if (text == "auto") return DataFormat::kAuto;
  if (text == "idx") return DataFormat::kIdx;
  if (text == "libsvm") return DataFormat::kLibsvm;
  if (text == "csv") return DataFormat::kCsv;
  throw InputError(std::string(flag) + ": '" + std::string(text) +
                   "' is not one of auto, idx, libsvm, csv");
}

std::string_view data_format_name(DataFormat f) {
  switch (f) {
    case DataFormat::kAuto:
      return "auto";
    case DataFormat::kIdx:
      return "idx";
    case DataFormat::kLibsvm:
      return "libsvm";
    case DataFormat::kCsv:
      return "csv";
  }
  return "?";
}

DataFormat detect_format(const std::string& path, std::string_view flag) {
  std::string name = lower(fs::path(path).filename().string());
  if (ends_with(name, ".gz")) name.resize(name.size() - 3);
  if (ends_with(name, ".csv")) return DataFormat::kCsv;
  for (const char* ext : {".svm", ".libsvm", ".svmlight", ".txt"}) {
    if (ends_with(name, ext)) return DataFormat::kLibsvm;
  }
  if (ends_with(name, ".idx") || name.find("-idx") != std::string::npos ||
      name.find("ubyte") != std::string::npos) {
    return DataFormat::kIdx;
  }
  throw InputError(
      std::string(flag) + ": cannot tell the format of '" + path +
      "' from its name (.csv, .svm/.libsvm/.txt, or an IDX name with '-idx' or 'ubyte'); "
      "pass " +
      std::string(flag) + " idx|libsvm|csv");
}

std::string idx_labels_path(const std::string& images_path, std::string_view flag) {
  const fs::path p(images_path);
  std::string name = p.filename().string();
  const std::size_t at = name.find("images");
  if (at == std::string::npos) {
    throw InputError(std::string(flag) + ": cannot find the labels file of IDX images file '" +
                     images_path +
                     "': its name has no 'images' to replace with 'labels' "
                     "(expected e.g. train-images-idx3-ubyte next to train-labels-idx1-ubyte)");
  }
  name.replace(at, 6, "labels");
  if (const std::size_t i3 = name.find("idx3"); i3 != std::string::npos)
    name.replace(i3, 4, "idx1");
  return (p.parent_path() / name).string();
}

std::string default_data_dir() { return RACESGD_DEFAULT_DATA_DIR; }

TrainTest load_data(const DataOptions& o, DataInfo* info_out) {
  // Parse every option before touching a file, so a typo fails fast.
  const Scaling scaling = parse_scaling(o.scaling, data_flags::kScaling);
  const BinaryTask binary = parse_binary_task(o.binary, data_flags::kBinary);
  parse_data_format(o.format, data_flags::kFormat);
  if (o.max_train < 0) {
    throw InputError(std::string(data_flags::kMaxTrain) + ": " + std::to_string(o.max_train) +
                     " must be >= 0");
  }
  if (o.max_test < 0) {
    throw InputError(std::string(data_flags::kMaxTest) + ": " + std::to_string(o.max_test) +
                     " must be >= 0");
  }
  if (o.source.empty()) throw InputError(std::string(data_flags::kSource) + ": empty data source");

  DataInfo info;
  TrainTest tt;
  if (o.source == "mnist" || o.source == "fashion-mnist") {
    if (o.format != "auto" && o.format != "idx") {
      throw InputError(std::string(data_flags::kFormat) + ": '" + o.format +
                       "' does not apply to " + std::string(data_flags::kSource) + " " + o.source +
                       " (IDX files)");
    }
    if (!o.test_path.empty()) {
      throw InputError(std::string(data_flags::kTestPath) + ": " + o.source +
                       " has its own test set");
    }
    if (!o.label_column.empty()) {
      throw InputError(std::string(data_flags::kLabelColumn) + ": applies to CSV only, not " +
                       o.source);
    }
    const fs::path dir = o.data_dir.empty() ? fs::path(default_data_dir()) : fs::path(o.data_dir);
    tt = load_named_idx(o.source, dir, info);
  } else {
    tt = load_path(o, info);
  }

  // Each step copies only when it changes something (MNIST's training set is 188 MB).
  if (binary.kind != BinaryTask::Kind::kNone) {
    tt.train = apply_binary_task(tt.train, binary, data_flags::kBinary);
    tt.test = apply_binary_task(tt.test, binary, data_flags::kBinary);
  }
  if (o.max_train > 0 && o.max_train < tt.train.size()) {
    tt.train = subsample(tt.train, o.max_train, subsample_seed(o.seed, 0));
  }
  if (o.max_test > 0 && o.max_test < tt.test.size()) {
    tt.test = subsample(tt.test, o.max_test, subsample_seed(o.seed, 1));
  }
  const ScalingStats stats = fit_scaling(tt.train, scaling);
  apply_scaling(stats, tt.train);
  apply_scaling(stats, tt.test);

  info.scaling = std::string(scaling_name(scaling));
  info.binary = o.binary;
  if (info_out != nullptr) *info_out = std::move(info);
  return tt;
}

}  // namespace racesgd
