// ClockSync: how far each learner rank's steady clock is from rank 0's, so a learner can
// count its X from the moment the PS restarted it, as a learner thread does (its start is
// LearnerPool's restarted_at, stamped by the PS), not from when the weights happened to
// arrive. Without it every restart's delivery time (a weights message per restarted
// learner, sent one after another) would add to the learners' X: K-sync restarts all P at
// every update and ran ~30% over the closed form for it (docs/performance.md).
//
// Method: NTP's, over MPI, at set-up. A learner sends its time t1, rank 0 answers with its
// time t2, the learner reads t3 on arrival; t2 - (t1 + t3) / 2 is rank 0's clock minus the
// learner's, off by at most half the round trip; of several exchanges the one with the
// shortest round trip is kept. On one host both clocks are CLOCK_MONOTONIC and the offset
// comes out near 0; across hosts it is the hosts' offset, measured once: steady clocks of
// different hosts drift apart by parts per million, i.e. milliseconds over an hour-long run
// (docs/scale-out.md).
#pragma once

#include <cstdint>
#include <span>

namespace racesgd {

class MpiSession;

/// One exchange, in nanoseconds of each side's steady clock: t1 and t3 the learner's
/// (sent, answer received), t2 rank 0's (answered).
struct ClockSample {
  std::int64_t t1 = 0, t2 = 0, t3 = 0;
};

/// Rank 0's clock minus the learner's, from the sample with the shortest round trip
/// (t3 - t1). At least one sample.
std::int64_t clock_offset_ns(std::span<const ClockSample> samples);

/// Collective over the session's world, after set-up: rank 0 answers each learner rank in
/// turn; each learner rank returns rank 0's clock minus its own (rank 0 returns 0).
std::int64_t sync_clock_with_ps(MpiSession& session);

}  // namespace racesgd
