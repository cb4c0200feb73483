#!/usr/bin/env bash
# Runs every libFuzzer target in fuzz/ for a bounded time and fails on any crash.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]        (default 60)
#
# The fuzz targets are built by the asan preset (build/asan: clang 14, ASan + UBSan,
# RACESGD_FUZZ=ON), the same build whose ctest suite scripts/test.sh runs, so CI compiles
# the ASan libraries once. Standalone, this script configures that preset if needed and
# builds only the fuzz_* targets (a no-op after `cmake --build --preset asan`).
#
# Environment:
#   RACESGD_FUZZ_BUILD_DIR   another build directory, configured here like the asan preset
#                            but without tests (default: the asan preset's build/asan)
#   RACESGD_FUZZ_TARGETS     space-separated subset of targets (default: every fuzz/corpus/*)
#   RACESGD_FUZZ_KEEP        directory to keep the grown working corpora in (default: dropped)
#
# Each target starts from its committed seed corpus fuzz/corpus/<target>/ plus the
# regression inputs tests/fuzz_regressions/<target>/. Both are read-only here: libFuzzer
# writes new inputs only into the first corpus directory it is given, which is a fresh
# temporary directory, so CI never grows the committed corpus. Crash, leak, timeout and
# out-of-memory inputs are saved under <build>/fuzz-artifacts/<target>-*.
# Limits: -rss_limit_mb=2048 (also the largest single allocation), -timeout=10 s per input.
set -euo pipefail

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -lt 1 ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2
  exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
preset_build="$root/build/asan"
build="${RACESGD_FUZZ_BUILD_DIR:-$preset_build}"
build="$(mkdir -p "$build" && cd "$build" && pwd)"
targets="${RACESGD_FUZZ_TARGETS:-$(cd "$root/fuzz/corpus" && ls -d */ | tr -d /)}"

# clang, ASan + UBSan everywhere, libFuzzer coverage (-fsanitize=fuzzer-no-link) in the
# libraries: the asan preset, or a directory of the caller's with the same settings.
if [[ "$build" == "$preset_build" ]]; then
  configure=(cmake --preset asan)
else
  configure=(cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRACESGD_SANITIZE=address -DRACESGD_FUZZ=ON
    -DRACESGD_BUILD_TESTS=OFF -DRACESGD_BUILD_BENCHMARKS=OFF)
fi
(cd "$root" && "${configure[@]}") >"$build/fuzz-configure.log" 2>&1 ||
  { cat "$build/fuzz-configure.log" >&2; exit 1; }
build_targets=()
for t in $targets; do build_targets+=("fuzz_$t"); done
cmake --build "$build" -j2 --target "${build_targets[@]}"

artifacts="$build/fuzz-artifacts"
logs="$build/fuzz-logs"
mkdir -p "$artifacts" "$logs"
work_root="$(mktemp -d)"
trap 'rm -rf "$work_root"' EXIT

failed=0
rows=()
for t in $targets; do
  work="$work_root/$t"
  mkdir -p "$work"
  corpora=("$work" "$root/fuzz/corpus/$t")
  [[ -d "$root/tests/fuzz_regressions/$t" ]] && corpora+=("$root/tests/fuzz_regressions/$t")
  log="$logs/$t.log"
  echo "== fuzz_$t for ${seconds}s (log: $log)"
  status=ok
  # ASan's own leak check and UBSan stop at the first report; libFuzzer turns either into
  # a saved artifact and a non-zero exit.
  if ! ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" \
      UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
      "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$artifacts/$t-" "${corpora[@]}" >"$log" 2>&1; then
    status=FAILED
    failed=1
    grep -E "^==[0-9]+==ERROR|runtime error|CHECK failed|Test unit written|ALARM|out-of-memory" \
      "$log" | head -n 8 >&2 || true
  fi
  # libFuzzer's last words: "Done 123456 runs in 61 second(s)"; "#N DONE cov: C ft: F corp: K/..."
  runs="$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1/p' "$log" | tail -n 1)"
  secs="$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\2/p' "$log" | tail -n 1)"
  cov="$(sed -nE 's/^#[0-9]+[[:space:]]+DONE[[:space:]]+cov: ([0-9]+).*/\1/p' "$log" | tail -n 1)"
  corp="$(sed -nE 's/^#[0-9]+[[:space:]]+DONE.* corp: ([0-9]+).*/\1/p' "$log" | tail -n 1)"
  rate="-"
  if [[ -n "$runs" && -n "$secs" && "$secs" -gt 0 ]]; then rate=$((runs / secs)); fi
  rows+=("$(printf '%-16s %-7s %12s %6s %10s %6s %6s' "$t" "$status" "${runs:--}" "${secs:--}" \
    "$rate" "${cov:--}" "${corp:--}")")
  if [[ -n "${RACESGD_FUZZ_KEEP:-}" ]]; then
    mkdir -p "$RACESGD_FUZZ_KEEP/$t" && cp -n "$work"/* "$RACESGD_FUZZ_KEEP/$t"/ 2>/dev/null || true
  fi
done

echo
printf '%-16s %-7s %12s %6s %10s %6s %6s\n' target status runs seconds "execs/s" cov corpus
for r in "${rows[@]}"; do echo "$r"; done
if [[ "$failed" -ne 0 ]]; then
  echo "fuzz: FAILED (inputs under $artifacts; replay with $build/fuzz/fuzz_<target> <file>)" >&2
  exit 1
fi
echo "fuzz: every target ran ${seconds}s without a crash"
