#include "models/transforms.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include "core/check.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/units.h"

namespace racesgd {
namespace {

// The first k entries of a seeded Fisher-Yates shuffle of 0..n-1: a uniform k-subset.
std::vector<Eigen::Index> random_subset(Eigen::Index n, Eigen::Index k, std::uint64_t seed) {
  std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  Rng rng(seed);
  for (Eigen::Index i = 0; i < k; ++i) {
    const auto j = i + static_cast<Eigen::Index>(rng.below(static_cast<std::uint64_t>(n - i)));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  order.resize(static_cast<std::size_t>(k));
  return order;
}

}  // namespace

Scaling parse_scaling(std::string_view text, std::string_view flag) {
  if (text == "none") return Scaling::kNone;
  if (text == "max") return Scaling::kMax;
  if (text == "unit") return Scaling::kUnit;
  if (text == "standard") return Scaling::kStandard;
  throw InputError(std::string(flag) + ": '" + std::string(text) +
                   "' is not one of none, max, unit, standard");
}

std::string_view scaling_name(Scaling s) {
  switch (s) {
    case Scaling::kNone:
      return "none";
    case Scaling::kMax:
      return "max";
    case Scaling::kUnit:
      return "unit";
    case Scaling::kStandard:
      return "standard";
  }
  return "?";
}

ScalingStats fit_scaling(const Dataset& train, Scaling s) {
  const Eigen::Index n = train.size();
  const Eigen::Index d = train.dim();
  ScalingStats st;
  st.offset = VectorX<float>::Zero(d);
  st.scale = VectorX<float>::Ones(d);
  if (s == Scaling::kNone || n == 0) return st;

  if (s == Scaling::kMax) {
    float m = 0;
    const float* p = train.x.data();
    for (Eigen::Index k = 0; k < n * d; ++k) m = std::max(m, std::fabs(p[k]));
    if (m > 0) st.scale.setConstant(1.0f / m);
    return st;
  }
  // Per-column min and max are exact in float, so "constant" is decided exactly; a
  // variance accumulated in floating point would leave ~1e-17 for a constant column and
  // turn its scale into a huge number.
  // (Plain loops over the row-major rows: Eigen's column-wise reductions trip a false
  // -Wmaybe-uninitialized in GCC 12's AVX-512 intrinsics.)
  VectorX<float> lo = train.x.row(0).transpose();
  VectorX<float> hi = lo;
  for (Eigen::Index i = 1; i < n; ++i) {
    const float* row = train.x.row(i).data();
    for (Eigen::Index j = 0; j < d; ++j) {
      lo[j] = std::min(lo[j], row[j]);
      hi[j] = std::max(hi[j], row[j]);
    }
  }
  if (s == Scaling::kUnit) {
    for (Eigen::Index j = 0; j < d; ++j) {
      st.offset[j] = lo[j];
      if (hi[j] > lo[j]) st.scale[j] = static_cast<float>(1.0 / (double{hi[j]} - double{lo[j]}));
    }
    return st;
  }
  // kStandard: two passes in double.
  std::vector<double> mean(static_cast<std::size_t>(d), 0.0);
  std::vector<double> m2(static_cast<std::size_t>(d), 0.0);
  for (Eigen::Index i = 0; i < n; ++i) {
    const float* row = train.x.row(i).data();
    for (Eigen::Index j = 0; j < d; ++j) mean[static_cast<std::size_t>(j)] += row[j];
  }
  for (double& m : mean) m /= static_cast<double>(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const float* row = train.x.row(i).data();
    for (Eigen::Index j = 0; j < d; ++j) {
      const double dev = row[j] - mean[static_cast<std::size_t>(j)];
      m2[static_cast<std::size_t>(j)] += dev * dev;
    }
  }
  for (Eigen::Index j = 0; j < d; ++j) {
    const auto u = static_cast<std::size_t>(j);
    st.offset[j] = static_cast<float>(mean[u]);
    const double sd = std::sqrt(m2[u] / static_cast<double>(n));
    if (hi[j] > lo[j] && sd > 0) st.scale[j] = static_cast<float>(1.0 / sd);
    if (hi[j] == lo[j]) st.offset[j] = lo[j];  // exactly 0 on the training set
  }
  return st;
}

void apply_scaling(const ScalingStats& stats, Dataset& data) {
  RACESGD_CHECK(stats.offset.size() == data.dim() && stats.scale.size() == data.dim());
  const Eigen::Index d = data.dim();
  for (Eigen::Index i = 0; i < data.size(); ++i) {
    float* row = data.x.row(i).data();
    for (Eigen::Index j = 0; j < d; ++j) row[j] = (row[j] - stats.offset[j]) * stats.scale[j];
  }
}

BinaryTask parse_binary_task(std::string_view text, std::string_view flag) {
  BinaryTask t;
  t.text = std::string(text);
  if (text.empty()) return t;
  if (text == "even-odd") {
    t.kind = BinaryTask::Kind::kEvenOdd;
    return t;
  }
  const std::size_t comma = text.find(',');
  const std::string what = std::string(flag) + " '" + std::string(text) + "'";
  if (comma == std::string_view::npos) {
    throw InputError(what + ": expected two classes 'A,B' (e.g. 3,8) or 'even-odd'");
  }
  const long long a = parse_int(text.substr(0, comma), what);
  const long long b = parse_int(text.substr(comma + 1), what);
  if (a == b) throw InputError(what + ": the two classes must differ");
  if (a > std::numeric_limits<int>::max() || b > std::numeric_limits<int>::max())
    throw InputError(what + ": class index too large");
  t.kind = BinaryTask::Kind::kPair;
  t.first = static_cast<int>(a);
  t.second = static_cast<int>(b);
  return t;
}

Dataset apply_binary_task(const Dataset& data, const BinaryTask& task, std::string_view flag) {
  if (task.kind == BinaryTask::Kind::kNone) return data;
  const std::string what = std::string(flag) + " '" + task.text + "' on " + data.name;
  std::vector<Eigen::Index> rows;
  if (task.kind == BinaryTask::Kind::kPair) {
    for (int c : {task.first, task.second}) {
      if (c >= data.num_classes) {
        throw InputError(what + ": class " + std::to_string(c) +
                         " is not below the number of classes (" +
                         std::to_string(data.num_classes) + ")");
      }
    }
    for (Eigen::Index i = 0; i < data.size(); ++i) {
      const int y = data.y[static_cast<std::size_t>(i)];
      if (y == task.first || y == task.second) rows.push_back(i);
    }
  } else {
    if (data.num_classes < 2) throw InputError(what + ": needs at least 2 classes");
    rows.resize(static_cast<std::size_t>(data.size()));
    std::iota(rows.begin(), rows.end(), Eigen::Index{0});
  }
  if (rows.empty()) throw InputError(what + ": no sample belongs to either class");
  Dataset out = select_rows(data, rows);
  for (auto& y : out.y) {
    y = task.kind == BinaryTask::Kind::kPair ? (y == task.second ? 1 : 0) : (y % 2);
  }
  out.num_classes = 2;
  return out;
}

TrainTest split_train_test(const Dataset& all, double test_fraction, std::uint64_t seed,
                           std::string_view flag) {
  if (!(test_fraction > 0.0 && test_fraction < 1.0)) {
    throw InputError(std::string(flag) + ": " + std::to_string(test_fraction) +
                     " is not in (0, 1) (" + all.name + " has no separate test set)");
  }
  const Eigen::Index n = all.size();
  if (n < 2) {
    throw InputError(all.name + ": " + std::to_string(n) +
                     " sample(s) cannot be split into a training and a test set");
  }
  auto n_test = static_cast<Eigen::Index>(std::llround(static_cast<double>(n) * test_fraction));
  n_test = std::clamp<Eigen::Index>(n_test, 1, n - 1);
  std::vector<Eigen::Index> test_rows = random_subset(n, n_test, seed);
  std::sort(test_rows.begin(), test_rows.end());
  std::vector<Eigen::Index> train_rows;
  train_rows.reserve(static_cast<std::size_t>(n - n_test));
  std::size_t t = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    if (t < test_rows.size() && test_rows[t] == i) {
      ++t;
    } else {
      train_rows.push_back(i);
    }
  }
  TrainTest tt{select_rows(all, train_rows), select_rows(all, test_rows)};
  tt.train.name = all.name + " (train split)";
  tt.test.name = all.name + " (test split)";
  return tt;
}

Dataset subsample(const Dataset& data, std::int64_t max_rows, std::uint64_t seed) {
  if (max_rows <= 0 || max_rows >= data.size()) return data;
  std::vector<Eigen::Index> rows = random_subset(data.size(), max_rows, seed);
  std::sort(rows.begin(), rows.end());
  return select_rows(data, rows);
}

Dataset select_rows(const Dataset& data, const std::vector<Eigen::Index>& rows) {
  Dataset out;
  out.name = data.name;
  out.num_classes = data.num_classes;
  out.x.resize(static_cast<Eigen::Index>(rows.size()), data.dim());
  out.y.resize(rows.size());
  const auto row_bytes = static_cast<std::size_t>(data.dim()) * sizeof(float);
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const Eigen::Index r = rows[k];
    RACESGD_CHECK(r >= 0 && r < data.size());
    if (row_bytes > 0) {
      std::memcpy(out.x.row(static_cast<Eigen::Index>(k)).data(), data.x.row(r).data(), row_bytes);
    }
    out.y[k] = data.y[static_cast<std::size_t>(r)];
  }
  return out;
}

}  // namespace racesgd
