#include "models/idx.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "core/error.h"
#include "test_files.h"

using Catch::Contains;
using racesgd::Dataset;
using racesgd::IdxOptions;
using racesgd::InputError;
using racesgd::load_idx;
using racesgd::test::fixture;
using racesgd::test::read_binary;
using racesgd::test::TempDir;

namespace {

const std::string kImages = "mnist100-images-idx3-ubyte";
const std::string kLabels = "mnist100-labels-idx1-ubyte";

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// Values checked against an independent reading of the same bytes with Python.
void check_mnist100(const Dataset& d) {
  REQUIRE(d.size() == 100);
  REQUIRE(d.dim() == 28 * 28);
  CHECK(d.num_classes == 10);
  const std::vector<std::int32_t> first{5, 0, 4, 1, 9, 2, 1, 3, 1, 4};
  CHECK(std::vector<std::int32_t>(d.y.begin(), d.y.begin() + 10) == first);
  CHECK(d.y[99] == 1);
  CHECK(d.x.row(0).sum() == 27525.0f);
  CHECK(d.x.row(99).sum() == 12843.0f);
  CHECK(d.x(0, 5 * 28 + 12) == 3.0f);
  CHECK(d.x(0, 14 * 28 + 14) == 240.0f);
  CHECK(d.x(0, 151) == 0.0f);
  CHECK(d.x(0, 152) == 3.0f);
  CHECK(d.x(0, 156) == 126.0f);
  CHECK(racesgd::test::min_of(d.x) == 0.0f);
  CHECK(racesgd::test::max_of(d.x) == 255.0f);
  CHECK(static_cast<double>(d.x.cast<double>().sum()) == 2530887.0);
}

}  // namespace

TEST_CASE("idx: MNIST fixture, plain and gzip, loads with known values", "[idx]") {
  const Dataset plain = load_idx(fixture(kImages), fixture(kLabels));
  check_mnist100(plain);
  CHECK(plain.name == fixture(kImages));
  const Dataset gz = load_idx(fixture(kImages + ".gz"), fixture(kLabels + ".gz"), {}, "mnist100");
  check_mnist100(gz);
  CHECK(gz.name == "mnist100");
  CHECK(gz.x == plain.x);
  CHECK(gz.y == plain.y);
  // Mixed: a gzipped images file with a plain labels file.
  check_mnist100(load_idx(fixture(kImages + ".gz"), fixture(kLabels)));
}

TEST_CASE("idx: full MNIST when present", "[idx][mnist]") {
  const std::string dir = std::string(RACESGD_SOURCE_DIR) + "/data/mnist";
  if (!std::filesystem::exists(dir + "/train-images-idx3-ubyte")) {
    WARN("skipped: " << dir << " not found (scripts/setup.sh fetches MNIST)");
    return;
  }
  IdxOptions opts;
  opts.num_classes = 10;
  const Dataset train =
      load_idx(dir + "/train-images-idx3-ubyte", dir + "/train-labels-idx1-ubyte", opts);
  const Dataset test =
      load_idx(dir + "/t10k-images-idx3-ubyte", dir + "/t10k-labels-idx1-ubyte", opts);
  CHECK(train.size() == 60000);
  CHECK(test.size() == 10000);
  CHECK(train.dim() == 784);
  CHECK(test.dim() == 784);
  CHECK(train.y[0] == 5);
  CHECK(test.y[0] == 7);
  // The fixture is the first 100 training images: they must agree.
  const Dataset small = load_idx(fixture(kImages), fixture(kLabels));
  CHECK(train.x.topRows(100) == small.x);
}

TEST_CASE("idx: missing files and non-regular paths are input errors naming the path",
          "[idx][errors]") {
  TempDir tmp;
  const std::string missing = (tmp.path() / "nope-images-idx3-ubyte").string();
  CHECK_THROWS_MATCHES(load_idx(missing, fixture(kLabels)), InputError,
                       Catch::Matchers::Message(missing + ": no such file"));
  CHECK_THROWS_WITH(load_idx(tmp.path().string(), fixture(kLabels)),
                    Contains(tmp.path().string()) && Contains("not a regular file"));
}

TEST_CASE("idx: corrupt headers and bodies name the file and byte offset", "[idx][errors]") {
  TempDir tmp;
  const std::string images = read_binary(fixture(kImages));
  const std::string labels = read_binary(fixture(kLabels));
  const std::string good_labels = tmp.write("good-labels", labels);
  const std::string good_images = tmp.write("good-images", images);

  SECTION("wrong magic") {
    std::string bad = images;
    bad[0] = 0x1f;
    const std::string p = tmp.write("magic-images", bad);
    CHECK_THROWS_WITH(load_idx(p, good_labels),
                      Contains(p) && Contains("byte 0") && Contains("wrong IDX magic 0x1F000803"));
  }
  SECTION("unsupported element type") {
    std::string bad = images;
    bad[2] = 0x0D;
    const std::string p = tmp.write("type-images", bad);
    CHECK_THROWS_WITH(load_idx(p, good_labels),
                      Contains(p) && Contains("byte 2") && Contains("0x0D"));
  }
  SECTION("file shorter than the magic or the header") {
    const std::string p = tmp.write("short-images", images.substr(0, 3));
    CHECK_THROWS_WITH(load_idx(p, good_labels),
                      Contains(p) && Contains("byte 3") && Contains("magic"));
    const std::string q = tmp.write("short2-images", images.substr(0, 10));
    CHECK_THROWS_WITH(load_idx(q, good_labels),
                      Contains(q) && Contains("byte 10") && Contains("header"));
  }
  SECTION("truncated body") {
    const std::string p = tmp.write("trunc-images", images.substr(0, images.size() - 1));
    CHECK_THROWS_WITH(load_idx(p, good_labels), Contains(p) && Contains("byte 78415") &&
                                                    Contains("truncated") &&
                                                    Contains("100 x 28 x 28"));
  }
  SECTION("trailing bytes") {
    const std::string p = tmp.write("long-images", images + "xyz");
    CHECK_THROWS_WITH(load_idx(p, good_labels),
                      Contains(p) && Contains("byte 78416") && Contains("3 bytes"));
  }
  SECTION("huge dimensions in a tiny file: rejected before allocating, no overflow") {
    const std::string hdr =
        std::string("\0\0\x08\x03", 4) + be32(0xFFFFFFFFu) + be32(0xFFFFFFFFu) + be32(0xFFFFFFFFu);
    const std::string p = tmp.write("huge-images", hdr + "abc");
    CHECK_THROWS_WITH(load_idx(p, good_labels), Contains(p) && Contains("truncated"));
    const std::string zero = std::string("\0\0\x08\x03", 4) + be32(10) + be32(0) + be32(28);
    const std::string q = tmp.write("zero-images", zero);
    CHECK_THROWS_WITH(load_idx(q, good_labels),
                      Contains(q) && Contains("byte 8") && Contains("dimension 1 is 0"));
  }
  SECTION("label count differs from image count") {
    std::string bad = labels.substr(0, 8 + 99);
    bad.replace(4, 4, be32(99));
    const std::string p = tmp.write("99-labels", bad);
    CHECK_THROWS_WITH(load_idx(good_images, p), Contains(p) && Contains("byte 4") &&
                                                    Contains("99 labels") &&
                                                    Contains("100 images"));
  }
  SECTION("labels out of range") {
    std::string bad = labels;
    bad[8 + 42] = static_cast<char>(12);
    const std::string p = tmp.write("range-labels", bad);
    IdxOptions opts;
    opts.num_classes = 10;
    CHECK_THROWS_WITH(load_idx(good_images, p, opts), Contains(p) && Contains("byte 50") &&
                                                          Contains("label 12 of sample 42") &&
                                                          Contains("out of range"));
    // Without a declared class count the classes are inferred (max label + 1).
    CHECK(load_idx(good_images, p).num_classes == 13);
  }
  SECTION("an images file as labels, and a labels file as images") {
    CHECK_THROWS_WITH(load_idx(good_images, good_images), Contains("exactly 1 dimension"));
    CHECK_THROWS_WITH(load_idx(good_labels, good_labels), Contains("at least 2 dimensions"));
  }
  SECTION("gzip cut short") {
    const std::string gz = read_binary(fixture(kImages + ".gz"));
    const std::string p = tmp.write("cut-images.gz", gz.substr(0, gz.size() / 2));
    CHECK_THROWS_WITH(load_idx(p, good_labels), Contains(p) && Contains("byte"));
  }
  SECTION("gzip with a corrupt body") {
    std::string gz = read_binary(fixture(kImages + ".gz"));
    for (std::size_t i = 100; i < 400; ++i) gz[i] = static_cast<char>(gz[i] ^ 0x5A);
    const std::string p = tmp.write("bad-images.gz", gz);
    CHECK_THROWS_WITH(load_idx(p, good_labels), Contains(p) && Contains("byte"));
  }
}

TEST_CASE("idx: every truncation of a small file is an input error, never a crash",
          "[idx][errors]") {
  // A 3-image, 2x2 file: every prefix (and every single-byte change of the header) must
  // either load or throw InputError.
  const std::string images =
      std::string("\0\0\x08\x03", 4) + be32(3) + be32(2) + be32(2) + std::string(12, '\x07');
  const std::string labels =
      std::string("\0\0\x08\x01", 4) + be32(3) + std::string("\x01\x02\x00", 3);
  const Dataset ok = racesgd::parse_idx(images, "i", labels, "l");
  CHECK(ok.size() == 3);
  CHECK(ok.dim() == 4);
  CHECK(ok.num_classes == 3);
  for (std::size_t len = 0; len < images.size(); ++len) {
    CHECK_THROWS_AS(racesgd::parse_idx(images.substr(0, len), "i", labels, "l"), InputError);
  }
  for (std::size_t len = 0; len < labels.size(); ++len) {
    CHECK_THROWS_AS(racesgd::parse_idx(images, "i", labels.substr(0, len), "l"), InputError);
  }
  for (std::size_t pos = 0; pos < 16; ++pos) {
    for (int v : {0x00, 0x01, 0x7F, 0xFF}) {
      std::string bad = images;
      bad[pos] = static_cast<char>(v);
      try {
        const Dataset d = racesgd::parse_idx(bad, "i", labels, "l");
        CHECK(static_cast<std::uint64_t>(d.size() * d.dim()) <= bad.size());
      } catch (const InputError&) {
        SUCCEED();
      }
    }
  }
}
