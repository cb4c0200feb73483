// The wire protocol between the PS (rank 0) and the learner ranks (rank w + 1 is learner
// w): one MPI tag per message kind, small fixed headers sent as raw bytes, weights and
// gradients as raw float arrays (every rank runs the same racesgd build, so the struct
// layouts and float formats agree). Pure code, no MPI: the checks are unit-tested alone.
//
//   PS -> learner:  restart (RestartHeader) then weights (dim floats); stop (empty)
//   learner -> PS:  drew (DrewHeader: X, when the push is due and when the learner will
//                   compute), for the stall watchdog and rank 0's polling;
//                   gradient header (GradientHeader: with its due time) then gradient
//                   (dim floats), sent when computed, held by rank 0 until due;
//                   failure (text, at most kMaxFailureText bytes); bye (empty)
//   set-up, both ways: clock (one steady-clock reading, mpi/clock_sync.h)
//
// Every check names the rank a bad message came from and throws RunError: a wrong size,
// an unknown tag, a learner id that is not the sender's, a ticket never handed out or a
// version the PS never published is a broken peer, never silently used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>

#include "core/error.h"

namespace racesgd::wire {

enum class Tag : int {
  restart = 1,
  weights = 2,
  stop = 3,
  drew = 4,
  gradient_header = 5,
  gradient = 6,
  failure = 7,
  bye = 8,
  clock = 9,  // set-up only: clock synchronisation (mpi/clock_sync.h)
};

/// The MPI tag of a message kind.
constexpr int mpi_tag(Tag t) { return static_cast<int>(t); }
/// The Tag of a received MPI tag; RunError naming `rank` for any other number.
Tag tag_from_int(int tag, int rank);
const char* tag_name(Tag t);

inline constexpr int kPsRank = 0;
inline constexpr std::size_t kMaxFailureText = 1024;

/// A restart: compute a minibatch on the weights that follow (version `version`) under
/// `ticket`. `stream_seed` seeds the learner's delay and minibatch streams (the run seed,
/// or on a resumed run one derived from the resumed version, which only rank 0 knows):
/// the learner builds its streams from the first restart it gets.
struct RestartHeader {
  std::uint64_t ticket = 0;
  std::uint64_t version = 0;
  std::uint64_t stream_seed = 0;
  std::uint64_t dim = 0;
  // When the PS restarted the learner, in nanoseconds of rank 0's steady clock: the learner
  // counts its X from there (in its own clock, through the offset of mpi/clock_sync.h).
  std::int64_t ps_restart_ns = 0;
};

/// The learner drew X for `ticket`; its push is due `due_in_s` after it sent this, and it
/// will send its gradient from `compute_in_s` on (when it computes). Durations only: the
/// PS stamps times on its own clock (ranks' clocks differ).
struct DrewHeader {
  std::uint64_t ticket = 0;
  double x = 0;
  double due_in_s = 0;
  double compute_in_s = 0;
};

/// A computed gradient (the floats follow). A learner sends it as soon as it is computed;
/// rank 0 holds it until it is due (mpi/mpi_learners.h), so the times it needs travel in
/// rank 0's clock, converted by the learner through the offset of mpi/clock_sync.h.
struct GradientHeader {
  std::uint64_t learner = 0;
  std::uint64_t ticket = 0;
  std::uint64_t version = 0;
  std::uint64_t batch = 0;
  double loss = 0;
  double delay_drawn = 0;          // X
  double compute_s = 0;            // the gradient computation
  double compute_late_s = 0;       // how long after start + X the computation ended (0: in time)
  std::int64_t computed_ps_ns = 0; // the end of the computation, rank 0's steady clock
  std::int64_t due_ps_ns = 0;      // when the push is due (start + X), rank 0's steady clock
};

static_assert(std::is_trivially_copyable_v<RestartHeader> &&
              std::is_trivially_copyable_v<DrewHeader> &&
              std::is_trivially_copyable_v<GradientHeader>);

/// The bytes a header travels as.
template <class Header>
std::span<const std::byte> bytes_of(const Header& h) {
  return std::as_bytes(std::span<const Header, 1>(&h, 1));
}

/// RunError naming `rank` unless `count` elements of a `tag` message are `expected`.
void check_count(Tag tag, int rank, std::size_t count, std::size_t expected);

/// A header from `bytes` received with `tag` from `rank`; RunError on a wrong size.
template <class Header>
Header decode(Tag tag, int rank, std::span<const std::byte> bytes) {
  check_count(tag, rank, bytes.size(), sizeof(Header));
  Header h;
  std::memcpy(&h, bytes.data(), sizeof h);
  return h;
}

/// Learner w's rank, and the learner of a rank (RunError unless 1 <= rank <= P).
inline int rank_of(std::size_t learner) { return static_cast<int>(learner) + 1; }
std::size_t learner_of(int rank, std::size_t num_learners);

/// What the PS sent the learner last: its ticket and the version of the weights.
struct Sent {
  std::uint64_t ticket = 0;
  std::uint64_t version = 0;
};

/// Checks a gradient header from `rank` against what the PS sent that learner and the
/// newest version it published. A gradient for an older ticket is cancelled work (the PS
/// drops it) but must still name a version that exists.
void check_gradient(const GradientHeader& h, int rank, std::size_t num_learners, Sent sent,
                    std::uint64_t latest_version);

/// Checks a drew message from `rank`: its ticket was handed out, its X is a delay.
void check_drew(const DrewHeader& h, int rank, std::uint64_t sent_ticket);

/// Checks a restart header from the PS on the learner side (`dim`: this rank's model).
void check_restart(const RestartHeader& h, std::size_t dim, std::uint64_t last_ticket);

}  // namespace racesgd::wire
