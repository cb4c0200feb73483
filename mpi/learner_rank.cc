#include "mpi/learner_rank.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <thread>
#include <vector>

#include "core/check.h"
#include "core/deadline.h"
#include "core/error.h"
#include "mpi/mpi_session.h"
#include "mpi/wire.h"
#include "worker/compute_plan.h"
#include "worker/gradient_task.h"
#include "worker/learner_pool.h"

namespace racesgd {

namespace {

using Clock = std::chrono::steady_clock;

// Between two looks at MPI while waiting: short next to the delays studied (milliseconds),
// long enough that eight waiting ranks on two cores leave the cores to the ones computing.
constexpr auto kPoll = std::chrono::microseconds(150);

void check_mpi(int rc, const char* call) { racesgd::check_mpi(rc, call, "learner rank"); }

bool done(MPI_Request& q) {
  int flag = 0;
  check_mpi(MPI_Test(&q, &flag, MPI_STATUS_IGNORE), "MPI_Test");
  return flag != 0;
}

// A message above the shared-memory eager limit (mpi/mca_defaults.h) moves in fragments, each needing
// both sides inside MPI: right after a send or a restart header, yield between looks for
// this long rather than sleep (sleeping made every fragment cost a poll interval).
constexpr auto kHotWindow = std::chrono::microseconds(1000);

// Polls `q` until it completes (a send rank 0 always has a receive posted for, or the
// weights that follow a restart header, so this ends): yielding at first, then between
// short sleeps.
void wait_for(MPI_Request& q) {
  const auto hot_until = Clock::now() + kHotWindow;
  while (!done(q)) {
    if (Clock::now() < hot_until)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(kPoll);
  }
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// One learner rank: its receives (restart header, weights into the spare of two buffers,
// stop), its sends (each kind with its own buffer, reused only once its last send left)
// and its streams, built from the first restart's seed.
class LearnerRank {
 public:
  explicit LearnerRank(const LearnerRankInputs& in)
      : in_(in), plan_(effective_compute_at(in.compute_at, in.delay_after_compute)), weights_{std::vector<float>(in.dim), std::vector<float>(in.dim)}, gradient_(in.dim) {}
  void run();

 private:
  enum class Event { restart, stop, deadline };
  void post_restart();
  Event wait_until(Clock::time_point deadline);
  bool restart_arrived();
  bool interrupted();
  void take_restart();
  Clock::time_point start_time() const;
  void compute_and_push();
  void send_drew(double x, double due_in_s, double compute_in_s);
  std::int64_t ps_ns(Clock::time_point t) const;
  void send_failure(const std::string& what);
  void leave();

  const LearnerRankInputs& in_;
  ComputePlan plan_;
  std::vector<float> weights_[2];
  int current_ = 0;  // weights_[current_] holds the weights of the ticket in hand
  std::vector<float> gradient_;
  wire::RestartHeader restart_in_;
  wire::RestartHeader restart_;  // the restart in hand
  wire::DrewHeader drew_out_;
  wire::GradientHeader header_out_;
  std::string failure_out_;
  MPI_Request header_recv_ = MPI_REQUEST_NULL, weights_recv_ = MPI_REQUEST_NULL,
              stop_recv_ = MPI_REQUEST_NULL, drew_send_ = MPI_REQUEST_NULL,
              header_send_ = MPI_REQUEST_NULL, gradient_send_ = MPI_REQUEST_NULL,
              failure_send_ = MPI_REQUEST_NULL;
  bool header_in_ = false;  // restart header received, its weights maybe not yet
  Clock::time_point hot_until_{};  // until then wait_until yields between looks
  bool stopped_ = false;
  bool failed_ = false;
  std::optional<Rng> delay_rng_;
  std::optional<GradientTask> task_;
};

void LearnerRank::post_restart() {
  header_in_ = false;
  check_mpi(MPI_Irecv(&restart_in_, sizeof restart_in_, MPI_BYTE, wire::kPsRank, wire::mpi_tag(wire::Tag::restart),
                      MPI_COMM_WORLD, &header_recv_), "MPI_Irecv");
  std::vector<float>& spare = weights_[1 - current_];
  check_mpi(MPI_Irecv(spare.data(), static_cast<int>(spare.size()), MPI_FLOAT, wire::kPsRank,
                      wire::mpi_tag(wire::Tag::weights), MPI_COMM_WORLD, &weights_recv_), "MPI_Irecv");
}

// A restart or the stop has arrived (wait_until would return at once).
bool LearnerRank::interrupted() {
  if (stopped_ || done(stop_recv_)) {
    stopped_ = true;
    return true;
  }
  return restart_arrived();
}

// True once a restart's header is in (its weights follow at once; take_restart waits).
bool LearnerRank::restart_arrived() {
  if (!header_in_ && done(header_recv_)) header_in_ = true;
  return header_in_;
}

// Until a restart or a stop arrives, or `deadline` passes (time_point::max(): no deadline).
LearnerRank::Event LearnerRank::wait_until(Clock::time_point deadline) {
  while (true) {
    if (stopped_ || done(stop_recv_)) {
      stopped_ = true;
      return Event::stop;
    }
    if (restart_arrived()) return Event::restart;
    const auto now = Clock::now();
    if (now >= deadline) return Event::deadline;
    // The last stretch yields instead of sleeping: a sleep oversleeps by ~100 us, which
    // every served delay would carry (at most kPoll of a core per minibatch).
    if (deadline - now < kPoll || now < hot_until_)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(kPoll);
  }
}

void LearnerRank::take_restart() {
  // The header first: weights of another size would fail their receive less clearly.
  wire::check_restart(restart_in_, in_.dim, restart_.ticket);
  wait_for(weights_recv_);
  restart_ = restart_in_;
  current_ = 1 - current_;
  if (!delay_rng_) {  // the streams of this learner, as its thread would draw them
    delay_rng_ = learner_delay_stream(restart_.stream_seed, in_.learner);
    if (!in_.timing_only)
      task_.emplace(*in_.model, *in_.train, in_.batch, restart_.stream_seed, in_.learner);
  }
  post_restart();
}

void LearnerRank::send_drew(double x, double due_in_s, double compute_in_s) {
  if (drew_send_ != MPI_REQUEST_NULL) wait_for(drew_send_);
  drew_out_ = wire::DrewHeader{restart_.ticket, x, due_in_s, compute_in_s};
  check_mpi(MPI_Isend(&drew_out_, sizeof drew_out_, MPI_BYTE, wire::kPsRank, wire::mpi_tag(wire::Tag::drew),
                      MPI_COMM_WORLD, &drew_send_), "MPI_Isend");
}

void LearnerRank::send_failure(const std::string& what) {
  failed_ = true;
  failure_out_ = what.substr(0, wire::kMaxFailureText);
  check_mpi(MPI_Isend(failure_out_.data(), static_cast<int>(failure_out_.size()), MPI_CHAR,
                      wire::kPsRank, wire::mpi_tag(wire::Tag::failure), MPI_COMM_WORLD, &failure_send_),
            "MPI_Isend");
}

// When the PS restarted us, on our clock: X counts from there, as a learner thread's does
// from LearnerPool's restarted_at, so the weights' delivery is inside X, not added to it.
// Never later than now (the offset is only known to half a round trip).
Clock::time_point LearnerRank::start_time() const {
  const Clock::time_point now = Clock::now();
  const auto ours = std::chrono::nanoseconds(restart_.ps_restart_ns - in_.ps_clock_offset_ns);
  const Clock::time_point start{std::chrono::duration_cast<Clock::duration>(ours)};
  return std::min(start, now);
}

// `t` (our clock) on rank 0's steady clock, in nanoseconds.
std::int64_t LearnerRank::ps_ns(Clock::time_point t) const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count() +
         in_.ps_clock_offset_ns;
}

// One minibatch for the restart in hand; returns early (nothing pushed) when a restart or
// the stop arrives first.
void LearnerRank::compute_and_push() {
  const Clock::time_point start = start_time();
  double x = 0;
  try {
    x = in_.delay->sample(in_.learner, *delay_rng_);
  } catch (const std::exception& e) {
    send_failure(e.what());
    return;
  }
  const bool after = in_.delay_after_compute && std::isfinite(x);
  // Just in time (worker/compute_plan.h). +infinity never comes: due at its start (0 from
  // now) for the watchdog, and never computed unless computing at the start.
  const Clock::time_point due = deadline_after(start, x);
  const Clock::time_point now = Clock::now();
  const Clock::time_point planned = plan_.begin(now, due);
  send_drew(x, std::isfinite(x) ? std::max(0.0, x - seconds(now - start)) : 0.0,
            planned == Clock::time_point::max() ? 0.0 : seconds(planned - now));
  if (wait_until(planned) != Event::deadline) return;  // a restart or the stop first
  // The previous gradient must have left before its buffer is written again.
  if (gradient_send_ != MPI_REQUEST_NULL) wait_for(gradient_send_);
  if (header_send_ != MPI_REQUEST_NULL) wait_for(header_send_);
  const Clock::time_point compute_began = Clock::now();
  double loss = 0;
  try {
    if (task_)
      loss = task_->compute(weights_[current_], gradient_);
    else
      std::fill(gradient_.begin(), gradient_.end(), 0.0f);  // timing-only: a zero gradient
  } catch (const std::exception& e) {
    send_failure(e.what());
    return;
  }
  const Clock::time_point computed = Clock::now();
  const Clock::time_point due_push = after ? deadline_after(computed, x) : due;
  if (interrupted()) {  // cancelled or stopped while computing: nothing to send
    plan_.record(planned, computed);
    return;
  }
  if (due_push == Clock::time_point::max()) {  // X = +infinity: it never pushes
    plan_.record(planned, computed);
    wait_until(due_push);
    return;
  }
  if (after) send_drew(x, x, 0.0);
  // Sent at once: rank 0 holds it until due_push (or drops it when a restart comes first).
  header_out_ = wire::GradientHeader{in_.learner,
                                     restart_.ticket,
                                     restart_.version,
                                     in_.batch,
                                     loss,
                                     x,
                                     seconds(computed - compute_began),
                                     after ? 0.0 : seconds_late(computed, due),
                                     ps_ns(computed),
                                     ps_ns(due_push)};
  check_mpi(MPI_Isend(&header_out_, sizeof header_out_, MPI_BYTE, wire::kPsRank,
                      wire::mpi_tag(wire::Tag::gradient_header), MPI_COMM_WORLD, &header_send_), "MPI_Isend");
  check_mpi(MPI_Isend(gradient_.data(), static_cast<int>(gradient_.size()), MPI_FLOAT, wire::kPsRank,
                      wire::mpi_tag(wire::Tag::gradient), MPI_COMM_WORLD, &gradient_send_), "MPI_Isend");
  wait_for(gradient_send_);  // its fragments move only while we are inside MPI
  // The transfer is inside X too: the plan's lead learns it with the computation.
  plan_.record(planned, Clock::now());
  // The next minibatch's rows are gathered now, off the next compute's path
  // (worker/gradient_task.h).
  if (task_) task_->prepare();
  hot_until_ = Clock::now() + kHotWindow;
}

// After the stop: a restart already on its way is received (rank 0's send of it must
// complete), the rest of our receives cancelled; every send of ours completes (rank 0 keeps
// its receives posted until our bye); then bye.
void LearnerRank::leave() {
  bool header = header_in_;
  if (!header) {
    MPI_Cancel(&header_recv_);
    MPI_Status st;
    int flag = 0;
    while (check_mpi(MPI_Test(&header_recv_, &flag, &st), "MPI_Test"), !flag)
      std::this_thread::sleep_for(kPoll);
    int cancelled = 0;
    MPI_Test_cancelled(&st, &cancelled);
    header = cancelled == 0;
  }
  if (!header) MPI_Cancel(&weights_recv_);
  wait_for(weights_recv_);
  for (MPI_Request* q : {&drew_send_, &header_send_, &gradient_send_, &failure_send_})
    if (*q != MPI_REQUEST_NULL) wait_for(*q);
  MPI_Request bye = MPI_REQUEST_NULL;
  check_mpi(MPI_Isend(nullptr, 0, MPI_BYTE, wire::kPsRank, wire::mpi_tag(wire::Tag::bye), MPI_COMM_WORLD, &bye),
            "MPI_Isend");
  wait_for(bye);
}

void LearnerRank::run() {
  check_mpi(MPI_Irecv(nullptr, 0, MPI_BYTE, wire::kPsRank, wire::mpi_tag(wire::Tag::stop), MPI_COMM_WORLD,
                      &stop_recv_), "MPI_Irecv");
  post_restart();
  while (wait_until(Clock::time_point::max()) == Event::restart) {
    take_restart();
    // A failed learner does no more work (rank 0 retires it or stops the run).
    if (!failed_) compute_and_push();
  }
  leave();
}

}  // namespace

void run_learner_rank(MpiSession& session, const LearnerRankInputs& in) {
  RACESGD_CHECK(in.delay && (in.timing_only || (in.model && in.train)));
  RACESGD_CHECK(session.rank() == wire::rank_of(in.learner));
  session.run([&in] { LearnerRank(in).run(); });
}

}  // namespace racesgd
