#!/usr/bin/env bash
# clang-tidy over racesgd's own sources (core models delay sgd ps worker runtime bench python; not tests/ or
# fuzz/) with the checked-in .clang-tidy. Fails on any finding.
#
#   scripts/tidy.sh [FILE_REGEX]      (default: every project source)
#
# Environment: RACESGD_TIDY_JOBS (default 2), RACESGD_TIDY_BUILD_DIR (default build/tidy) — a configure-only clang build
# whose compile_commands.json gives clang-tidy the exact flags (a GCC build's flags would
# add clang "unknown warning option" noise). Runs 2 jobs in parallel.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${RACESGD_TIDY_BUILD_DIR:-$root/build/tidy}"
# bench/micro (Google Benchmark harnesses) is left out: benchmark.h's registration API
# hands ownership to a global registry, which clang-analyzer reports as a leak in a header
# we cannot annotate.
filter="${1:-^$root/(core|models|delay|sgd|ps|worker|runtime|mpi|bench|python)/(?!micro/).*\.cc\$}"
jobs="${RACESGD_TIDY_JOBS:-2}"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=Release -DRACESGD_BUILD_TESTS=OFF -DRACESGD_BUILD_BENCHMARKS=OFF \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log" >&2; exit 1; }

runner="$(command -v run-clang-tidy-14 || command -v run-clang-tidy || true)"
log="$build/tidy.log"
start=$SECONDS
status=0
if [[ -n "$runner" ]]; then
  "$runner" -clang-tidy-binary "$(command -v clang-tidy-14 || command -v clang-tidy)" \
    -p "$build" -j "$jobs" -quiet "$filter" >"$log" 2>&1 || status=$?
else
  mapfile -t files < <(python3 -c 'import json,re,sys
for e in json.load(open(sys.argv[1])):
    if re.search(sys.argv[2], e["file"]): print(e["file"])' "$build/compile_commands.json" "$filter")
  printf '%s\n' "${files[@]}" | xargs -P "$jobs" -n 1 clang-tidy -p "$build" --quiet \
    --warnings-as-errors='*' >"$log" 2>&1 || status=$?
fi
sed -i 's/\x1b\[[0-9;]*m//g' "$log"  # run-clang-tidy colours its output
findings="$(grep -cE '(warning|error): .*\[[A-Za-z0-9.,-]+\]$' "$log" || true)"
files="$(python3 -c 'import json,re,sys
print(sum(1 for e in json.load(open(sys.argv[1])) if re.search(sys.argv[2], e["file"])))' \
  "$build/compile_commands.json" "$filter")"
echo "clang-tidy: $files files, $findings findings, $((SECONDS - start)) s (log: $log)"
if [[ "$status" -ne 0 || "$findings" -ne 0 ]]; then
  grep -E -A3 '(warning|error): .*\[[A-Za-z0-9.,-]+\]$' "$log" | head -n 200 >&2 || true
  echo "clang-tidy: FAILED" >&2
  exit 1
fi
echo "clang-tidy: clean"
