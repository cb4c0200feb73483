#!/usr/bin/env bash
# Runs N MPI ranks of PROG on this machine with the flags a container needs, and exits with
# mpirun's exit code (a rank's non-zero exit comes back as the script's). Open MPI 4.1.
#
#   scripts/mpirun_local.sh N PROG [ARGS...]
#   scripts/mpirun_local.sh 9 build/release/bench/racesgd train --transport mpi -P 8 ...
#
# Why each flag (docs/scale-out.md, "Flags a container needs"):
#   --allow-run-as-root                 containers run as root; mpirun refuses root otherwise
#   --oversubscribe                     more ranks than cores (P + 1 ranks on 2 cores);
#                                       without it mpirun stops at "not enough slots"
#   --mca btl self,vader,tcp            shared memory on one host, TCP across hosts; skips
#                                       the InfiniBand/libfabric transports Debian's build
#                                       also has, which would probe for absent hardware
#   --mca btl_vader_single_copy_mechanism none
#                                       vader's default single copy (CMA) needs ptrace rights
#                                       (CAP_SYS_PTRACE) that a default Docker container lacks
#   --mca mpi_yield_when_idle 1         a rank waiting in MPI yields its core: P + 1 ranks
#                                       share the cores, so a busy-polling rank would starve
#                                       the ones with work
# Bad usage (N not a positive integer, no PROG, no mpirun) exits 2 before starting anything.
set -euo pipefail

usage() {
  echo "mpirun_local.sh: $1" >&2
  echo "usage: scripts/mpirun_local.sh N PROG [ARGS...]   (N ranks, a positive integer)" >&2
  exit 2
}

(($# >= 1)) || usage "missing N, the number of ranks"
ranks=$1
shift
[[ "$ranks" =~ ^[1-9][0-9]*$ ]] || usage "N must be a positive integer, got '$ranks'"
(($# >= 1)) || usage "missing PROG, the program each rank runs"
command -v mpirun >/dev/null 2>&1 ||
  usage "mpirun not found (Open MPI is not installed): run scripts/setup.sh"

exec mpirun --allow-run-as-root --oversubscribe -np "$ranks" \
  --mca btl self,vader,tcp --mca btl_vader_single_copy_mechanism none \
  --mca mpi_yield_when_idle 1 "$@"
