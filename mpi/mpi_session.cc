#include "mpi/mpi_session.h"

#include <mpi.h>

#include <chrono>
#include <thread>

#include "core/error.h"
#include "mpi/mca_defaults.h"

namespace racesgd {

MpiSession::MpiSession() : thread_([this] { serve(); }) {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [this] { return ready_; });
  if (!init_error_.empty()) {
    closing_ = true;
    lock.unlock();
    cv_.notify_all();
    thread_.join();
    throw RunError(init_error_);
  }
}

MpiSession::~MpiSession() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::future<void> MpiSession::post(std::function<void()> task) {
  std::packaged_task<void()> t(std::move(task));
  std::future<void> done = t.get_future();
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(t));
  }
  cv_.notify_all();
  return done;
}

// The communication thread: MPI_Init_thread, the tasks, MPI_Finalize (or MPI_Abort).
void MpiSession::serve() {
  int provided = 0;
  set_mca_defaults();  // setenv is not thread-safe: a session is made at start-up, before racesgd starts other threads
  const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  {
    std::lock_guard lock(mutex_);
    if (rc != MPI_SUCCESS)
      init_error_ = "MPI_Init_thread failed (error " + std::to_string(rc) + ")";
    else if (provided < MPI_THREAD_FUNNELED)
      init_error_ = "MPI_Init_thread: this MPI cannot give MPI_THREAD_FUNNELED";
    if (init_error_.empty()) {
      MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
      MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
      MPI_Comm_size(MPI_COMM_WORLD, &size_);
    }
    ready_ = true;
  }
  cv_.notify_all();
  if (rc != MPI_SUCCESS) return;
  while (true) {
    std::packaged_task<void()> task;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return closing_ || !tasks_.empty(); });
      if (tasks_.empty()) break;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();  // an exception goes into the task's future
  }
  if (abort_code_ != 0) MPI_Abort(MPI_COMM_WORLD, abort_code_);
  MPI_Finalize();
}

SetupVote all_ranks_ok(MpiSession& session, int exit_code) {
  // MPI_MIN of the negated codes: the largest code; rank 0's alone in the first.
  int all[2] = {0, 0};
  session.run([&] {
    int mine[2] = {session.rank() == 0 ? -exit_code : 0, -exit_code};
    MPI_Request q = MPI_REQUEST_NULL;
    if (MPI_Iallreduce(mine, all, 2, MPI_INT, MPI_MIN, MPI_COMM_WORLD, &q) != MPI_SUCCESS)
      throw RunError("MPI_Iallreduce failed");
    int done = 0;
    // Polled between short sleeps: the other ranks may still be loading their data.
    while (MPI_Test(&q, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done)
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    if (!done) throw RunError("MPI_Test failed");
  });
  return SetupVote{-all[0], -all[1]};
}

void barrier(MpiSession& session) {
  session.run([] { check_mpi(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier", "MPI world check"); });
}

void check_mpi_world(const MpiSession& session, std::size_t num_learners) {
  if (session.size() == 1)
    throw InputError(
        "--transport mpi: this process is alone (MPI world size 1); run it under mpirun with "
        "one rank for the PS and one per learner: mpirun -np " +
        std::to_string(num_learners + 1) + " racesgd train --transport mpi -P " +
        std::to_string(num_learners) + " ... (scripts/mpirun_local.sh on one machine)");
  if (static_cast<std::size_t>(session.size()) != num_learners + 1)
    throw InputError("-P: " + std::to_string(num_learners) + " learners, but mpirun started " +
                     std::to_string(session.size()) + " ranks; with --transport mpi -P must be " +
                     "the world size minus one (" + std::to_string(session.size() - 1) +
                     "): rank 0 is the PS, ranks 1.." + std::to_string(session.size() - 1) +
                     " the learners");
}

void check_mpi(int rc, const char* call, const char* who) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw RunError(std::string(who) + ": " + call + " failed: " + std::string(text, len));
}

}  // namespace racesgd
