#!/usr/bin/env bash
# Checks bench/micro/mpi_pingpong under scripts/mpirun_local.sh 2: both completion modes
# measure and print a row per size with a positive rate; bad flags and a world size other
# than 2 exit 2 naming what is wrong. Exits 77 (ctest: skipped) without mpirun.
# Usage: mpi_pingpong_test.sh MPI_PINGPONG SOURCE_DIR
set -uo pipefail
pingpong=$1
run="$2/scripts/mpirun_local.sh"
source "$2/tests/shell_checks.sh"
ulimit -c 0
command -v mpirun >/dev/null 2>&1 || { echo "mpi_pingpong_test: no mpirun here: skipped"; exit 77; }

# expect_error "description" "text the message must contain" RANKS args...: RANKS 1 runs the
# program directly (an MPI singleton: it ends in a fraction of a second, where mpirun takes
# ~2 s to end a job whose ranks exit non-zero).
expect_error() {
  local launch=("$run" "$3")
  (($3 == 1)) && launch=()
  expect_exit2 "$1" "$2" "${launch[@]}" "$pingpong" "${@:4}"
}

# A table row "| d | 4d | median | min | max | GB/s |" with a positive median rate.
has_row() {  # has_row OUTPUT D
  awk -F'|' -v d="$2" '$2 + 0 == d && $3 + 0 == 4 * d && $4 + 0 > 0 { found = 1 } END { exit !found }' <<<"$1"
}

for poll in testsome waitsome; do
  out=$(timeout -k 5 60 "$run" 2 "$pingpong" --sizes 7850,3 --repeats 3 --time 20ms \
        --poll "$poll" 2>&1)
  rc=$?
  check "--poll $poll: exit 0 (got $rc): $out" test $rc -eq 0
  want=MPI_Testsome
  [[ $poll == waitsome ]] && want=MPI_Waitsome
  check "--poll $poll: the header names $want and 3 repeats: $out" \
    grep -q "MPI_THREAD_FUNNELED, MPI_Isend/MPI_Irecv + $want, 3 repeats x 20ms per size" <<<"$out"
  check "--poll $poll: a row for d = 7850: $out" has_row "$out" 7850
  check "--poll $poll: a row for d = 3: $out" has_row "$out" 3
done

expect_error "size 0" "--sizes: each size is a float count in 1..268435456, got '0'" 1 --sizes 0
expect_error "size not a number" "--sizes" 1 --sizes 7850,x
expect_error "size too large" "got '268435457'" 1 --sizes 268435457
expect_error "repeats 0" "--repeats: want a positive count, got '0'" 1 --repeats 0
expect_error "time without a unit" "--time" 1 --time 5
expect_error "time 0" "--time: want a positive duration, got '0s'" 1 --time 0s
expect_error "unknown poll mode" "--poll: want testsome or waitsome, got 'spin'" 1 --poll spin
expect_error "unknown flag" "unknown flag '--size' (known: --sizes, --repeats, --time, --poll)" 1 --size 5
expect_error "flag without a value" "--repeats: missing value" 1 --repeats
expect_error "one rank" "needs exactly 2 ranks (scripts/mpirun_local.sh 2 ...), got 1" 1
expect_error "three ranks" "needs exactly 2 ranks (scripts/mpirun_local.sh 2 ...), got 3" 3

echo "mpi_pingpong_test: $pass passed, $fail failed"
((fail == 0))
