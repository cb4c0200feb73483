#!/usr/bin/env bash
# Crash safety of checkpoints: start `racesgd train --checkpoint`, kill -9 it at a random
# moment, then check that the checkpoint left behind loads and that resuming finishes
# (exit 0, outputs written). On the virtual clock the resumed curve.csv must also equal an
# uninterrupted run's byte for byte. Trials alternate between the virtual and the real clock.
#
#   kill9_test.sh RACESGD SOURCE_DIR [TRIALS]
#
# The work scales with the build (ctest sets RACESGD_SANITIZE from CMake; set it yourself
# when running a sanitizer build's racesgd by hand): a plain build runs 20 trials and a
# 25,000-update virtual run; under ASan or TSan, where a training update costs ~20x more,
# 10 trials and a 2,500-update run (~1.2 s under ASan on the 2-core CI machine, quiet;
# release 25,000 updates: ~0.4 s). Times and limits: docs/reliability.md, "The test suite:
# jobs, limits, times".
set -uo pipefail
racesgd=$1
src=$2
case "${RACESGD_SANITIZE:-}" in
  "") default_trials=20 updates=25000 ;;
  address | thread) default_trials=10 updates=2500 ;;
  *) echo "kill9_test.sh: RACESGD_SANITIZE must be '', 'address' or 'thread'," \
       "got '$RACESGD_SANITIZE'" >&2; exit 2 ;;
esac
trials=${3:-$default_trials}
fx="$src/tests/fixtures"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
no_checkpoint=0
killed=0
killed_virtual=0
checks=0
leftover_tmp=0
RANDOM=12345  # reproducible kill moments

data=(--data "$fx/mnist100-images-idx3-ubyte" --test-fraction 0.3 --batch 8 --progress off)
virtual=(train "${data[@]}" --variant k-async -P 4 -K 2 --clock virtual --delay exp:mean=1ms
         --updates "$updates")
real=(train "${data[@]}" --variant k-batch-async -P 3 -K 2 --clock real --delay exp:mean=1ms
      --time 1s)

now_ms() { echo $(($(date +%s%N) / 1000000)); }
ref_start=$(now_ms)
"$racesgd" "${virtual[@]}" --out "$tmp/reference" >/dev/null 2>&1 || {
  echo "FAIL: reference run"
  exit 1
}
ref_ms=$(($(now_ms) - ref_start))  # how long a virtual run lasts on this machine, today

for ((t = 0; t < trials; ++t)); do
  if ((t % 2 == 0)); then args=("${virtual[@]}"); clock=virtual; else args=("${real[@]}"); clock=real; fi
  dir="$tmp/t$t"
  "$racesgd" "${args[@]}" --out "$dir/out" --checkpoint "$dir/ckpt" --checkpoint-every 0.1s \
    >/dev/null 2>&1 &
  start=$(now_ms)
  pid=$!
  # Kill at a random moment between the first checkpoint and the run's expected end: during
  # or between later checkpoint writes (one every 0.1 s). Both ends are measured, not fixed,
  # so the kill lands inside the run however fast or slow this machine is today (a
  # sanitizer, a busy machine): the first checkpoint's appearance, and the end of the
  # reference run (virtual) or of the 1 s real-clock run.
  while [[ ! -e "$dir/ckpt/checkpoint.rsgd" ]] && kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
  if [[ $clock == virtual ]]; then window=$((ref_ms - ($(now_ms) - start))); else window=750; fi
  ((window < 50)) && window=50
  wait_ms=$((RANDOM % window))
  sleep "$(printf '%d.%03d' $((wait_ms / 1000)) $((wait_ms % 1000)))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if (($? == 137)); then  # 128 + SIGKILL; 0 if the run had already ended
    killed=$((killed + 1))
    [[ $clock == virtual ]] && killed_virtual=$((killed_virtual + 1))
  fi
  ls "$dir/ckpt"/checkpoint.rsgd.tmp.* >/dev/null 2>&1 && leftover_tmp=$((leftover_tmp + 1))
  if [[ ! -e "$dir/ckpt/checkpoint.rsgd" ]]; then
    # A run writes a checkpoint 0.1 s in and when it ends: none means it died on its own.
    no_checkpoint=$((no_checkpoint + 1))
    fail=$((fail + 1))
    echo "FAIL: trial $t ($clock): the run ended without writing a checkpoint"
    continue
  fi
  out=$("$racesgd" train --resume "$dir/ckpt" --out "$dir/resumed" --progress off 2>&1)
  rc=$?
  if [[ $rc -ne 0 || ! -s "$dir/resumed/curve.csv" || ! -s "$dir/resumed/summary.json" ]]; then
    fail=$((fail + 1))
    echo "FAIL: trial $t ($clock): resume exit $rc: $out"
    continue
  fi
  if [[ $clock == virtual ]] && ! cmp -s "$tmp/reference/curve.csv" "$dir/resumed/curve.csv"; then
    fail=$((fail + 1))
    echo "FAIL: trial $t (virtual): resumed curve.csv differs from the uninterrupted run"
    diff "$tmp/reference/curve.csv" "$dir/resumed/curve.csv" | head -5
    continue
  fi
  pass=$((pass + 1))
done

# Bad resumes exit 2 naming the problem: a run-shaping flag, a damaged or missing file.
expect_error() {  # expect_error "description" "text the message must contain" args...
  local what=$1 needle=$2
  shift 2
  local err
  err=$("$racesgd" "$@" 2>&1 >/dev/null)
  local rc=$?
  if [[ $rc -eq 2 && "$err" == *"$needle"* ]]; then checks=$((checks + 1)); else
    fail=$((fail + 1)); echo "FAIL: $what: exit $rc (want 2): $err (want: $needle)"; fi
}
good=""  # a trial that left a checkpoint (trial 0 may be killed before its first one)
for ((t = 0; t < trials; ++t)); do
  if [[ -e "$tmp/t$t/ckpt/checkpoint.rsgd" ]]; then good="$tmp/t$t/ckpt"; break; fi
done
[[ -n $good ]] || { echo "FAIL: no trial left a checkpoint"; exit 1; }
expect_error "resume with --lr" "--lr: cannot be given with --resume" train --resume "$good" --lr 0.5
expect_error "resume from nothing" "no-such-dir" train --resume "$tmp/no-such-dir"
mkdir -p "$tmp/cut" "$tmp/flip"
head -c 1000 "$good/checkpoint.rsgd" > "$tmp/cut/checkpoint.rsgd"
expect_error "truncated checkpoint" "cut/checkpoint.rsgd" train --resume "$tmp/cut" --out "$tmp/x"
cp "$good/checkpoint.rsgd" "$tmp/flip/checkpoint.rsgd"
printf '\xff' | dd of="$tmp/flip/checkpoint.rsgd" bs=1 seek=5000 conv=notrunc 2>/dev/null
expect_error "flipped byte" "checksum mismatch" train --resume "$tmp/flip" --out "$tmp/x"

echo "kill -9: $trials trials ($updates-update virtual runs of ${ref_ms} ms)," \
     "$killed killed mid-run ($killed_virtual of them virtual)," \
     "$pass resumed fine, $fail failed, $no_checkpoint ended without a checkpoint," \
     "$leftover_tmp left a temporary file (ignored); $checks bad-resume checks passed"
# Every trial must have resumed (each was killed after its first checkpoint), and most
# kills must have hit a running process, or the test proves nothing. The real-clock runs
# (half the trials) last 1 s from their start, longer than the kill moment.
if ((fail > 0 || pass != trials || killed < trials / 2)); then exit 1; fi
exit 0
