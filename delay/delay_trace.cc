#include "delay/delay_trace.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <new>
#include <numeric>
#include <string_view>

#include "core/check.h"
#include "core/delay_cap.h"
#include "core/error.h"
#include "core/units.h"
#include "delay/delay_builtin.h"

namespace racesgd {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_cells(std::string_view line) {
  std::vector<std::string_view> cells;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= line.size(); ++i)
    if (i == line.size() || line[i] == ',') {
      cells.push_back(trim(line.substr(start, i - start)));
      start = i + 1;
    }
  return cells;
}

bool looks_numeric(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

std::optional<double> trace_unit_seconds(std::string_view unit) {
  if (unit == "s") return 1.0;
  if (unit == "ms") return 1e-3;
  if (unit == "us") return 1e-6;
  if (unit == "ns") return 1e-9;
  return std::nullopt;
}

DelayTrace read_delay_trace(const std::filesystem::path& path, double unit_seconds,
                            const SpecArgs& args) {
  const std::string where = "trace file '" + path.string() + "'";
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) args.fail(where + " is a directory");
  // getline on /dev/zero (or /dev/urandom, a FIFO) never ends and grows the line forever.
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
    args.fail(where + " is not a regular file (a device or pipe may never end)");
  std::ifstream in(path);
  if (!in) args.fail("cannot read " + where + " (missing or not readable)");

  DelayTrace trace;
  std::vector<bool> ended;  // a column ends at its first empty cell
  bool seen_first_row = false;
  std::string line;
  for (std::size_t line_no = 1; std::getline(in, line); ++line_no) {
    const std::string_view text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    const std::vector<std::string_view> cells = split_cells(text);
    const std::string at = where + " line " + std::to_string(line_no);
    if (!seen_first_row) {
      seen_first_row = true;
      trace.columns.resize(cells.size());
      ended.assign(cells.size(), false);
      // A first row with no numeric cell is a header: the names are kept for callers that
      // pick a column by name (racesgd fit --column); replay ignores them.
      if (std::none_of(cells.begin(), cells.end(), looks_numeric)) {
        trace.names.assign(cells.begin(), cells.end());
        continue;
      }
    }
    if (cells.size() != trace.columns.size())
      args.fail(at + ": " + std::to_string(cells.size()) + " cells, expected " +
                std::to_string(trace.columns.size()) + " (one per column)");
    for (std::size_t c = 0; c < cells.size(); ++c) {
      if (cells[c].empty()) {
        ended[c] = true;
        continue;
      }
      if (ended[c])
        args.fail(at + ": column " + std::to_string(c + 1) +
                  " has a value after an empty cell (a column ends at its first empty cell)");
      const double v = parse_double(cells[c], args.what() + " '" + args.spec().text + "': " + at +
                                                  " column " + std::to_string(c + 1));
      if (v < 0) args.fail(at + ": negative delay " + std::string(cells[c]));
      if (v * unit_seconds > kMaxDelaySeconds)
        args.fail(at + ": delay " + std::string(cells[c]) + " is above the delay cap of " +
                  format_duration(kMaxDelaySeconds) + " (docs/delay-models.md, \"The delay cap\")");
      trace.columns[c].push_back(v * unit_seconds);
    }
  }
  if (in.bad()) args.fail("error while reading " + where);
  if (trace.columns.empty()) args.fail(where + " holds no delays (empty file)");
  for (std::size_t c = 0; c < trace.columns.size(); ++c)
    if (trace.columns[c].empty())
      args.fail(where + ": column " + std::to_string(c + 1) + " holds no delays");
  return trace;
}

namespace detail {
namespace {

enum class TraceEnd { kCycle, kStop };

DelayFacts empirical_facts(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  DelayFacts f;
  f.family = DelayFacts::Family::kEmpirical;
  f.p_never = 0;
  const double n = static_cast<double>(values.size());
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  double ss = 0;
  for (double v : values) ss += (v - mean) * (v - mean);
  f.mean_value = mean;
  f.variance = ss / n;
  f.cdf = [values = std::move(values), n](double x) {
    return static_cast<double>(std::upper_bound(values.begin(), values.end(), x) - values.begin()) /
           n;
  };
  return f;
}

class TraceDelay final : public DelayModel {
 public:
  TraceDelay(DelayTrace trace, std::size_t num_learners, TraceEnd end, std::string file,
             std::string unit)
      : trace_(std::move(trace)),
        cursors_(num_learners),
        end_(end),
        file_(std::move(file)),
        unit_(std::move(unit)) {}

  bool may_draw_ahead() const override { return true; }  // a cursor per learner
  double sample(std::size_t learner, Rng&) override {
    RACESGD_CHECK(learner < cursors_.size());
    const std::vector<double>& seq = column(learner);
    std::size_t& next = cursors_[learner].next;
    if (next == seq.size()) {
      if (end_ == TraceEnd::kStop) return std::numeric_limits<double>::infinity();
      next = 0;
    }
    return seq[next++];
  }

  std::string spec() const override {
    return "trace:file=" + quote_nested_spec(file_) +
           ",end=" + (end_ == TraceEnd::kCycle ? "cycle" : "stop") + ",unit=" + unit_;
  }

  // The facts describe the values in the file; with end=stop the +infinity tail after a
  // learner's sequence runs out is left out (it is not a distribution of minibatch times).
  // runs_out says that the tail exists.
  DelayFacts facts() const override {
    DelayFacts f;
    if (trace_.columns.size() == 1) {
      f = empirical_facts(trace_.columns[0]);
    } else {
      std::vector<double> pooled;
      for (const auto& c : trace_.columns) pooled.insert(pooled.end(), c.begin(), c.end());
      f = empirical_facts(std::move(pooled));
      f.homogeneous = false;
    }
    f.runs_out = end_ == TraceEnd::kStop;
    return f;
  }
  DelayFacts learner_facts(std::size_t learner) const override {
    RACESGD_CHECK(learner < cursors_.size());
    DelayFacts f = empirical_facts(column(learner));
    f.runs_out = end_ == TraceEnd::kStop;
    return f;
  }

  // One cursor per learner: the index of its next delay in its column.
  void save_state(std::vector<std::uint64_t>& out) const override {
    for (const Cursor& c : cursors_) out.push_back(c.next);
  }
  void restore_state(std::span<const std::uint64_t>& in) override {
    const auto saved = take_delay_state(in, cursors_.size(), spec());
    for (std::size_t w = 0; w < cursors_.size(); ++w) {
      if (saved[w] > column(w).size())
        throw InputError("checkpoint: trace cursor " + std::to_string(saved[w]) + " of learner " +
                         std::to_string(w) + " is past the end of '" + file_ + "' (" +
                         std::to_string(column(w).size()) + " delays): the trace file changed?");
      cursors_[w].next = static_cast<std::size_t>(saved[w]);
    }
  }

 private:
  // One cache line per learner: learners advance their cursors concurrently.
  struct alignas(64) Cursor {
    std::size_t next = 0;
  };
  static_assert(alignof(Cursor) == 64);
  static_assert(sizeof(Cursor) == 64);

  const std::vector<double>& column(std::size_t learner) const {
    return trace_.columns.size() == 1 ? trace_.columns[0] : trace_.columns[learner];
  }

  DelayTrace trace_;
  std::vector<Cursor> cursors_;
  TraceEnd end_;
  std::string file_;
  std::string unit_;
};

}  // namespace

}  // namespace detail

std::unique_ptr<DelayModel> make_trace_delay(DelayTrace trace, std::size_t num_learners,
                                             bool stop_at_end, std::string label) {
  return std::make_unique<detail::TraceDelay>(std::move(trace), num_learners,
                                              stop_at_end ? detail::TraceEnd::kStop : detail::TraceEnd::kCycle,
                                              std::move(label), "s");
}

namespace detail {

std::unique_ptr<DelayModel> make_trace_delay_model(SpecArgs& args, const DelayContext& ctx) {
  const std::string file = args.required_text("file");
  const std::string end_text = args.text("end").value_or("cycle");
  TraceEnd end = TraceEnd::kCycle;
  if (end_text == "stop")
    end = TraceEnd::kStop;
  else if (end_text != "cycle")
    args.fail("parameter 'end' = " + end_text + " must be cycle or stop");
  const std::string unit = args.text("unit").value_or("s");
  const std::optional<double> unit_seconds = trace_unit_seconds(unit);
  if (!unit_seconds) args.fail("parameter 'unit' = " + unit + " must be s, ms, us or ns");

  std::filesystem::path path(file);
  if (path.is_relative()) path = ctx.base_dir / path;
  DelayTrace trace = read_delay_trace(path, *unit_seconds, args);
  if (trace.columns.size() != 1 && trace.columns.size() != ctx.num_learners)
    args.fail("trace file '" + path.string() + "' has " + std::to_string(trace.columns.size()) +
              " columns but there are " + std::to_string(ctx.num_learners) +
              " learners (give one shared column or one column per learner)");
  return std::make_unique<TraceDelay>(std::move(trace), ctx.num_learners, end, file, unit);
}

}  // namespace detail
}  // namespace racesgd
