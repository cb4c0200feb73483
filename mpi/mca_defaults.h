// Open MPI settings racesgd's ranks start with unless the user set them (in the
// environment as OMPI_MCA_<name>, which is also where `mpirun --mca NAME VALUE` puts them).
//
// btl_vader_eager_limit = 32768 (Open MPI's default is 4096): a message up to 32 KiB --
// the weights or a gradient of softmax regression on MNIST, d = 7,850 floats -- goes in one
// eager copy into shared memory, which the sender completes alone. Above the limit vader
// uses a rendezvous whose every step waits for the receiver's next look at MPI; a learner
// rank that looks every 150 us (so that P ranks can share a few cores) then received its
// weights up to several looks late. Measured (docs/performance.md, "MPI transport"): k-sync
// P = 8 over MPI 2.84 -> 2.74 ms per update against a closed form of 2.68. 32 KiB is
// vader's max_send_size, the largest eager message it allows.
//
// Call before MPI_Init_thread, in every rank (each reads its own environment).
#pragma once

#include <cstdlib>

namespace racesgd {

inline void set_mca_defaults() {
  ::setenv("OMPI_MCA_btl_vader_eager_limit", "32768", /*overwrite=*/0);
}

}  // namespace racesgd
