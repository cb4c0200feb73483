// CSV, plain or gzip: one sample per line, numeric cells separated by a delimiter (',' by
// default), one of them the label. An optional header line names the columns. Cells may
// be wrapped in double quotes ("" inside quotes is a quote). Blank lines are skipped;
// CRLF line ends are accepted. Labels are whole numbers, mapped to classes by LabelMap
// (sorted distinct values -> 0..C-1); a fractional label is an error naming the column and
// its first such row (a continuous column is a feature, not classes). The other columns
// are the features in file order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "models/detail/read_file.h"
#include "models/text_dataset.h"

namespace racesgd {

enum class CsvHeader {
  kAuto,  // the first non-blank line is a header when any of its cells is not a number
  kYes,
  kNo,
};

struct CsvOptions {
  /// The label column: a header name, or a 0-based column index ("0", "64"); a header name
  /// wins when both match. Empty: the last column.
  std::string label_column;
  CsvHeader header = CsvHeader::kAuto;
  char delimiter = ',';
  /// Number of feature columns required (a test file must match its training file).
  /// 0: any.
  std::int64_t num_features = 0;
  /// The label map to use (a test file uses its training file's); a label outside it is
  /// an error. Empty: built from this file's labels.
  std::optional<LabelMap> labels;
  /// Largest decompressed file accepted, in bytes (the float matrix is never larger).
  std::uint64_t max_bytes = detail::kDefaultMaxInputBytes;
};

/// Parses CSV text held in memory (`name` is used in error messages; exposed for
/// fuzzing). Throws InputError "<name>: line <n>: <problem>" on a ragged row (cell count
/// differs from the first line's), a non-numeric or empty cell (naming the column), a
/// label that is not a whole number (naming the column), an unterminated quote, an
/// unknown label; "<name>: <problem>" for an unknown label column,
/// fewer than 2 columns, a feature-count mismatch, or no samples. Allocates memory
/// proportional to the text.
TextDataset parse_csv(std::string_view text, const std::string& name,
                      const CsvOptions& options = {});

/// Reads and parses a CSV file (plain or gzip). The dataset is named after the path.
/// Throws InputError as parse_csv or when the file is missing or unreadable.
TextDataset load_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace racesgd
