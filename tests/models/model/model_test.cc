// Loss values against hand-computed tables, the registry, initialisation, evaluate(), and
// the no-allocation guarantee of the gradient path.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.h"
#include "models/logistic.h"
#include "models/mlp.h"
#include "models/model_registry.h"
#include "tests/models/model/alloc_counter.h"
#include "tests/models/model/model_test_util.h"

using racesgd::DatasetT;
using racesgd::InputError;
using racesgd::make_model;
using racesgd::MatrixRM;
using racesgd::test::random_batch;
using racesgd::test::random_weights;

namespace {
// Loss of one labelled row (x, y) under weights w.
template <typename T>
double row_loss(const racesgd::ModelT<T>& model, const std::vector<T>& w,
                const std::vector<T>& x, std::int32_t y) {
  MatrixRM<T> xm = Eigen::Map<const MatrixRM<T>>(x.data(), 1, static_cast<Eigen::Index>(x.size()));
  std::vector<std::int32_t> ys{y};
  auto ws = model.make_workspace(1);
  return model.loss(w, racesgd::BatchView<T>{xm, ys}, *ws);
}
}  // namespace

TEST_CASE("softmax with zero weights has loss log C and gradient (1/C - onehot)", "[model]") {
  for (int c : {2, 3, 10}) {
    auto model = make_model<double>("softmax", 4, c, 0.5);
    std::vector<double> w(static_cast<std::size_t>(model->num_params()), 0.0);
    auto batch = random_batch<double>(6, 4, c, 9);
    auto ws = model->make_workspace(6);
    std::vector<double> grad(w.size());
    // All logits 0: p = 1/C for every class; the L2 term of zero weights is 0.
    CHECK(model->loss_and_gradient(w, batch.view(), grad, *ws) == Approx(std::log(c)));
    // Bias gradients (the last C entries) are the means of 1/C - [y == k].
    for (int k = 0; k < c; ++k) {
      double expected = 0;
      for (auto y : batch.y) expected += (1.0 / c - (y == k ? 1.0 : 0.0)) / 6.0;
      CHECK(grad[grad.size() - static_cast<std::size_t>(c) + static_cast<std::size_t>(k)] ==
            Approx(expected).margin(1e-15));
    }
  }
}

TEST_CASE("logistic loss of a hand-computed case", "[model]") {
  // w = (1, -2), b = 0.5, x = (3, 1): z = 3 - 2 + 0.5 = 1.5.
  // y = 1: log(1 + e^-1.5) = log(1.2231301601) = 0.2014132779
  // y = 0: log(1 + e^1.5) = 1.5 + 0.2014132779 = 1.7014132779
  auto model = make_model<double>("logistic", 2, 2, 0.0);
  const std::vector<double> w{1.0, -2.0, 0.5};
  CHECK(row_loss(*model, w, {3.0, 1.0}, 1) == Approx(0.2014132779).epsilon(1e-9));
  CHECK(row_loss(*model, w, {3.0, 1.0}, 0) == Approx(1.7014132779).epsilon(1e-9));
  // z = -1000 with y = 1: the loss is -z + log1p(e^-1000) = 1000 exactly in double.
  CHECK(row_loss(*model, {1.0, 0.0, 0.0}, {-1000.0, 0.0}, 1) == 1000.0);
  // With l2 = 0.2 the term 0.1 * (1 + 4) = 0.5 is added; the bias is not regularised.
  auto reg = make_model<double>("logistic", 2, 2, 0.2);
  CHECK(row_loss(*reg, w, {3.0, 1.0}, 1) == Approx(0.7014132779).epsilon(1e-9));
}

TEST_CASE("softmax and MLP losses of hand-computed cases", "[model]") {
  // Softmax, d = 1, C = 3, W = (1, 2, 3)^T, b = 0, x = 1: logits (1, 2, 3).
  // y = 0: logsumexp - 1 = 3 + log(1 + e^-1 + e^-2) - 1 = 2 + log(1.5032147244) = 2.4076059644
  auto softmax = make_model<double>("softmax", 1, 3, 0.0);
  CHECK(row_loss(*softmax, {1.0, 2.0, 3.0, 0.0, 0.0, 0.0}, {1.0}, 0) ==
        Approx(2.4076059644).epsilon(1e-9));
  // y = 2: 3 + 0.4076059644 - 3.
  CHECK(row_loss(*softmax, {1.0, 2.0, 3.0, 0.0, 0.0, 0.0}, {1.0}, 2) ==
        Approx(0.4076059644).epsilon(1e-9));
  // L2 with lambda = 0.1 on W = all ones (2 x 3, ||W||^2 = 6) adds 0.3; equal biases of 5
  // are not regularised and leave both logits equal, so the data term is log 2.
  auto reg = make_model<double>("softmax", 3, 2, 0.1);
  CHECK(row_loss(*reg, {1, 1, 1, 1, 1, 1, 5, 5}, {0.3, -2.0, 7.0}, 1) ==
        Approx(std::log(2.0) + 0.3).epsilon(1e-12));

  // MLP 1-1-2: W0 = 2, b0 = -1, W1 = (1, -1)^T, b1 = 0. Layout [W0, b0, W1, b1].
  auto mlp = make_model<double>("mlp:hidden=1", 1, 2, 0.0);
  const std::vector<double> w{2.0, -1.0, 1.0, -1.0, 0.0, 0.0};
  // x = 1: h = relu(2 - 1) = 1, logits (1, -1); y = 0: log(1 + e^-2) = 0.1269280110
  CHECK(row_loss(*mlp, w, {1.0}, 0) == Approx(0.1269280110).epsilon(1e-9));
  // x = 0: h = relu(-1) = 0, logits (0, 0): log 2.
  CHECK(row_loss(*mlp, w, {0.0}, 1) == Approx(std::log(2.0)).epsilon(1e-12));
}

TEST_CASE("parameter layout and spec strings", "[model][registry]") {
  auto mlp = make_model<float>("mlp:hidden=256,128", 784, 10, 0.0);
  CHECK(mlp->spec() == "mlp:hidden=256,128");
  CHECK(mlp->num_params() == 256 * 784 + 256 + 128 * 256 + 128 + 10 * 128 + 10);
  CHECK(mlp->input_dim() == 784);
  CHECK(mlp->num_classes() == 10);
  const auto& typed = dynamic_cast<const racesgd::MlpT<float>&>(*mlp);
  CHECK(typed.weight_offset(1) == 256 * 784 + 256);
  CHECK(typed.bias_offset(2) == typed.num_params() - 10);

  auto softmax = make_model<double>("softmax", 784, 10, 0.0);
  CHECK(softmax->spec() == "softmax");
  CHECK(softmax->num_params() == 7850);
  auto logistic = make_model<double>("logistic", 30, 2, 1e-3);
  CHECK(logistic->spec() == "logistic");
  CHECK(logistic->num_params() == 31);
  CHECK(dynamic_cast<const racesgd::LogisticRegressionT<double>*>(logistic.get()) != nullptr);
}

TEST_CASE("bad model specs throw InputError naming the spec", "[model][registry]") {
  using Catch::Contains;
  CHECK_THROWS_MATCHES(make_model<float>("resnet", 10, 3, 0), InputError,
                       Catch::Matchers::Predicate<InputError>([](const InputError& e) {
                         const std::string m = e.what();
                         return m.find("'resnet'") != std::string::npos &&
                                m.find("logistic, mlp, softmax") != std::string::npos;
                       }));
  CHECK_THROWS_WITH(make_model<float>("mlp:hidden=0", 10, 3, 0),
                    Contains("mlp:hidden=0") && Contains("hidden"));
  CHECK_THROWS_WITH(make_model<float>("mlp:hidden=64,0", 10, 3, 0), Contains("mlp:hidden=64,0"));
  CHECK_THROWS_WITH(make_model<float>("mlp", 10, 3, 0), Contains("missing parameter 'hidden'"));
  CHECK_THROWS_WITH(make_model<float>("mlp:hidden=x", 10, 3, 0), Contains("mlp:hidden=x"));
  CHECK_THROWS_WITH(make_model<double>("logistic", 10, 10, 0),
                    Contains("'logistic'") && Contains("2 classes"));
  CHECK_THROWS_WITH(make_model<float>("softmax:depth=2", 10, 3, 0),
                    Contains("softmax:depth=2") && Contains("unknown parameter 'depth'"));
  CHECK_THROWS_WITH(make_model<float>("mlp:hidden=4,width=3", 10, 3, 0),
                    Contains("unknown parameter 'width'"));
  CHECK_THROWS_WITH(make_model<float>("softmax", 10, 3, -1.0), Contains("L2"));
  CHECK_THROWS_WITH(make_model<float>("softmax", 10, 3, std::nan("")), Contains("L2"));
  CHECK_THROWS_WITH(make_model<float>("softmax", 0, 3, 0), Contains("features"));
  CHECK_THROWS_WITH(make_model<float>("softmax", 10, 1, 0), Contains("classes"));
  CHECK_THROWS_AS(make_model<float>("", 10, 3, 0), InputError);
}

TEST_CASE("model names and help list every model", "[model][registry]") {
  CHECK(racesgd::model_names() == std::vector<std::string>{"logistic", "mlp", "softmax"});
  const std::string help = racesgd::model_help();
  for (const auto& name : racesgd::model_names()) CHECK(help.find(name) != std::string::npos);
  CHECK(help.find("hidden=") != std::string::npos);
}

TEST_CASE("initialisation is deterministic per seed", "[model][init]") {
  auto mlp = make_model<double>("mlp:hidden=200,50", 300, 10, 0.0);
  const auto n = static_cast<std::size_t>(mlp->num_params());
  std::vector<double> a(n), b(n), c(n);
  mlp->init(a, 42);
  mlp->init(b, 42);
  mlp->init(c, 43);
  CHECK(a == b);
  CHECK(a != c);
  // He init: weights N(0, 2 / fan_in), biases zero.
  const auto& typed = dynamic_cast<const racesgd::MlpT<double>&>(*mlp);
  double sum_sq = 0;
  for (Eigen::Index i = 0; i < 200 * 300; ++i) sum_sq += a[static_cast<std::size_t>(i)] * a[static_cast<std::size_t>(i)];
  CHECK(std::sqrt(sum_sq / (200 * 300)) == Approx(std::sqrt(2.0 / 300)).epsilon(0.02));
  for (int l = 0; l < typed.num_layers(); ++l)
    for (Eigen::Index k = 0; k < typed.layer_sizes()[static_cast<std::size_t>(l) + 1]; ++k)
      CHECK(a[static_cast<std::size_t>(typed.bias_offset(l) + k)] == 0.0);

  // The float model starts from the double model's weights rounded to float.
  auto mlp_f = make_model<float>("mlp:hidden=200,50", 300, 10, 0.0);
  std::vector<float> f(n);
  mlp_f->init(f, 42);
  bool same = true;
  for (std::size_t i = 0; i < n; ++i) same = same && f[i] == static_cast<float>(a[i]);
  CHECK(same);

  // Convex models start at zero whatever the seed.
  auto softmax = make_model<float>("softmax", 5, 3, 0.0);
  std::vector<float> s(static_cast<std::size_t>(softmax->num_params()), 1.0f);
  softmax->init(s, 7);
  CHECK(s == std::vector<float>(s.size(), 0.0f));
}

TEST_CASE("evaluate counts errors on a hand-made dataset", "[model][evaluate]") {
  // Logistic, w = 1, b = 0: predicts 1 iff x > 0.
  // x:      -2  -1   1   2   3
  // y:       0   1   1   0   1
  // pred:    0   0   1   1   1   -> 2 wrong of 5
  auto model = make_model<double>("logistic", 1, 2, 0.0);
  DatasetT<double> data{"hand", MatrixRM<double>(5, 1), {0, 1, 1, 0, 1}, 2};
  data.x << -2, -1, 1, 2, 3;
  const std::vector<double> w{1.0, 0.0};
  auto eval = model->evaluate(w, data);
  CHECK(eval.error == Approx(0.4));
  // Mean of softplus(z) - y z over the rows: log(1+e^-2), log(1+e^-1)+1, log(1+e^-1),
  // log(1+e^-2)+2, log(1+e^-3) -> (2*0.1269280110 + 2*0.3132616875 + 0.0485873516 + 3) / 5.
  CHECK(eval.loss == Approx((2 * 0.1269280110 + 2 * 0.3132616875 + 0.0485873516 + 3) / 5)
                         .epsilon(1e-9));

  // Softmax over 3 classes: the class is the argmax of the features themselves.
  auto softmax = make_model<double>("softmax", 3, 3, 0.0);
  std::vector<double> ws(12, 0.0);
  ws[0] = ws[4] = ws[8] = 1.0;  // W = identity (3 x 3), biases 0
  DatasetT<double> d3{"hand3", MatrixRM<double>(4, 3), {0, 1, 2, 0}, 3};
  d3.x << 5, 0, 0,   // -> 0 right
          0, 5, 0,   // -> 1 right
          1, 0, 0,   // -> 0 wrong (label 2)
          0, 0, 2;   // -> 2 wrong (label 0)
  CHECK(softmax->evaluate(ws, d3).error == Approx(0.5));
}

TEMPLATE_TEST_CASE("evaluate over several chunks equals one big batch", "[model][evaluate]",
                   float, double) {
  using T = TestType;
  auto model = make_model<T>("mlp:hidden=16", 8, 4, 0.01);
  auto batch = random_batch<T>(2500, 8, 4, 21);  // 1024 + 1024 + 452 rows
  std::vector<T> w(static_cast<std::size_t>(model->num_params()));
  model->init(w, 5);
  DatasetT<T> data{"random", batch.x, batch.y, 4};
  auto eval = model->evaluate(w, data);
  auto ws = model->make_workspace(2500);
  CHECK(eval.loss == Approx(model->loss(w, batch.view(), *ws)).epsilon(1e-5));
  CHECK(eval.error > 0.5);  // random labels over 4 classes: about 3/4 wrong
  CHECK(eval.error < 0.95);
}

TEST_CASE("loss_and_gradient does not allocate", "[model][alloc]") {
  if (!racesgd::test::alloc_counting_available()) {
    WARN("allocation counting is not available under sanitizers; not checked");
    return;
  }
  struct Case {
    const char* spec;
    Eigen::Index d;
    int classes;
  };
  for (const Case& c : {Case{"logistic", 784, 2}, Case{"softmax", 784, 10},
                        Case{"mlp:hidden=256", 784, 10}, Case{"mlp:hidden=512,256", 784, 10}}) {
    INFO(c.spec);
    auto model = make_model<float>(c.spec, c.d, c.classes, 1e-4);
    auto model_d = make_model<double>(c.spec, c.d, c.classes, 1e-4);
    std::vector<float> w(static_cast<std::size_t>(model->num_params()));
    std::vector<double> wd(w.size());
    model->init(w, 1);
    model_d->init(wd, 1);
    std::vector<float> grad(w.size());
    std::vector<double> grad_d(w.size());
    auto ws = model->make_workspace(256);
    auto ws_d = model_d->make_workspace(256);
    auto big = random_batch<float>(256, c.d, c.classes, 3);
    auto big_d = random_batch<double>(256, c.d, c.classes, 3);
    for (Eigen::Index m : {256, 128, 100, 33, 1}) {
      INFO("batch " << m);
      racesgd::BatchView<float> view{big.x.topRows(m),
                                     std::span<const std::int32_t>(big.y).first(static_cast<std::size_t>(m))};
      racesgd::BatchView<double> view_d{big_d.x.topRows(m),
                                        std::span<const std::int32_t>(big_d.y).first(static_cast<std::size_t>(m))};
      racesgd::test::alloc_counting_start();
      const double l = model->loss_and_gradient(w, view, grad, *ws);
      const double l2 = model->loss(w, view, *ws);
      const double ld = model_d->loss_and_gradient(wd, view_d, grad_d, *ws_d);
      const std::size_t allocations = racesgd::test::alloc_counting_stop();
      CHECK(allocations == 0);
      CHECK(std::isfinite(l + l2 + ld));
    }
  }
  // The hook itself works (called through a volatile pointer so it cannot be elided).
  void* (*volatile allocate)(std::size_t) = std::malloc;
  racesgd::test::alloc_counting_start();
  void* p = allocate(1000);
  CHECK(racesgd::test::alloc_counting_stop() == 1);
  std::free(p);
}
