#include "sgd/compensation.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "core/error.h"
#include "core/spec.h"
#include "core/units.h"

namespace racesgd {

CompensationConfig parse_compensation(std::string_view spec) {
  SpecArgs s(parse_spec(spec, "--compensation"), "--compensation");
  CompensationConfig c;
  if (s.name() == "none") {
    c.kind = CompensationConfig::Kind::none;
  } else if (s.name() == "dc") {
    c.kind = CompensationConfig::Kind::dc;
    c.lambda = s.number("lambda", c.lambda, 0.0, 1e300);
  } else if (s.name() == "dc-adaptive") {
    c.kind = CompensationConfig::Kind::dc_adaptive;
    c.lambda0 = s.number("lambda0", c.lambda0, 0.0, 1e300);
    c.momentum = s.number("momentum", c.momentum, 0.0, 1.0);
    if (!(c.momentum < 1.0)) s.fail("momentum must be below 1 (MeanSquare would never change)");
    c.eps = s.number("eps", c.eps, 1e-300, 1e300);
  } else {
    s.fail("unknown compensation '" + s.name() +
           "' (known: none, dc:lambda=L, dc-adaptive:lambda0=L0,momentum=M,eps=E)");
  }
  s.finish();
  return c;
}

std::string to_string(const CompensationConfig& c) {
  switch (c.kind) {
    case CompensationConfig::Kind::none:
      return "none";
    case CompensationConfig::Kind::dc:
      return "dc:lambda=" + format_number(c.lambda);
    case CompensationConfig::Kind::dc_adaptive:
      return "dc-adaptive:lambda0=" + format_number(c.lambda0) + ",momentum=" + format_number(c.momentum) +
             ",eps=" + format_number(c.eps);
  }
  return "none";
}

DelayCompensation::DelayCompensation(const CompensationConfig& c, std::size_t dim)
    : c_(c), dim_(dim) {
  if (c_.kind == CompensationConfig::Kind::dc_adaptive) mean_square_.assign(dim, 0.0f);
}

void DelayCompensation::apply(std::span<float> g, std::span<const float> current,
                              std::span<const float> read, bool stale) {
  RACESGD_CHECK(active());
  RACESGD_CHECK(g.size() == dim_ && current.size() == dim_ && read.size() == dim_);
  const std::size_t n = dim_;
  if (c_.kind == CompensationConfig::Kind::dc) {
    if (!stale) return;
    const float lambda = static_cast<float>(c_.lambda);
    for (std::size_t i = 0; i < n; ++i) g[i] += lambda * g[i] * g[i] * (current[i] - read[i]);
    return;
  }
  const float m = static_cast<float>(c_.momentum), one_minus_m = 1.0f - m;
  const float lambda0 = static_cast<float>(c_.lambda0), eps = static_cast<float>(c_.eps);
  float* ms = mean_square_.data();
  if (!stale) {
    for (std::size_t i = 0; i < n; ++i) ms[i] = m * ms[i] + one_minus_m * g[i] * g[i];
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const float g2 = g[i] * g[i];
    ms[i] = m * ms[i] + one_minus_m * g2;
    g[i] += lambda0 / std::sqrt(ms[i] + eps) * g2 * (current[i] - read[i]);
  }
}

void DelayCompensation::restore(std::span<const float> mean_square) {
  if (mean_square.empty()) {
    std::fill(mean_square_.begin(), mean_square_.end(), 0.0f);
    return;
  }
  if (mean_square.size() != mean_square_.size())
    throw InputError("checkpoint: compensation state has " + std::to_string(mean_square.size()) +
                     " values, --compensation " + to_string(c_) + " keeps " +
                     std::to_string(mean_square_.size()));
  std::copy(mean_square.begin(), mean_square.end(), mean_square_.begin());
}

}  // namespace racesgd
