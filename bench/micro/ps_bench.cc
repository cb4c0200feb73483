// Parameter-server data structures: the cost of one SGD update w_new = w - eta * g
// published through VersionedWeights, next to (a) the same update done in place on a plain
// vector (the memory-bandwidth floor) and (b) a mutex-guarded single-vector PS; the cost of
// a pull (pin_latest + unpin vs copying under the mutex), alone and with one background
// thread; and the gradient pool / inbox per-message overhead. d = 7,850 (softmax
// 784->10) and d = 200,000 (an MLP of a few hundred hidden units).
// Results: docs/performance.md, "Parameter server".
//
//   build/<dir>/bench/micro/bench_ps --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true     (one command line)
//
// Background-thread rows ("/bg:...") share the machine's two cores with the measured
// thread; they show interference, not a throughput ceiling.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ps/gradient_inbox.h"
#include "ps/gradient_pool.h"
#include "ps/versioned_weights.h"
#include "sgd/update_accumulator.h"

namespace {

using racesgd::GradientInbox;
using racesgd::GradientMessage;
using racesgd::GradientPool;
using racesgd::VersionedWeights;
using racesgd::Sweep;
using racesgd::UpdateAccumulator;

constexpr float kEta = 0.01f;
constexpr std::size_t kDims[] = {7850, 200000};

std::vector<float> filled(std::size_t n, float base) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = base + static_cast<float>(i % 97) * 1e-3f;
  return v;
}

// The same arithmetic in every row, written so GCC vectorises it (no aliasing by
// construction: dst, cur and g are distinct allocations).
inline void sgd_step(float* __restrict dst, const float* __restrict cur,
                     const float* __restrict g, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = cur[i] - kEta * g[i];
}
inline void sgd_step_in_place(float* __restrict w, const float* __restrict g, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) w[i] -= kEta * g[i];
}

void set_bytes(benchmark::State& state, std::size_t d, int arrays) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(d * sizeof(float)) * arrays);
}

// A mutex around one vector: the obvious PS. Readers copy under the lock.
class MutexPs {
 public:
  explicit MutexPs(std::vector<float> w) : w_(std::move(w)) {}
  void apply(std::span<const float> g) {
    std::lock_guard<std::mutex> lock(mutex_);
    sgd_step_in_place(w_.data(), g.data(), w_.size());
    ++version_;
  }
  std::uint64_t pull(std::span<float> out) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::memcpy(out.data(), w_.data(), w_.size() * sizeof(float));
    return version_;
  }

 private:
  std::mutex mutex_;
  std::vector<float> w_;
  std::uint64_t version_ = 0;
};

// Runs body() on a background thread until the benchmark ends.
class Background {
 public:
  template <class Body>
  explicit Background(bool enabled, Body body) {
    if (!enabled) return;
    thread_ = std::thread([this, body]() mutable {
      while (!stop_.load(std::memory_order_relaxed)) body();
    });
  }
  ~Background() {
    stop_.store(true, std::memory_order_relaxed);
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// (a) the floor: in place, 2 reads + 1 write of d floats per element pass.
void BM_UpdatePlain(benchmark::State& state, std::size_t d) {
  auto w = filled(d, 1.0f);
  const auto g = filled(d, 0.5f);
  for (auto _ : state) {
    sgd_step_in_place(w.data(), g.data(), d);
    benchmark::ClobberMemory();
  }
  set_bytes(state, d, 3);
}

// VersionedWeights::publish with the PS's own pass for an update of one gradient
// (UpdateAccumulator::apply_one_into, directions alternating as the PS alternates them):
// reads current and g, writes a free buffer, publishes it. `one_way`: every pass forward
// (the PS before it alternated). bg:reader = one thread pinning and unpinning the latest
// version in a loop.
void BM_UpdatePublish(benchmark::State& state, std::size_t d, bool reader, bool one_way) {
  VersionedWeights vw(filled(d, 1.0f), VersionedWeights::pool_size_for(1));  // the bg reader
  const auto g = filled(d, 0.5f);
  const UpdateAccumulator acc(d);
  std::uint64_t updates = 0;
  {
    Background bg(reader, [&] {
      VersionedWeights::Pin p = vw.pin_latest();
      benchmark::DoNotOptimize(p.weights()[0]);
    });
    for (auto _ : state) {
      const Sweep sweep = one_way || ++updates % 2 == 0 ? Sweep::forward : Sweep::backward;
      vw.publish([&](std::span<float> dst, std::span<const float> cur) {
        benchmark::DoNotOptimize(acc.apply_one_into(dst, cur, g, kEta, sweep));
      });
      benchmark::ClobberMemory();
    }
  }
  set_bytes(state, d, 3);
}

// A fresh gradient per update, as the PS gets one (written just before by a learner or the
// MPI receive): each iteration writes g (untimed: manual time covers the update only),
// then updates. FreshPath::plain: the floor, w -= eta g on one vector. publish_in: the PS's
// own path for an update of one gradient with its storage handed over
// (VersionedWeights::publish_in + UpdateAccumulator::apply_one_in_place): the new version is
// written over g, so the update touches two arrays, as the in-place one does. The k2_ rows
// are an update of two gradients (K = 2), timed from the second one's arrival (the first
// was added to the accumulator at its own, untimed): k2_free_buffer adds it, then publishes
// cur - acc / 2 into a free buffer (the path before the fold); k2_publish_in folds it into
// the publishing pass and writes the new version over it (apply_last_in_place, the PS's
// path): three arrays read (cur, acc, g), g written. k2_plain is their floor: the same
// K = 2 update done in place on one plain vector by a PS that keeps the pending sum apart
// until the update is whole (w -= (acc + eta g) / 2: three arrays read, w written), as any
// PS must whose readers may look between the two arrivals.
enum class FreshPath { plain, publish_in, k2_plain, k2_free_buffer, k2_publish_in };

inline void sgd_step2_in_place(float* __restrict w, const float* __restrict acc,
                               const float* __restrict g, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) w[i] -= (acc[i] + kEta * g[i]) * 0.5f;
}

void BM_UpdateFreshGradient(benchmark::State& state, std::size_t d, FreshPath path) {
  VersionedWeights vw(filled(d, 1.0f), VersionedWeights::pool_size_for(0));
  auto w = filled(d, 1.0f);
  GradientPool pool(d, 3);
  UpdateAccumulator acc(d);
  const auto first = filled(d, 0.25f);
  std::vector<float> plain_acc(d);
  std::uint64_t updates = 0;
  for (auto _ : state) {
    if (path == FreshPath::k2_free_buffer || path == FreshPath::k2_publish_in)
      acc.add(first, kEta);  // the update's first gradient, at its own arrival
    if (path == FreshPath::k2_plain)
      for (std::size_t i = 0; i < d; ++i) plain_acc[i] = kEta * first[i];
    racesgd::GradientBuffer g = pool.acquire();
    std::fill_n(g.data(), d, 0.5f);  // the gradient arrives
    benchmark::ClobberMemory();
    const auto start = std::chrono::steady_clock::now();
    const Sweep sweep = ++updates % 2 == 0 ? Sweep::forward : Sweep::backward;
    switch (path) {
      case FreshPath::plain:
        sgd_step_in_place(w.data(), g.data(), d);
        break;
      case FreshPath::k2_plain:
        sgd_step2_in_place(w.data(), plain_acc.data(), g.data(), d);
        break;
      case FreshPath::publish_in:
        vw.publish_in(g, [&](std::span<float> g_then_w, std::span<const float> cur) {
          benchmark::DoNotOptimize(acc.apply_one_in_place(g_then_w, cur, kEta, sweep));
        });
        break;
      case FreshPath::k2_free_buffer:
        benchmark::DoNotOptimize(acc.add(g.span(), kEta));
        vw.publish([&](std::span<float> dst, std::span<const float> cur) {
          benchmark::DoNotOptimize(acc.apply_into(dst, cur, sweep));
        });
        break;
      case FreshPath::k2_publish_in:
        vw.publish_in(g, [&](std::span<float> g_then_w, std::span<const float> cur) {
          benchmark::DoNotOptimize(acc.apply_last_in_place(g_then_w, cur, kEta, sweep));
        });
        break;
    }
    benchmark::ClobberMemory();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  set_bytes(state, d, 3);
}

// (b) mutex PS apply; bg:reader = one thread pulling (copying under the lock) in a loop.
void BM_UpdateMutex(benchmark::State& state, std::size_t d, bool reader) {
  MutexPs ps(filled(d, 1.0f));
  const auto g = filled(d, 0.5f);
  std::vector<float> reader_copy(d);
  {
    Background bg(reader, [&] { benchmark::DoNotOptimize(ps.pull(reader_copy)); });
    for (auto _ : state) {
      ps.apply(g);
      benchmark::ClobberMemory();
    }
  }
  set_bytes(state, d, 3);
}

// Pull = pin_latest + unpin (O(1), no copy). bg: 0 none, 1 another reader doing the same,
// 2 a writer publishing (d floats per update) in a loop, which forces re-checks to retry.
void BM_PullPin(benchmark::State& state, std::size_t d, int bg_kind) {
  VersionedWeights vw(filled(d, 1.0f), VersionedWeights::pool_size_for(2));  // us + bg reader
  const auto g = filled(d, 0.5f);
  {
    Background bg_reader(bg_kind == 1, [&] {
      VersionedWeights::Pin p = vw.pin_latest();
      benchmark::DoNotOptimize(p.weights()[0]);
    });
    Background bg_writer(bg_kind == 2, [&] {
      vw.publish([&](std::span<float> dst, std::span<const float> cur) {
        sgd_step(dst.data(), cur.data(), g.data(), d);
      });
    });
    for (auto _ : state) {
      VersionedWeights::Pin p = vw.pin_latest();
      benchmark::DoNotOptimize(p.weights()[0]);
    }
  }
}

// Pull from the mutex PS = copy d floats under the lock. bg as in BM_PullPin.
void BM_PullMutex(benchmark::State& state, std::size_t d, int bg_kind) {
  MutexPs ps(filled(d, 1.0f));
  const auto g = filled(d, 0.5f);
  std::vector<float> mine(d), other(d);
  {
    Background bg_reader(bg_kind == 1, [&] { benchmark::DoNotOptimize(ps.pull(other)); });
    Background bg_writer(bg_kind == 2, [&] { ps.apply(g); });
    for (auto _ : state) {
      benchmark::DoNotOptimize(ps.pull(mine));
      benchmark::ClobberMemory();
    }
  }
}

// Per-message overhead of the learner -> PS path, one thread: acquire a pooled gradient
// buffer and a pin, push, pop, drop (recycle both). Steady state allocates no buffers.
void BM_InboxRoundTrip(benchmark::State& state) {
  const std::size_t d = 7850;
  VersionedWeights vw(filled(d, 1.0f), 3);
  GradientPool pool(d, 4);
  GradientInbox inbox;
  GradientMessage out;
  for (auto _ : state) {
    GradientMessage m;
    m.pin = vw.pin_latest();
    m.grad = pool.acquire();
    inbox.push(std::move(m));
    inbox.try_pop(out);
    out = GradientMessage();
  }
  state.counters["pool_allocations"] = static_cast<double>(pool.allocations());
}

void register_all() {
  const char* bg_names[] = {"none", "reader", "writer"};
  for (std::size_t d : kDims) {
    const std::string ds = "/d:" + std::to_string(d);
    benchmark::RegisterBenchmark(("update/plain" + ds).c_str(), BM_UpdatePlain, d)
        ->Unit(benchmark::kMicrosecond);
    const std::pair<const char*, FreshPath> fresh[] = {{"plain", FreshPath::plain},
                                                       {"publish_in", FreshPath::publish_in},
                                                       {"k2_plain", FreshPath::k2_plain},
                                                       {"k2_free_buffer", FreshPath::k2_free_buffer},
                                                       {"k2_publish_in", FreshPath::k2_publish_in}};
    for (const auto& [name, path] : fresh)
      benchmark::RegisterBenchmark((std::string("update/fresh_g/") + name + ds).c_str(),
                                   BM_UpdateFreshGradient, d, path)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    for (bool reader : {false, true}) {
      const std::string bg = reader ? "/bg:reader" : "/bg:none";
      benchmark::RegisterBenchmark(("update/publish" + ds + bg).c_str(), BM_UpdatePublish, d,
                                   reader, false)
          ->Unit(benchmark::kMicrosecond);
      if (!reader)
        benchmark::RegisterBenchmark(("update/publish_one_way" + ds + bg).c_str(), BM_UpdatePublish,
                                     d, reader, true)
            ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("update/mutex" + ds + bg).c_str(), BM_UpdateMutex, d,
                                   reader)
          ->Unit(benchmark::kMicrosecond);
    }
    for (int bg = 0; bg <= 2; ++bg) {
      const std::string suffix = ds + "/bg:" + bg_names[bg];
      benchmark::RegisterBenchmark(("pull/pin" + suffix).c_str(), BM_PullPin, d, bg)
          ->Unit(benchmark::kNanosecond);
      benchmark::RegisterBenchmark(("pull/mutex_copy" + suffix).c_str(), BM_PullMutex, d, bg)
          ->Unit(benchmark::kNanosecond);
    }
  }
  benchmark::RegisterBenchmark("inbox/round_trip/d:7850", BM_InboxRoundTrip)
      ->Unit(benchmark::kNanosecond);
}

}  // namespace

int main(int argc, char** argv) {
  std::printf("racesgd bench_ps, build type %s\n", RACESGD_BUILD_TYPE);
#ifndef NDEBUG
  std::fprintf(stderr,
               "***WARNING*** bench_ps was built without NDEBUG (build type %s): "
               "timings are meaningless; use a Release build.\n",
               RACESGD_BUILD_TYPE);
#endif
  benchmark::AddCustomContext("racesgd_build_type", RACESGD_BUILD_TYPE);
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
