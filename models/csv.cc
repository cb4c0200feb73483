#include "models/csv.h"

#include <vector>

#include "core/error.h"
#include "models/detail/parse_text.h"
#include "models/detail/text_labels.h"

namespace racesgd {
namespace {

using detail::fail_line;

// Splits one line into cells (quotes removed, unquoted cells trimmed). Reuses `cells`.
void split_cells(std::string_view line, char delim, const std::string& name, std::size_t line_no,
                 std::vector<std::string>& cells) {
  cells.clear();
  std::size_t i = 0;
  for (;;) {
    while (i < line.size() && detail::is_space(line[i]) && line[i] != delim) ++i;
    std::string cell;
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            cell += '"';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        cell += line[i++];
      }
      if (!closed)
        fail_line(name, line_no, "unterminated quote in cell " + std::to_string(cells.size()));
      while (i < line.size() && detail::is_space(line[i]) && line[i] != delim) ++i;
      if (i < line.size() && line[i] != delim) {
        fail_line(name, line_no,
                  "text after the closing quote of cell " + std::to_string(cells.size()));
      }
    } else {
      const std::size_t end = line.find(delim, i);
      cell = std::string(detail::trim(
          line.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i)));
      i = end == std::string_view::npos ? line.size() : end;
    }
    cells.push_back(std::move(cell));
    if (i >= line.size()) break;
    ++i;  // past the delimiter; a trailing delimiter yields a final empty cell
    if (i == line.size()) {
      cells.emplace_back();
      break;
    }
  }
}

std::string column_label(const std::vector<std::string>& header, std::size_t col) {
  std::string s = "column " + std::to_string(col);
  if (col < header.size()) s += " ('" + detail::excerpt(header[col]) + "')";
  return s;
}

}  // namespace

TextDataset parse_csv(std::string_view text, const std::string& name, const CsvOptions& options) {
  if (options.num_features < 0) {
    throw InputError(name + ": number of features " + std::to_string(options.num_features) +
                     " must not be negative");
  }
  std::vector<std::string> header;
  std::vector<std::string> cells;
  std::vector<float> features;  // row-major, grows with the text
  detail::LabelColumn labels;
  std::size_t num_cols = 0;
  std::size_t label_col = 0;
  std::size_t first_line = 0;  // line of the first row that fixed num_cols

  detail::LineCursor lines(text);
  std::string_view line;
  while (lines.next(line)) {
    const std::size_t line_no = lines.number();
    if (detail::trim(line).empty()) continue;
    split_cells(line, options.delimiter, name, line_no, cells);

    if (num_cols == 0) {
      num_cols = cells.size();
      first_line = line_no;
      if (num_cols < 2) {
        fail_line(name, line_no,
                  "has " + std::to_string(num_cols) +
                      " column; a dataset needs at least 2 (features and a label)"
                      " - is the delimiter '" +
                      std::string(1, options.delimiter) + "'?");
      }
      bool is_header = options.header == CsvHeader::kYes;
      if (options.header == CsvHeader::kAuto) {
        for (const std::string& c : cells) {
          double v = 0;
          if (!detail::parse_finite_double(c, v)) is_header = true;
        }
      }
      if (is_header) header = cells;
      // Resolve the label column now that the names are known.
      if (options.label_column.empty()) {
        label_col = num_cols - 1;
      } else {
        bool found = false;
        for (std::size_t c = 0; c < header.size(); ++c) {
          if (header[c] == options.label_column) {
            label_col = c;
            found = true;
            break;
          }
        }
        std::uint64_t index = 0;
        if (!found && detail::parse_u64(options.label_column, index) && index < num_cols) {
          label_col = static_cast<std::size_t>(index);
          found = true;
        }
        if (!found) {
          std::string names;
          for (std::size_t c = 0; c < header.size() && c < 12; ++c) {
            names += (c ? ", " : "") + detail::excerpt(header[c], 20);
          }
          if (header.size() > 12) names += ", ...";
          throw InputError(name + ": label column '" + options.label_column + "' is neither " +
                           (header.empty() ? std::string("a header name (the file has no header)")
                                           : "a header name (" + names + ")") +
                           " nor a column index 0.." + std::to_string(num_cols - 1));
        }
      }
      if (options.num_features > 0 &&
          num_cols - 1 != static_cast<std::size_t>(options.num_features)) {
        fail_line(name, line_no,
                  "has " + std::to_string(num_cols - 1) + " feature columns, expected " +
                      std::to_string(options.num_features) + " (as in the training file)");
      }
      if (is_header) continue;
    }

    if (cells.size() != num_cols) {
      fail_line(name, line_no,
                "ragged row: " + std::to_string(cells.size()) + " cells, expected " +
                    std::to_string(num_cols) + " (as in line " + std::to_string(first_line) + ")");
    }
    for (std::size_t c = 0; c < num_cols; ++c) {
      const std::string& cell = cells[c];
      if (cell.empty()) fail_line(name, line_no, "empty cell in " + column_label(header, c));
      if (c == label_col) {
        double v = 0;
        switch (detail::parse_class_label(cell, v)) {
          case detail::LabelText::kOk:
            break;
          case detail::LabelText::kNotANumber:
            fail_line(name, line_no,
                      "label '" + detail::excerpt(cell) + "' in " + column_label(header, c) +
                          " is not a finite number");
          case detail::LabelText::kNotAWholeNumber:
            fail_line(name, line_no,
                      "label '" + detail::excerpt(cell) + "' in " + column_label(header, c) +
                          " is not a whole number: class labels are integers (is this column "
                          "a feature or a regression target?)");
        }
        labels.add(v, line_no);
      } else {
        float v = 0;
        if (!detail::parse_finite_float(cell, v)) {
          fail_line(name, line_no,
                    "cell '" + detail::excerpt(cell) + "' in " + column_label(header, c) +
                        " is not a finite number");
        }
        features.push_back(v);
      }
    }
  }

  const std::size_t n = labels.size();
  if (n == 0) throw InputError(name + ": no samples (the file is empty or only a header)");
  const std::size_t d = num_cols - 1;

  TextDataset out;
  labels.map_to_classes(options.labels, name, out);
  out.data.x = Eigen::Map<const MatrixRM<float>>(
      features.data(), static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(d));
  return out;
}

TextDataset load_csv(const std::string& path, const CsvOptions& options) {
  const std::string text = detail::read_file_bytes(path, options.max_bytes);
  return parse_csv(text, path, options);
}

}  // namespace racesgd
