#include <catch2/catch.hpp>

#include "core/error.h"
#include "core/rng.h"
#include "models/csv.h"
#include "models/libsvm.h"
#include "test_files.h"

using Catch::Contains;
using racesgd::CsvHeader;
using racesgd::CsvOptions;
using racesgd::InputError;
using racesgd::LabelMap;
using racesgd::LibsvmOptions;
using racesgd::load_csv;
using racesgd::load_libsvm;
using racesgd::MatrixRM;
using racesgd::parse_csv;
using racesgd::parse_libsvm;
using racesgd::TextDataset;
using racesgd::test::fixture;
using racesgd::test::TempDir;

TEST_CASE("libsvm: tiny fixture densifies with 1-based indices and maps -1/+1 to 0/1", "[libsvm]") {
  const TextDataset t = load_libsvm(fixture("tiny.svm"));
  const auto& d = t.data;
  REQUIRE(d.size() == 6);
  REQUIRE(d.dim() == 4);
  CHECK(d.num_classes == 2);
  CHECK(d.name == fixture("tiny.svm"));
  CHECK(d.y == std::vector<std::int32_t>{1, 0, 1, 0, 1, 0});
  CHECK(t.labels.values() == std::vector<double>{-1.0, 1.0});
  CHECK(t.labels.describe() == "-1->0, 1->1");
  MatrixRM<float> expect(6, 4);
  expect << 0.5f, 0, -2, 10,  //
      0, 3.25f, 0, 0,         //
      1, 1, 1, 1,             //
      0, 0, 0, -0.125f,       //
      2, 0, 0, 0,             //
      0, 0, 4.5f, 0;
  CHECK(d.x == expect);
}

TEST_CASE("libsvm: a test file read with the training map and width", "[libsvm]") {
  const TextDataset train = load_libsvm(fixture("tiny.svm"));
  LibsvmOptions opts;
  opts.num_features = 6;
  opts.labels = train.labels;
  const TextDataset test = parse_libsvm("1 2:5\n1 6:1\n", "test.svm", opts);
  CHECK(test.data.dim() == 6);
  CHECK(test.data.num_classes == 2);
  CHECK(test.data.y == std::vector<std::int32_t>{1, 1});
  CHECK(test.data.x(1, 5) == 1.0f);
  CHECK_THROWS_WITH(
      parse_libsvm("1 7:5\n", "test.svm", opts),
      Contains("test.svm: line 1") && Contains("index 7 exceeds the number of features 6"));
  CHECK_THROWS_WITH(
      parse_libsvm("1 1:1\n\n3 2:5\n", "test.svm", opts),
      Contains("test.svm: line 3") && Contains("label 3 is not one of the training labels"));
}

TEST_CASE("libsvm: multi-class labels map in sorted order", "[libsvm]") {
  const TextDataset t = parse_libsvm("3 1:1\n1 1:2\n2 1:3\n3 1:4\n", "m.svm");
  CHECK(t.data.num_classes == 3);
  CHECK(t.data.y == std::vector<std::int32_t>{2, 0, 1, 2});
}

TEST_CASE("libsvm: bad lines name the file, the line and the problem", "[libsvm][errors]") {
  const auto fails = [](const std::string& text, const std::string& what) {
    CHECK_THROWS_MATCHES(parse_libsvm(text, "bad.svm", {}), InputError,
                         Catch::Matchers::Message(what));
  };
  fails("1 1:2\nx 1:2\n", "bad.svm: line 2: label 'x' is not a finite number");
  fails("1 1:2\n1 2:abc\n", "bad.svm: line 2: value 'abc' of index 2 is not a finite number");
  fails("1 1:nan\n", "bad.svm: line 1: value 'nan' of index 1 is not a finite number");
  fails("1 1:1e99\n", "bad.svm: line 1: value '1e99' of index 1 is not a finite number");
  fails("1 0:2\n", "bad.svm: line 1: index 0 in '0:2' (indices are 1-based)");
  fails("1 3:2 2:1\n", "bad.svm: line 1: index 2 is not greater than the previous index 3");
  fails("1 3:2 3:1\n", "bad.svm: line 1: index 3 is not greater than the previous index 3");
  fails("# c\n\n1 2\n", "bad.svm: line 3: token '2' is not index:value");
  fails("1 -2:1\n", "bad.svm: line 1: index '-2' in '-2:1' is not a positive integer");
  fails("1 99999999999999999999999:1\n",
        "bad.svm: line 1: index '99999999999999999999999' in '99999999999999999999999:1' is not a "
        "positive integer");
  fails("1 100000000:1\n", "bad.svm: line 1: index 100000000 exceeds the limit 67108864");
  fails("+-1 1:1\n", "bad.svm: line 1: label '+-1' is not a finite number");
  fails("# only a comment\n\n", "bad.svm: no samples (every line is blank or a comment)");
  fails("1\n-1\n", "bad.svm: no features (no line has an index:value token)");
}

TEST_CASE("libsvm: a dense matrix over the byte limit is refused before allocating",
          "[libsvm][errors]") {
  LibsvmOptions opts;
  opts.max_bytes = 1000;
  CHECK_THROWS_WITH(
      parse_libsvm("1 1:1\n1 300:1\n", "big.svm", opts),
      Contains("big.svm") && Contains("2 samples x 300 features") && Contains("1000-byte limit"));
}

TEST_CASE("libsvm: a missing file names the path", "[libsvm][errors]") {
  CHECK_THROWS_WITH(load_libsvm("/nonexistent/x.svm"), "/nonexistent/x.svm: no such file");
}

TEST_CASE("csv: tiny fixture's default (last) label column is continuous: refused", "[csv]") {
  // weight holds -3, 1e2, 0, 3.5: a feature, not classes (it used to load as 4 classes).
  CHECK_THROWS_MATCHES(
      load_csv(fixture("tiny.csv")), InputError,
      Catch::Matchers::Message(
          fixture("tiny.csv") +
          ": line 6: label '3.5' in column 3 ('weight') is not a whole number: class labels "
          "are integers (is this column a feature or a regression target?)"));
}

TEST_CASE("text loaders: a continuous label is refused at its first row, whole numbers load",
          "[csv][libsvm][errors]") {
  // breast_cancer.csv's f0 has 456 distinct values in 569 rows: once silently 456 classes.
  CsvOptions f0;
  f0.label_column = "f0";
  CHECK_THROWS_WITH(load_csv(fixture("breast_cancer.csv"), f0),
                    Contains("breast_cancer.csv: line 2: label '17.99' in column 0 ('f0') is not "
                             "a whole number"));
  CHECK_THROWS_WITH(parse_csv("a,y\n1,2\n1,0.5\n", "c.csv"),
                    "c.csv: line 3: label '0.5' in column 1 ('y') is not a whole number: class "
                    "labels are integers (is this column a feature or a regression target?)");
  CHECK_THROWS_WITH(parse_libsvm("1 1:1\n-1 1:2\n2.5 1:3\n", "r.svm"),
                    "r.svm: line 3: label '2.5' is not a whole number: class labels are integers "
                    "(regression targets are not supported)");
  // Integer values in any spelling are classes.
  const TextDataset t = parse_libsvm("+1 1:1\n-1.0 1:2\n1e0 1:3\n", "w.svm");
  CHECK(t.labels.values() == std::vector<double>{-1, 1});
  CHECK(t.data.y == std::vector<std::int32_t>{1, 0, 1});
  CHECK(parse_csv("a,y\n1,2.0\n1,-3\n", "w.csv").labels.values() == std::vector<double>{-3, 2});
}

TEST_CASE("csv: label column by name or by index", "[csv]") {
  CsvOptions by_name;
  by_name.label_column = "label";
  const TextDataset a = load_csv(fixture("tiny.csv"), by_name);
  CHECK(a.data.num_classes == 3);
  CHECK(a.data.y == std::vector<std::int32_t>{2, 0, 2, 1});
  MatrixRM<float> expect(4, 3);
  expect << 1.5f, 2, -3,  //
      0, 0.25f, 100,      //
      2, 2, 0,            //
      -1, 4.5f, 3.5f;
  CHECK(a.data.x == expect);
  CsvOptions by_index;
  by_index.label_column = "2";
  const TextDataset b = load_csv(fixture("tiny.csv"), by_index);
  CHECK(b.data.x == a.data.x);
  CHECK(b.data.y == a.data.y);
  CsvOptions unknown;
  unknown.label_column = "colour";
  CHECK_THROWS_WITH(load_csv(fixture("tiny.csv"), unknown),
                    Contains("tiny.csv: label column 'colour' is neither a header name (width, "
                             "height, label, weight)") &&
                        Contains("nor a column index 0..3"));
}

TEST_CASE("csv: sklearn digits (gzip, no header) and breast cancer (header)", "[csv]") {
  const TextDataset digits = load_csv(fixture("digits.csv.gz"));
  REQUIRE(digits.data.size() == 1797);
  REQUIRE(digits.data.dim() == 64);
  CHECK(digits.data.num_classes == 10);
  CHECK(digits.labels.values() == std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});  // identity
  CHECK(digits.data.y[0] == 0);
  CHECK(digits.data.y[1796] == 8);
  CHECK(std::count(digits.data.y.begin(), digits.data.y.end(), 3) == 183);
  CHECK(digits.data.x(0, 2) == 5.0f);
  CHECK(digits.data.x(0, 5) == 1.0f);
  CHECK(racesgd::test::max_of(digits.data.x) == 16.0f);

  CsvOptions opts;
  opts.label_column = "target";
  const TextDataset bc = load_csv(fixture("breast_cancer.csv"), opts);
  REQUIRE(bc.data.size() == 569);
  REQUIRE(bc.data.dim() == 30);
  CHECK(bc.data.num_classes == 2);
  CHECK(std::count(bc.data.y.begin(), bc.data.y.end(), 1) == 357);
  CHECK(bc.data.x(0, 0) == 17.99f);
  CHECK(racesgd::test::max_of(bc.data.x.col(23)) == 4254.0f);
  CHECK(bc.data.y[568] == 1);
}

TEST_CASE("csv: header detection, quotes, CRLF and other delimiters", "[csv]") {
  const TextDataset no_header = parse_csv("1,2,0\r\n3,4,1\r\n", "a.csv");
  CHECK(no_header.data.size() == 2);
  CHECK(no_header.data.x(1, 1) == 4.0f);
  CsvOptions forced;
  forced.header = CsvHeader::kYes;
  CHECK(parse_csv("1,2,0\n3,4,1\n", "a.csv", forced).data.size() == 1);
  const TextDataset quoted = parse_csv("\"a, b\",\"c\"\"\",y\n\"1.5\", 2 ,1\n", "q.csv");
  CHECK(quoted.data.x(0, 0) == 1.5f);
  CHECK(quoted.data.x(0, 1) == 2.0f);
  CsvOptions by_name;
  by_name.label_column = "c\"";
  CHECK(parse_csv("\"a, b\",\"c\"\"\",y\n1,2,3\n", "q.csv", by_name).data.x(0, 1) == 3.0f);
  CsvOptions semi;
  semi.delimiter = ';';
  CHECK(parse_csv("1;2;0\n", "s.csv", semi).data.dim() == 2);
}

TEST_CASE("csv: bad rows name the file, the line and the problem", "[csv][errors]") {
  const auto fails = [](const std::string& text, const std::string& what) {
    CHECK_THROWS_MATCHES(parse_csv(text, "bad.csv", {}), InputError,
                         Catch::Matchers::Message(what));
  };
  fails("a,b,y\n1,2,0\n1,2\n", "bad.csv: line 3: ragged row: 2 cells, expected 3 (as in line 1)");
  fails("1,2,0\n\n1,2,0,4\n", "bad.csv: line 3: ragged row: 4 cells, expected 3 (as in line 1)");
  fails("a,b,y\n1,x,0\n", "bad.csv: line 2: cell 'x' in column 1 ('b') is not a finite number");
  fails("1,2,0\n1,inf,0\n", "bad.csv: line 2: cell 'inf' in column 1 is not a finite number");
  fails("a,b,y\n1,,0\n", "bad.csv: line 2: empty cell in column 1 ('b')");
  fails("a,b,y\n1,2,z\n", "bad.csv: line 2: label 'z' in column 2 ('y') is not a finite number");
  fails("a,b,y\n1,\"2,0\n", "bad.csv: line 2: unterminated quote in cell 1");
  fails("a,b,y\n", "bad.csv: no samples (the file is empty or only a header)");
  fails("", "bad.csv: no samples (the file is empty or only a header)");
  fails("5\n6\n",
        "bad.csv: line 1: has 1 column; a dataset needs at least 2 (features and a label) - is the "
        "delimiter ','?");
  // sklearn's own breast_cancer.csv starts with a line of counts: seen as a 4-column header.
  fails("569,30,malignant,benign\n17.99,10.38,122.8,1001,0\n",
        "bad.csv: line 2: ragged row: 5 cells, expected 4 (as in line 1)");
}

TEST_CASE("csv: a test file must match the training width and labels", "[csv][errors]") {
  const TextDataset train = parse_csv("1,2,0\n3,4,1\n", "train.csv");
  CsvOptions opts;
  opts.num_features = train.data.dim();
  opts.labels = train.labels;
  CHECK(parse_csv("5,6,1\n", "test.csv", opts).data.y == std::vector<std::int32_t>{1});
  CHECK_THROWS_WITH(parse_csv("5,6,7,1\n", "test.csv", opts),
                    Contains("test.csv: line 1: has 3 feature columns, expected 2"));
  CHECK_THROWS_WITH(
      parse_csv("5,6,1\n5,6,2\n", "test.csv", opts),
      Contains("test.csv: line 2: label 2 is not one of the training labels (0->0, 1->1)"));
}

TEST_CASE("text loaders: many random mutations never crash", "[libsvm][csv][errors]") {
  // Byte flips and truncations of valid files must load or throw InputError: cheap
  // insurance until the real fuzzers run.
  const std::string svm = racesgd::test::read_binary(fixture("tiny.svm"));
  const std::string csv = racesgd::test::read_binary(fixture("tiny.csv"));
  const char alphabet[] = {'0', '9', ':', '#', ',', ' ',  '\n',
                           '-', '+', '.', 'e', '"', '\0', '\xff'};
  std::uint64_t state = 12345;
  int loaded = 0;
  int rejected = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    const std::string& base = iter % 2 ? svm : csv;
    std::string s = base.substr(0, racesgd::splitmix64(state) % (base.size() + 1));
    const int flips = static_cast<int>(racesgd::splitmix64(state) % 4);
    for (int f = 0; f < flips && !s.empty(); ++f) {
      s[racesgd::splitmix64(state) % s.size()] =
          alphabet[racesgd::splitmix64(state) % sizeof alphabet];
    }
    try {
      const TextDataset t = iter % 2 ? parse_libsvm(s, "m.svm") : parse_csv(s, "m.csv");
      CHECK(t.data.y.size() == static_cast<std::size_t>(t.data.size()));
      for (auto y : t.data.y) CHECK((y >= 0 && y < t.data.num_classes));
      CHECK(t.data.x.allFinite());
      ++loaded;
    } catch (const InputError&) {
      ++rejected;
    }
  }
  CHECK(loaded > 0);
  CHECK(rejected > 0);
}

TEST_CASE("loaders: a file that decompresses past max_bytes is refused", "[libsvm][errors]") {
  TempDir tmp;
  const std::string p = tmp.write_gz("bomb.svm.gz", std::string(std::size_t{3} << 20, ' '));
  LibsvmOptions opts;
  opts.max_bytes = std::size_t{1} << 20;
  CHECK_THROWS_WITH(load_libsvm(p, opts),
                    Contains(p) && Contains("larger than 1048576 bytes once decompressed"));
  CHECK_THROWS_WITH(load_libsvm(p), Contains("no samples"));  // within the default cap
}
