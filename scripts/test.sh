#!/usr/bin/env bash
# Does all set-up (packages only: the tests use committed fixtures, never downloads),
# builds the release preset and runs the whole test suite with ctest (the tests labelled
# mpi, which start mpirun, in a stage of their own); then builds the concurrency-bearing
# test executables under ThreadSanitizer and runs their tests, the whole suite but the mpi
# label under AddressSanitizer + UndefinedBehaviorSanitizer, every libFuzzer target (built
# by the same asan build) for a bounded time (RACESGD_FUZZ_SECONDS, default 20) and
# clang-tidy. Each stage prints its wall time as it ends, and a table of all of them at the
# end (also when a stage fails). Stages, limits and times: docs/reliability.md, "The test
# suite: jobs, limits, times".
#
#   stage          runs
#   setup          scripts/setup.sh --no-data
#   release build  cmake --build --preset release (everything)
#   release tests  ctest --preset release -LE mpi: every test but the MPI ones
#   mpi tests      ctest --preset release -L mpi: the tests that start mpirun (label mpi:
#                  scripts/mpirun_local.sh, mpi_pingpong, the --transport mpi runs); skipped
#                  where mpirun is missing
#   tsan build     test_ps, test_worker, test_runtime and racesgd under ThreadSanitizer
#   tsan tests     ctest --preset tsan: those three executables, and mpi_tsan (the MPI
#                  transport's threads: six variants and an interrupted run over mpirun)
#   asan build     everything under AddressSanitizer + UBSan, and the fuzz targets
#   asan tests     ctest --preset asan -LE mpi (why not mpi: at the stage)
#   fuzz           scripts/fuzz.sh: every libFuzzer target for RACESGD_FUZZ_SECONDS
#   clang-tidy     scripts/tidy.sh
#
#   scripts/test.sh            everything (what .ci/run calls)
#   scripts/test.sh --quick    the release build and tests, the mpi stage included
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    *) echo "test.sh: unknown argument '$arg' (known: --quick)" >&2; exit 2 ;;
  esac
done

# Stage timing: stage NAME CMD... runs CMD, records its wall time and prints it.
stage_names=()
stage_times=()
current_stage=""
current_start=$SECONDS
total_start=$SECONDS
fmt_time() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
stage() {
  local name=$1
  shift
  current_stage=$name
  current_start=$SECONDS
  echo "== $name"
  "$@"
  local took=$((SECONDS - current_start))
  stage_names+=("$name")
  stage_times+=("$took")
  current_stage=""
  echo "== $name: done in $(fmt_time "$took")"
}
print_stage_table() {
  local rc=$?
  echo
  echo "== stage times (wall)"
  printf '%-14s %8s\n' stage time
  local i
  for i in "${!stage_names[@]}"; do
    printf '%-14s %8s\n' "${stage_names[$i]}" "$(fmt_time "${stage_times[$i]}")"
  done
  if [[ -n "$current_stage" ]]; then
    printf '%-14s %8s  FAILED\n' "$current_stage" "$(fmt_time $((SECONDS - current_start)))"
  fi
  printf '%-14s %8s\n' total "$(fmt_time $((SECONDS - total_start)))"
  exit "$rc"
}
trap print_stage_table EXIT

stage setup bash scripts/setup.sh --no-data

release_build() { cmake --preset release >/dev/null && cmake --build --preset release; }
stage "release build" release_build
stage "release tests" ctest --preset release -LE mpi
# The MPI tests once, on the release build: each starts mpirun (0.1-0.5 s for a job that
# ends well, 1-2.5 s for one whose ranks exit non-zero), so they are kept few and small.
stage "mpi tests" ctest --preset release -L mpi

if ((quick)); then exit 0; fi

# ThreadSanitizer: only the executables whose tests run threads (the tsan test preset
# selects test_ps, test_worker and test_runtime), so the libraries are built once, no more;
# and racesgd, whose MPI transport's threads mpi_tsan runs over mpirun (where MPI is found).
tsan_build() {
  cmake --preset tsan >/dev/null && cmake --build --preset tsan --target test_ps test_worker test_runtime racesgd
}
stage "tsan build" tsan_build
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
stage "tsan tests" ctest --preset tsan

# AddressSanitizer + UBSan: the whole suite, and the libFuzzer targets from the same build
# (the asan preset sets RACESGD_FUZZ=ON), so the ASan libraries are compiled once.
asan_build() { cmake --preset asan >/dev/null && cmake --build --preset asan; }
stage "asan build" asan_build
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# Not the mpi label: Open MPI 4.1 leaves ~120 kB of its own allocations at MPI_Finalize,
# much of it from plugins it has already unloaded (LeakSanitizer names no library, so a
# suppression file cannot target them), and detect_leaks=1 fails every MPI rank for it.
stage "asan tests" ctest --preset asan -LE mpi

echo "== libFuzzer targets, ${RACESGD_FUZZ_SECONDS:-20} s each from the committed corpora"
stage fuzz bash scripts/fuzz.sh "${RACESGD_FUZZ_SECONDS:-20}"

# clang-tidy configures build/tidy for its compile_commands.json and compiles nothing.
stage clang-tidy bash scripts/tidy.sh
echo "== all tests passed in $(fmt_time $((SECONDS - total_start)))"
