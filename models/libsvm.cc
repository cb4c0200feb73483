#include "models/libsvm.h"

#include <vector>

#include "core/error.h"
#include "models/detail/parse_text.h"
#include "models/detail/text_labels.h"

namespace racesgd {
namespace {

using detail::fail_line;

struct Entry {
  std::uint32_t col;  // 0-based
  float value;
};

}  // namespace

TextDataset parse_libsvm(std::string_view text, const std::string& name,
                         const LibsvmOptions& options) {
  if (options.num_features < 0 ||
      static_cast<std::uint64_t>(options.num_features) > kMaxLibsvmIndex) {
    throw InputError(name + ": number of features " + std::to_string(options.num_features) +
                     " must lie in 0.." + std::to_string(kMaxLibsvmIndex));
  }
  const std::uint64_t index_limit =
      options.num_features > 0 ? static_cast<std::uint64_t>(options.num_features) : kMaxLibsvmIndex;

  std::vector<Entry> entries;
  std::vector<std::size_t> row_start;  // into entries; one extra at the end
  detail::LabelColumn labels;
  std::uint64_t max_index = 0;

  detail::LineCursor lines(text);
  std::string_view line;
  while (lines.next(line)) {
    const std::size_t line_no = lines.number();
    if (const std::size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = detail::trim(line);
    if (line.empty()) continue;

    std::size_t tok_begin = 0;
    const auto next_token = [&]() -> std::string_view {
      while (tok_begin < line.size() && detail::is_space(line[tok_begin])) ++tok_begin;
      std::size_t end = tok_begin;
      while (end < line.size() && !detail::is_space(line[end])) ++end;
      std::string_view tok = line.substr(tok_begin, end - tok_begin);
      tok_begin = end;
      return tok;
    };

    const std::string_view label_tok = next_token();
    double label = 0;
    switch (detail::parse_class_label(label_tok, label)) {
      case detail::LabelText::kOk:
        break;
      case detail::LabelText::kNotANumber:
        fail_line(name, line_no,
                  "label '" + detail::excerpt(label_tok) + "' is not a finite number");
      case detail::LabelText::kNotAWholeNumber:
        fail_line(name, line_no,
                  "label '" + detail::excerpt(label_tok) +
                      "' is not a whole number: class labels are integers (regression targets "
                      "are not supported)");
    }
    labels.add(label, line_no);
    row_start.push_back(entries.size());

    std::uint64_t prev = 0;
    for (std::string_view tok = next_token(); !tok.empty(); tok = next_token()) {
      const std::size_t colon = tok.find(':');
      if (colon == std::string_view::npos) {
        fail_line(name, line_no, "token '" + detail::excerpt(tok) + "' is not index:value");
      }
      const std::string_view idx_text = tok.substr(0, colon);
      const std::string_view val_text = tok.substr(colon + 1);
      if (idx_text == "qid") continue;  // SVMlight ranking groups: not a feature
      std::uint64_t index = 0;
      if (!detail::parse_u64(idx_text, index)) {
        fail_line(name, line_no,
                  "index '" + detail::excerpt(idx_text) + "' in '" + detail::excerpt(tok) +
                      "' is not a positive integer");
      }
      if (index == 0)
        fail_line(name, line_no, "index 0 in '" + detail::excerpt(tok) + "' (indices are 1-based)");
      if (index <= prev) {
        fail_line(name, line_no,
                  "index " + std::to_string(index) + " is not greater than the previous index " +
                      std::to_string(prev));
      }
      if (index > index_limit) {
        fail_line(name, line_no,
                  "index " + std::to_string(index) + " exceeds the " +
                      (options.num_features > 0 ? "number of features " : "limit ") +
                      std::to_string(index_limit));
      }
      float value = 0;
      if (!detail::parse_finite_float(val_text, value)) {
        fail_line(name, line_no,
                  "value '" + detail::excerpt(val_text) + "' of index " + std::to_string(index) +
                      " is not a finite number");
      }
      prev = index;
      if (index > max_index) max_index = index;
      entries.push_back(Entry{static_cast<std::uint32_t>(index - 1), value});
    }
  }
  row_start.push_back(entries.size());

  const std::uint64_t n = labels.size();
  if (n == 0) throw InputError(name + ": no samples (every line is blank or a comment)");
  const std::uint64_t d =
      options.num_features > 0 ? static_cast<std::uint64_t>(options.num_features) : max_index;
  if (d == 0) throw InputError(name + ": no features (no line has an index:value token)");
  std::uint64_t cells = 0;
  if (__builtin_mul_overflow(n, d, &cells) || cells > options.max_bytes / sizeof(float)) {
    throw InputError(name + ": " + std::to_string(n) + " samples x " + std::to_string(d) +
                     " features as dense floats would exceed the " +
                     std::to_string(options.max_bytes) + "-byte limit");
  }

  TextDataset out;
  labels.map_to_classes(options.labels, name, out);
  Dataset& data = out.data;
  data.x = MatrixRM<float>::Zero(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(d));
  for (std::uint64_t i = 0; i < n; ++i) {
    float* row = data.x.row(static_cast<Eigen::Index>(i)).data();
    for (std::size_t k = row_start[i]; k < row_start[i + 1]; ++k)
      row[entries[k].col] = entries[k].value;
  }
  return out;
}

TextDataset load_libsvm(const std::string& path, const LibsvmOptions& options) {
  const std::string text = detail::read_file_bytes(path, options.max_bytes);
  return parse_libsvm(text, path, options);
}

}  // namespace racesgd
