// Delay compensation (DC-ASGD): the spec grammar, the formula on hand-computed values, the
// adaptive form's MeanSquare, and its checkpoint state.
#include "sgd/compensation.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"

using namespace racesgd;

TEST_CASE("compensation specs: defaults, parameters, canonical text", "[compensation]") {
  const CompensationConfig none = parse_compensation("none");
  CHECK(none.kind == CompensationConfig::Kind::none);
  CHECK(to_string(none) == "none");
  const CompensationConfig dc = parse_compensation("dc");
  CHECK(dc.kind == CompensationConfig::Kind::dc);
  CHECK(dc.lambda == 0.04);
  CHECK(to_string(dc) == "dc:lambda=0.04");
  CHECK(parse_compensation("dc:lambda=0.5").lambda == 0.5);
  const CompensationConfig a = parse_compensation("dc-adaptive");
  CHECK(a.kind == CompensationConfig::Kind::dc_adaptive);
  CHECK(a.lambda0 == 2.0);
  CHECK(a.momentum == 0.95);
  CHECK(a.eps == 1e-7);
  CHECK(to_string(a) == "dc-adaptive:lambda0=2,momentum=0.95,eps=1e-07");
  const CompensationConfig b = parse_compensation("dc-adaptive:lambda0=1,momentum=0.5,eps=1e-3");
  CHECK(parse_compensation(to_string(b)).momentum == 0.5);  // the text parses back
}

TEST_CASE("bad compensation specs are InputErrors naming the flag", "[compensation]") {
  for (const char* bad : {"foo", "dc:lambda=-1", "dc:lambda=x", "dc:mu=1", "dc-adaptive:momentum=1",
                          "dc-adaptive:momentum=-0.1", "dc-adaptive:eps=0", "none:lambda=1", ""}) {
    INFO(bad);
    try {
      parse_compensation(bad);
      FAIL("accepted");
    } catch (const InputError& e) {
      CHECK(std::string(e.what()).find("--compensation") != std::string::npos);
    }
  }
}

TEST_CASE("dc: g + lambda g g (w_now - w_read), only where stale", "[compensation]") {
  DelayCompensation dc(parse_compensation("dc:lambda=0.5"), 3);
  REQUIRE(dc.active());
  const std::vector<float> now{1.0f, 2.0f, -1.0f}, read{0.5f, 2.0f, 1.0f};
  std::vector<float> g{2.0f, 3.0f, -1.0f};
  dc.apply(g, now, read, /*stale=*/true);
  // 2 + 0.5*4*0.5 = 3; 3 + 0.5*9*0 = 3; -1 + 0.5*1*(-2) = -2
  CHECK(g == std::vector<float>{3.0f, 3.0f, -2.0f});
  std::vector<float> fresh{2.0f, 3.0f, -1.0f};
  dc.apply(fresh, now, read, /*stale=*/false);
  CHECK(fresh == std::vector<float>{2.0f, 3.0f, -1.0f});
  CHECK(dc.mean_square().empty());
  DelayCompensation off(parse_compensation("none"), 3);
  CHECK_FALSE(off.active());
}

TEST_CASE("dc-adaptive: lambda0 / sqrt(MeanSquare + eps), MeanSquare over every gradient",
          "[compensation]") {
  DelayCompensation dc(parse_compensation("dc-adaptive:lambda0=1,momentum=0.5,eps=1e-12"), 2);
  const std::vector<float> w{0.0f, 0.0f};
  // A fresh gradient is not changed but enters MeanSquare: 0.5 * 0 + 0.5 * g^2.
  std::vector<float> g1{2.0f, 4.0f};
  dc.apply(g1, w, w, /*stale=*/false);
  CHECK(g1 == std::vector<float>{2.0f, 4.0f});
  REQUIRE(dc.mean_square().size() == 2);
  CHECK(dc.mean_square()[0] == 2.0f);
  CHECK(dc.mean_square()[1] == 8.0f);
  // A stale one: MeanSquare first (0.5*2 + 0.5*4 = 3; 0.5*8 + 0.5*0 = 4), then
  // g + 1/sqrt(MS) g^2 (now - read).
  std::vector<float> g2{2.0f, 0.0f};
  const std::vector<float> now{1.0f, 1.0f}, read{0.0f, 0.0f};
  dc.apply(g2, now, read, /*stale=*/true);
  CHECK(dc.mean_square()[0] == Approx(3.0f));
  CHECK(dc.mean_square()[1] == Approx(4.0f));
  CHECK(g2[0] == Approx(2.0 + 4.0 / std::sqrt(3.0)).epsilon(1e-6));
  CHECK(g2[1] == 0.0f);

  // Its state: restored exactly; empty (an older checkpoint) means zeros; a wrong size is
  // an InputError.
  const std::vector<float> saved(dc.mean_square().begin(), dc.mean_square().end());
  DelayCompensation again(parse_compensation("dc-adaptive:lambda0=1,momentum=0.5,eps=1e-12"), 2);
  again.restore(saved);
  CHECK(std::vector<float>(again.mean_square().begin(), again.mean_square().end()) == saved);
  again.restore({});
  CHECK(again.mean_square()[0] == 0.0f);
  CHECK_THROWS_AS(again.restore(std::vector<float>{1.0f}), InputError);
}
