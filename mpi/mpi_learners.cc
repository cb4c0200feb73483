#include "mpi/mpi_learners.h"

#include <mpi.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <iostream>
#include <thread>

#include "core/error.h"
#include "mpi/mpi_session.h"
#include "mpi/wire.h"
#include "worker/compute_plan.h"

namespace racesgd {

namespace {

using Clock = std::chrono::steady_clock;

// The MPI requests of one learner, one slot each, MPI_REQUEST_NULL when idle.
enum Req : int {
  kRestartSend,
  kWeightsSend,
  kStopSend,
  kDrewRecv,
  kHeaderRecv,
  kGradientRecv,
  kFailureRecv,
  kByeRecv,
  kReqs
};

// Idle wait of the communication thread between two looks at MPI when nothing happened:
// short enough for a gradient's latency (100 us made k-sync, P = 8, 1.7% slower), long
// enough not to burn a core that the PS and the learner ranks share (a restart or stop
// from the PS ends the wait at once).
constexpr auto kIdleWait = std::chrono::microseconds(50);
// After anything happened the thread only yields between looks for this long: a weights
// or gradient message above the shared-memory eager limit (mpi/mca_defaults.h) moves in fragments, each
// needing both sides inside MPI, and sleeping between them made every message cost
// several idle waits.
constexpr auto kHotWindow = std::chrono::microseconds(500);
// While a learner's gradient is expected the thread also only yields: from kDueLeadIn
// before the learner computes (its drew message says when) until kDueTail after the
// gradient is due, and around the due time of a gradient held. The tail covers gradients
// late on a loaded machine (500 us gave 10-20% fewer updates/s with --delay none and 4-8
// learner ranks on 2 cores); a learner that never pushes (X = +infinity) costs one tail. A gradient above the eager
// limit moves in several protocol steps, each waiting for this thread's next look, and a
// held one is handed over at the first look after its due time: idle waits there made
// k-sync, whose updates wait for the K fastest, 8.7% slower than the closed form.
constexpr auto kDueLeadIn = std::chrono::microseconds(100);
constexpr auto kDueTail = std::chrono::microseconds(2000);

void check_mpi(int rc, const char* call) { racesgd::check_mpi(rc, call, "MPI transport"); }

}  // namespace

// The communication thread's side of the transport: every MPI request, receive buffer and
// pin of the learners. Lives on that thread's stack for the run; nothing in it is shared.
class MpiLearners::Loop {
 public:
  explicit Loop(MpiLearners& t);
  ~Loop() { finish(); }
  void run();

 private:
  struct Link {
    wire::Sent sent;            // the newest restart sent
    VersionedWeights::Pin pin;  // its weights, until its gradient arrives or it is superseded
    wire::RestartHeader restart_out;
    wire::DrewHeader drew_in;
    wire::GradientHeader header_in;
    GradientBuffer gradient_in;
    std::array<char, wire::kMaxFailureText> failure_in{};
    // The window in which its gradient for `sent` is expected here, from its drew message
    // (from when it computes to when it is due) or from the gradient held: max() when none.
    Clock::time_point expect_from = Clock::time_point::max(), due = Clock::time_point::max();
    GradientMessage held;  // a gradient that came before it was due, until then
    Clock::time_point arrived;  // when the held gradient came
    bool header_done = false, gradient_done = false;
    bool failed = false, said_bye = false;
  };

  MPI_Request& req(LearnerId w, Req r) { return reqs_[w * kReqs + r]; }
  void post(LearnerId w, Req r);
  int send_restarts();
  void begin_stop();
  int test_some();
  void on_complete(LearnerId w, Req r, const MPI_Status& st);
  void on_drew(LearnerId w, const MPI_Status& st);
  void deliver(LearnerId w);
  void hold(Link& l);
  void check_stray();
  Clock::time_point next_expected(Clock::time_point now) const;
  bool expecting(Clock::time_point now) const;
  int release_due(Clock::time_point now);
  void release(Link& l, Clock::time_point now);
  void idle(Clock::time_point until);
  bool all_said_bye() const;
  void finish();

  MpiLearners& t_;
  std::size_t P_;
  std::vector<Link> links_;
  std::vector<MPI_Request> reqs_;
  std::vector<int> indices_;
  std::vector<MPI_Status> statuses_;
  bool finished_ = false;
};

MpiLearners::Loop::Loop(MpiLearners& t)
    : t_(t),
      P_(t.config_.num_learners),
      links_(P_),
      reqs_(P_ * kReqs, MPI_REQUEST_NULL),
      indices_(P_ * kReqs),
      statuses_(P_ * kReqs) {
  for (Link& l : links_) l.gradient_in = t_.buffers_.acquire();
}

void MpiLearners::Loop::post(LearnerId w, Req r) {
  Link& l = links_[w];
  const int rank = wire::rank_of(w);
  MPI_Request* q = &req(w, r);
  switch (r) {
    case kDrewRecv:
      check_mpi(MPI_Irecv(&l.drew_in, sizeof l.drew_in, MPI_BYTE, rank, wire::mpi_tag(wire::Tag::drew),
                          MPI_COMM_WORLD, q), "MPI_Irecv");
      return;
    case kHeaderRecv:
      check_mpi(MPI_Irecv(&l.header_in, sizeof l.header_in, MPI_BYTE, rank,
                          wire::mpi_tag(wire::Tag::gradient_header), MPI_COMM_WORLD, q), "MPI_Irecv");
      return;
    case kGradientRecv:
      check_mpi(MPI_Irecv(l.gradient_in.data(), static_cast<int>(l.gradient_in.size()), MPI_FLOAT,
                          rank, wire::mpi_tag(wire::Tag::gradient), MPI_COMM_WORLD, q), "MPI_Irecv");
      return;
    case kFailureRecv:
      check_mpi(MPI_Irecv(l.failure_in.data(), static_cast<int>(l.failure_in.size()), MPI_CHAR,
                          rank, wire::mpi_tag(wire::Tag::failure), MPI_COMM_WORLD, q), "MPI_Irecv");
      return;
    case kByeRecv:
      check_mpi(MPI_Irecv(nullptr, 0, MPI_BYTE, rank, wire::mpi_tag(wire::Tag::bye), MPI_COMM_WORLD, q),
                "MPI_Irecv");
      return;
    default:
      RACESGD_CHECK_MSG(false, "not a receive");
  }
}

// A learner whose ticket moved past the restart it was sent, and whose previous restart has
// left, gets the newest weights now, straight from the pinned snapshot. Returns how many.
int MpiLearners::Loop::send_restarts() {
  int sent = 0;
  for (LearnerId w = 0; w < P_; ++w) {
    Link& l = links_[w];
    const std::uint64_t ticket = t_.slots_[w]->ticket.load(std::memory_order_seq_cst);
    if (ticket == l.sent.ticket || l.failed || req(w, kRestartSend) != MPI_REQUEST_NULL ||
        req(w, kWeightsSend) != MPI_REQUEST_NULL)
      continue;
    l.pin = t_.weights_.pin_latest();  // the superseded pin goes home here
    l.sent = wire::Sent{ticket, l.pin.version()};
    l.held = GradientMessage{};  // cancelled work: its pin and buffer go home
    l.expect_from = l.due = Clock::time_point::max();
    // The restart time read after the ticket: that of this ticket, or of a newer one whose
    // send waits for this one (its learner then starts a little early: never late).
    const std::int64_t restarted_at = t_.slots_[w]->restarted_at.load(std::memory_order_relaxed);
    l.restart_out = wire::RestartHeader{
        ticket, l.sent.version, t_.config_.stream_seed, l.pin.weights().size(),
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::duration(restarted_at)).count()};
    const int rank = wire::rank_of(w);
    check_mpi(MPI_Isend(&l.restart_out, sizeof l.restart_out, MPI_BYTE, rank,
                        wire::mpi_tag(wire::Tag::restart), MPI_COMM_WORLD, &req(w, kRestartSend)), "MPI_Isend");
    check_mpi(MPI_Isend(l.pin.weights().data(), static_cast<int>(l.pin.weights().size()), MPI_FLOAT,
                        rank, wire::mpi_tag(wire::Tag::weights), MPI_COMM_WORLD, &req(w, kWeightsSend)),
              "MPI_Isend");
    ++sent;
  }
  return sent;
}

void MpiLearners::Loop::begin_stop() {
  for (LearnerId w = 0; w < P_; ++w)
    check_mpi(MPI_Isend(nullptr, 0, MPI_BYTE, wire::rank_of(w), wire::mpi_tag(wire::Tag::stop),
                        MPI_COMM_WORLD, &req(w, kStopSend)), "MPI_Isend");
}

// Completes what is ready; returns how many requests completed.
int MpiLearners::Loop::test_some() {
  int n = 0;
  const int rc = MPI_Testsome(static_cast<int>(reqs_.size()), reqs_.data(), &n, indices_.data(),
                              statuses_.data());
  if (rc != MPI_SUCCESS && rc != MPI_ERR_IN_STATUS) check_mpi(rc, "MPI_Testsome");
  if (n == MPI_UNDEFINED) return 0;
  for (int i = 0; i < n; ++i) {
    const auto w = static_cast<LearnerId>(indices_[i]) / kReqs;
    const auto r = static_cast<Req>(indices_[i] % kReqs);
    MPI_Status& st = statuses_[i];
    try {
      if (rc == MPI_ERR_IN_STATUS && st.MPI_ERROR != MPI_SUCCESS)
        throw RunError("rank " + std::to_string(wire::rank_of(w)) +
                       ": bad message: longer than a message of its kind (MPI error " +
                       std::to_string(st.MPI_ERROR) + ")");
      on_complete(w, r, st);
    } catch (const RunError& e) {
      links_[w].failed = true;  // no more work for it; its bye is still awaited
      t_.record_failure(w, e.what());
    }
  }
  return n;
}

void MpiLearners::Loop::on_complete(LearnerId w, Req r, const MPI_Status& st) {
  Link& l = links_[w];
  const int rank = wire::rank_of(w);
  int count = 0;
  switch (r) {
    case kRestartSend:
    case kWeightsSend:
    case kStopSend:
      return;
    case kDrewRecv:
      on_drew(w, st);
      return;
    case kHeaderRecv:
      MPI_Get_count(&st, MPI_BYTE, &count);
      wire::check_count(wire::Tag::gradient_header, rank, static_cast<std::size_t>(count),
                        sizeof l.header_in);
      l.header_done = true;
      break;
    case kGradientRecv:
      MPI_Get_count(&st, MPI_FLOAT, &count);
      wire::check_count(wire::Tag::gradient, rank, static_cast<std::size_t>(count), l.gradient_in.size());
      l.gradient_done = true;
      break;
    case kFailureRecv:
      MPI_Get_count(&st, MPI_CHAR, &count);
      l.failed = true;
      t_.record_failure(w, std::string(l.failure_in.data(), static_cast<std::size_t>(count)));
      return;
    case kByeRecv:
      if (!t_.stop_requested_.load(std::memory_order_acquire))
        throw RunError("rank " + std::to_string(rank) + ": left the run before it was stopped");
      l.said_bye = true;
      return;
    default:
      return;
  }
  if (l.header_done && l.gradient_done) deliver(w);
}

// Learner w drew X: its push is due due_in_s from now, on this clock.
void MpiLearners::Loop::on_drew(LearnerId w, const MPI_Status& st) {
  Link& l = links_[w];
  int count = 0;
  MPI_Get_count(&st, MPI_BYTE, &count);
  const wire::DrewHeader h =
      wire::decode<wire::DrewHeader>(wire::Tag::drew, wire::rank_of(w),
                                     std::as_bytes(std::span(&l.drew_in, 1)).first(static_cast<std::size_t>(count)));
  wire::check_drew(h, wire::rank_of(w), l.sent.ticket);
  post(w, kDrewRecv);
  Slot& s = *t_.slots_[w];
  const auto due = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(std::min(h.due_in_s, 1e8)));
  s.deadline.store(due.time_since_epoch().count(), std::memory_order_relaxed);
  s.deadline_for.store(h.ticket, std::memory_order_release);
  if (h.ticket == l.sent.ticket) {
    l.due = due;
    l.expect_from = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(std::min(h.compute_in_s, 1e8))) -
                    kDueLeadIn;
  }
}

// A gradient (header and floats) is in. For the restart sent last it goes to the PS as a
// GradientMessage with the pin of the weights it was computed on -- at once when it is
// due, else held until it is (release_due); for an earlier one (cancelled work) it is
// dropped here. A learner sends as soon as it has computed, so the transfer happens
// inside X and the PS sees the gradient when it is due, as a learner thread's push: X is
// the learner's whole turn-around (paper.md). The header is read in full before its
// receive is posted again.
void MpiLearners::Loop::deliver(LearnerId w) {
  Link& l = links_[w];
  const int rank = wire::rank_of(w);
  l.header_done = l.gradient_done = false;
  const wire::GradientHeader& h = l.header_in;
  wire::check_gradient(h, rank, P_, l.sent, t_.weights_.latest_version());
  if (h.ticket == l.sent.ticket && !l.pin.valid())
    throw RunError("rank " + std::to_string(rank) + ": bad message: a second gradient for ticket " +
                   std::to_string(h.ticket));
  // Otherwise computed before its restart was superseded: cancelled work, dropped.
  if (h.ticket == l.sent.ticket) hold(l);
  post(w, kHeaderRecv);
  post(w, kGradientRecv);
  const Clock::time_point now = Clock::now();
  if (l.held.grad.valid() && now >= l.due) release(l, now);
}

// Makes learner l's gradient for the restart sent last (header_in, gradient_in) the
// held message, due at the header's time; gradient_in gets a fresh buffer.
void MpiLearners::Loop::hold(Link& l) {
  const wire::GradientHeader& h = l.header_in;
  auto run_s = [this](std::int64_t ps_ns) {
    return std::chrono::duration<double>(std::chrono::nanoseconds(ps_ns) - t_.config_.t0.time_since_epoch())
        .count();
  };
  GradientMessage m;
  m.learner = static_cast<LearnerId>(h.learner);
  m.read_version = h.version;
  m.batch_size = static_cast<std::uint32_t>(h.batch);
  m.t_computed = run_s(h.computed_ps_ns);
  m.t_start = m.t_computed - h.compute_s;
  m.delay_drawn = h.delay_drawn;
  m.loss = h.loss;
  m.ticket = h.ticket;
  m.pin = std::move(l.pin);
  m.grad = std::exchange(l.gradient_in, t_.buffers_.acquire());
  l.due = Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(h.due_ps_ns)));
  l.arrived = Clock::now();
  l.expect_from = l.due - kDueLeadIn;
  // Late when computed or when delivered after start + X: over MPI the transfer is inside X.
  m.compute_late_s = std::max(h.compute_late_s, seconds_late(Clock::now(), l.due));
  l.held = std::move(m);
}

// Hands learner l's held gradient to the PS at `now`, stamped when it was due or, if it
// arrived later, its arrival (as a learner thread's push, worker/learner_pool.h: the
// moment the PS could have it): served = stamp - (due - X); the rest is push_lag_s.
void MpiLearners::Loop::release(Link& l, Clock::time_point now) {
  GradientMessage& m = l.held;
  const Clock::time_point stamp = std::min(now, std::max(l.due, l.arrived));
  m.t_pushed = std::chrono::duration<double>(stamp - t_.config_.t0).count();
  m.delay_served = m.delay_drawn + std::chrono::duration<double>(stamp - l.due).count();
  m.push_lag_s = std::chrono::duration<double>(now - stamp).count();
  t_.inbox_.push(std::move(m));
  l.held = GradientMessage{};
  l.expect_from = l.due = Clock::time_point::max();
}

// Releases every held gradient whose time has come; returns how many.
int MpiLearners::Loop::release_due(Clock::time_point now) {
  int n = 0;
  for (Link& l : links_)
    if (l.held.grad.valid() && now >= l.due) {
      release(l, now);
      ++n;
    }
  return n;
}

// A message whose tag is no kind of this protocol would sit unmatched forever: name its
// rank and take it off the queue.
void MpiLearners::Loop::check_stray() {
  int flag = 0;
  MPI_Status st;
  check_mpi(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st), "MPI_Iprobe");
  if (!flag) return;
  try {
    wire::tag_from_int(st.MPI_TAG, st.MPI_SOURCE);
  } catch (const RunError& e) {
    MPI_Message msg;
    check_mpi(MPI_Improbe(st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, &flag, &msg, &st), "MPI_Improbe");
    int bytes = 0;
    MPI_Get_count(&st, MPI_BYTE, &bytes);
    std::vector<char> discard(static_cast<std::size_t>(bytes));  // a broken peer only
    check_mpi(MPI_Mrecv(discard.data(), bytes, MPI_BYTE, &msg, &st), "MPI_Mrecv");
    const LearnerId w = wire::learner_of(st.MPI_SOURCE, P_);
    links_[w].failed = true;
    t_.record_failure(w, e.what());
  }
}

// The earliest moment after `now` a gradient window opens (max() when none will). A window
// already open is expecting()'s; one that closed (its gradient more than kDueTail late: a
// learner that drew X = +infinity, one that failed, a loaded machine) is no reason to
// wake: counting it made the idle wait end at once, a busy loop.
Clock::time_point MpiLearners::Loop::next_expected(Clock::time_point now) const {
  Clock::time_point t = Clock::time_point::max();
  for (const Link& l : links_)
    if (l.expect_from > now) t = std::min(t, l.expect_from);
  return t;
}

// Whether some learner's gradient is expected now: inside its window, up to kDueTail late.
bool MpiLearners::Loop::expecting(Clock::time_point now) const {
  for (const Link& l : links_)
    if (l.expect_from <= now && l.due != Clock::time_point::max() && now <= l.due + kDueTail) return true;
  return false;
}

void MpiLearners::Loop::idle(Clock::time_point until) {
  std::unique_lock lock(t_.poke_mutex_);
  t_.poke_cv_.wait_until(lock, until, [this] { return t_.poked_; });
  t_.poked_ = false;
}

bool MpiLearners::Loop::all_said_bye() const {
  for (const Link& l : links_)
    if (!l.said_bye) return false;
  return true;
}

void MpiLearners::Loop::run() {
  for (LearnerId w = 0; w < P_; ++w)
    for (Req r : {kDrewRecv, kHeaderRecv, kGradientRecv, kFailureRecv, kByeRecv}) post(w, r);
  bool stopping = false;
  Clock::time_point give_up;
  Clock::time_point hot_until = Clock::now();
  while (true) {
    if (!stopping && t_.stop_requested_.load(std::memory_order_acquire)) {
      begin_stop();
      stopping = true;
      give_up = Clock::now() + t_.config_.stop_wait;
    }
    const int sent = stopping ? 0 : send_restarts();
    const int done = test_some() + release_due(Clock::now());
    check_stray();
    if (stopping && (all_said_bye() || Clock::now() > give_up)) break;
    const Clock::time_point now = Clock::now();
    if (done > 0 || sent > 0) {
      hot_until = now + kHotWindow;
    } else if (now < hot_until || expecting(now)) {
      std::this_thread::yield();
    } else {
      idle(std::min(now + kIdleWait, next_expected(now)));  // later than now
    }
  }
  for (LearnerId w = 0; w < P_; ++w)
    if (!links_[w].said_bye)
      t_.silent_ += (t_.silent_.empty() ? "" : ", ") + std::to_string(wire::rank_of(w));
}

// Cancels what is still posted (a bounded wait: a silent rank's send may never complete)
// and gives back every pin and buffer.
void MpiLearners::Loop::finish() {
  if (finished_) return;
  finished_ = true;
  for (MPI_Request& q : reqs_)
    if (q != MPI_REQUEST_NULL) MPI_Cancel(&q);
  const auto give_up = Clock::now() + std::chrono::milliseconds(500);
  for (MPI_Request& q : reqs_) {
    int flag = 0;
    while (q != MPI_REQUEST_NULL && MPI_Test(&q, &flag, MPI_STATUS_IGNORE) == MPI_SUCCESS && !flag &&
           Clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    if (q != MPI_REQUEST_NULL) MPI_Request_free(&q);  // only a silent rank's: the job aborts
  }
  for (Link& l : links_) {
    l.held = GradientMessage{};
    l.pin.reset();
    l.gradient_in.reset();
  }
}

MpiLearners::MpiLearners(MpiSession& session, VersionedWeights& weights,
                         const MpiLearnersConfig& config)
    : session_(session),
      weights_(weights),
      config_(config),
      buffers_(weights.dim(), 2 * config.num_learners + 2) {
  RACESGD_CHECK(static_cast<std::size_t>(session.size()) == config.num_learners + 1);
  slots_.reserve(config_.num_learners);
  for (std::size_t w = 0; w < config_.num_learners; ++w) slots_.push_back(std::make_unique<Slot>());
  progress_done_ = session_.post([this] { progress(); });
}

MpiLearners::~MpiLearners() { stop(); }

void MpiLearners::progress() {
  Loop loop(*this);
  try {
    loop.run();
  } catch (const std::exception& e) {
    broken_reason_ = e.what();
    broken_.store(true, std::memory_order_release);  // receive_until throws it on the PS
    inbox_.wake();
    silent_ = "all (the transport failed)";  // read by stop() after the future
  }
}

void MpiLearners::poke() {
  {
    std::lock_guard lock(poke_mutex_);
    poked_ = true;
  }
  poke_cv_.notify_one();
}

void MpiLearners::restart(LearnerId w, Clock::time_point at) {
  Slot& s = *slots_[w];
  s.restarted_at.store(at.time_since_epoch().count(), std::memory_order_relaxed);
  s.ticket.fetch_add(1, std::memory_order_seq_cst);  // read by the communication thread
  poke();
}

bool MpiLearners::receive_until(GradientMessage& out, Clock::time_point deadline) {
  if (broken_.load(std::memory_order_acquire)) throw TransportError(broken_reason_);
  const auto hot_until = std::min(deadline, Clock::now() + kHotWindow);
  while (Clock::now() < hot_until) {
    if (inbox_.try_pop(out)) return true;
    std::this_thread::yield();
  }
  return inbox_.pop_until(out, deadline);
}

void MpiLearners::record_failure(LearnerId w, std::string what) {
  {
    std::lock_guard lock(failures_mutex_);
    failures_.emplace_back(w, std::move(what));
    new_failures_.store(true, std::memory_order_release);
  }
  inbox_.wake();
}

std::vector<std::pair<LearnerId, std::string>> MpiLearners::take_failures() {
  std::lock_guard lock(failures_mutex_);
  new_failures_.store(false, std::memory_order_relaxed);
  return std::exchange(failures_, {});
}

Clock::time_point MpiLearners::deadline(LearnerId w) const {
  const Slot& s = *slots_[w];
  if (s.deadline_for.load(std::memory_order_acquire) == s.ticket.load(std::memory_order_seq_cst))
    return Clock::time_point(Clock::duration(s.deadline.load(std::memory_order_relaxed)));
  return Clock::time_point(Clock::duration(s.restarted_at.load(std::memory_order_relaxed)));
}

std::string MpiLearners::where(LearnerId w) const {
  return "rank " + std::to_string(wire::rank_of(w));
}

void MpiLearners::stop() {
  if (stopped_) return;
  stopped_ = true;
  stop_requested_.store(true, std::memory_order_release);
  poke();
  progress_done_.wait();  // bounded by config_.stop_wait and finish()'s wait
  GradientMessage msg;
  while (inbox_.try_pop(msg)) msg = GradientMessage{};
  if (!silent_.empty()) {
    std::cerr << "racesgd: learner rank(s) " << silent_ << " did not answer the stop within "
              << config_.stop_wait.count() << " ms; the job is aborted after the outputs are written\n";
    session_.abort_at_end(1);
  }
}

}  // namespace racesgd
