// Delay injection: how fast models draw, how precisely InterruptibleSleep serves a
// requested delay (overshoot = return time - deadline, median / p99 / max, for several spin
// settings, against a plain std::this_thread::sleep_until), and how quickly interrupt()
// wakes a sleeper. Results: docs/performance.md, "Delay accuracy".
//
//   build/release/bench/micro/bench_delay                      # everything (~30 s)
//   build/release/bench/micro/bench_delay --benchmark_filter=Sleep
//
// The "Time" column of the sleep rows is wall time per sleep, "CPU" is the sleeping
// thread's CPU time per sleep: the price of the spin.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "worker/timer_slack.h"
#include "core/rng.h"
#include "delay/delay_model.h"
#include "worker/interruptible_sleep.h"

namespace {

using Clock = std::chrono::steady_clock;
using racesgd::InterruptibleSleep;

const char* const kSpecs[] = {
    "exp:mean=5ms",
    "shifted-exp:shift=2ms,mean=3ms",
    "pareto:scale=1ms,alpha=2.5",
    "lognormal:median=5ms,sigma=0.5",
    "hyperexp:p=0.5,mean1=1ms,mean2=20ms",
    "straggler:base=exp:mean=1ms,slow=exp:mean=20ms,p=0.1",
    "hetero:exp:mean=5ms,scales=1,2,3,4",
};

void BM_Sample(benchmark::State& state) {
  racesgd::DelayContext ctx;
  ctx.num_learners = 4;
  auto model = racesgd::make_delay_model(kSpecs[state.range(0)], ctx);
  racesgd::Rng rng(1);
  std::size_t w = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(model->sample(w, rng));
    w = (w + 1) & 3;
  }
  state.SetLabel(model->spec());
}
BENCHMARK(BM_Sample)->DenseRange(0, std::size(kSpecs) - 1);

// Summary statistics of overshoots in microseconds.
void report(benchmark::State& state, std::vector<double>& us) {
  std::sort(us.begin(), us.end());
  auto q = [&](double p) { return us[static_cast<std::size_t>(p * (us.size() - 1))]; };
  state.counters["min_us"] = us.front();
  state.counters["p50_us"] = q(0.5);
  state.counters["p99_us"] = q(0.99);
  state.counters["max_us"] = us.back();
}

// args: request (us), spin (us; -1 = plain std::this_thread::sleep_until baseline),
// timer slack of the sleeping thread (ns; -1 = leave the kernel default, 50 us).
void BM_Sleep(benchmark::State& state) {
  const auto request = std::chrono::microseconds(state.range(0));
  const std::int64_t spin_us = state.range(1);
  const std::int64_t slack_ns = state.range(2);
  const auto old_slack = racesgd::thread_timer_slack();
  if (slack_ns >= 0) racesgd::set_thread_timer_slack(std::chrono::nanoseconds(slack_ns));
  InterruptibleSleep sleeper;
  if (spin_us >= 0) sleeper.set_spin(std::chrono::microseconds(spin_us));
  std::vector<double> over;
  over.reserve(static_cast<std::size_t>(state.max_iterations));
  for (auto _ : state) {
    const auto deadline = Clock::now() + request;
    if (spin_us < 0)
      std::this_thread::sleep_until(deadline);
    else
      sleeper.sleep_until(deadline);
    over.push_back(std::chrono::duration<double, std::micro>(Clock::now() - deadline).count());
  }
  racesgd::set_thread_timer_slack(old_slack);
  report(state, over);
  state.SetLabel((spin_us < 0 ? std::string("sleep_until baseline")
                              : "spin " + std::to_string(spin_us) + "us") +
                 (slack_ns >= 0 ? ", slack " + std::to_string(slack_ns) + "ns" : ""));
}

// Registered one request at a time: Iterations() applies to a whole registration.
void register_sleep_benchmarks() {
  for (std::int64_t request : {100, 1000, 5000, 10000}) {
    auto* b = benchmark::RegisterBenchmark(("BM_Sleep/" + std::to_string(request) + "us").c_str(),
                                           BM_Sleep);
    for (std::int64_t spin : {-1, 0, 50, 100, 150, 250}) b->Args({request, spin, -1});
    for (std::int64_t spin : {-1, 0, 20, 50}) b->Args({request, spin, 1});
    b->Iterations(std::clamp<std::int64_t>(1'000'000 / request, 100, 1000))
        ->Unit(benchmark::kMicrosecond);
  }
}

// Interrupt latency: from the interrupter's clock read just before interrupt() to the
// sleeper's clock read just after sleep_until returned. arg: 0 = sleeper blocked on a far
// deadline (the cancel case), 1 = sleeper in its spin phase.
void BM_InterruptLatency(benchmark::State& state) {
  const bool spinning = state.range(0) == 1;
  InterruptibleSleep sleeper;
  if (spinning) sleeper.set_spin(std::chrono::seconds(100));
  std::atomic<int> round{0};  // rounds the sleeper has started waiting in
  std::atomic<int> woken{0};  // rounds the sleeper has returned from
  std::atomic<bool> stop{false};
  std::atomic<bool> exited{false};
  std::atomic<std::int64_t> t_interrupt{0}, t_woken{0};
  std::thread t([&] {
    for (int r = 1; !stop.load(std::memory_order_acquire); ++r) {
      sleeper.clear();
      round.store(r, std::memory_order_release);
      sleeper.sleep_until(Clock::now() + std::chrono::seconds(10));
      t_woken.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
      woken.store(r, std::memory_order_release);
    }
    exited.store(true, std::memory_order_release);
  });
  std::vector<double> latency;
  int r = 0;
  for (auto _ : state) {
    ++r;
    while (round.load(std::memory_order_acquire) < r) std::this_thread::yield();
    // Give the sleeper time to block (or to start spinning) before waking it.
    std::this_thread::sleep_for(std::chrono::microseconds(300));
    t_interrupt.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    sleeper.interrupt();
    while (woken.load(std::memory_order_acquire) < r) std::this_thread::yield();
    latency.push_back(static_cast<double>(t_woken.load(std::memory_order_relaxed) -
                                          t_interrupt.load(std::memory_order_relaxed)) /
                      1e3);
  }
  stop.store(true, std::memory_order_release);
  // clear() may erase an interrupt that lands just before it, so keep interrupting until the
  // sleeper has seen `stop` and left.
  while (!exited.load(std::memory_order_acquire)) {
    sleeper.interrupt();
    std::this_thread::yield();
  }
  t.join();
  report(state, latency);
  state.SetLabel(spinning ? "sleeper spinning" : "sleeper blocked");
}
BENCHMARK(BM_InterruptLatency)->Arg(0)->Arg(1)->Iterations(1000)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  std::printf("racesgd bench_delay, build type %s\n", RACESGD_BUILD_TYPE);
  if (std::strcmp(RACESGD_BUILD_TYPE, "Release") != 0)
    std::printf("WARNING: not a Release build; numbers are not representative\n");
  register_sleep_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
