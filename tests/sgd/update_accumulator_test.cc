#include "sgd/update_accumulator.h"

#include <Eigen/Core>
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

using namespace racesgd;

TEST_CASE("update = current - (1/K) sum lr_i g_i", "[update]") {
  UpdateAccumulator acc(3);
  std::vector<float> g1{1, 2, 3}, g2{-1, 0, 1}, cur{10, 10, 10}, dst(3);
  CHECK(acc.add(g1, 0.5) == Approx(14.0));
  acc.add(g2, 1.0);
  CHECK(acc.count() == 2);
  acc.apply_into(dst, cur);
  // (0.5*g1 + g2) / 2 = (-0.5, 1, 2.5) / 2
  CHECK(dst[0] == Approx(10.25));
  CHECK(dst[1] == Approx(9.5));
  CHECK(dst[2] == Approx(8.75));
  CHECK(acc.count() == 0);
  // The accumulator starts over after an apply.
  acc.add(g2, 1.0);
  acc.apply_into(dst, cur);
  CHECK(dst[0] == Approx(11.0));
}

TEST_CASE("non-finite gradients and weights are visible to the caller", "[update]") {
  UpdateAccumulator acc(2);
  std::vector<float> bad{1, std::numeric_limits<float>::quiet_NaN()}, cur{0, 0}, dst(2);
  CHECK_FALSE(std::isfinite(acc.add(bad, 1.0)));
  UpdateAccumulator acc2(2);
  std::vector<float> huge{3e38f, 3e38f};
  acc2.add(huge, 1.0);
  std::vector<float> neg{-3e38f, 0};
  CHECK_FALSE(std::isfinite(acc2.apply_into(dst, neg)));
}

TEST_CASE("squared distance", "[update]") {
  std::vector<float> a{1, 2, 3}, b{1, 0, 7};
  CHECK(squared_distance(a, b) == Approx(20.0));
}

TEST_CASE("update and distance bits do not depend on where the buffers start",
          "[update][alignment]") {
  // Eigen vectorises a loop over a span only from the first 64-byte boundary on, with a
  // scalar head before it; a virtual-clock run is reproducible only if both paths round
  // alike. Each of g, cur, dst (and the distance's two inputs) starts k floats past a
  // 64-byte boundary, k = 0..15, the others at 0. (The accumulator's own buffer is placed
  // by the heap; what the update reads from and writes to is the caller's.)
  constexpr Eigen::Index n = 45;  // two 16-float packets and a tail at any offset
  constexpr Eigen::Index kOffsets = 16;
  Eigen::VectorXf g1(n), g2(n), cur(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    g1[i] = std::sin(0.7f * static_cast<float>(i));
    g2[i] = std::cos(1.3f * static_cast<float>(i));
    cur[i] = 1.0f / static_cast<float>(i + 3);
  }
  struct Out {
    std::vector<float> dst;
    double g2, w2, distance2;
  };
  auto run = [&](Eigen::Index at_g, Eigen::Index at_cur, Eigen::Index at_dst) {
    Eigen::VectorXf gb(n + kOffsets), cb(n + kOffsets), db(n + kOffsets);
    gb.segment(at_g, n) = g1;
    cb.segment(at_cur, n) = cur;
    const std::span<float> g(gb.data() + at_g, n), c(cb.data() + at_cur, n),
        d(db.data() + at_dst, n);
    UpdateAccumulator acc(n);
    Out out;
    acc.add(g, 0.3);
    std::copy(g2.begin(), g2.end(), g.begin());
    out.g2 = acc.add(g, 0.7);
    out.w2 = acc.apply_into(d, c);
    out.dst.assign(d.begin(), d.end());
    out.distance2 = squared_distance(c, g);
    return out;
  };
  const Out ref = run(0, 0, 0);
  for (Eigen::Index k = 1; k < kOffsets; ++k) {
    const Eigen::Index placements[3][3] = {{k, 0, 0}, {0, k, 0}, {0, 0, k}};
    for (const auto& at : placements) {
      INFO("offsets: g " << at[0] << ", cur " << at[1] << ", dst " << at[2]);
      const Out out = run(at[0], at[1], at[2]);
      CHECK(std::memcmp(out.dst.data(), ref.dst.data(), n * sizeof(float)) == 0);
      CHECK(std::memcmp(&out.g2, &ref.g2, sizeof(double)) == 0);
      CHECK(std::memcmp(&out.w2, &ref.w2, sizeof(double)) == 0);
      CHECK(std::memcmp(&out.distance2, &ref.distance2, sizeof(double)) == 0);
    }
  }
}

TEST_CASE("an update of one gradient alone is folded into the publishing pass", "[update]") {
  // Longer than one block of the fused pass (2048 floats), and not a multiple of it.
  const std::size_t n = 5000;
  UpdateAccumulator acc(n);
  std::vector<float> g(n), cur(n), fused(n), accumulated(n);
  for (std::size_t i = 0; i < n; ++i) {
    g[i] = static_cast<float>(std::sin(0.1 * static_cast<double>(i)));
    cur[i] = 1.0f + static_cast<float>(i % 7);
  }
  const UpdateAccumulator::Norms norms = acc.apply_one_into(fused, cur, g, 0.25);
  CHECK(acc.count() == 0);  // nothing was accumulated, nothing to clear
  // The accumulated path gives the same update (up to one rounding where FMA fuses), and
  // the same ||g||^2 that add() reports.
  const double g2 = acc.add(g, 0.25);
  const double w2 = acc.apply_into(accumulated, cur);
  double g2_exact = 0;
  for (std::size_t i = 0; i < n; ++i) {
    REQUIRE(fused[i] == Approx(cur[i] - 0.25 * g[i]).epsilon(1e-6));
    REQUIRE(fused[i] == Approx(accumulated[i]).epsilon(1e-6));
    g2_exact += static_cast<double>(g[i]) * g[i];
  }
  CHECK(norms.gradient2 == Approx(g2).epsilon(1e-5));
  CHECK(norms.gradient2 == Approx(g2_exact).epsilon(1e-5));
  CHECK(norms.weights2 == Approx(w2).epsilon(1e-5));
}

TEST_CASE("the fused update tells a broken gradient from the weights it breaks", "[update]") {
  UpdateAccumulator acc(4);
  std::vector<float> cur{10, 10, 10, 10}, dst(4);
  // A NaN in g: both norms show it.
  std::vector<float> nan{1, std::numeric_limits<float>::quiet_NaN(), 0, 0};
  const auto a = acc.apply_one_into(dst, cur, nan, 0.25);
  CHECK_FALSE(std::isfinite(a.gradient2));
  // A finite g whose float ||g||^2 overflows is refused by add(), so by the fused pass too,
  // even when the weights it makes stay finite (lr small).
  std::vector<float> huge_norm{1e20f, 0, 0, 0};
  CHECK_FALSE(std::isfinite(acc.add(huge_norm, 1e-3)));
  UpdateAccumulator fresh(4);
  const auto b = fresh.apply_one_into(dst, cur, huge_norm, 1e-3);
  CHECK_FALSE(std::isfinite(b.gradient2));
  CHECK(std::isfinite(b.weights2));
  // A modest g with a learning rate that overflows the weights: the gradient is fine.
  std::vector<float> modest{1, 0, 0, 0};
  const auto c = fresh.apply_one_into(dst, cur, modest, 1e38);
  CHECK(std::isfinite(c.gradient2));
  CHECK_FALSE(std::isfinite(c.weights2));
}

TEST_CASE("an update pass gives the same floats walked either way", "[update]") {
  // Sweep only changes the order of the blocks (the PS alternates it for the cache): every
  // element, the last partial block's included, is computed alone, so the results match.
  const std::size_t n = 2048 * 3 + 17;
  std::vector<float> g(n), g2(n), cur(n);
  for (std::size_t i = 0; i < n; ++i) {
    g[i] = static_cast<float>(std::cos(0.01 * static_cast<double>(i)));
    g2[i] = static_cast<float>(std::sin(0.03 * static_cast<double>(i)));
    cur[i] = static_cast<float>(i % 11) - 5.0f;
  }
  std::vector<float> fwd(n, -1.0f), bwd(n, -2.0f);
  UpdateAccumulator acc(n);
  const auto a = acc.apply_one_into(fwd, cur, g, 0.1, Sweep::forward);
  const auto b = acc.apply_one_into(bwd, cur, g, 0.1, Sweep::backward);
  CHECK(std::memcmp(fwd.data(), bwd.data(), n * sizeof(float)) == 0);
  CHECK(a.gradient2 == Approx(b.gradient2).epsilon(1e-5));
  CHECK(a.weights2 == Approx(b.weights2).epsilon(1e-5));

  std::fill(fwd.begin(), fwd.end(), -1.0f);
  std::fill(bwd.begin(), bwd.end(), -2.0f);
  acc.add(g, 0.1);
  acc.add(g2, 0.2);
  const double wf = acc.apply_into(fwd, cur, Sweep::forward);
  acc.add(g, 0.1);
  acc.add(g2, 0.2);
  const double wb = acc.apply_into(bwd, cur, Sweep::backward);
  CHECK(std::memcmp(fwd.data(), bwd.data(), n * sizeof(float)) == 0);
  CHECK(wf == Approx(wb).epsilon(1e-5));
  for (std::size_t i = 0; i < n; ++i)
    REQUIRE(fwd[i] == Approx(cur[i] - (0.1 * g[i] + 0.2 * g2[i]) / 2).margin(1e-5));
}

TEST_CASE("the fused pass's norms see every element, in the SIMD lanes and the tail", "[update]") {
  // apply_one_into sums the squares in independent partial sums: a NaN or a square that
  // overflows must reach the result wherever it sits (first, middle of a block, across a
  // block boundary, the last partial stretch).
  const std::size_t n = 2048 + 32 * 5 + 7;
  std::vector<float> cur(n, 1.0f), dst(n);
  for (std::size_t at : {std::size_t{0}, std::size_t{31}, std::size_t{1000}, std::size_t{2047},
                         std::size_t{2048}, n - 8, n - 1}) {
    CAPTURE(at);
    UpdateAccumulator acc(n);
    std::vector<float> g(n, 0.5f);
    g[at] = std::numeric_limits<float>::quiet_NaN();
    const auto bad_g = acc.apply_one_into(dst, cur, g, 0.25);
    CHECK_FALSE(std::isfinite(bad_g.gradient2));
    CHECK_FALSE(std::isfinite(bad_g.weights2));
    g[at] = 1e20f;  // finite, but its square overflows a float sum
    const auto huge = acc.apply_one_into(dst, cur, g, 1e-3);
    CHECK_FALSE(std::isfinite(huge.gradient2));
    CHECK(std::isfinite(huge.weights2));
    g[at] = 0.5f;
    std::vector<float> w = cur;
    w[at] = std::numeric_limits<float>::infinity();
    const auto bad_w = acc.apply_one_into(dst, w, g, 0.25);
    CHECK(std::isfinite(bad_w.gradient2));
    CHECK_FALSE(std::isfinite(bad_w.weights2));
    const auto fine = acc.apply_one_into(dst, cur, g, 0.25);
    CHECK(fine.gradient2 == Approx(0.25 * static_cast<double>(n)).epsilon(1e-6));
    CHECK(fine.weights2 == Approx(0.875 * 0.875 * static_cast<double>(n)).epsilon(1e-6));
  }
}

TEST_CASE("the update written over its gradient equals the one written elsewhere", "[update]") {
  // apply_one_in_place (the new version in the gradient's buffer) computes the same floats
  // and norms as apply_one_into, both sweep directions, a partial last block included.
  const std::size_t n = 2048 * 2 + 45;
  std::vector<float> g(n), cur(n), into(n);
  for (std::size_t i = 0; i < n; ++i) {
    g[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)));
    cur[i] = static_cast<float>(std::cos(0.11 * static_cast<double>(i)));
  }
  const UpdateAccumulator acc(n);
  for (Sweep sweep : {Sweep::forward, Sweep::backward}) {
    std::vector<float> in_place = g;
    const auto a = acc.apply_one_into(into, cur, g, 0.3, sweep);
    const auto b = acc.apply_one_in_place(in_place, cur, 0.3, sweep);
    CHECK(std::memcmp(into.data(), in_place.data(), n * sizeof(float)) == 0);
    CHECK(a.gradient2 == b.gradient2);
    CHECK(a.weights2 == b.weights2);
  }
  std::vector<float> nan_g = g;
  nan_g[n - 1] = std::numeric_limits<float>::quiet_NaN();
  CHECK_FALSE(std::isfinite(acc.apply_one_in_place(nan_g, cur, 0.3).gradient2));
}

TEST_CASE("the last gradient of several, folded in place, gives add() then apply_into's update",
          "[update]") {
  // apply_last_in_place writes cur - (acc + lr g) / count over g: the floats add(g, lr) then
  // apply_into write elsewhere, to within the rounding a fused multiply-add may save (the
  // two passes round lr g and the sum separately), with the same norms' finiteness; and it
  // clears the accumulator. K = 2 and K = 3, both sweep directions, a partial last block.
  const std::size_t n = 2048 * 2 + 45;
  std::vector<float> g1(n), g2(n), g3(n), cur(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<double>(i);
    g1[i] = static_cast<float>(std::sin(0.37 * x));
    g2[i] = static_cast<float>(std::cos(0.23 * x));
    g3[i] = static_cast<float>(std::sin(0.05 * x + 1.0));
    cur[i] = static_cast<float>(std::cos(0.11 * x));
  }
  for (const int k : {2, 3}) {
    for (Sweep sweep : {Sweep::forward, Sweep::backward}) {
      INFO("K = " << k);
      UpdateAccumulator two_pass(n), folded(n);
      two_pass.add(g1, 0.3);
      folded.add(g1, 0.3);
      if (k == 3) {
        two_pass.add(g3, 0.2);
        folded.add(g3, 0.2);
      }
      std::vector<float> into(n), in_place = g2;
      two_pass.add(g2, 0.1);
      const double w2 = two_pass.apply_into(into, cur, sweep);
      const auto norms = folded.apply_last_in_place(in_place, cur, 0.1, sweep);
      CHECK(folded.count() == 0);
      for (std::size_t i = 0; i < n; ++i) {
        INFO("element " << i);
        REQUIRE(in_place[i] == Approx(into[i]).epsilon(1e-6).margin(1e-6));
      }
      CHECK(norms.weights2 == Approx(w2).epsilon(1e-5));
      double g2sq = 0;
      for (float v : g2) g2sq += static_cast<double>(v) * v;
      CHECK(norms.gradient2 == Approx(g2sq).epsilon(1e-5));
      // It differs from the last gradient's update alone: the accumulated ones count.
      std::vector<float> alone(n);
      UpdateAccumulator(n).apply_one_into(alone, cur, g2, 0.1, sweep);
      CHECK(std::memcmp(alone.data(), in_place.data(), n * sizeof(float)) != 0);
    }
  }
  UpdateAccumulator acc(n);
  acc.add(g1, 0.3);
  std::vector<float> nan_g = g2;
  nan_g[7] = std::numeric_limits<float>::quiet_NaN();
  CHECK_FALSE(std::isfinite(acc.apply_last_in_place(nan_g, cur, 0.3).gradient2));
}
