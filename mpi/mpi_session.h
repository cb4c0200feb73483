// MpiSession: MPI for one racesgd process. Every MPI call of the process is made on ONE
// communication thread that this class owns: it calls MPI_Init_thread
// (MPI_THREAD_FUNNELED, so MPI itself needs no locks), then runs the tasks handed to it
// one after another (rank 0: the transport's progress loop; a learner rank: the learner
// loop), and MPI_Finalize when the session ends. Two-sided nonblocking calls only
// (MPI_Isend/MPI_Irecv, MPI_Testsome/MPI_Waitsome); never one-sided RMA, which is fragile
// in Debian's Open MPI 4.1 builds. Errors in MPI calls are returned, not fatal
// (MPI_ERRORS_RETURN), so a bad message becomes a RunError naming its rank.
//
// Threads: owns the communication thread (started by the constructor, joined by the
// destructor). run()/post(): any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>

namespace racesgd {

class MpiSession {
 public:
  /// Starts the communication thread and waits until MPI is initialised. RunError when
  /// MPI_Init_thread fails or cannot give MPI_THREAD_FUNNELED.
  MpiSession();
  /// Finalises MPI on the communication thread (or aborts the job, see abort_at_end) and
  /// joins it.
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

  /// Runs `task` on the communication thread once the tasks before it are done. The
  /// future carries what it threw.
  std::future<void> post(std::function<void()> task);
  /// post(task) and wait for it; rethrows what it threw.
  void run(std::function<void()> task) { post(std::move(task)).get(); }

  /// End with MPI_Abort(code) instead of MPI_Finalize: for a rank that cannot leave
  /// cleanly (a peer that never said bye would hang the finalize; a learner rank that
  /// failed alone takes the job down, as Open MPI 4.1 has no fault tolerance).
  void abort_at_end(int code) { abort_code_ = code; }

 private:
  void serve();

  int rank_ = 0;
  int size_ = 1;
  int abort_code_ = 0;
  std::string init_error_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<void()>> tasks_;
  bool ready_ = false;
  bool closing_ = false;
  std::thread thread_;
};

/// How every rank's set-up went, as all_ranks_ok() learned it: exit codes, 0 for a set-up
/// that went well.
struct SetupVote {
  int ps_code = 0;     // rank 0's
  int worst_code = 0;  // the largest of every rank's
  bool ps_ok() const { return ps_code == 0; }
  bool all_ok() const { return worst_code == 0; }
};

/// Collective: every rank calls it once, after its own set-up, with the exit code that
/// set-up failed with (0: it went well). So a set-up that fails on some ranks (a bad file
/// on one host, a bad flag everywhere) ends every rank cleanly, none waiting for a peer
/// that left, each with the code of the failure that ends the job (rank 0's when it
/// failed); and only the ranks that need to say why do (a learner's failure matters only
/// when rank 0's set-up went well). Any thread (runs on the communication thread).
SetupVote all_ranks_ok(MpiSession& session, int exit_code);

/// Collective: returns once every rank has called it (MPI_Barrier). Throws RunError when
/// MPI fails.
void barrier(MpiSession& session);

/// Throws InputError unless the world fits `--transport mpi -P num_learners`: rank 0 and
/// one rank per learner. Same answer on every rank, so every rank exits 2.
void check_mpi_world(const MpiSession& session, std::size_t num_learners);

/// Throws RunError "WHO: CALL failed: <MPI's text>" unless `rc` is MPI_SUCCESS: the one
/// check every MPI call in mpi/ goes through (`who` says which side: "MPI transport",
/// "learner rank", ...).
void check_mpi(int rc, const char* call, const char* who);

}  // namespace racesgd
