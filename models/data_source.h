// Data source resolution: from the CLI's data flags (kept as text here, so every parse
// error names its flag) to a scaled, optionally binarised and subsampled train/test pair.
//
//   source "mnist" / "fashion-mnist": IDX files under <data_dir>/<source>/ (plain or .gz)
//   source PATH: an IDX images file, a LIBSVM file or a CSV file (format by name or flag);
//                the test set is --test-data, or else a seeded split of PATH.
//
// Order of operations: load -> split (when there is no test set) -> binary task ->
// subsample (max_train / max_test) -> scaling (statistics from the final training set).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "models/dataset.h"

namespace racesgd {

/// The CLI flag each DataOptions field comes from; error messages name these.
namespace data_flags {
inline constexpr std::string_view kSource = "--data";
inline constexpr std::string_view kFormat = "--format";
inline constexpr std::string_view kDataDir = "--data-dir";
inline constexpr std::string_view kTestPath = "--test-data";
inline constexpr std::string_view kTestFraction = "--test-fraction";
inline constexpr std::string_view kLabelColumn = "--label-column";
inline constexpr std::string_view kScaling = "--scale";
inline constexpr std::string_view kBinary = "--binary";
inline constexpr std::string_view kMaxTrain = "--max-train";
inline constexpr std::string_view kMaxTest = "--max-test";
}  // namespace data_flags

enum class DataFormat { kAuto, kIdx, kLibsvm, kCsv };

/// "auto" | "idx" | "libsvm" | "csv". Throws InputError "<flag>: 'x' is not one of ...".
DataFormat parse_data_format(std::string_view text, std::string_view flag = data_flags::kFormat);
std::string_view data_format_name(DataFormat f);

/// The format of `path` from its name (a trailing ".gz" ignored): .csv -> csv;
/// .svm, .libsvm, .svmlight, .txt -> libsvm; ".idx" or a name containing "-idx" or
/// "ubyte" -> idx. Throws InputError naming the path and `flag` when none applies.
DataFormat detect_format(const std::string& path, std::string_view flag = data_flags::kFormat);

/// The labels file that goes with an IDX images file: "images" -> "labels" and
/// "idx3" -> "idx1" in the file name (train-images-idx3-ubyte -> train-labels-idx1-ubyte).
/// Throws InputError naming `flag` when the name has no "images" in it.
std::string idx_labels_path(const std::string& images_path,
                            std::string_view flag = data_flags::kSource);

/// <repository>/data, fixed at build time (scripts/setup.sh fetches MNIST there).
std::string default_data_dir();

struct DataOptions {
  std::string source = "mnist";  // "mnist", "fashion-mnist", or a file path
  std::string format = "auto";   // auto | idx | libsvm | csv (PATH sources only)
  std::string data_dir;          // "" = default_data_dir()
  std::string test_path;         // PATH sources: a separate test file, same format
  double test_fraction = 0.2;    // PATH sources without test_path: fraction held out
  std::string label_column;      // CSV: header name or 0-based index; "" = last column
  std::string scaling = "max";   // none | max | unit | standard
  std::string binary;            // "" | "A,B" | "even-odd"
  std::int64_t max_train = 0;    // keep at most this many training rows (0 = all)
  std::int64_t max_test = 0;     // keep at most this many test rows (0 = all)
  std::uint64_t seed = 1;        // run seed: split and subsampling streams derive from it
};

/// What load_data resolved, for the context header of output files.
struct DataInfo {
  std::string format;        // idx | libsvm | csv
  std::string train_source;  // file(s) read for the training set
  std::string test_source;   // file(s) read for the test set, or "split of ..."
  std::string label_map;     // "identity" (IDX) or "value->class, ..." (text formats)
  std::string scaling;       // none | max | unit | standard
  std::string binary;        // "" | "A,B" | "even-odd"
  /// Doubts about the data that do not stop a run (the CLI prints them): e.g. as many
  /// classes as rows, which suggests the labels are not classes.
  std::vector<std::string> warnings;
};

/// Fewer than this many training rows per class on average draws a warning: most classes
/// could then not be both learned and tested, which suggests the labels are not classes.
inline constexpr double kMinRowsPerClass = 2.0;

/// Loads, splits, binarises, subsamples and scales as the options say. Deterministic in
/// the options (seed included). Allocates the datasets. Throws InputError naming the flag
/// (bad option text) or the file and line/byte (bad data), and when every row of the
/// training file has the same label (nothing to learn); a missing MNIST or Fashion-MNIST
/// says how to get it. Fills `info` when given (with a warning when the training file has
/// fewer than kMinRowsPerClass rows per class).
TrainTest load_data(const DataOptions& options, DataInfo* info = nullptr);

}  // namespace racesgd
