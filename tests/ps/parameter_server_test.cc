// ParameterServer with the gradient's storage handed over (GradientArrival::storage): an
// update the gradient completes -- alone, or as the last of K = 2 -- is written into that
// buffer (VersionedWeights::publish_in), and must give the same weights as the update
// written into a free buffer: bit for bit alone; as the last of several to within the
// rounding a compiler's fusing of multiply and add may save (one pass against two; on
// GCC 12 and clang 14 here the bits agree too).
#include "ps/parameter_server.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "ps/gradient_pool.h"
#include "sgd/compensation.h"
#include "sgd/lr_schedule.h"
#include "sgd/variant.h"

using namespace racesgd;

namespace {

constexpr std::size_t kDim = 3000;  // more than one block of the update pass, not a multiple

// Learner w's t-th gradient: deterministic, different per learner and step.
void fill_gradient(std::span<float> g, LearnerId w, int t) {
  for (std::size_t i = 0; i < g.size(); ++i)
    g[i] = static_cast<float>(std::sin(0.01 * static_cast<double>(i) + w + 0.3 * t));
}

bool same_bits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("parameter server: an update written over its gradient's buffer is bit-identical",
          "[ps][parameter_server]") {
  const char* variant = GENERATE("async", "k-async", "k-batch-async");
  INFO(variant);
  const Variant v = make_variant(variant, 3, 2);
  auto lr = make_lr_schedule("constant", 0.1, "none");
  std::vector<float> w0(kDim, 0.5f);
  VersionedWeights read_only(w0, VersionedWeights::pool_size_for(2));
  VersionedWeights taking(w0, VersionedWeights::pool_size_for(2));
  ParameterServer a(v, read_only, *lr), b(v, taking, *lr);
  a.start(0.0);
  b.start(0.0);
  GradientPool pool(kDim);
  std::vector<float> g(kDim);
  for (int t = 0; t < 30; ++t) {
    const auto w = static_cast<LearnerId>(t % 3);
    fill_gradient(g, w, t);
    GradientBuffer buf = pool.acquire();
    std::copy(g.begin(), g.end(), buf.data());
    const Decision da = a.on_gradient(GradientArrival{w, a.version(), g, {}, 0.001 * t});
    const Decision db = b.on_gradient(GradientArrival{w, b.version(), buf.span(), {}, 0.001 * t, &buf});
    REQUIRE(da.apply == db.apply);
    REQUIRE(a.version() == b.version());
    if (std::string(variant) == "async") {
      REQUIRE(same_bits(read_only.pin_latest().weights(), taking.pin_latest().weights()));
    } else {
      const auto x = read_only.pin_latest(), y = taking.pin_latest();
      for (std::size_t i = 0; i < kDim; ++i)
        REQUIRE(y.weights()[i] == Approx(x.weights()[i]).epsilon(1e-5).margin(1e-6));
    }
    // An update that accumulates (K = 2: the first of two gradients) only reads the buffer.
    if (!db.apply) REQUIRE(same_bits(buf.span(), g));
  }
  CHECK(a.version() > 0);
  CHECK(pool.outstanding() == 0);
}

TEST_CASE("parameter server: delay compensation, in the gradient's buffer or in a copy",
          "[ps][parameter_server][compensation]") {
  // Learners read the weights they were last given (as in a run), so gradients arrive stale;
  // the update written over the compensated gradient (storage handed over) equals the one
  // made from a compensated copy, bit for bit, and both differ from no compensation.
  const char* spec = GENERATE("dc:lambda=0.5", "dc-adaptive");
  const char* variant = GENERATE("async", "k-async");
  INFO(spec << " " << variant);
  const Variant v = make_variant(variant, 3, 2);
  auto lr = make_lr_schedule("constant", 0.1, "none");
  const std::vector<float> w0(kDim, 0.5f);
  VersionedWeights wa(w0, VersionedWeights::pool_size_for(8)), wb(w0, VersionedWeights::pool_size_for(8)),
      wc(w0, VersionedWeights::pool_size_for(8));
  ParameterServer a(v, wa, *lr, parse_compensation(spec)), b(v, wb, *lr, parse_compensation(spec)),
      plain(v, wc, *lr);
  a.start(0.0);
  b.start(0.0);
  plain.start(0.0);
  std::vector<VersionedWeights::Pin> ra, rb, rc;  // what each learner read
  for (int w = 0; w < 3; ++w) {
    ra.push_back(wa.pin_latest());
    rb.push_back(wb.pin_latest());
    rc.push_back(wc.pin_latest());
  }
  GradientPool pool(kDim);
  std::vector<float> g(kDim);
  std::uint64_t stale = 0;
  for (int t = 0; t < 30; ++t) {
    const auto w = static_cast<std::size_t>(t % 3);
    fill_gradient(g, static_cast<LearnerId>(w), t);
    GradientBuffer buf = pool.acquire();
    std::copy(g.begin(), g.end(), buf.data());
    stale += a.version() - ra[w].version();
    a.on_gradient(GradientArrival{static_cast<LearnerId>(w), ra[w].version(), g, ra[w].weights(), 0.001 * t});
    b.on_gradient(GradientArrival{static_cast<LearnerId>(w), rb[w].version(), buf.span(), rb[w].weights(),
                                  0.001 * t, &buf});
    plain.on_gradient(GradientArrival{static_cast<LearnerId>(w), rc[w].version(), g, rc[w].weights(), 0.001 * t});
    REQUIRE(same_bits(wa.pin_latest().weights(), wb.pin_latest().weights()));
    ra[w] = wa.pin_latest();
    rb[w] = wb.pin_latest();
    rc[w] = wc.pin_latest();
  }
  REQUIRE(stale > 0);
  CHECK_FALSE(same_bits(wa.pin_latest().weights(), wc.pin_latest().weights()));
  // The state a checkpoint carries: MeanSquare for the adaptive form only.
  CHECK(a.state().compensation_mean_square.size() == (std::string(spec) == "dc-adaptive" ? kDim : 0));
}

TEST_CASE("parameter server: a NaN gradient refused in its own buffer publishes nothing",
          "[ps][parameter_server]") {
  const Variant v = make_variant("async", 2, 1);
  auto lr = make_lr_schedule("constant", 0.1, "none");
  VersionedWeights weights(std::vector<float>(kDim, 0.5f), VersionedWeights::pool_size_for(2));
  ParameterServer ps(v, weights, *lr);
  ps.start(0.0);
  GradientPool pool(kDim);
  GradientBuffer buf = pool.acquire();
  fill_gradient(buf.span(), 0, 0);
  ps.on_gradient(GradientArrival{0, 0, buf.span(), {}, 0.001, &buf});
  REQUIRE(ps.version() == 1);
  const std::vector<float> before(weights.pin_latest().weights().begin(), weights.pin_latest().weights().end());
  GradientBuffer bad = pool.acquire();
  fill_gradient(bad.span(), 1, 1);
  bad.data()[kDim / 2] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(ps.on_gradient(GradientArrival{1, 0, bad.span(), {}, 0.002, &bad}), RunError);
  CHECK(weights.latest_version() == 1);
  CHECK(same_bits(weights.pin_latest().weights(), before));
  REQUIRE(ps.divergence().has_value());
  CHECK(ps.divergence()->in_gradient);
}
