#include "models/data_source.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "core/error.h"
#include "models/idx.h"
#include "test_files.h"

using namespace racesgd;
using Catch::Contains;
using Catch::StartsWith;
using racesgd::test::fixture;
using racesgd::test::read_binary;
using racesgd::test::TempDir;

namespace {

// A data dir whose mnist/ holds the 100-image fixture as both training and test set
// (gzipped for the test files, to exercise the .gz fallback).
void make_fake_mnist(const TempDir& tmp, const std::string& sub) {
  std::filesystem::create_directories(tmp.path() / sub);
  const std::string images = read_binary(fixture("mnist100-images-idx3-ubyte"));
  const std::string labels = read_binary(fixture("mnist100-labels-idx1-ubyte"));
  tmp.write(sub + "/train-images-idx3-ubyte", images);
  tmp.write(sub + "/train-labels-idx1-ubyte", labels);
  tmp.write_gz(sub + "/t10k-images-idx3-ubyte.gz", images);
  tmp.write_gz(sub + "/t10k-labels-idx1-ubyte.gz", labels);
}

}  // namespace

TEST_CASE("data source: option text is checked up front and errors name the flag",
          "[data_source]") {
  DataOptions o;
  o.source = fixture("tiny.csv");
  o.label_column = "label";
  o.scaling = "foo";
  CHECK_THROWS_MATCHES(
      load_data(o), InputError,
      Catch::Matchers::Message("--scale: 'foo' is not one of none, max, unit, standard"));
  o.scaling = "none";
  o.format = "parquet";
  CHECK_THROWS_WITH(load_data(o), "--format: 'parquet' is not one of auto, idx, libsvm, csv");
  o.format = "auto";
  o.binary = "odd";
  CHECK_THROWS_WITH(load_data(o), Contains("--binary 'odd'"));
  o.binary = "";
  o.max_train = -1;
  CHECK_THROWS_WITH(load_data(o), "--max-train: -1 must be >= 0");
  o.max_train = 0;
  o.max_test = -2;
  CHECK_THROWS_WITH(load_data(o), "--max-test: -2 must be >= 0");
  o.max_test = 0;
  o.test_fraction = 1.5;
  CHECK_THROWS_WITH(load_data(o), Contains("--test-fraction") && Contains("not in (0, 1)"));
  o.test_fraction = 0.25;
  o.label_column = "x";
  o.source = fixture("tiny.svm");
  CHECK_THROWS_WITH(load_data(o), Contains("--label-column: applies to CSV only"));
  o.source = "";
  CHECK_THROWS_WITH(load_data(o), "--data: empty data source");
}

TEST_CASE("data source: formats detected by name", "[data_source]") {
  CHECK(detect_format("a/b.csv") == DataFormat::kCsv);
  CHECK(detect_format("a/b.CSV.gz") == DataFormat::kCsv);
  CHECK(detect_format("x.svm") == DataFormat::kLibsvm);
  CHECK(detect_format("x.libsvm.gz") == DataFormat::kLibsvm);
  CHECK(detect_format("x.txt") == DataFormat::kLibsvm);
  CHECK(detect_format("train-images-idx3-ubyte") == DataFormat::kIdx);
  CHECK(detect_format("t10k-images-idx3-ubyte.gz") == DataFormat::kIdx);
  CHECK(detect_format("foo.idx") == DataFormat::kIdx);
  CHECK_THROWS_WITH(detect_format("data.parquet"),
                    Contains("--format: cannot tell the format of 'data.parquet'"));
  CHECK(idx_labels_path("/d/train-images-idx3-ubyte.gz") == "/d/train-labels-idx1-ubyte.gz");
  CHECK(idx_labels_path("mnist100-images-idx3-ubyte") == "mnist100-labels-idx1-ubyte");
  CHECK_THROWS_WITH(idx_labels_path("/d/pixels.idx"),
                    Contains("--data") && Contains("'/d/pixels.idx'"));
}

TEST_CASE("data source: a missing MNIST says how to get it", "[data_source][errors]") {
  TempDir empty;
  DataOptions o;
  o.source = "mnist";
  o.data_dir = empty.path().string();
  CHECK_THROWS_WITH(load_data(o), Contains("MNIST not found") && Contains(empty.path().string()) &&
                                      Contains("scripts/setup.sh"));
  o.source = "fashion-mnist";
  CHECK_THROWS_WITH(load_data(o),
                    Contains("Fashion-MNIST not found") && Contains("scripts/setup.sh"));
  o.source = "mnist";
  o.test_path = "x";
  CHECK_THROWS_WITH(load_data(o), "--test-data: mnist has its own test set");
  o.test_path = "";
  o.format = "csv";
  CHECK_THROWS_WITH(load_data(o), Contains("--format: 'csv' does not apply"));
}

TEST_CASE("data source: named IDX source from a data dir, plain and gzip", "[data_source]") {
  TempDir tmp;
  make_fake_mnist(tmp, "mnist");
  DataOptions o;
  o.source = "mnist";
  o.data_dir = tmp.path().string();
  o.scaling = "none";
  DataInfo info;
  const TrainTest tt = load_data(o, &info);
  CHECK(tt.train.size() == 100);
  CHECK(tt.test.size() == 100);
  CHECK(tt.train.name == "mnist/train");
  CHECK(tt.test.name == "mnist/test");
  CHECK(tt.train.x == tt.test.x);
  CHECK(tt.train.num_classes == 10);
  CHECK(info.format == "idx");
  CHECK_THAT(info.test_source, Contains("t10k-images-idx3-ubyte.gz"));
  CHECK(info.label_map == "identity");

  o.scaling = "max";
  const TrainTest scaled = load_data(o);
  CHECK(racesgd::test::max_of(scaled.train.x) == 1.0f);
  CHECK(scaled.train.x(0, 14 * 28 + 14) == Approx(240.0 / 255.0));
}

TEST_CASE("data source: binary task, subsampling and scaling compose", "[data_source]") {
  TempDir tmp;
  make_fake_mnist(tmp, "mnist");
  DataOptions o;
  o.source = "mnist";
  o.data_dir = tmp.path().string();
  o.binary = "0,1";
  o.scaling = "standard";
  const TrainTest tt = load_data(o);
  const Dataset raw =
      load_idx(fixture("mnist100-images-idx3-ubyte"), fixture("mnist100-labels-idx1-ubyte"));
  const auto zeros = std::count(raw.y.begin(), raw.y.end(), 0);
  const auto ones = std::count(raw.y.begin(), raw.y.end(), 1);
  CHECK(tt.train.size() == zeros + ones);
  CHECK(tt.train.num_classes == 2);
  CHECK(tt.train.x.allFinite());  // many pixels are constant 0 in this subset
  double worst_mean = 0;
  for (Eigen::Index j = 0; j < tt.train.dim(); ++j) {
    double sum = 0;
    for (Eigen::Index i = 0; i < tt.train.size(); ++i) sum += tt.train.x(i, j);
    worst_mean = std::max(worst_mean, std::abs(sum / static_cast<double>(tt.train.size())));
  }
  CHECK(worst_mean < 1e-4);

  o.max_train = 7;
  o.max_test = 5;
  o.seed = 3;
  const TrainTest small = load_data(o);
  CHECK(small.train.size() == 7);
  CHECK(small.test.size() == 5);
  CHECK(load_data(o).train.x == small.train.x);  // deterministic
}

TEST_CASE("data source: file paths with a split or a separate test file", "[data_source]") {
  DataOptions o;
  o.source = fixture("digits.csv.gz");
  o.scaling = "unit";
  o.test_fraction = 0.25;
  DataInfo info;
  const TrainTest tt = load_data(o, &info);
  CHECK(tt.test.size() == 449);  // round(1797 * 0.25)
  CHECK(tt.train.size() == 1797 - 449);
  CHECK(racesgd::test::min_of(tt.train.x) >= 0.0f);
  CHECK(racesgd::test::max_of(tt.train.x) <= 1.0f);
  CHECK(info.format == "csv");
  CHECK_THAT(info.test_source, Contains("split of"));
  CHECK_THAT(info.label_map, StartsWith("0->0, 1->1"));

  DataOptions idx;
  idx.source = fixture("mnist100-images-idx3-ubyte.gz");
  idx.scaling = "none";
  const TrainTest it = load_data(idx);
  CHECK(it.train.size() + it.test.size() == 100);
  CHECK(it.test.size() == 20);

  TempDir tmp;
  const std::string train_csv = tmp.write("train.csv", "a,b,y\n1,2,-1\n3,4,1\n5,6,1\n");
  const std::string test_csv = tmp.write("test.csv", "a,b,y\n7,8,1\n");
  DataOptions csv;
  csv.source = train_csv;
  csv.test_path = test_csv;
  csv.scaling = "unit";
  const TrainTest ct = load_data(csv);
  CHECK(ct.train.size() == 3);
  CHECK(ct.test.size() == 1);
  CHECK(ct.test.y[0] == 1);               // the training map: -1 -> 0, 1 -> 1
  CHECK(ct.test.x(0, 0) == Approx(1.5));  // (7 - 1) / (5 - 1): training statistics
  csv.label_column = "a";
  csv.test_path = tmp.write("test3.csv", "a,b,y\n3,8,1\n");
  const TrainTest by_a = load_data(csv);
  CHECK(by_a.train.num_classes == 3);
  CHECK(by_a.test.y[0] == 1);  // a = 3 is the second of 1, 3, 5
  csv.test_path = test_csv;
  CHECK_THROWS_WITH(
      load_data(csv),
      Contains("test.csv: line 2: label 7 is not one of the training labels (1->0, 3->1, 5->2)"));
  CHECK_THROWS_WITH(load_data([&] {
                      DataOptions bad = csv;
                      bad.label_column = "";
                      bad.test_path = tmp.write("test2.csv", "a,b,y\n7,8,0\n");
                      return bad;
                    }()),
                    Contains("test2.csv: line 2: label 0 is not one of the training labels"));

  DataOptions svm;
  svm.source = fixture("tiny.svm");
  svm.test_path = tmp.write("test.svm", "-1 2:1\n");
  svm.scaling = "none";
  const TrainTest st = load_data(svm);
  CHECK(st.test.dim() == 4);  // padded to the training width
  CHECK(st.test.y[0] == 0);
}

TEST_CASE("data source: a training file with one label is refused, one with about as many "
          "classes as rows draws a warning",
          "[data_source][errors]") {
  TempDir tmp;
  // An all-one-label IDX file (was accepted silently: 8 classes, every row class 7).
  std::string labels = read_binary(fixture("mnist100-labels-idx1-ubyte"));
  std::fill(labels.begin() + 8, labels.end(), '\x07');  // after the 8-byte header
  tmp.write("train-images-idx3-ubyte", read_binary(fixture("mnist100-images-idx3-ubyte")));
  tmp.write("train-labels-idx1-ubyte", labels);
  DataOptions idx;
  idx.source = (tmp.path() / "train-images-idx3-ubyte").string();
  CHECK_THROWS_WITH(load_data(idx),
                    Contains("train-images-idx3-ubyte: all 100 training rows have the label 7: a "
                             "classifier needs at least 2 classes to learn from"));
  // The same in the text formats, naming the label value (not the class index).
  DataOptions csv;
  csv.source = tmp.write("one.csv", "a,y\n1,-1\n2,-1\n3,-1\n");
  CHECK_THROWS_WITH(load_data(csv), Contains("one.csv: all 3 training rows have the label -1"));
  DataOptions svm;
  svm.source = tmp.write("one.svm", "4 1:1\n4 1:2\n");
  CHECK_THROWS_WITH(load_data(svm), Contains("one.svm: all 2 training rows have the label 4"));

  // 3 classes in 4 rows: loads, with a warning for the CLI to print.
  DataOptions few;
  few.source = fixture("tiny.csv");
  few.label_column = "label";
  DataInfo info;
  const TrainTest tt = load_data(few, &info);
  CHECK(tt.train.size() + tt.test.size() == 4);
  REQUIRE(info.warnings.size() == 1);
  CHECK_THAT(info.warnings[0], Contains("tiny.csv: 3 classes in 4 training rows (fewer than 2 "
                                        "per class)"));
  DataOptions many;
  many.source = fixture("digits.csv.gz");  // 10 classes in 1797 rows
  DataInfo quiet;
  load_data(many, &quiet);
  CHECK(quiet.warnings.empty());
}
