// LIBSVM / SVMlight text, plain or gzip: one sample per line, "label idx:value idx:value
// ...", indices 1-based and strictly increasing, absent features 0. Text after '#' is a
// comment; blank lines are skipped; SVMlight's "qid:N" token is accepted and ignored.
// The sparse rows are densified (feature j-1 holds index j). Labels are whole numbers
// (-1, +1, 3, 1.0), mapped to classes by LabelMap (sorted distinct values -> 0..C-1); a
// fractional label (2.5) is an error: regression data is not a classification task.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "models/detail/read_file.h"
#include "models/text_dataset.h"

namespace racesgd {

/// Largest feature index accepted (2^26): a larger one in a small file is corruption, and
/// densifying it would need gigabytes per row.
inline constexpr std::uint64_t kMaxLibsvmIndex = std::uint64_t{1} << 26;

struct LibsvmOptions {
  /// Number of features. 0: the largest index in the file. Otherwise an index above it is
  /// an error, and the rows are padded to it (a test file whose last features are all 0).
  std::int64_t num_features = 0;
  /// The label map to use (a test file uses its training file's); a label outside it is
  /// an error. Empty: built from this file's labels.
  std::optional<LabelMap> labels;
  /// Largest decompressed file and largest dense float matrix accepted, in bytes.
  std::uint64_t max_bytes = detail::kDefaultMaxInputBytes;
};

/// Parses LIBSVM text held in memory (`name` is used in error messages; exposed for
/// fuzzing). Throws InputError "<name>: line <n>: <problem>" on a non-numeric label or
/// value, a label that is not a whole number, a token that is not idx:value, index 0, a non-increasing index, an index above
/// the limit, an unknown label; "<name>: <problem>" when there are no samples or the dense
/// matrix would exceed max_bytes. Allocates memory proportional to the text, then n x d.
TextDataset parse_libsvm(std::string_view text, const std::string& name,
                         const LibsvmOptions& options = {});

/// Reads and parses a LIBSVM file (plain or gzip). The dataset is named after the path.
/// Throws InputError as parse_libsvm or when the file is missing or unreadable.
TextDataset load_libsvm(const std::string& path, const LibsvmOptions& options = {});

}  // namespace racesgd
