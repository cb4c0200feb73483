#include "models/minibatch.h"

#include <catch2/catch.hpp>
#include <set>

#include "core/error.h"

using namespace racesgd;

namespace {

// Row i holds i in every column and label i: a batch tells exactly which rows it drew.
Dataset numbered(Eigen::Index n, Eigen::Index d) {
  Dataset data;
  data.name = "numbered";
  data.num_classes = static_cast<int>(n);
  data.x.resize(n, d);
  for (Eigen::Index i = 0; i < n; ++i) {
    data.x.row(i).setConstant(static_cast<float>(i));
    data.y.push_back(static_cast<std::int32_t>(i));
  }
  return data;
}

std::vector<std::int32_t> draw(MinibatchSampler& s, int batches) {
  std::vector<std::int32_t> out;
  for (int b = 0; b < batches; ++b) {
    const BatchView<float> v = s.next();
    for (Eigen::Index i = 0; i < v.size(); ++i) {
      REQUIRE(v.x(i, 0) ==
              static_cast<float>(v.y[static_cast<std::size_t>(i)]));  // row and label agree
      out.push_back(v.y[static_cast<std::size_t>(i)]);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("minibatch: every sample exactly once per epoch, reshuffled each epoch", "[minibatch]") {
  const Dataset data = numbered(10, 3);
  MinibatchSampler s(data, 3, 99);
  const std::vector<std::int32_t> seq =
      draw(s, 20);  // 60 draws = 6 epochs, batches straddle epochs
  std::vector<std::vector<std::int32_t>> epochs;
  for (std::size_t e = 0; e < 6; ++e) {
    std::vector<std::int32_t> ep(seq.begin() + static_cast<long>(e * 10),
                                 seq.begin() + static_cast<long>(e * 10 + 10));
    epochs.push_back(ep);
    std::sort(ep.begin(), ep.end());
    std::vector<std::int32_t> all(10);
    std::iota(all.begin(), all.end(), 0);
    CHECK(ep == all);
  }
  CHECK(std::set<std::vector<std::int32_t>>(epochs.begin(), epochs.end()).size() > 1);
  CHECK(s.epoch() == 5);
  CHECK(s.position() == 10);
}

TEST_CASE("minibatch: deterministic per seed, different across learners", "[minibatch]") {
  const Dataset data = numbered(50, 2);
  auto a = MinibatchSampler::for_learner(data, 8, 7, 0);
  auto b = MinibatchSampler::for_learner(data, 8, 7, 0);
  auto c = MinibatchSampler::for_learner(data, 8, 7, 1);
  auto d = MinibatchSampler::for_learner(data, 8, 8, 0);
  const auto sa = draw(a, 30);
  CHECK(sa == draw(b, 30));
  CHECK(sa != draw(c, 30));
  CHECK(sa != draw(d, 30));
}

TEST_CASE("minibatch: buffers are allocated once and reused", "[minibatch]") {
  const Dataset data = numbered(37, 5);
  MinibatchSampler s(data, 16, 3);
  const BatchView<float> first = s.next();
  const float* x0 = first.x.data();
  const std::int32_t* y0 = first.y.data();
  CHECK(first.size() == 16);
  CHECK(first.x.cols() == 5);
  for (int i = 0; i < 1000; ++i) {
    const BatchView<float> v = s.next();
    REQUIRE(v.x.data() == x0);
    REQUIRE(v.y.data() == y0);
    REQUIRE(v.size() == 16);
  }
}

TEST_CASE("minibatch: state restores the exact stream", "[minibatch]") {
  const Dataset data = numbered(23, 2);
  MinibatchSampler s(data, 5, 11);
  draw(s, 7);  // mid-epoch
  const MinibatchSampler::State st = s.state();
  const auto rest = draw(s, 12);
  MinibatchSampler r(data, 5, 12345);  // another seed: the state overrides it
  r.restore(st);
  CHECK(r.epoch() == st.epoch);
  CHECK(draw(r, 12) == rest);
  MinibatchSampler::State bad = st;
  bad.position = 24;
  CHECK_THROWS_AS(r.restore(bad), InputError);
}

TEST_CASE("minibatch: batch size must fit the dataset", "[minibatch][errors]") {
  const Dataset data = numbered(10, 2);
  CHECK_THROWS_WITH(
      MinibatchSampler(data, 11, 1),
      Catch::Contains("batch size 11 must lie in 1..10") && Catch::Contains("numbered"));
  CHECK_THROWS_AS(MinibatchSampler(data, 0, 1), InputError);
  MinibatchSampler whole(data, 10, 1);
  auto v = draw(whole, 1);
  std::sort(v.begin(), v.end());
  CHECK(v == std::vector<std::int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}
