// mpi_pingpong: the raw MPI round-trip rate between rank 0 and rank 1 for a message of d
// floats each way -- the ceiling the MPI transport's updates/s is compared against
// (issue 11: with --delay none, >= 50% of this rate at the same d). A round trip is what
// one async update costs the transport at the least: the PS (rank 0) sends a learner d
// floats of weights, the learner (rank 1) sends d floats of gradient back.
//
// It makes the calls the transport makes, so the rate is the same machinery's:
// MPI_THREAD_FUNNELED, nonblocking two-sided MPI_Isend/MPI_Irecv, completion by
// MPI_Testsome (a polling loop, as the PS's communication thread keeps MPI progressing) or
// MPI_Waitsome (--poll waitsome), one tag per message kind, preallocated buffers, and the
// next receive posted before the send completes. Every echo is checked (its size and a
// stamp in its first and last float), so a broken exchange fails instead of looking fast.
//
//   scripts/mpirun_local.sh 2 build/release/bench/micro/mpi_pingpong
//       [--sizes 7850,203530] [--repeats 7] [--time 500ms] [--poll testsome|waitsome]
//
// Per size: 20 untimed round trips, then --repeats timed repeats of --time each; prints a
// Markdown table of round trips/s (median, min, max over the repeats) and the median
// GB/s, counting both directions (2 x 4d bytes per round trip). Results:
// docs/performance.md, "MPI transport". Bad flags or a world size other than 2: exit 2.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "mpi/mca_defaults.h"
#include "core/error.h"
#include "core/units.h"

namespace {

using racesgd::InputError;
using Clock = std::chrono::steady_clock;

enum Tag : int { kPing = 1, kPong = 2, kStop = 3 };
enum class Poll { kTestsome, kWaitsome };

// Larger than any parameter vector this runtime trains by three orders of magnitude, and
// small enough that MPI's int counts and two such buffers per rank stay valid.
constexpr long long kMaxFloats = 1LL << 28;
// Untimed round trips per size first: the first messages between two ranks set up the
// connection and touch the buffers' pages for the first time.
constexpr int kWarmupTrips = 20;

struct Options {
  std::vector<int> sizes{7850, 203530};  // softmax on MNIST; MLP 784-256-10
  int repeats = 7;
  double seconds = 0.5;
  Poll poll = Poll::kTestsome;
};

std::vector<int> parse_sizes(std::string_view text) {
  std::vector<int> sizes;
  while (true) {
    const auto comma = text.find(',');
    const auto item = text.substr(0, comma);
    const long long d = racesgd::parse_int(item, "--sizes");
    if (d < 1 || d > kMaxFloats) {
      throw InputError("--sizes: each size is a float count in 1.." + std::to_string(kMaxFloats) +
                       ", got '" + std::string(item) + "'");
    }
    sizes.push_back(static_cast<int>(d));
    if (comma == std::string_view::npos) return sizes;
    text.remove_prefix(comma + 1);
  }
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) throw InputError(std::string(flag) + ": missing value (or unknown flag)");
    const std::string_view value = argv[++i];
    if (flag == "--sizes") {
      o.sizes = parse_sizes(value);
    } else if (flag == "--repeats") {
      const long long r = racesgd::parse_int(value, "--repeats");
      if (r < 1 || r > std::numeric_limits<int>::max()) {
        throw InputError("--repeats: want a positive count, got '" + std::string(value) + "'");
      }
      o.repeats = static_cast<int>(r);
    } else if (flag == "--time") {
      o.seconds = racesgd::parse_duration_seconds(value, "--time");
      if (!(o.seconds > 0)) {
        throw InputError("--time: want a positive duration, got '" + std::string(value) + "'");
      }
    } else if (flag == "--poll") {
      if (value == "testsome") {
        o.poll = Poll::kTestsome;
      } else if (value == "waitsome") {
        o.poll = Poll::kWaitsome;
      } else {
        throw InputError("--poll: want testsome or waitsome, got '" + std::string(value) + "'");
      }
    } else {
      throw InputError("unknown flag '" + std::string(flag) +
                       "' (known: --sizes, --repeats, --time, --poll)");
    }
  }
  return o;
}

// Progresses requests the way the transport's communication thread does: one call over
// all active requests (MPI_Testsome in a loop, or MPI_Waitsome) until reqs[slot] is done.
// Every request that completes on the way is retired too (MPI_REQUEST_NULL, which both
// calls skip) and its status kept in status[its slot].
template <std::size_t N>
void complete(MPI_Request (&reqs)[N], MPI_Status (&status)[N], int slot, Poll poll) {
  int done[N];
  MPI_Status statuses[N];
  while (reqs[slot] != MPI_REQUEST_NULL) {
    int count = 0;  // MPI_UNDEFINED (negative) when no request is active
    if (poll == Poll::kTestsome) {
      MPI_Testsome(static_cast<int>(N), reqs, &count, done, statuses);
    } else {
      MPI_Waitsome(static_cast<int>(N), reqs, &count, done, statuses);
    }
    for (int k = 0; k < count; ++k) status[done[k]] = statuses[k];
  }
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "mpi_pingpong: %s\n", what.c_str());
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();  // MPI_Abort does not return; this tells the compiler so
}

// Rank 1: echoes every ping with a pong of the same size, carrying the ping's stamp
// (first and last float), until the stop message. The next receive is posted before the
// pong's send completes, as a learner posts for its next assignment.
void echo(const Options& o) {
  const int max_d = *std::max_element(o.sizes.begin(), o.sizes.end());
  std::vector<float> in(static_cast<std::size_t>(max_d)), out(in.size());
  enum { kRecv = 0, kSend = 1 };
  MPI_Request reqs[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  MPI_Status status[2];
  MPI_Irecv(in.data(), max_d, MPI_FLOAT, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &reqs[kRecv]);
  while (true) {
    complete(reqs, status, kRecv, o.poll);
    const MPI_Status st = status[kRecv];
    if (st.MPI_TAG == kStop) break;
    if (st.MPI_TAG != kPing) fail("rank 1 got unknown tag " + std::to_string(st.MPI_TAG));
    int d = 0;
    MPI_Get_count(&st, MPI_FLOAT, &d);
    if (d < 1) fail("rank 1 got an empty ping");
    complete(reqs, status, kSend, o.poll);  // the previous pong's buffer is free again
    out[0] = in[0];
    out[static_cast<std::size_t>(d) - 1] = in[static_cast<std::size_t>(d) - 1];
    MPI_Isend(out.data(), d, MPI_FLOAT, 0, kPong, MPI_COMM_WORLD, &reqs[kSend]);
    MPI_Irecv(in.data(), max_d, MPI_FLOAT, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &reqs[kRecv]);
  }
  complete(reqs, status, kSend, o.poll);
}

// Rank 0: one round trip of d floats stamped `stamp`, checked on return.
void round_trip(std::vector<float>& ping, std::vector<float>& pong, int d, float stamp,
                Poll poll) {
  const auto last = static_cast<std::size_t>(d) - 1;
  ping[0] = stamp;
  ping[last] = stamp;
  enum { kRecv = 0, kSend = 1 };
  MPI_Request reqs[2];
  MPI_Status status[2];
  MPI_Irecv(pong.data(), d, MPI_FLOAT, 1, kPong, MPI_COMM_WORLD, &reqs[kRecv]);
  MPI_Isend(ping.data(), d, MPI_FLOAT, 1, kPing, MPI_COMM_WORLD, &reqs[kSend]);
  complete(reqs, status, kRecv, poll);
  complete(reqs, status, kSend, poll);
  int got = 0;
  MPI_Get_count(&status[kRecv], MPI_FLOAT, &got);
  if (got != d || pong[0] != stamp || pong[last] != stamp) {
    fail("echo of " + std::to_string(d) + " floats came back as " + std::to_string(got) +
         " floats with stamps " + std::to_string(pong[0]) + ", " + std::to_string(pong[last]) +
         " (want " + std::to_string(stamp) + ")");
  }
}

struct SizeResult {
  int d;
  std::vector<double> rates;  // round trips per second, one per repeat
};

SizeResult measure(const Options& o, int d) {
  std::vector<float> ping(static_cast<std::size_t>(d), 1.0f), pong(ping.size());
  // Stamps are integers below 2^24, exact in a float, and differ from one trip to the next.
  long long trip = 0;
  const auto stamp = [&trip] { return static_cast<float>(++trip % (1 << 24)); };
  for (int i = 0; i < kWarmupTrips; ++i) round_trip(ping, pong, d, stamp(), o.poll);
  SizeResult r{d, {}};
  const auto budget = std::chrono::duration<double>(o.seconds);
  for (int rep = 0; rep < o.repeats; ++rep) {
    long long trips = 0;
    const auto start = Clock::now();
    std::chrono::duration<double> elapsed{};
    do {
      round_trip(ping, pong, d, stamp(), o.poll);
      ++trips;
      elapsed = Clock::now() - start;
    } while (elapsed < budget);
    r.rates.push_back(static_cast<double>(trips) / elapsed.count());
  }
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void print_table(const Options& o, const std::vector<SizeResult>& results) {
  char library[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(library, &len);
  const std::string lib(library, static_cast<std::size_t>(len));
  std::printf("mpi_pingpong: ranks 0 <-> 1, MPI_THREAD_FUNNELED, MPI_Isend/MPI_Irecv + %s, "
              "%d repeats x %s per size; %s\n",
              o.poll == Poll::kTestsome ? "MPI_Testsome" : "MPI_Waitsome", o.repeats,
              racesgd::format_duration(o.seconds).c_str(),
              lib.substr(0, lib.find_first_of(",\n")).c_str());
  std::printf("| d (floats) | bytes each way | round trips/s (median) | min | max | GB/s "
              "(median, both directions) |\n|---:|---:|---:|---:|---:|---:|\n");
  for (const SizeResult& r : results) {
    const double med = median(r.rates);
    const double bytes = 4.0 * r.d;
    std::printf("| %d | %.0f | %.0f | %.0f | %.0f | %.2f |\n", r.d, bytes, med,
                *std::min_element(r.rates.begin(), r.rates.end()),
                *std::max_element(r.rates.begin(), r.rates.end()), med * 2 * bytes / 1e9);
  }
}

int run(int argc, char** argv) {
  int rank = 0, world = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  Options o;
  try {
    o = parse_options(argc, argv);
    if (world != 2) {
      throw InputError("needs exactly 2 ranks (scripts/mpirun_local.sh 2 ...), got " +
                       std::to_string(world));
    }
  } catch (const InputError& e) {
    // Every rank parsed the same arguments and ends the same way; one says why.
    if (rank == 0) std::fprintf(stderr, "mpi_pingpong: %s\n", e.what());
    return racesgd::kExitInputError;
  }
  if (rank == 1) {
    echo(o);
    return 0;
  }
  std::vector<SizeResult> results;
  for (int d : o.sizes) results.push_back(measure(o, d));
  MPI_Request stop;
  MPI_Isend(nullptr, 0, MPI_FLOAT, 1, kStop, MPI_COMM_WORLD, &stop);
  MPI_Wait(&stop, MPI_STATUS_IGNORE);
  print_table(o, results);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  racesgd::set_mca_defaults();  // the transport's settings, so that the rates compare
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  if (provided < MPI_THREAD_FUNNELED) {
    std::fprintf(stderr, "mpi_pingpong: the MPI library provides no MPI_THREAD_FUNNELED\n");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  const int rc = run(argc, argv);
  MPI_Finalize();
  return rc;
}
