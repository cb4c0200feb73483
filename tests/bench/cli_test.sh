#!/usr/bin/env bash
# End-to-end checks of the racesgd executable: every bad input exits 2 with a message
# naming what is wrong; good runs write their outputs. Usage: cli_test.sh RACESGD SOURCE_DIR
set -uo pipefail
racesgd=$1
src=$2
fx="$src/tests/fixtures"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

# expect_error "description" "text the message must contain" args...
expect_error() {
  local what=$1 needle=$2
  shift 2
  local err rc
  err=$("$racesgd" "$@" 2>&1 >/dev/null)
  rc=$?
  if [[ $rc -eq 2 && "$err" == *"$needle"* ]]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $what: exit $rc (want 2), message: $err (want it to contain: $needle)"
  fi
}

expect_ok() {
  local what=$1
  shift
  local out rc
  out=$("$racesgd" "$@" 2>&1)
  rc=$?
  if [[ $rc -eq 0 ]]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $what: exit $rc: $out"
  fi
}

check() {  # check "description" command...
  local what=$1
  shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what"; fi
}

data=(--data "$fx/mnist100-images-idx3-ubyte" --test-fraction 0.3 --batch 8 --progress off)

# Flags and specs are checked before any data is read (CI has no MNIST): run the checks
# with an empty data folder so a test machine with MNIST behaves like one without.
mkdir -p "$tmp/nodata"
expect_error "missing MNIST" "run scripts/setup.sh" train --data-dir "$tmp/nodata"
expect_error "delay checked before data" "exp:mean=-1ms" train --data-dir "$tmp/nodata" --delay exp:mean=-1ms
expect_error "no command" "usage" 
expect_error "unknown command" "unknown command 'trian'" trian
expect_error "unknown flag" "bogus" train --bogus 3
expect_error "stray word" "unexpected argument 'extra'" train extra
expect_error "flag without value" "variant" train --variant
expect_error "unknown variant" "unknown variant 'hogwild'" train --variant hogwild
expect_error "K > P" "-K" train --variant k-async -P 4 -K 5
expect_error "P = 0" "-P" train -P 0
expect_error "bad delay model" "unknown delay model" train --delay gaussian:mean=1ms
expect_error "negative delay" "exp:mean=-1ms" train --delay exp:mean=-1ms
expect_error "pareto alpha <= 1" "pareto:scale=1ms,alpha=0.9" train --delay pareto:scale=1ms,alpha=0.9
expect_error "missing trace" "no-such-trace.csv" train --delay trace:file=no-such-trace.csv
expect_error "bad lr" "--lr" train --lr -0.1
expect_error "lr not a number" "--lr" train --lr fast
expect_error "bad schedule" "--lr-schedule" train --lr-schedule cosine
expect_error "time without unit" "--time" train --time 10
expect_error "bad clock" "--clock" train --clock wall
expect_error "bad target" "--target-error" train --target-error 1.5
expect_error "timing-only with target" "--target-error" train --timing-only --target-error 0.1
expect_error "bad eval-every" "--eval-every" train --eval-every 0
expect_error "bad model" "mlp:hidden=0" train "${data[@]}" --model mlp:hidden=0 --out "$tmp/x"
expect_error "unknown model" "unknown model" train "${data[@]}" --model resnet --out "$tmp/x"
expect_error "missing data file" "/no/such/file.csv" train --data /no/such/file.csv --out "$tmp/x"
printf 'a,b,label\n1,2,0\n3,4\n' > "$tmp/ragged.csv"
expect_error "ragged csv" "ragged.csv" train --data "$tmp/ragged.csv" --out "$tmp/x"
expect_error "batch larger than data" "--batch" train "${data[@]}" --batch 5000 --out "$tmp/x"
expect_error "unwritable out" "/proc/racesgd" train "${data[@]}" --out /proc/racesgd/out
expect_error "bad eigen cache" "--eigen-cache" train --eigen-cache 1,2
expect_error "race: missing config" "missing.toml" race --config "$tmp/missing.toml"
printf 'P = 8\nvariants = [\n' > "$tmp/broken.toml"
expect_error "race: broken toml" "broken.toml:" race --config "$tmp/broken.toml"
printf 'P = 8\nvarients = ["sync"]\n' > "$tmp/unknown.toml"
expect_error "race: unknown key" "unknown parameter 'varients'" race --config "$tmp/unknown.toml"
expect_error "race: bad entry" "unknown variant" race --variants sync,fast-sync
expect_error "race: K out of range" "-K" race --variants k-async:K=9 -P 8
expect_error "race: repeats" "--repeats" race --repeats 0
expect_error "theory: bad range" "-P" theory -P 5..2
expect_error "theory: bad delay" "unknown delay model" theory --delay nope

# A good virtual-clock run writes both files with the promised fields.
expect_ok "train virtual" train "${data[@]}" --variant k-async -P 4 -K 2 --clock virtual \
  --delay exp:mean=1ms --updates 40 --out "$tmp/train"
check "curve.csv header" grep -q '^time_s,updates,gradients,train_loss,test_error,staleness_mean' "$tmp/train/curve.csv"
check "summary.json fields" /usr/bin/python3 -c "
import json, sys
s = json.load(open('$tmp/train/summary.json'))
need = ['variant','P','K','delay','updates','wall_time_s','mean_update_interval_s','staleness_mean',
        'staleness_max','p0','gradients_applied','gradients_cancelled','final_test_error',
        'final_train_loss','seed','config','context']
missing = [k for k in need if k not in s]
sys.exit(1 if missing or s['updates'] != 40 or s['gradients_applied'] != 80 else 0)"
# The same flags and seed give a byte-identical curve.csv on the virtual clock, and a
# summary.json that differs only in the real-time fields.
cp -r "$tmp/train" "$tmp/train2"
expect_ok "train virtual again" train "${data[@]}" --variant k-async -P 4 -K 2 --clock virtual \
  --delay exp:mean=1ms --updates 40 --out "$tmp/train"
check "virtual curve.csv byte-identical" cmp "$tmp/train/curve.csv" "$tmp/train2/curve.csv"
check "virtual summary.json identical but for real time" /usr/bin/python3 -c "
import json, sys
a, b = (json.load(open(f'$tmp/{d}/summary.json')) for d in ('train', 'train2'))
for s in (a, b):
    for k in ('wall_time_s', 'eval_time_s'): s.pop(k)
    s['context'].pop('started_utc')
sys.exit(0 if a == b else 1)"
# Accuracy end to end: softmax regression on sklearn's digits (1797 x 64) with 4 learners.
expect_ok "train digits" train --data "$fx/digits.csv.gz" --format csv --test-fraction 0.25 \
  --variant k-batch-async -P 4 -K 2 --clock virtual --delay exp:mean=1ms --lr 0.2 --batch 16 \
  --updates 1500 --progress off --out "$tmp/digits"
check "digits accuracy >= 93%" /usr/bin/python3 -c "
import json, sys
s = json.load(open('$tmp/digits/summary.json'))
print('digits test error', s['final_test_error'])
sys.exit(0 if s['final_test_error'] <= 0.07 else 1)"
expect_ok "train real" train "${data[@]}" --variant k-batch-sync -P 3 -K 2 --delay exp:mean=1ms \
  --time 0.3s --out "$tmp/real"
check "real summary" test -s "$tmp/real/summary.json"
expect_ok "theory json" theory --delay exp:mean=1ms -P 8 -K 2 --json
check "theory json parses" bash -c "'$racesgd' theory --delay shifted-exp:shift=1ms,mean=1ms -P 1..4 --json | /usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)'"
printf 'variants = ["sync", "k-async:K=2"]\nP = 4\nrepeats = 1\nclock = "virtual"\nupdates = 30\n' > "$tmp/race.toml"
expect_ok "race from a config file" race --config "$tmp/race.toml" "${data[@]}" --plot=false --out "$tmp/race"
check "race outputs" test -s "$tmp/race/runs.csv" -a -s "$tmp/race/summary.csv" -a -s "$tmp/race/summary.json"
check "race runs.csv rows" bash -c "grep -c '^k-async,2,0,' '$tmp/race/runs.csv' | grep -qv '^0$'"
expect_ok "help" train --help

# Faults: a failing learner stops the run naming it (exit 1, outputs written) ...
"$racesgd" train "${data[@]}" --variant sync -P 3 --clock virtual --updates 50 \
  --delay 'faulty:base=exp:mean=1ms,worker=2,after=3' --out "$tmp/fault" >/dev/null 2>"$tmp/fault.err"
check "failing learner: exit 1" test $? -eq 1
check "failing learner: named" grep -q "worker 2 failed: injected fault" "$tmp/fault.err"
check "failing learner: summary written" grep -q '"stop_reason": "worker-failed"' "$tmp/fault/summary.json"
# ... or, with --on-worker-failure continue, leaves and the run finishes with P-1.
expect_ok "continue after a failure" train "${data[@]}" --variant sync -P 3 --clock virtual \
  --updates 50 --delay 'faulty:base=exp:mean=1ms,worker=2,after=3' --on-worker-failure continue \
  --out "$tmp/fault2"
check "continue: says so" grep -q 'continued with 2 of 3 learners' "$tmp/fault2/summary.json"
# A learner that never returns: the watchdog names it.
"$racesgd" train "${data[@]}" --variant sync -P 3 --delay 'hetero:const:value=1ms,scales=1,1,100000' \
  --stall-timeout 0.5s --time 30s --out "$tmp/stall" >/dev/null 2>"$tmp/stall.err"
check "stall: exit 1" test $? -eq 1
check "stall: names the stuck learner" grep -q "stuck: worker(s) 2" "$tmp/stall.err"
expect_error "bad stall timeout" "--stall-timeout" train --stall-timeout soon
expect_error "bad failure policy" "--on-worker-failure" train --on-worker-failure ignore
# SIGINT: the run stops within a second or two, writes its outputs marked interrupted, exits 1.
"$racesgd" train "${data[@]}" --variant k-async -P 4 -K 2 --delay exp:mean=2ms --time 60s \
  --out "$tmp/sigint" >/dev/null 2>&1 &
pid=$!
sleep 1.5
kill -INT $pid
start=$(date +%s%N)
wait $pid
rc=$?
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "SIGINT: exit 1" test $rc -eq 1
check "SIGINT: stopped within 5 s (took ${took_ms} ms)" test $took_ms -lt 5000
check "SIGINT: summary marked interrupted" grep -q '"interrupted": true' "$tmp/sigint/summary.json"
check "SIGINT: curve written" test -s "$tmp/sigint/curve.csv"

# Resuming a real-clock run that already finished adds no update (it used to add one).
expect_ok "finished run with a checkpoint" train "${data[@]}" --variant async -P 2 --updates 50 \
  --delay const:value=1ms --checkpoint "$tmp/done-ckpt" --out "$tmp/done"
expect_ok "resume a finished run" train --resume "$tmp/done-ckpt" --out "$tmp/done2"
check "resume of a finished run: still 50 updates" grep -q '"updates": 50,' "$tmp/done2/summary.json"

# --- Issue 9, helper D1: snapshot memory, signals during ticks and scoring, repeated rows ---
# A model whose evaluation snapshots cannot fit the budget fails at once (exit 2) naming the
# model, its size and the flag; it used to allocate for 14 s and abort with std::bad_alloc.
start=$(date +%s%N)
timeout 60 "$racesgd" train "${data[@]}" --clock virtual --updates 20 -P 2 -K 1 --batch 2 \
  --model mlp:hidden=200000 --out "$tmp/huge" >/dev/null 2>"$tmp/huge.err"
rc=$?
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "huge model: exit 2 (got $rc)" test $rc -eq 2
check "huge model: fails within 10 s (took ${took_ms} ms)" test $took_ms -lt 10000
check "huge model: names the model, its parameters and --snapshot-memory" \
  grep -q "mlp:hidden=200000 has 159,000,010 parameters.*--snapshot-memory" "$tmp/huge.err"
expect_error "snapshot budget 0" "--snapshot-memory" train --data-dir "$tmp/nodata" --snapshot-memory 0
expect_error "snapshot budget abc" "--snapshot-memory" train --data-dir "$tmp/nodata" --snapshot-memory abc
expect_ok "explicit snapshot budget" train "${data[@]}" --clock virtual --updates 20 \
  --snapshot-memory 64MiB --out "$tmp/budget"
# Ticks with no update in between write no rows: --time 1ns gives the start and the end.
expect_ok "virtual --time 1ns" train "${data[@]}" --clock virtual --time 1ns --out "$tmp/t1ns"
rows=$(grep -v '^#' "$tmp/t1ns/curve.csv" | tail -n +2 | wc -l)
check "--time 1ns: 2 curve rows, not 100 (got $rows)" test "$rows" -eq 2
expect_ok "virtual --eval-every 100ns" train "${data[@]}" --clock virtual --updates 50 \
  --eval-every 100ns --out "$tmp/e100ns"
rows=$(grep -v '^#' "$tmp/e100ns/curve.csv" | tail -n +2 | wc -l)
check "--eval-every 100ns: at most one row per update (got $rows for 50)" test "$rows" -le 52
# SIGINT while the virtual clock has billions of 1 ns ticks before each 10 s event: the
# run stops within seconds (it used to loop over the ticks without looking at the signal).
timeout 60 "$racesgd" train "${data[@]}" --clock virtual --delay const:value=10s --eval-every 1ns \
  --updates 100000000 --out "$tmp/tick-sigint" >/dev/null 2>&1 &
pid=$!
sleep 1.5
kill -INT $pid
start=$(date +%s%N)
wait $pid
rc=$?
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "SIGINT during 1ns ticks: exit 1 (got $rc)" test $rc -eq 1
check "SIGINT during 1ns ticks: stopped within 5 s (took ${took_ms} ms)" test $took_ms -lt 5000
check "SIGINT during 1ns ticks: summary marked interrupted" \
  grep -q '"interrupted": true' "$tmp/tick-sigint/summary.json"
# --- end of helper D1's block ---

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
