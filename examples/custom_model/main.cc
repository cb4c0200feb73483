// racesgd as a library: a user model ("fm", factorization_machine.h) registered under a
// name, checked against finite differences, then trained with K-async SGD on the virtual
// clock through the embedding API (bench/api.h).
//
//   custom_model IMAGES [UPDATES]
//
// IMAGES is an IDX image file with its labels file next to it (the repository's
// tests/fixtures/mnist100-images-idx3-ubyte: 100 MNIST digits). Prints the gradient check,
// then the test error at the start and at the end of the run. Exit 0, or 1 when the
// gradient check fails, 2 on bad input (racesgd::InputError).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include "bench/api.h"
#include "core/error.h"
#include "factorization_machine.h"
#include "models/model_registry.h"

namespace {

// Central differences on every parameter of a small FM in double precision. Returns the
// largest |analytic - numeric| / max(1, |numeric|).
double gradient_check_error() {
  constexpr Eigen::Index kDim = 5, kRows = 4;
  constexpr int kClasses = 3;
  auto model = racesgd::make_model<double>("fm:factors=3", kDim, kClasses, 0.1);
  std::mt19937_64 gen(7);
  std::normal_distribution<double> normal(0.0, 1.0);
  racesgd::MatrixRM<double> x(kRows, kDim);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = normal(gen);
  const std::vector<std::int32_t> y{0, 2, 1, 2};
  std::vector<double> w(static_cast<std::size_t>(model->num_params()));
  for (double& v : w) v = 0.5 * normal(gen);  // not init(): every term should matter
  std::vector<double> grad(w.size());
  auto ws = model->make_workspace(kRows);
  const racesgd::BatchView<double> batch{x, y};
  model->loss_and_gradient(w, batch, grad, *ws);
  double worst = 0;
  constexpr double kStep = 1e-6;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double saved = w[i];
    w[i] = saved + kStep;
    const double up = model->loss(w, batch, *ws);
    w[i] = saved - kStep;
    const double down = model->loss(w, batch, *ws);
    w[i] = saved;
    const double numeric = (up - down) / (2 * kStep);
    worst = std::max(worst, std::abs(grad[i] - numeric) / std::max(1.0, std::abs(numeric)));
  }
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: custom_model IMAGES [UPDATES]\n");
    return racesgd::kExitInputError;
  }
  try {
    fm_example::register_fm();

    const double error = gradient_check_error();
    std::printf("gradient check: largest relative error %.2g\n", error);
    if (!(error < 1e-6)) {
      std::fprintf(stderr, "custom_model: the FM gradient disagrees with finite differences\n");
      return 1;
    }

    // The flags `racesgd train` takes; the model is the one registered above.
    const racesgd::ExperimentConfig cfg = racesgd::make_train_config({
        {"model", "fm:factors=4"},
        {"data", argv[1]},
        {"test-fraction", "0.3"},
        {"batch", "8"},
        {"variant", "k-async"},
        {"P", "4"},
        {"K", "2"},
        {"delay", "exp:mean=1ms"},
        {"lr", "0.1"},
        {"clock", "virtual"},
        {"updates", argc == 3 ? argv[2] : "300"},
        {"seed", "1"},
    });
    std::atomic<bool> stop{false};  // another thread (a GUI, a signal handler) may set it
    std::uint64_t last_update = 0;
    racesgd::TrainHooks hooks;
    hooks.stop = &stop;
    hooks.progress = [&](const racesgd::Progress& p) { last_update = p.updates; };
    const racesgd::RunOutput out = racesgd::train(cfg, hooks);

    const racesgd::RunResult& r = out.result;
    if (r.curve.empty()) {
      std::fprintf(stderr, "custom_model: the run recorded no evaluation point (%s)\n",
                   r.error.c_str());
      return 1;
    }
    std::printf("model %s, %lld parameters; %s after %llu updates (last progress report at %llu)\n",
                out.summary["model"].get<std::string>().c_str(),
                static_cast<long long>(out.summary["num_params"].get<std::int64_t>()),
                out.summary["stop_reason"].get<std::string>().c_str(),
                static_cast<unsigned long long>(r.updates),
                static_cast<unsigned long long>(last_update));
    std::printf("test error %.4f at update %llu, final test error %.4f\n", r.curve.front().test_error,
                static_cast<unsigned long long>(r.curve.front().updates), r.curve.back().test_error);
    return 0;
  } catch (const racesgd::InputError& e) {
    std::fprintf(stderr, "custom_model: %s\n", e.what());
    return racesgd::kExitInputError;
  }
}
