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

# ---- Issue 9, helper C: the delay cap, saturating deadlines, theory 'never' and an
# independent theory --measure, durations in min and h. Every run is bounded by a timeout
# that also kills: these inputs used to spin forever and ignore SIGTERM, and a regression
# must fail here rather than hang the suite.
c_expect_error() {  # like expect_error, under a 60 s timeout
  local what=$1 needle=$2
  shift 2
  local err rc
  err=$(timeout -k 5 60 "$racesgd" "$@" 2>&1 >/dev/null)
  rc=$?
  if [[ $rc -eq 2 && "$err" == *"$needle"* ]]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $what: exit $rc (want 2), message: $err (want it to contain: $needle)"
  fi
}
c_run() { timeout -k 5 60 "$racesgd" "$@"; }
# A trace holding 1e308 drove the virtual clock to +inf; over the 1e6 s cap it is an input error.
printf '0.001\n1e308\n' >"$tmp/c-huge.csv"
c_expect_error "trace value above the delay cap" "line 2: delay 1e308 is above the delay cap of 1e+06s" \
  train "${data[@]}" --clock virtual --variant sync -P 2 --updates 5 \
  --delay "trace:file=$tmp/c-huge.csv" --out "$tmp/c-huge"
c_expect_error "1e9 s const times 1e299 scales" "is out of range [0s, 1e+06s]" \
  train "${data[@]}" --clock virtual --variant sync -P 4 --updates 5 \
  --delay 'hetero:const:value=1e9s,scales=1e299,1e299,1e299,1e299' --out "$tmp/c-hetero"
# A 1e13 straggler on the real clock was served at once (UB in the nanosecond conversion).
c_expect_error "hetero scale above the delay cap" "scale 1e+13 of worker 1" \
  train "${data[@]}" --variant sync -P 2 --time 2s \
  --delay 'hetero:const:value=1ms,scales=1,1e13' --out "$tmp/c-1e13"
# At the cap itself: the real clock waits for the straggler (no update in 1 s)...
c_run train "${data[@]}" --variant sync -P 2 --time 1s --delay 'hetero:const:value=1ms,scales=1,1e9' \
  --out "$tmp/c-cap-real" >/dev/null 2>&1
check "straggler at the cap, real clock: exit 0" test $? -eq 0
check "straggler at the cap, real clock: not served at once" \
  grep -q '"updates": 0,' "$tmp/c-cap-real/summary.json"
# ... and the virtual clock steps over it in no time.
c_run train "${data[@]}" --clock virtual --variant sync -P 4 --updates 3 \
  --delay 'hetero:const:value=1s,scales=1,1,1,1e6' --out "$tmp/c-cap-virtual" >/dev/null 2>&1
check "straggler at the cap, virtual clock: exit 0" test $? -eq 0
check "straggler at the cap, virtual clock: 3 updates of 1e6 s" \
  grep -q '"run_time_s": 3000000.0,' "$tmp/c-cap-virtual/summary.json"
# Durations in minutes and hours; a bare m is ambiguous.
c_run train "${data[@]}" --clock virtual --time 0.5min --delay const:value=0.001min \
  --out "$tmp/c-min" >/dev/null 2>&1
check "--time 0.5min: exit 0" test $? -eq 0
check "--time 0.5min: 30 s of virtual time" grep -q '"run_time_s": 30.0,' "$tmp/c-min/summary.json"
c_run train "${data[@]}" --clock virtual --time 1.5h --updates 5 --out "$tmp/c-h" >/dev/null 2>&1
check "--time 1.5h: exit 0" test $? -eq 0
# Flags that take a duration or a count tell them apart by the unit, min and h included.
c_run train "${data[@]}" --clock virtual --time 1h --eval-every 10min --delay const:value=1s \
  --lr-decay step:every=30min,factor=0.5 --out "$tmp/c-every" >/dev/null 2>&1
check "--eval-every 10min, --lr-decay every=30min: exit 0" test $? -eq 0
check "--eval-every 10min: 8 curve points in 1 h" \
  test "$(grep -c '^[0-9]' "$tmp/c-every/curve.csv" 2>/dev/null)" -eq 8
c_expect_error "--time 2m is ambiguous" "ambiguous: write min for minutes or ms for milliseconds" \
  train "${data[@]}" --time 2m --out "$tmp/c-m"
c_expect_error "exp:mean=2m is ambiguous" "exp:mean=2m' parameter mean: '2m' is ambiguous" \
  train "${data[@]}" --delay exp:mean=2m --out "$tmp/c-m"
# theory: delays that never finish say so (no 0s, nan or 180-digit speed-ups), exit 0.
printf '1\n2\n3\n' >"$tmp/c-stop.csv"
for d in hang 'straggler:base=exp:mean=1ms,slow=hang,p=0.1' "trace:file=$tmp/c-stop.csv,end=stop,unit=ms"; do
  c_run theory --delay "$d" -P 4 -K 2 --mc-updates 1000 >"$tmp/c-never.out" 2>&1
  check "theory $d: exit 0" test $? -eq 0
  check "theory $d: every row says never" \
    test "$(grep -Ec '^[a-z-]+ +[0-9]+ +never ' "$tmp/c-never.out")" -eq 6
  check "theory $d: says why" grep -q '^never: ' "$tmp/c-never.out"
  check "theory $d: no nan, no 0s, no huge numbers" \
    bash -c "! grep -Eiq 'nan|  0s |[0-9]{12}' '$tmp/c-never.out'"
done
c_run theory --delay hang -P 4 -K 2 --json >"$tmp/c-never.json" 2>&1
check "theory --json hang: seconds null and the reason" \
  grep -q '"never": "a learner never finishes' "$tmp/c-never.json"
# theory --measure: an independent virtual-clock run, not the Monte Carlo prediction again
# (k-batch-sync and k-async are Monte Carlo predictions here: meas/pred was exactly 1).
c_run theory --delay shifted-exp:shift=1ms,mean=1ms -P 8 -K 2 --variant k-batch-sync,k-async \
  --mc-updates 2000 --measure --json >"$tmp/c-measure.json" 2>&1
check "theory --measure: exit 0" test $? -eq 0
check "theory --measure: two measured rows" \
  test "$(grep -c '"measured_over_predicted": ' "$tmp/c-measure.json")" -eq 2
check "theory --measure: not the prediction again (meas/pred != 1 exactly)" \
  bash -c "! grep -Eq '\"measured_over_predicted\": 1(\\.0)?,?\$' '$tmp/c-measure.json'"
check "theory --measure: both within 5% of the prediction" \
  test "$(grep -Ec '"measured_over_predicted": (0\.9[5-9]|1\.0[0-4])' "$tmp/c-measure.json")" -eq 2
c_run theory --delay shifted-exp:shift=1ms,mean=1ms -P 8 -K 2 --mc-updates 2000 --measure \
  >"$tmp/c-measure.out" 2>&1
check "theory --measure: says what was measured" grep -q 'independent of the Monte Carlo' "$tmp/c-measure.out"
# ---- end of helper C's block

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
