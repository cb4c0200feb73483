#!/usr/bin/env bash
# Does all set-up (packages only: the tests use committed fixtures, never downloads),
# builds the release preset and runs the whole test suite with ctest; then builds the
# concurrency-bearing test executables under ThreadSanitizer and runs them, the whole
# suite under AddressSanitizer + UndefinedBehaviorSanitizer, every libFuzzer target for a
# bounded time (RACESGD_FUZZ_SECONDS, default 20) and clang-tidy.
#
#   scripts/test.sh            everything (what .ci/run calls)
#   scripts/test.sh --quick    release tests only
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

bash scripts/setup.sh --no-data
start=$(date +%s)

echo "== release build"
cmake --preset release >/dev/null
cmake --build --preset release
echo "== release tests"
ctest --preset release

if ((quick)); then exit 0; fi

echo "== ThreadSanitizer build (concurrency tests)"
cmake --preset tsan >/dev/null
tsan_targets=(test_ps test_worker test_sgd)
cmake --build --preset tsan --target "${tsan_targets[@]}"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
for t in "${tsan_targets[@]}"; do
  exe=$(find build/tsan/tests -type f -name "$t" | head -n 1)
  echo "== tsan: $t"
  "$exe" --order rand --rng-seed 1
done

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build (whole suite)"
cmake --preset asan >/dev/null
cmake --build --preset asan
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --preset asan

echo "== libFuzzer targets, ${RACESGD_FUZZ_SECONDS:-20} s each from the committed corpora"
bash scripts/fuzz.sh "${RACESGD_FUZZ_SECONDS:-20}"

echo "== clang-tidy (checked-in .clang-tidy), fails on any finding"
bash scripts/tidy.sh
echo "== all tests passed in $(( $(date +%s) - start ))s"
