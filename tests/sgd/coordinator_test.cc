#include "sgd/coordinator.h"

#include <catch2/catch.hpp>

#include "core/error.h"
#include "core/rng.h"

using namespace racesgd;
using W = std::vector<LearnerId>;

TEST_CASE("variants: names, K normalisation and validation", "[variant]") {
  CHECK(make_variant("sync", 8, 3).K == 8);
  CHECK(make_variant("async", 8, 3).K == 1);
  CHECK(make_variant("k-async", 8, 3).K == 3);
  CHECK(make_variant("k-batch-sync", 8, 8).is_batch());
  CHECK(make_variant("k-sync", 8, 2).is_sync_family());
  CHECK_FALSE(make_variant("k-batch-async", 8, 2).is_sync_family());
  CHECK_THROWS_WITH(make_variant("k-async", 8, 0), Catch::Contains("-K") && Catch::Contains("[1, P = 8]"));
  CHECK_THROWS_WITH(make_variant("k-sync", 4, 5), Catch::Contains("-K"));
  CHECK_THROWS_WITH(make_variant("hogwild", 4, 1), Catch::Contains("unknown variant 'hogwild'"));
  CHECK_THROWS_AS(make_variant("sync", 0, 1), InputError);
}

TEST_CASE("K-sync: first K distinct learners, stragglers cancelled, all restart", "[coordinator]") {
  Coordinator c(make_variant("k-sync", 3, 2));
  Decision s = c.on_start();
  CHECK(s.restart == W{0, 1, 2});
  CHECK(s.cancel.empty());

  Decision a = c.on_arrival({0, 0});
  CHECK_FALSE(a.apply);
  CHECK(a.restart.empty());  // the pusher waits for the update
  CHECK_FALSE(c.busy(0));

  Decision b = c.on_arrival({2, 0});
  CHECK(b.apply);
  CHECK(b.cancel == W{1});  // the straggler's minibatch is discarded
  CHECK(b.restart == W{0, 1, 2});
  CHECK(c.version() == 1);
  CHECK(b.staleness == 0);
}

TEST_CASE("K-batch-sync: any K minibatches, pushers go on on the same weights", "[coordinator]") {
  Coordinator c(make_variant("k-batch-sync", 3, 2));
  c.on_start();
  Decision a = c.on_arrival({0, 0});
  CHECK_FALSE(a.apply);
  CHECK(a.restart == W{0});  // starts another minibatch on w_0
  Decision b = c.on_arrival({0, 0});  // the same fast learner again
  CHECK(b.apply);
  CHECK(b.cancel == W{1, 2});
  CHECK(b.restart == W{0, 1, 2});
  CHECK(c.version() == 1);
}

TEST_CASE("awaited: the gradients the next update still waits for", "[coordinator]") {
  Coordinator c(make_variant("k-sync", 4, 3));
  CHECK(c.awaited() == 3);
  c.on_start();
  CHECK(c.awaited() == 3);
  c.on_arrival({1, 0});
  CHECK(c.awaited() == 2);
  c.on_arrival({3, 0});
  CHECK(c.awaited() == 1);
  CHECK(c.on_arrival({0, 0}).apply);
  CHECK(c.awaited() == 3);  // a new update, none pending
  c.retire(2);
  c.retire(3);
  CHECK(c.awaited() == 2);  // K shrank to the two learners left
  c.retire(0);
  c.retire(1);
  CHECK(c.awaited() == 0);  // nobody left to complete one

  Coordinator a(make_variant("async", 4, 1));
  a.on_start();
  CHECK(a.awaited() == 1);
  a.on_arrival({2, 0});
  CHECK(a.awaited() == 1);
}

TEST_CASE("K-async: K distinct pushers wait idle, others are not interrupted", "[coordinator]") {
  Coordinator c(make_variant("k-async", 3, 2));
  c.on_start();
  Decision a = c.on_arrival({0, 0});
  CHECK(a.restart.empty());
  Decision b = c.on_arrival({1, 0});
  CHECK(b.apply);
  CHECK(b.cancel.empty());
  CHECK(b.restart == W{0, 1});  // only the K pushers get w_1
  CHECK(c.busy(2));             // learner 2 still computes on w_0
  Decision d = c.on_arrival({2, 0});
  CHECK(d.staleness == 1);
  CHECK_FALSE(d.apply);
  Decision e = c.on_arrival({0, 1});
  CHECK(e.apply);
  CHECK(e.staleness == 0);
  CHECK(e.restart == W{0, 2});
  CHECK(c.version() == 2);
}

TEST_CASE("K-batch-async: every pusher restarts at once, every K-th gradient applies",
          "[coordinator]") {
  Coordinator c(make_variant("k-batch-async", 2, 2));
  c.on_start();
  Decision a = c.on_arrival({0, 0});
  CHECK(a.restart == W{0});
  CHECK_FALSE(a.apply);
  Decision b = c.on_arrival({0, 0});
  CHECK(b.apply);
  CHECK(b.restart == W{0});
  CHECK(b.cancel.empty());
  Decision d = c.on_arrival({1, 0});  // learner 1 read w_0, PS is at w_1
  CHECK(d.staleness == 1);
  CHECK(d.restart == W{1});
}

namespace {
// Drives a coordinator with a random but reproducible arrival order: each step picks a
// busy learner at random and delivers its gradient on the version it last started on.
std::vector<Decision> script(Coordinator c, std::uint64_t seed, int steps) {
  Rng rng(seed);
  std::vector<Version> started(c.variant().P, 0);
  std::vector<Decision> out;
  Decision s = c.on_start();
  for (LearnerId w : s.restart) started[w] = c.version();
  out.push_back(s);
  for (int i = 0; i < steps; ++i) {
    std::vector<LearnerId> busy;
    for (LearnerId w = 0; w < c.variant().P; ++w)
      if (c.busy(w)) busy.push_back(w);
    REQUIRE_FALSE(busy.empty());
    LearnerId w = busy[rng.below(busy.size())];
    Decision d = c.on_arrival({w, started[w]});
    for (LearnerId r : d.restart) started[r] = c.version();
    out.push_back(d);
  }
  return out;
}

bool same(const Decision& a, const Decision& b) {
  return a.apply == b.apply && a.staleness == b.staleness &&
         a.cancel == b.cancel && a.restart == b.restart;
}
}  // namespace

TEST_CASE("sync == k-sync with K = P and async == k-async with K = 1", "[coordinator]") {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    auto a = script(Coordinator(make_variant("sync", 5, 1)), seed, 300);
    auto b = script(Coordinator(make_variant("k-sync", 5, 5)), seed, 300);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(same(a[i], b[i]));
    auto c = script(Coordinator(make_variant("async", 5, 4)), seed, 300);
    auto d = script(Coordinator(make_variant("k-async", 5, 1)), seed, 300);
    for (std::size_t i = 0; i < c.size(); ++i) CHECK(same(c[i], d[i]));
  }
}

TEST_CASE("every arriving gradient is applied exactly once: K per update", "[coordinator]") {
  for (const char* name : {"k-sync", "k-batch-sync", "k-async", "k-batch-async"}) {
    for (std::size_t K : {1u, 2u, 3u, 5u}) {
      Coordinator c(make_variant(name, 5, K));
      auto ds = script(c, 11, 500);
      std::size_t pending = 0, updates = 0;
      for (std::size_t i = 1; i < ds.size(); ++i) {
        ++pending;
        if (ds[i].apply) {
          CHECK(pending == K);
          pending = 0;
          ++updates;
        }
        if (c.variant().is_sync_family()) CHECK(ds[i].staleness == 0);
      }
      CHECK(updates >= 500 / K - 1);
    }
  }
}

TEST_CASE("retire: a failed learner leaves, K shrinks to the learners left", "[coordinator]") {
  SECTION("sync: the pending update completes when the missing learner leaves") {
    Coordinator c(make_variant("sync", 3, 3));
    c.on_start();
    c.on_arrival({0, 0});
    c.on_arrival({1, 0});
    Decision d = c.retire(2);
    CHECK(d.apply);
    CHECK(d.restart == W{0, 1});  // the departed learner is never restarted
    CHECK(c.effective_k() == 2);
    CHECK(c.active() == 2);
    Decision e = c.on_start();  // (a restart-all never names it either)
    CHECK(e.restart == W{0, 1});
  }
  SECTION("k-async: K stays while enough learners remain") {
    Coordinator c(make_variant("k-async", 4, 2));
    c.on_start();
    c.on_arrival({0, 0});
    Decision d = c.retire(3);
    CHECK_FALSE(d.apply);
    CHECK(c.effective_k() == 2);
    Decision e = c.on_arrival({1, 0});
    CHECK(e.apply);
    CHECK(e.restart == W{0, 1});
  }
  SECTION("k-batch-async: nothing pending, nothing applied") {
    Coordinator c(make_variant("k-batch-async", 2, 2));
    c.on_start();
    Decision d = c.retire(0);
    CHECK_FALSE(d.apply);
    CHECK(c.effective_k() == 1);
    CHECK(c.on_arrival({1, 0}).apply);
  }
}

TEST_CASE("ssp: named with its bound, K = 1, not sync family", "[variant][ssp]") {
  const Variant v = make_variant("ssp:S=3", 8, 5);
  CHECK(v.is_ssp());
  CHECK(v.K == 1);
  CHECK(v.staleness_bound == 3);
  CHECK(v.name == "ssp:S=3");
  CHECK(v.describe() == "ssp(P=8,S=3)");
  CHECK_FALSE(v.is_sync_family());
  CHECK(make_variant(ssp_name(0), 2, 1).staleness_bound == 0);
  CHECK_THROWS_WITH(make_variant("ssp", 4, 1), Catch::Contains("--staleness-bound"));
  CHECK_THROWS_AS(make_variant("ssp:S=-1", 4, 1), InputError);
  CHECK_THROWS_AS(make_variant("ssp:S=1,K=2", 4, 1), InputError);
}

TEST_CASE("ssp S = 0: every gradient applied, a barrier every round", "[coordinator][ssp]") {
  Coordinator c(make_variant("ssp:S=0", 3, 1));
  CHECK(c.on_start().restart == W{0, 1, 2});
  Decision a = c.on_arrival({0, 0});
  CHECK(a.apply);
  CHECK(a.restart.empty());  // one ahead of the slowest: waits
  CHECK(c.clock(0) == 1);
  CHECK(c.clock_spread() == 1);
  Decision b = c.on_arrival({1, 0});
  CHECK(b.apply);
  CHECK(b.staleness == 1);
  CHECK(b.restart.empty());
  Decision d = c.on_arrival({2, 0});  // the slowest finishes its round: everyone goes on
  CHECK(d.apply);
  CHECK(d.staleness == 2);
  CHECK(d.restart == W{0, 1, 2});
  CHECK(d.cancel.empty());
  CHECK(c.version() == 3);
  CHECK(c.clock_spread() == 0);
}

TEST_CASE("ssp S = 1: a learner runs at most S ahead of the slowest", "[coordinator][ssp]") {
  Coordinator c(make_variant("ssp:S=1", 3, 1));
  c.on_start();
  CHECK(c.on_arrival({0, 0}).restart == W{0});  // clock 1 <= 0 + 1
  CHECK(c.on_arrival({0, 1}).restart.empty());  // clock 2 > 0 + 1: waits
  CHECK(c.on_arrival({1, 0}).restart == W{1});  // clock 1 <= 0 + 1; learner 0 still waits
  CHECK(c.clock_spread() == 2);
  const Decision d = c.on_arrival({2, 0});      // the slowest reaches 1: learner 0 may go on
  CHECK(d.restart == W{0, 2});
  CHECK(c.version() == 4);
}

TEST_CASE("ssp: the slowest learner leaving releases those waiting for it", "[coordinator][ssp]") {
  Coordinator c(make_variant("ssp:S=0", 3, 1));
  c.on_start();
  c.on_arrival({0, 0});
  c.on_arrival({1, 0});
  const Decision d = c.retire(2);
  CHECK_FALSE(d.apply);
  CHECK(d.restart == W{0, 1});
  // State with the clocks round-trips; another run shape is refused.
  const CoordinatorState s = c.state();
  CHECK(s.clocks == std::vector<std::uint64_t>{1, 1, 0});
  Coordinator again(make_variant("ssp:S=0", 3, 1));
  again.restore(s);
  CHECK(again.clock(1) == 1);
  Coordinator async(make_variant("async", 3, 1));
  CHECK_THROWS_AS(async.restore(s), InputError);
}

TEST_CASE("ssp with a bound never reached decides as async", "[coordinator][ssp]") {
  Coordinator ssp(make_variant("ssp:S=1000000", 4, 1)), async(make_variant("async", 4, 1));
  CHECK(ssp.on_start().restart == async.on_start().restart);
  Rng rng(3);
  std::vector<Version> read(4, 0);
  for (int i = 0; i < 500; ++i) {
    const auto w = static_cast<LearnerId>(rng.below(4));
    const Decision a = ssp.on_arrival({w, read[w]}), b = async.on_arrival({w, read[w]});
    REQUIRE(a.apply == b.apply);
    REQUIRE(a.staleness == b.staleness);
    REQUIRE(a.restart == b.restart);
    REQUIRE(a.cancel == b.cancel);
    read[w] = ssp.version();
  }
}

TEST_CASE("max-staleness: the async family only, R >= 1 in describe()", "[variant][ringmaster]") {
  CHECK(make_variant("async", 8, 1, 4).cutoff.R == 4);
  CHECK(make_variant("async", 8, 1, 4).describe() == "async(P=8,K=1,R=4)");
  CHECK(make_variant("async", 8, 1).describe() == "async(P=8,K=1)");
  CHECK_FALSE(make_variant("k-async", 8, 2).cutoff.enabled());
  CHECK(make_variant("k-batch-async", 8, 2, 1).cutoff.enabled());
  for (const char* sync : {"sync", "k-sync", "k-batch-sync"})
    CHECK_THROWS_WITH(make_variant(sync, 8, 2, 3),
                      Catch::Contains("--max-staleness") && Catch::Contains("never applies a stale"));
}

TEST_CASE("Ringmaster async: an update cancels and restarts every learner it made R stale",
          "[coordinator][ringmaster]") {
  Coordinator c(make_variant("async", 3, 1, 2));
  c.on_start();
  Decision a = c.on_arrival({0, 0});  // version 1: learners 1 and 2 are 1 behind, < R
  CHECK(a.apply);
  CHECK(a.cancel.empty());
  CHECK(a.restart == W{0});
  Decision b = c.on_arrival({0, 1});  // version 2: learners 1 and 2 would be 2 behind
  CHECK(b.apply);
  CHECK(b.staleness == 0);
  CHECK(b.cancel == W{1, 2});
  CHECK(b.restart == W{0, 1, 2});
  CHECK(c.started(1) == 2);
  CHECK(c.started(2) == 2);
  Decision d = c.on_arrival({2, 2});  // restarted learners read the new weights: fresh
  CHECK(d.staleness == 0);
  CHECK(d.cancel.empty());
}

TEST_CASE("Ringmaster R = 1: every update restarts everyone, so every gradient is fresh",
          "[coordinator][ringmaster]") {
  for (const char* name : {"async", "k-async", "k-batch-async"}) {
    Coordinator c(make_variant(name, 4, 2, 1));
    for (const Decision& d : script(c, 5, 400)) {
      CHECK(d.staleness == 0);
      if (d.apply) CHECK(d.restart.size() == 4);
    }
  }
}

TEST_CASE("Ringmaster: no gradient of staleness >= R, and R large is plain async",
          "[coordinator][ringmaster]") {
  for (const char* name : {"async", "k-async", "k-batch-async"}) {
    for (std::uint64_t R : {2u, 3u, 5u}) {
      std::uint64_t max_seen = 0, cancelled = 0;
      for (const Decision& d : script(Coordinator(make_variant(name, 6, 2, R)), 7, 2000)) {
        max_seen = std::max(max_seen, d.staleness);
        cancelled += d.cancel.size();
      }
      CHECK(max_seen == R - 1);  // the threshold is reached, never passed
      CHECK(cancelled > 0);
    }
    // A threshold no computation can reach decides exactly as no threshold.
    auto plain = script(Coordinator(make_variant(name, 6, 2)), 7, 500);
    auto loose = script(Coordinator(make_variant(name, 6, 2, 1u << 30)), 7, 500);
    REQUIRE(plain.size() == loose.size());
    for (std::size_t i = 0; i < plain.size(); ++i) CHECK(same(plain[i], loose[i]));
  }
}

TEST_CASE("Ringmaster K-batch-async: the pusher restarts fresh, only others are cancelled",
          "[coordinator][ringmaster]") {
  Coordinator c(make_variant("k-batch-async", 2, 1, 1));
  c.on_start();
  Decision a = c.on_arrival({0, 0});
  CHECK(a.apply);
  CHECK(a.cancel == W{1});          // learner 1's computation on version 0 is now stale
  CHECK(a.restart == W{0, 1});      // the pusher once, not cancelled
  CHECK(c.started(0) == 1);
}

TEST_CASE("Ringmaster: a retire that completes an update cancels the stale too",
          "[coordinator][ringmaster]") {
  Coordinator e(make_variant("k-async", 3, 3, 1));
  e.on_start();
  e.on_arrival({0, 0});
  e.on_arrival({1, 0});
  Decision f = e.retire(2);  // K becomes 2: the update applies; nobody else computes
  CHECK(f.apply);
  CHECK(f.cancel.empty());
  CHECK(f.restart == W{0, 1});
}

TEST_CASE("Ringmaster: restore checks the start versions", "[coordinator][ringmaster]") {
  Coordinator a(make_variant("async", 3, 1, 3));
  a.on_start();
  a.on_arrival({0, 0});
  a.on_arrival({0, 1});
  Coordinator b(make_variant("async", 3, 1, 3));
  b.restore(a.state());
  CHECK(b.started(1) == 0);
  CHECK(b.state().started == a.state().started);
  CoordinatorState bad = a.state();
  bad.started.pop_back();
  CHECK_THROWS_WITH(b.restore(bad), Catch::Contains("start versions"));
  bad = a.state();
  bad.started[1] = 5;
  CHECK_THROWS_WITH(b.restore(bad), Catch::Contains("after the current version"));
  Coordinator tight(make_variant("async", 3, 1, 2));  // learner 1 is 2 behind: too stale for R = 2
  CHECK_THROWS_WITH(tight.restore(a.state()), Catch::Contains("too stale"));
}

// --- set_k: a K schedule (AdaSync) changing K between events ---

TEST_CASE("set_k: gradients pending count towards the new K, none lost or applied twice",
          "[coordinator][adasync]") {
  // At every variant, K grows from 1 while gradients pend; a random arrival order; each
  // update applies exactly the K in force when it completes, and the pending count carries
  // over the change.
  for (const char* name : {"k-sync", "k-batch-sync", "k-async", "k-batch-async"}) {
    INFO(name);
    Coordinator c(make_variant(name, 6, 1));
    Rng rng(5);
    std::vector<Version> started(6, 0);
    for (LearnerId w : c.on_start().restart) started[w] = c.version();
    std::size_t pending = 0, arrivals = 0, applied = 0, changes = 0;
    for (int i = 0; i < 600; ++i) {
      if (i % 50 == 25 && c.target_k() < 6) {  // a change while gradients may pend
        const std::size_t before = c.pending();
        const Decision d = c.set_k(c.target_k() + 1);
        CHECK_FALSE(d.apply);  // a larger K never completes an update
        CHECK(d.restart.empty());
        CHECK(c.pending() == before);
        CHECK(c.effective_k() == c.target_k());
        if (before > 0) ++changes;
      }
      std::vector<LearnerId> busy;
      for (LearnerId w = 0; w < 6; ++w)
        if (c.busy(w)) busy.push_back(w);
      REQUIRE_FALSE(busy.empty());
      const LearnerId w = busy[rng.below(busy.size())];
      const std::size_t k = c.effective_k();
      const Decision d = c.on_arrival({w, started[w]});
      ++arrivals;
      ++pending;
      if (d.apply) {
        CHECK(pending == k);
        applied += pending;
        pending = 0;
      }
      CHECK(c.pending() == pending);
      for (LearnerId r : d.restart) started[r] = c.version();
    }
    CHECK(applied + pending == arrivals);
    CHECK(c.target_k() == 6);
    CHECK(changes > 0);  // some changes did happen with gradients pending
  }
}

TEST_CASE("set_k: K-sync after a change waits for K distinct learners, K-batch-sync for K "
          "minibatches", "[coordinator][adasync]") {
  Coordinator s(make_variant("k-sync", 3, 1));
  s.on_start();
  CHECK(s.on_arrival({0, 0}).apply);  // K = 1
  s.set_k(2);
  CHECK_FALSE(s.on_arrival({1, 1}).apply);
  CHECK_FALSE(s.busy(1));  // the pusher waits for the update
  const Decision d = s.on_arrival({2, 1});
  CHECK(d.apply);
  CHECK(d.cancel == W{0});  // the straggler
  CHECK(d.restart == W{0, 1, 2});

  Coordinator b(make_variant("k-batch-sync", 3, 1));
  b.on_start();
  b.set_k(3);
  CHECK(b.on_arrival({0, 0}).restart == W{0});  // goes on on the same weights
  CHECK_FALSE(b.on_arrival({0, 0}).apply);
  CHECK(b.on_arrival({0, 0}).apply);  // three minibatches of one learner: K = 3
}

TEST_CASE("set_k: a smaller K (learners gone) completes the update pending",
          "[coordinator][adasync]") {
  Coordinator c(make_variant("k-batch-async", 4, 1));
  c.on_start();
  c.set_k(4);
  c.on_arrival({0, 0});
  c.on_arrival({1, 0});
  CHECK(c.pending() == 2);
  const Decision d = c.set_k(2);  // the Coordinator accepts a lower K too (AdaSync never asks)
  CHECK(d.apply);
  CHECK(c.version() == 1);
  CHECK(c.pending() == 0);
  // retire caps K at the learners left, and set_k keeps that cap.
  c.retire(3);
  c.retire(2);
  c.set_k(4);
  CHECK(c.target_k() == 4);
  CHECK(c.effective_k() == 2);
}

TEST_CASE("set_k: restore keeps the target K, and checks it", "[coordinator][adasync]") {
  Coordinator c(make_variant("k-async", 4, 2));
  c.on_start();
  c.set_k(3);
  c.on_arrival({0, 0});
  const CoordinatorState st = c.state();
  CHECK(st.target_k == 3);
  Coordinator d(make_variant("k-async", 4, 2));
  d.restore(st);
  CHECK(d.target_k() == 3);
  CHECK(d.effective_k() == 3);
  CoordinatorState low = st;
  low.target_k = 1;  // below the variant's K: never a state of this run
  low.k = 1;
  low.pending = 0;
  CHECK_THROWS_WITH(Coordinator(make_variant("k-async", 4, 2)).restore(low),
                    Catch::Contains("target K = 1"));
  CoordinatorState old = st;  // a format-3 checkpoint: no target, the variant's K
  old.target_k = 0;
  old.k = 2;
  old.pending = 1;
  Coordinator e(make_variant("k-async", 4, 2));
  e.restore(old);
  CHECK(e.target_k() == 2);
}

TEST_CASE("update_restarts_all: true exactly when a completed update restarts every learner",
          "[coordinator]") {
  // Learner 0's gradients, one at a time, until an update applies: for the sync family at
  // K = 1 that first gradient; for the others too (K = 1). Its decision restarts all four
  // learners exactly when update_restarts_all() says so.
  for (const char* name : {"sync", "k-sync", "k-batch-sync", "async", "k-async", "k-batch-async"}) {
    Coordinator c(make_variant(name, 4, 1));
    INFO(name);
    c.on_start();
    Decision d;
    for (LearnerId w = 0; w < 4 && !d.apply; ++w) d = c.on_arrival({w, 0});
    REQUIRE(d.apply);
    CHECK(c.update_restarts_all() == (d.restart == W{0, 1, 2, 3}));
  }
}
