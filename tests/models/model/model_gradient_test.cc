// Gradients against central finite differences (double precision), float-vs-double
// agreement, and finiteness on extreme inputs.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "models/model_registry.h"
#include "tests/models/model/model_test_util.h"

using racesgd::make_model;
using racesgd::ModelT;
using racesgd::test::random_batch;
using racesgd::test::random_weights;

namespace {

struct Case {
  std::string spec;
  Eigen::Index d;
  int classes;
  Eigen::Index batch;
  double l2;
};

// Every coordinate of the analytic gradient against (f(w + h e_i) - f(w - h e_i)) / 2h.
// With h = 1e-5 the truncation error is ~h^2 * f''' ~ 1e-10 and round-off ~1e-16 / h.
void check_gradient(const Case& c, std::uint64_t seed) {
  INFO("spec " << c.spec << " d=" << c.d << " C=" << c.classes << " m=" << c.batch
               << " l2=" << c.l2 << " seed=" << seed);
  auto model = make_model<double>(c.spec, c.d, c.classes, c.l2);
  auto batch = random_batch<double>(c.batch, c.d, c.classes, seed);
  std::vector<double> w = random_weights<double>(model->num_params(), seed + 100, 0.7);
  auto ws = model->make_workspace(c.batch);
  std::vector<double> grad(w.size());
  const double f0 = model->loss_and_gradient(w, batch.view(), grad, *ws);
  CHECK(f0 == Approx(model->loss(w, batch.view(), *ws)).epsilon(1e-12));
  const double h = 1e-5;
  double worst = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double saved = w[i];
    w[i] = saved + h;
    const double up = model->loss(w, batch.view(), *ws);
    w[i] = saved - h;
    const double down = model->loss(w, batch.view(), *ws);
    w[i] = saved;
    const double fd = (up - down) / (2 * h);
    const double err = std::abs(fd - grad[i]) / std::max(1.0, std::abs(fd));
    worst = std::max(worst, err);
  }
  CHECK(worst < 1e-7);
}

}  // namespace

TEST_CASE("model gradients match central finite differences", "[model][gradient]") {
  const std::vector<Case> cases = {
      {"logistic", 1, 2, 1, 0.0},        {"logistic", 5, 2, 9, 0.0},
      {"logistic", 6, 2, 13, 0.3},       {"softmax", 1, 2, 3, 0.0},
      {"softmax", 4, 3, 7, 0.0},         {"softmax", 7, 5, 11, 0.25},
      {"softmax", 3, 10, 20, 0.0},       {"mlp:hidden=6", 4, 3, 8, 0.0},
      {"mlp:hidden=1", 2, 2, 5, 0.1},    {"mlp:hidden=5,4", 6, 3, 9, 0.0},
      {"mlp:hidden=5,4", 6, 4, 9, 0.2},  {"mlp:hidden=7,3,5", 3, 2, 12, 0.05},
      // One sample: the single-sample loops instead of the GEMM kernel (models/mlp.cc).
      {"softmax", 37, 3, 1, 0.0},        {"mlp:hidden=5,4", 35, 3, 1, 0.2},
      {"mlp:hidden=7,3,5", 33, 2, 1, 0.0},
  };
  for (const Case& c : cases)
    for (std::uint64_t seed : {1u, 2u}) check_gradient(c, seed);
}

TEST_CASE("gradient through the GEMM path at realistic widths", "[model][gradient]") {
  // Wide enough that Eigen's blocking splits the products into several packed panels.
  // Checks a random subset of coordinates to stay fast.
  auto model = make_model<double>("mlp:hidden=300,40", 700, 10, 1e-3);
  auto batch = random_batch<double>(37, 700, 10, 5);
  std::vector<double> w = random_weights<double>(model->num_params(), 6, 0.05);
  auto ws = model->make_workspace(64);
  std::vector<double> grad(w.size());
  model->loss_and_gradient(w, batch.view(), grad, *ws);
  racesgd::Rng pick(7);
  const double h = 1e-5;
  for (int k = 0; k < 60; ++k) {
    const auto i = static_cast<std::size_t>(pick.below(w.size()));
    const double saved = w[i];
    w[i] = saved + h;
    const double up = model->loss(w, batch.view(), *ws);
    w[i] = saved - h;
    const double down = model->loss(w, batch.view(), *ws);
    w[i] = saved;
    INFO("parameter " << i);
    CHECK(grad[i] == Approx((up - down) / (2 * h)).margin(1e-8).epsilon(1e-5));
  }
}

TEST_CASE("float and double models agree", "[model]") {
  for (const char* spec : {"logistic", "softmax", "mlp:hidden=32,16"}) {
    INFO(spec);
    const int classes = std::string(spec) == "logistic" ? 2 : 4;
    auto md = make_model<double>(spec, 20, classes, 0.01);
    auto mf = make_model<float>(spec, 20, classes, 0.01);
    REQUIRE(md->num_params() == mf->num_params());
    std::vector<double> wd = random_weights<double>(md->num_params(), 11, 0.3);
    std::vector<float> wf(wd.begin(), wd.end());
    auto bd = random_batch<double>(50, 20, classes, 12);
    racesgd::test::OwnedBatch<float> bf{bd.x.cast<float>(), bd.y};
    auto wsd = md->make_workspace(50);
    auto wsf = mf->make_workspace(50);
    std::vector<double> gd(wd.size());
    std::vector<float> gf(wd.size());
    const double ld = md->loss_and_gradient(wd, bd.view(), gd, *wsd);
    const double lf = mf->loss_and_gradient(wf, bf.view(), gf, *wsf);
    CHECK(lf == Approx(ld).epsilon(1e-5));
    double scale = 0, diff = 0;
    for (std::size_t i = 0; i < gd.size(); ++i) {
      scale = std::max(scale, std::abs(gd[i]));
      diff = std::max(diff, std::abs(gd[i] - static_cast<double>(gf[i])));
    }
    CHECK(diff <= 1e-4 * scale);
  }
}

TEMPLATE_TEST_CASE("no NaN or Inf on extreme inputs", "[model]", float, double) {
  using T = TestType;
  for (const char* spec : {"logistic", "softmax", "mlp:hidden=8"}) {
    INFO(spec);
    const int classes = std::string(spec) == "logistic" ? 2 : 3;
    auto model = make_model<T>(spec, 5, classes, 1e-4);
    // Features of size 1e4 and weights of size 100: logits reach ~1e7 (1e8 through the
    // MLP), far beyond where a naive exp() overflows (88 in float, 709 in double).
    auto batch = random_batch<T>(16, 5, classes, 3, 1e4);
    std::vector<T> w = random_weights<T>(model->num_params(), 4, 100.0);
    auto ws = model->make_workspace(16);
    std::vector<T> grad(w.size());
    const double l = model->loss_and_gradient(w, batch.view(), grad, *ws);
    CHECK(std::isfinite(l));
    CHECK(l > 1e3);  // confidently wrong on some rows: a large but finite loss
    bool all_finite = true;
    for (T g : grad) all_finite = all_finite && std::isfinite(g);
    CHECK(all_finite);
    racesgd::DatasetT<T> data{"extreme", batch.x, batch.y, classes};
    auto eval = model->evaluate(w, data);
    CHECK(std::isfinite(eval.loss));
    CHECK(eval.error >= 0.0);
    CHECK(eval.error <= 1.0);
  }
}
