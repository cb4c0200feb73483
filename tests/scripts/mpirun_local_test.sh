#!/usr/bin/env bash
# Checks scripts/mpirun_local.sh: bad usage exits 2 with a message naming what is wrong
# (also when mpirun is missing); with mpirun, N ranks start with the container flags and a
# rank's exit code comes back. Exits 77 (ctest: skipped) after the usage checks when this
# machine has no mpirun. Usage: mpirun_local_test.sh SOURCE_DIR
set -uo pipefail
script="$1/scripts/mpirun_local.sh"
source "$1/tests/shell_checks.sh"
ulimit -c 0

# expect_usage_error "description" "text the message must contain" args...
expect_usage_error() { expect_exit2 "$1" "$2" "$script" "${@:3}"; }

expect_usage_error "no arguments" "missing N, the number of ranks"
expect_usage_error "N = 0" "N must be a positive integer, got '0'" 0 true
expect_usage_error "negative N" "N must be a positive integer, got '-1'" -1 true
expect_usage_error "N not a number" "N must be a positive integer, got 'two'" two true
expect_usage_error "N with a suffix" "N must be a positive integer, got '2x'" 2x true
expect_usage_error "no program" "missing PROG, the program each rank runs" 2
# No mpirun on PATH: the script needs nothing else before that check (true is a builtin).
no_mpirun=$(PATH=/nonexistent "$BASH" "$script" 2 true 2>&1)
check "no mpirun: exit 2 naming scripts/setup.sh" \
  test $? -eq 2 -a -n "$(grep -F 'mpirun not found (Open MPI is not installed): run scripts/setup.sh' <<<"$no_mpirun")"

if ! command -v mpirun >/dev/null 2>&1; then
  echo "mpirun_local_test: $pass usage checks passed, $fail failed; no mpirun here: skipping the runs"
  ((fail == 0)) && exit 77
  exit 1
fi

# Three ranks on this machine (more than its cores on the 2-core CI machine: --oversubscribe
# matters), each seeing the container flags mpirun handed it.
out=$(timeout -k 5 60 "$script" 3 bash -c \
  'echo "rank=$OMPI_COMM_WORLD_RANK/$OMPI_COMM_WORLD_SIZE btl=$OMPI_MCA_btl single_copy=$OMPI_MCA_btl_vader_single_copy_mechanism yield=$OMPI_MCA_mpi_yield_when_idle"' 2>&1)
rc=$?
check "3 ranks run: exit $rc, output: $out" test $rc -eq 0
for r in 0 1 2; do
  check "rank $r of 3 started with the container flags (output: $out)" \
    grep -qxF "rank=$r/3 btl=self,vader,tcp single_copy=none yield=1" <<<"$out"
done
check "exactly 3 ranks (output: $out)" test "$(grep -c '^rank=' <<<"$out")" -eq 3

# A rank's exit code comes back as the script's.
timeout -k 5 60 "$script" 2 bash -c '[[ $OMPI_COMM_WORLD_RANK == 1 ]] && exit 3; exit 0' >/dev/null 2>&1
rc=$?
check "rank 1 exits 3: the script exits 3 (got $rc)" test $rc -eq 3
timeout -k 5 60 "$script" 1 true >/dev/null 2>&1
rc=$?
check "one rank of true: exit 0 (got $rc)" test $rc -eq 0

echo "mpirun_local_test: $pass passed, $fail failed"
((fail == 0))
