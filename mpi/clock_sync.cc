#include "mpi/clock_sync.h"

#include <mpi.h>

#include <array>
#include <chrono>
#include <thread>

#include "core/check.h"
#include "mpi/mpi_session.h"
#include "mpi/wire.h"

namespace racesgd {
namespace {

constexpr int kExchanges = 16;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr const char* kWho = "MPI transport (clock synchronisation)";

// Set-up only (a few milliseconds for the whole world): yields between looks.
void wait(MPI_Request& q) {
  while (true) {
    int done = 0;
    check_mpi(MPI_Test(&q, &done, MPI_STATUS_IGNORE), "MPI_Test", kWho);
    if (done) return;
    std::this_thread::yield();
  }
}

// One reading each way with `peer`. The learner (send_first) sends its reading and then
// takes rank 0's; rank 0 takes the learner's first and answers with its own, read at once.
void exchange(std::int64_t* out, std::int64_t* in, int peer, bool send_first) {
  const int tag = wire::mpi_tag(wire::Tag::clock);
  MPI_Request send = MPI_REQUEST_NULL, recv = MPI_REQUEST_NULL;
  check_mpi(MPI_Irecv(in, sizeof *in, MPI_BYTE, peer, tag, MPI_COMM_WORLD, &recv), "MPI_Irecv", kWho);
  if (!send_first) {
    wait(recv);
    *out = now_ns();
  }
  check_mpi(MPI_Isend(out, sizeof *out, MPI_BYTE, peer, tag, MPI_COMM_WORLD, &send), "MPI_Isend", kWho);
  wait(send);
  if (send_first) wait(recv);
}

}  // namespace

std::int64_t clock_offset_ns(std::span<const ClockSample> samples) {
  RACESGD_CHECK(!samples.empty());
  const ClockSample* best = &samples[0];
  for (const ClockSample& s : samples)
    if (s.t3 - s.t1 < best->t3 - best->t1) best = &s;
  // t2 - (t1 + t3) / 2, without overflowing the sum.
  return best->t2 - (best->t1 + (best->t3 - best->t1) / 2);
}

std::int64_t sync_clock_with_ps(MpiSession& session) {
  std::int64_t offset = 0;
  session.run([&] {
    if (session.rank() == wire::kPsRank) {
      for (int peer = 1; peer < session.size(); ++peer)
        for (int i = 0; i < kExchanges; ++i) {
          std::int64_t t1 = 0, t2 = 0;
          exchange(&t2, &t1, peer, false);
        }
      return;
    }
    std::array<ClockSample, kExchanges> samples;
    for (ClockSample& s : samples) {
      s.t1 = now_ns();
      exchange(&s.t1, &s.t2, wire::kPsRank, true);
      s.t3 = now_ns();
    }
    offset = clock_offset_ns(samples);
  });
  return offset;
}

}  // namespace racesgd
