// End to end: single-threaded plain minibatch SGD on seeded Gaussian blobs reaches a stated
// test accuracy, through the same make_model strings the CLI uses.
#include <catch2/catch.hpp>
#include <vector>

#include "core/rng.h"
#include "models/model_registry.h"

namespace {

// `classes` Gaussian blobs in `dim` dimensions: class centres N(0, spread^2 I), points
// centre + N(0, I). With spread 1.2 in 10 dimensions the centres are ~5.4 apart, so the
// Bayes error is about 0.5% and a linear classifier can exceed 95% accuracy.
racesgd::Dataset blobs(int n, int dim, int classes, std::uint64_t seed,
                       const std::vector<std::vector<double>>& centres) {
  racesgd::Rng rng(seed);
  racesgd::Dataset d{"blobs", racesgd::MatrixRM<float>(n, dim), std::vector<std::int32_t>(static_cast<std::size_t>(n)), classes};
  for (int i = 0; i < n; ++i) {
    const auto c = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(classes)));
    d.y[static_cast<std::size_t>(i)] = c;
    for (int j = 0; j < dim; ++j)
      d.x(i, j) = static_cast<float>(centres[static_cast<std::size_t>(c)][static_cast<std::size_t>(j)] + rng.normal());
  }
  return d;
}

double train_and_test(const char* spec, double lr, int steps) {
  constexpr int kDim = 10, kClasses = 3, kBatch = 32;
  constexpr double kSpread = 1.2;
  racesgd::Rng centre_rng(2024);
  std::vector<std::vector<double>> centres(kClasses, std::vector<double>(kDim));
  for (auto& c : centres)
    for (auto& v : c) v = kSpread * centre_rng.normal();
  const racesgd::Dataset train = blobs(2000, kDim, kClasses, 1, centres);
  const racesgd::Dataset test = blobs(1000, kDim, kClasses, 2, centres);

  auto model = racesgd::make_model<float>(spec, kDim, kClasses, 1e-4);
  std::vector<float> w(static_cast<std::size_t>(model->num_params()));
  std::vector<float> grad(w.size());
  model->init(w, 7);
  const double initial_error = model->evaluate(w, test).error;
  auto ws = model->make_workspace(kBatch);
  racesgd::Rng batch_rng(3);
  racesgd::MatrixRM<float> x(kBatch, kDim);
  std::vector<std::int32_t> y(kBatch);
  for (int step = 0; step < steps; ++step) {
    for (int r = 0; r < kBatch; ++r) {
      const auto i = static_cast<Eigen::Index>(batch_rng.below(static_cast<std::uint64_t>(train.size())));
      x.row(r) = train.x.row(i);
      y[static_cast<std::size_t>(r)] = train.y[static_cast<std::size_t>(i)];
    }
    model->loss_and_gradient(w, racesgd::BatchView<float>{x, y}, grad, *ws);
    for (std::size_t k = 0; k < w.size(); ++k) w[k] -= static_cast<float>(lr) * grad[k];
  }
  const auto final_eval = model->evaluate(w, test);
  INFO(spec << ": test error " << initial_error << " -> " << final_eval.error);
  CHECK(final_eval.error < initial_error);
  return 1.0 - final_eval.error;
}

}  // namespace

TEST_CASE("SGD on Gaussian blobs reaches 95% test accuracy", "[model][training]") {
  CHECK(train_and_test("softmax", 0.1, 1500) >= 0.95);
  CHECK(train_and_test("mlp:hidden=32", 0.05, 1500) >= 0.95);
  CHECK(train_and_test("mlp:hidden=32,16", 0.05, 1500) >= 0.95);
}
