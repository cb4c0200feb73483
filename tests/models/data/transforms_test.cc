#include "models/transforms.h"

#include <catch2/catch.hpp>
#include <set>

#include "core/error.h"
#include "test_files.h"

using namespace racesgd;
using Catch::Contains;

namespace {

// n rows, d columns: x(i, j) = i * (j + 1) (column 0 grows slowest), y = i % classes.
Dataset ramp(Eigen::Index n, Eigen::Index d, int classes) {
  Dataset data;
  data.name = "ramp";
  data.num_classes = classes;
  data.x.resize(n, d);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) data.x(i, j) = static_cast<float>(i * (j + 1));
  }
  for (Eigen::Index i = 0; i < n; ++i) data.y.push_back(static_cast<std::int32_t>(i % classes));
  return data;
}

}  // namespace

TEST_CASE("transforms: option text parses, bad text names the flag", "[transforms]") {
  CHECK(parse_scaling("none") == Scaling::kNone);
  CHECK(parse_scaling("max") == Scaling::kMax);
  CHECK(parse_scaling("unit") == Scaling::kUnit);
  CHECK(parse_scaling("standard") == Scaling::kStandard);
  CHECK(scaling_name(Scaling::kStandard) == "standard");
  CHECK_THROWS_MATCHES(
      parse_scaling("foo"), InputError,
      Catch::Matchers::Message("--scale: 'foo' is not one of none, max, unit, standard"));
  CHECK(parse_binary_task("").kind == BinaryTask::Kind::kNone);
  CHECK(parse_binary_task("even-odd").kind == BinaryTask::Kind::kEvenOdd);
  const BinaryTask p = parse_binary_task("3,8");
  CHECK(p.kind == BinaryTask::Kind::kPair);
  CHECK(p.first == 3);
  CHECK(p.second == 8);
  CHECK_THROWS_WITH(parse_binary_task("3"), Contains("--binary '3'") && Contains("'A,B'"));
  CHECK_THROWS_WITH(parse_binary_task("3,3"),
                    Contains("--binary '3,3'") && Contains("must differ"));
  CHECK_THROWS_WITH(parse_binary_task("3,x"), Contains("--binary '3,x'"));
  CHECK_THROWS_WITH(parse_binary_task("-1,2"), Contains("--binary '-1,2'"));
}

TEST_CASE("transforms: scaling statistics come from the training set only", "[transforms]") {
  Dataset train = ramp(5, 2, 2);  // col 0: 0..4, col 1: 0..8
  Dataset test = ramp(3, 2, 2);
  test.x(2, 0) = 8.0f;

  SECTION("unit: min-max of train; test may fall outside [0, 1]") {
    const ScalingStats st = fit_scaling(train, Scaling::kUnit);
    apply_scaling(st, train);
    apply_scaling(st, test);
    CHECK(racesgd::test::min_of(train.x) == 0.0f);
    CHECK(racesgd::test::max_of(train.x) == 1.0f);
    CHECK(train.x(2, 0) == Approx(0.5));
    CHECK(test.x(2, 0) == Approx(2.0));  // 8 / (4 - 0): the train range, not the test's
  }
  SECTION("standard: zero mean, unit variance on train") {
    const ScalingStats st = fit_scaling(train, Scaling::kStandard);
    apply_scaling(st, train);
    apply_scaling(st, test);
    for (Eigen::Index j = 0; j < 2; ++j) {
      CHECK(train.x.col(j).mean() == Approx(0.0).margin(1e-6));
      CHECK(train.x.col(j).squaredNorm() / 5.0f == Approx(1.0));
    }
    CHECK(test.x(2, 0) == Approx((8.0 - 2.0) / std::sqrt(2.0)));
  }
  SECTION("max: one global factor") {
    const ScalingStats st = fit_scaling(train, Scaling::kMax);
    apply_scaling(st, train);
    CHECK(racesgd::test::max_of(train.x) == 1.0f);
    CHECK(train.x(4, 0) == Approx(0.5));
  }
  SECTION("none: unchanged") {
    const Dataset before = train;
    apply_scaling(fit_scaling(train, Scaling::kNone), train);
    CHECK(train.x == before.x);
  }
}

TEST_CASE("transforms: constant columns never give NaN or Inf", "[transforms]") {
  for (Scaling s : {Scaling::kMax, Scaling::kUnit, Scaling::kStandard}) {
    Dataset train = ramp(6, 3, 2);
    train.x.col(1).setConstant(0.1f);  // not exactly representable: a variance would be ~1e-18
    train.x.col(2).setZero();
    Dataset test = ramp(2, 3, 2);
    test.x.col(1).setConstant(0.3f);
    const ScalingStats st = fit_scaling(train, s);
    apply_scaling(st, train);
    apply_scaling(st, test);
    CHECK(train.x.allFinite());
    CHECK(test.x.allFinite());
    if (s != Scaling::kMax) {
      CHECK(racesgd::test::max_of(train.x.col(1).cwiseAbs()) == 0.0f);
      CHECK(test.x(0, 1) == Approx(0.2));  // shifted, scale 1
    }
  }
  // An all-zero training set.
  Dataset zeros = ramp(3, 2, 2);
  zeros.x.setZero();
  for (Scaling s : {Scaling::kMax, Scaling::kUnit, Scaling::kStandard}) {
    Dataset z = zeros;
    apply_scaling(fit_scaling(z, s), z);
    CHECK(z.x.allFinite());
  }
}

TEST_CASE("transforms: binary tasks keep and relabel", "[transforms]") {
  const Dataset data = ramp(20, 2, 10);  // labels 0..9, 0..9
  const Dataset pair = apply_binary_task(data, parse_binary_task("3,8"));
  CHECK(pair.num_classes == 2);
  REQUIRE(pair.size() == 4);
  CHECK(pair.y == std::vector<std::int32_t>{0, 1, 0, 1});
  CHECK(pair.x(0, 0) == 3.0f);
  CHECK(pair.x(3, 0) == 18.0f);
  const Dataset reversed = apply_binary_task(data, parse_binary_task("8,3"));
  CHECK(reversed.y == std::vector<std::int32_t>{1, 0, 1, 0});
  const Dataset eo = apply_binary_task(data, parse_binary_task("even-odd"));
  CHECK(eo.size() == 20);
  CHECK(eo.num_classes == 2);
  for (Eigen::Index i = 0; i < 20; ++i) CHECK(eo.y[static_cast<std::size_t>(i)] == (i % 10) % 2);
  CHECK_THROWS_WITH(
      apply_binary_task(data, parse_binary_task("3,10")),
      Contains("--binary '3,10' on ramp: class 10 is not below the number of classes (10)"));
  const Dataset few = ramp(3, 1, 10);  // classes 0, 1, 2 only
  CHECK_THROWS_WITH(apply_binary_task(few, parse_binary_task("5,6")),
                    Contains("no sample belongs"));
}

TEST_CASE("transforms: split sizes, disjointness and determinism", "[transforms]") {
  const Dataset data = ramp(100, 1, 10);  // x(i, 0) = i identifies the row
  const TrainTest a = split_train_test(data, 0.2, 42);
  CHECK(a.train.size() == 80);
  CHECK(a.test.size() == 20);
  std::set<float> seen;
  for (Eigen::Index i = 0; i < 80; ++i) seen.insert(a.train.x(i, 0));
  for (Eigen::Index i = 0; i < 20; ++i) seen.insert(a.test.x(i, 0));
  CHECK(seen.size() == 100);
  for (Eigen::Index i = 1; i < 20; ++i)
    CHECK(a.test.x(i - 1, 0) < a.test.x(i, 0));  // original order
  for (Eigen::Index i = 0; i < 20; ++i) {
    CHECK(a.test.y[static_cast<std::size_t>(i)] == static_cast<int>(a.test.x(i, 0)) % 10);
  }
  const TrainTest b = split_train_test(data, 0.2, 42);
  CHECK(a.test.x == b.test.x);
  const TrainTest c = split_train_test(data, 0.2, 43);
  CHECK(a.test.x != c.test.x);
  CHECK(split_train_test(data, 0.001, 1).test.size() == 1);
  CHECK(split_train_test(data, 0.999, 1).train.size() == 1);
  CHECK_THROWS_WITH(split_train_test(data, 0.0, 1),
                    Contains("--test-fraction") && Contains("not in (0, 1)"));
  CHECK_THROWS_WITH(split_train_test(data, 1.0, 1), Contains("--test-fraction"));
  CHECK_THROWS_WITH(split_train_test(ramp(1, 1, 1), 0.5, 1), Contains("cannot be split"));
}

TEST_CASE("transforms: subsample is a seeded subset in original order", "[transforms]") {
  const Dataset data = ramp(50, 1, 5);
  const Dataset s = subsample(data, 10, 7);
  REQUIRE(s.size() == 10);
  for (Eigen::Index i = 1; i < 10; ++i) CHECK(s.x(i - 1, 0) < s.x(i, 0));
  CHECK(subsample(data, 10, 7).x == s.x);
  CHECK(subsample(data, 10, 8).x != s.x);
  CHECK(subsample(data, 0, 7).size() == 50);
  CHECK(subsample(data, 500, 7).size() == 50);
}
