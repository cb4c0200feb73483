#include "mpi/wire.h"

#include <catch2/catch.hpp>

#include <limits>
#include <vector>

using namespace racesgd;
using namespace racesgd::wire;

namespace {
GradientHeader good_header() {
  GradientHeader h;
  h.learner = 2;  // rank 3
  h.ticket = 5;
  h.version = 7;
  h.batch = 64;
  h.compute_s = 0.001;
  return h;
}
}  // namespace

TEST_CASE("wire: headers round-trip through their bytes", "[mpi][wire]") {
  const GradientHeader h = good_header();
  const auto bytes = bytes_of(h);
  REQUIRE(bytes.size() == sizeof(GradientHeader));
  const GradientHeader back = decode<GradientHeader>(Tag::gradient_header, 3, bytes);
  CHECK(back.learner == 2);
  CHECK(back.ticket == 5);
  CHECK(back.version == 7);
  CHECK(back.batch == 64);
  CHECK(back.compute_s == 0.001);

  RestartHeader r{9, 4, 123, 7850, -1234567890123};
  const RestartHeader rb = decode<RestartHeader>(Tag::restart, 0, bytes_of(r));
  CHECK((rb.ticket == 9 && rb.version == 4 && rb.stream_seed == 123 && rb.dim == 7850));
  CHECK(rb.ps_restart_ns == -1234567890123);
}

TEST_CASE("wire: a header of the wrong size names the rank", "[mpi][wire]") {
  std::vector<std::byte> short_bytes(sizeof(DrewHeader) - 1);
  CHECK_THROWS_WITH(decode<DrewHeader>(Tag::drew, 4, short_bytes),
                    Catch::Contains("rank 4") && Catch::Contains("drew-X of 31 elements, expected 32"));
  CHECK_THROWS_WITH(check_count(Tag::gradient, 2, 10, 7850),
                    Catch::Contains("rank 2") && Catch::Contains("gradient of 10 elements, expected 7850"));
  CHECK_NOTHROW(check_count(Tag::gradient, 2, 7850, 7850));
}

TEST_CASE("wire: an unknown tag names the rank", "[mpi][wire]") {
  CHECK(tag_from_int(5, 1) == Tag::gradient_header);
  CHECK(tag_from_int(8, 1) == Tag::bye);
  CHECK(tag_from_int(9, 1) == Tag::clock);
  CHECK_THROWS_WITH(tag_from_int(10, 3), Catch::Contains("rank 3") && Catch::Contains("unknown tag 10"));
  CHECK_THROWS_WITH(tag_from_int(0, 6), Catch::Contains("rank 6") && Catch::Contains("unknown tag 0"));
  CHECK_THROWS_WITH(tag_from_int(99, 2), Catch::Contains("rank 2") && Catch::Contains("unknown tag 99"));
}

TEST_CASE("wire: learner ids and ranks", "[mpi][wire]") {
  CHECK(rank_of(0) == 1);
  CHECK(learner_of(4, 4) == 3);
  CHECK_THROWS_WITH(learner_of(5, 4), Catch::Contains("rank 5") && Catch::Contains("not a learner rank (1..4)"));
  CHECK_THROWS_WITH(learner_of(0, 4), Catch::Contains("rank 0"));
}

TEST_CASE("wire: gradient headers are checked against what the PS sent", "[mpi][wire]") {
  const Sent sent{5, 7};
  CHECK_NOTHROW(check_gradient(good_header(), 3, 4, sent, 9));

  GradientHeader other = good_header();
  other.learner = 1;
  CHECK_THROWS_WITH(check_gradient(other, 3, 4, sent, 9),
                    Catch::Contains("rank 3") && Catch::Contains("gradient of learner 1"));
  CHECK_THROWS_WITH(check_gradient(good_header(), 7, 4, sent, 9),
                    Catch::Contains("rank 7") && Catch::Contains("not a learner rank"));

  GradientHeader future = good_header();
  future.ticket = 6;
  CHECK_THROWS_WITH(check_gradient(future, 3, 4, sent, 9),
                    Catch::Contains("rank 3") && Catch::Contains("ticket 6"));

  GradientHeader unpublished = good_header();
  unpublished.version = 10;
  unpublished.ticket = 4;  // an older ticket: cancelled work, but its version must exist
  CHECK_THROWS_WITH(check_gradient(unpublished, 3, 4, sent, 9),
                    Catch::Contains("rank 3") && Catch::Contains("version 10"));
  GradientHeader not_sent = good_header();
  not_sent.version = 6;  // exists, but the current ticket was sent version 7
  CHECK_THROWS_WITH(check_gradient(not_sent, 3, 4, sent, 9), Catch::Contains("never sent it"));
  GradientHeader older = good_header();
  older.ticket = 4;
  older.version = 6;
  CHECK_NOTHROW(check_gradient(older, 3, 4, sent, 9));

  GradientHeader nan_time = good_header();
  nan_time.compute_s = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(check_gradient(nan_time, 3, 4, sent, 9), Catch::Contains("NaN duration"));
  GradientHeader negative_late = good_header();
  negative_late.compute_late_s = -0.001;
  CHECK_THROWS_WITH(check_gradient(negative_late, 3, 4, sent, 9), Catch::Contains("negative or NaN"));
  GradientHeader nan_x = good_header();
  nan_x.delay_drawn = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(check_gradient(nan_x, 3, 4, sent, 9), Catch::Contains("negative or NaN"));
}

TEST_CASE("wire: drew-X and restart headers are checked", "[mpi][wire]") {
  CHECK_NOTHROW(check_drew(DrewHeader{3, 0.004, 0.003}, 2, 3));
  CHECK_NOTHROW(check_drew(DrewHeader{3, std::numeric_limits<double>::infinity(), 0}, 2, 3));
  CHECK_THROWS_WITH(check_drew(DrewHeader{4, 0.004, 0.003}, 2, 3),
                    Catch::Contains("rank 2") && Catch::Contains("ticket 4"));
  CHECK_THROWS_WITH(check_drew(DrewHeader{3, -1, 0}, 2, 3), Catch::Contains("negative or NaN X"));
  CHECK_THROWS_WITH(check_drew(DrewHeader{3, 0.004, 0.003, -0.001}, 2, 3), Catch::Contains("negative or NaN"));

  CHECK_NOTHROW(check_restart(RestartHeader{2, 0, 1, 10}, 10, 1));
  CHECK_THROWS_WITH(check_restart(RestartHeader{2, 0, 1, 11}, 10, 1),
                    Catch::Contains("rank 0") && Catch::Contains("11 weights"));
  CHECK_THROWS_WITH(check_restart(RestartHeader{1, 0, 1, 10}, 10, 1),
                    Catch::Contains("ticket 1 after ticket 1"));
}
