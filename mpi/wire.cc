#include "mpi/wire.h"

#include <cmath>

namespace racesgd::wire {

namespace {
[[noreturn]] void bad(int rank, const std::string& what) {
  throw RunError("rank " + std::to_string(rank) + ": bad message: " + what);
}
}  // namespace

Tag tag_from_int(int tag, int rank) {
  if (tag >= mpi_tag(Tag::restart) && tag <= mpi_tag(Tag::clock))
    return static_cast<Tag>(tag);
  bad(rank, "unknown tag " + std::to_string(tag));
}

const char* tag_name(Tag t) {
  switch (t) {
    case Tag::restart: return "restart header";
    case Tag::weights: return "weights";
    case Tag::stop: return "stop";
    case Tag::drew: return "drew-X";
    case Tag::gradient_header: return "gradient header";
    case Tag::gradient: return "gradient";
    case Tag::failure: return "failure";
    case Tag::bye: return "bye";
    case Tag::clock: return "clock";
  }
  return "?";
}

void check_count(Tag tag, int rank, std::size_t count, std::size_t expected) {
  if (count != expected)
    bad(rank, std::string(tag_name(tag)) + " of " + std::to_string(count) + " elements, expected " +
                  std::to_string(expected));
}

std::size_t learner_of(int rank, std::size_t num_learners) {
  if (rank < 1 || static_cast<std::size_t>(rank) > num_learners)
    bad(rank, "not a learner rank (1.." + std::to_string(num_learners) + ")");
  return static_cast<std::size_t>(rank - 1);
}

void check_gradient(const GradientHeader& h, int rank, std::size_t num_learners, Sent sent,
                    std::uint64_t latest_version) {
  const std::size_t w = learner_of(rank, num_learners);
  if (h.learner != w)
    bad(rank, "gradient of learner " + std::to_string(h.learner) + " from learner " +
                  std::to_string(w) + "'s rank");
  if (h.ticket > sent.ticket || h.ticket == 0)
    bad(rank, "gradient for ticket " + std::to_string(h.ticket) + ", but the PS handed out " +
                  std::to_string(sent.ticket) + " so far");
  if (h.version > latest_version || (h.ticket == sent.ticket && h.version != sent.version))
    bad(rank, "gradient computed on version " + std::to_string(h.version) +
                  ", which the PS never sent it (sent " + std::to_string(sent.version) +
                  ", newest " + std::to_string(latest_version) + ")");
  if (!(h.compute_s >= 0) || !(h.compute_late_s >= 0) || !(h.delay_drawn >= 0))
    bad(rank, "gradient with a negative or NaN duration");
}

void check_drew(const DrewHeader& h, int rank, std::uint64_t sent_ticket) {
  if (h.ticket > sent_ticket || h.ticket == 0)
    bad(rank, "drew X for ticket " + std::to_string(h.ticket) + ", but the PS handed out " +
                  std::to_string(sent_ticket) + " so far");
  if (!(h.x >= 0) || !(h.due_in_s >= 0)) bad(rank, "drew a negative or NaN X");
  if (!(h.compute_in_s >= 0)) bad(rank, "drew X with a negative or NaN time to its computation");
}

void check_restart(const RestartHeader& h, std::size_t dim, std::uint64_t last_ticket) {
  if (h.dim != dim)
    bad(kPsRank, "restart with " + std::to_string(h.dim) + " weights, this learner's model has " +
                     std::to_string(dim));
  if (h.ticket <= last_ticket)
    bad(kPsRank, "restart with ticket " + std::to_string(h.ticket) + " after ticket " +
                     std::to_string(last_ticket));
}

}  // namespace racesgd::wire
