// Gradient throughput: one minibatch loss_and_gradient per iteration, single thread, for
// softmax regression (784->10) and MLPs 784-256-10 and 784-512-256-10 at minibatch 32, 64,
// 128 and 256, side by side with plain Eigen products of exactly the GEMMs the gradient
// performs (same shapes, same FLOP count). Each runs with the cache sizes racesgd sets
// ("cache:tuned", models/eigen_setup.h) and with Eigen's own detection ("cache:default").
// Results and the FLOP counting: docs/performance.md, "Gradient throughput".
//
//   bench_gradient --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//   bench_gradient --benchmark_filter=cache:tuned     # skip Eigen's default cache sizes
//
// FLOPs per iteration = sum over layers of 2*m*in*out for the forward product, the same
// for the weight gradient, and again for the input gradient of every layer but the first
// (the features need no gradient). Element-wise work (bias, ReLU, softmax) is not counted.
// GCC 12 reports -W(maybe-)uninitialized inside its own avx512fintrin.h once Eigen's GEMM
// kernels are inlined (the deliberately undefined __Y of _mm512_undefined_*): a false
// positive. These pragmas must precede every include to cover the headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "models/eigen_setup.h"
#include "models/model_registry.h"

namespace {

struct Net {
  const char* spec;
  std::vector<Eigen::Index> sizes;  // input, hidden..., classes
};

const Net kNets[] = {
    {"softmax", {784, 10}},
    {"mlp:hidden=256", {784, 256, 10}},
    {"mlp:hidden=512,256", {784, 512, 256, 10}},
};
const int kBatches[] = {1, 32, 64, 128, 256};

racesgd::EigenCacheSizes g_default_cache;  // Eigen's detection, captured before any change

void use_cache(bool tuned) {
  racesgd::apply_eigen_cache_sizes(tuned ? racesgd::EigenCacheSizes{} : g_default_cache);
}

double gradient_flops(const Net& net, Eigen::Index m) {
  double flops = 0;
  for (std::size_t l = 0; l + 1 < net.sizes.size(); ++l) {
    const double one = 2.0 * static_cast<double>(m * net.sizes[l] * net.sizes[l + 1]);
    flops += l == 0 ? 2 * one : 3 * one;
  }
  return flops;
}

void set_counters(benchmark::State& state, const Net& net, Eigen::Index m) {
  state.counters["samples"] =
      benchmark::Counter(static_cast<double>(m), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP"] = benchmark::Counter(gradient_flops(net, m) * 1e-9,
                                               benchmark::Counter::kIsIterationInvariantRate);
}

template <typename T>
racesgd::MatrixRM<T> random_matrix(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed) {
  racesgd::Rng rng(seed);
  racesgd::MatrixRM<T> x(rows, cols);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<T>(rng.uniform());
  return x;
}

void BM_Gradient(benchmark::State& state, const Net& net, int batch, bool tuned) {
  use_cache(tuned);
  const Eigen::Index d = net.sizes.front();
  const int classes = static_cast<int>(net.sizes.back());
  auto model = racesgd::make_model<float>(net.spec, d, classes, 1e-4);
  std::vector<float> w(static_cast<std::size_t>(model->num_params()));
  std::vector<float> grad(w.size());
  model->init(w, 1);
  racesgd::MatrixRM<float> x = random_matrix<float>(batch, d, 2);  // MNIST-like, in [0, 1)
  racesgd::Rng rng(3);
  std::vector<std::int32_t> y(static_cast<std::size_t>(batch));
  for (auto& label : y) label = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(classes)));
  auto ws = model->make_workspace(batch);
  const racesgd::BatchView<float> view{x, y};
  for (auto _ : state) {
    benchmark::DoNotOptimize(model->loss_and_gradient(w, view, grad, *ws));
    benchmark::ClobberMemory();
  }
  set_counters(state, net, batch);
}

// The same products with plain Eigen expressions: Z = A W^T, dW = dZ^T A, dA = dZ W.
void BM_Gemm(benchmark::State& state, const Net& net, int batch, bool tuned) {
  use_cache(tuned);
  using M = racesgd::MatrixRM<float>;
  const std::size_t layers = net.sizes.size() - 1;
  std::vector<M> acts, weights, grads, deltas;
  acts.push_back(random_matrix<float>(batch, net.sizes[0], 2));
  for (std::size_t l = 0; l < layers; ++l) {
    weights.push_back(random_matrix<float>(net.sizes[l + 1], net.sizes[l], 10 + l));
    grads.push_back(M(net.sizes[l + 1], net.sizes[l]));
    acts.push_back(M(batch, net.sizes[l + 1]));
    deltas.push_back(random_matrix<float>(batch, net.sizes[l + 1], 20 + l));
  }
  std::vector<M> back(layers);
  for (std::size_t l = 1; l < layers; ++l) back[l] = M(batch, net.sizes[l]);
  for (auto _ : state) {
    for (std::size_t l = 0; l < layers; ++l)
      acts[l + 1].noalias() = acts[l] * weights[l].transpose();
    for (std::size_t l = layers; l-- > 0;) {
      grads[l].noalias() = deltas[l].transpose() * acts[l];
      if (l > 0) back[l].noalias() = deltas[l] * weights[l];
    }
    benchmark::ClobberMemory();
  }
  set_counters(state, net, batch);
}

// Console output plus, at the end, the gradient/GEMM GFLOP ratio per shape (medians when
// repetitions are on, else the single run).
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter() : ConsoleReporter(OO_Tabular) {}  // no colour codes: output is pasted into docs
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (run.run_type == Run::RT_Iteration && run.repetitions > 1) continue;
      if (run.run_type == Run::RT_Aggregate && !median) continue;
      auto it = run.counters.find("GFLOP");
      if (it == run.counters.end()) continue;
      const std::string& name = run.run_name.function_name;
      if (std::find(order_.begin(), order_.end(), name) == order_.end()) order_.push_back(name);
      gflops_[name] = it->second.value;
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\n%-40s %10s %10s %8s\n", "shape", "grad GF/s", "gemm GF/s", "ratio");
    for (const std::string& name : order_) {
      if (name.rfind("gradient/", 0) != 0) continue;
      const double value = gflops_[name];
      const std::string shape = name.substr(9);
      auto g = gflops_.find("gemm/" + shape);
      if (g == gflops_.end()) continue;
      std::printf("%-40s %10.1f %10.1f %7.0f%%\n", shape.c_str(), value, g->second,
                  100.0 * value / g->second);
    }
  }

 private:
  std::vector<std::string> order_;  // first-seen order = registration order
  std::map<std::string, double> gflops_;
};

}  // namespace

int main(int argc, char** argv) {
  g_default_cache = {Eigen::l1CacheSize(), Eigen::l2CacheSize(), Eigen::l3CacheSize()};
  const std::string default_text = racesgd::describe_eigen_cache_sizes();
  use_cache(true);
  const std::string tuned_text = racesgd::describe_eigen_cache_sizes();
#ifndef NDEBUG
  std::fprintf(stderr,
               "***WARNING*** bench_gradient was built without NDEBUG (build type %s): "
               "timings are meaningless; use a Release build.\n",
               RACESGD_BUILD_TYPE);
#endif
  benchmark::AddCustomContext("racesgd_build_type", RACESGD_BUILD_TYPE);
  benchmark::AddCustomContext("eigen_cache_tuned", tuned_text);
  benchmark::AddCustomContext("eigen_cache_default", default_text);
  benchmark::AddCustomContext("threads", "1 (EIGEN_DONT_PARALLELIZE)");

  for (bool tuned : {true, false})
    for (const Net& net : kNets)
      for (int batch : kBatches) {
        const std::string suffix = std::string(net.spec) + "/batch:" + std::to_string(batch) +
                                   (tuned ? "/cache:tuned" : "/cache:default");
        benchmark::RegisterBenchmark(("gradient/" + suffix).c_str(), BM_Gradient, net, batch,
                                     tuned)
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("gemm/" + suffix).c_str(), BM_Gemm, net, batch, tuned)
            ->Unit(benchmark::kMicrosecond);
      }

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
