#!/usr/bin/env bash
# End-to-end checks of the racesgd executable: every bad input exits 2 with a message
# naming what is wrong; good runs write their outputs. Usage: cli_test.sh RACESGD SOURCE_DIR
set -uo pipefail
racesgd=$1
src=$2
fx="$src/tests/fixtures"
source "$src/tests/shell_checks.sh"
scratch_dir
# Checks that take long are named, so a slow machine's CI log says where the time went.
last_check_end=$SECONDS
note_time() {
  local took=$((SECONDS - last_check_end))
  ((took >= 20)) && echo "slow: '$1' ended ${took}s after the previous check"
  last_check_end=$SECONDS
}

# expect_error "description" "text the message must contain" args...: racesgd exits 2 with
# that text (expect_exit2, tests/shell_checks.sh).
expect_error() {
  expect_exit2 "$1" "$2" "$racesgd" "${@:3}"
  note_time "$1"
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
  note_time "$what"
}

check() {  # check "description" command...
  local what=$1
  shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what"; fi
  note_time "$what"
}

# interrupt_after SECONDS args...: runs racesgd (under a 60 s timeout) in the background,
# sends SIGINT after SECONDS, waits; sets rc (its exit code) and took_ms (signal to exit).
interrupt_after() {
  local after=$1
  shift
  # --foreground: otherwise timeout passes the SIGINT on to its whole process group as well,
  # racesgd gets it twice, and a second signal ends it at once with 130 (seen in CI-like
  # runs half the time).
  timeout --foreground 60 "$racesgd" "$@" >/dev/null 2>&1 &
  local pid=$! start
  sleep "$after"
  kill -INT $pid
  start=$(date +%s%N)
  wait $pid
  rc=$?
  took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
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
expect_error "unknown compensation" "--compensation 'adam'" train --compensation adam
expect_error "ssp without its bound" "--staleness-bound S" train --variant ssp
expect_error "a bound without ssp" "--staleness-bound: only for --variant ssp" train --variant async --staleness-bound 2
expect_error "negative bound" "--staleness-bound" train --variant ssp --staleness-bound -1
expect_error "negative dc lambda" "parameter 'lambda' = -1 is out of range [0, 1e+300]" train --compensation dc:lambda=-1
expect_error "dc-adaptive momentum 1" "momentum must be below 1" train --compensation dc-adaptive:momentum=1
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
# Ringmaster's --max-staleness: R >= 1, async family only (the message says why).
expect_error "max-staleness 0" "--max-staleness: 0 must be at least 1" train --variant async --max-staleness 0
expect_error "max-staleness not a number" "--max-staleness" train --variant async --max-staleness soon
expect_error "max-staleness with sync" "k-sync never applies a stale gradient" train --variant k-sync --max-staleness 2
expect_error "race: max-staleness with a sync entry" "sync never applies a stale gradient" race --variants sync,async --max-staleness 2
expect_error "race: entry R = 0" "R" race --variants async:R=0
expect_error "race: R on a sync entry" "k-batch-sync never applies" race --variants k-batch-sync:K=2,R=3
expect_error "theory: max-staleness 0" "--max-staleness: 0 must be at least 1" theory --max-staleness 0
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
    for k in ('wall_time_s', 'eval_time_s', 'process_cpu_s'): s.pop(k)
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
# Just-in-time gradients (issue 13): --compute-at picks when inside X a learner computes; a
# real-clock run reports it and how late the computations ended (compute_late), a virtual
# one neither. check_compute_late DIR WANT: summary.json says compute_at WANT and its
# compute_late agrees with itself and with the gradients applied (async: one per update).
check_compute_late() {
  /usr/bin/python3 - "$1/summary.json" "$2" <<'PY'
import json, math, sys
s = json.load(open(sys.argv[1]))
want = sys.argv[2]
ok = True
def need(cond, what):
    global ok
    if not cond:
        ok = False
        print("compute_late:", what, "in", sys.argv[1])
need(s.get("compute_at") == want, f"compute_at is {s.get('compute_at')!r}, want {want!r}")
c = s.get("compute_late")
need(isinstance(c, dict), "no compute_late object")
if isinstance(c, dict):
    keys = {"gradients", "late", "late_fraction", "late_mean_s", "late_p99_s"}
    need(set(c) == keys, f"keys {sorted(c)}")
    if set(c) == keys:
        g, late = c["gradients"], c["late"]
        need(g == s["gradients_applied"] and g > 0, f"gradients {g}, applied {s['gradients_applied']}")
        need(0 <= late <= g, f"late {late} of {g}")
        need(math.isclose(c["late_fraction"], late / g), f"late_fraction {c['late_fraction']}")
        need(c["late_mean_s"] >= 0 and c["late_p99_s"] >= 0, "negative lateness")
        need((c["late_mean_s"] > 0) == (late > 0), f"late_mean_s {c['late_mean_s']} with {late} late")
sys.exit(0 if ok else 1)
PY
}
# (No data: a --compute-at that slipped through must not start a long run on MNIST.)
expect_error "bad --compute-at" "--compute-at" train --data-dir "$tmp/nodata" --compute-at nonsense
expect_error "race: bad compute-at" "--compute-at" race --data-dir "$tmp/nodata" --compute-at soon
jit=("${data[@]}" --variant async -P 2 --delay exp:mean=1ms --updates 30)
expect_ok "train real, compute at the deadline by default" train "${jit[@]}" --out "$tmp/jit-deadline"
check "real: compute_at deadline and compute_late" check_compute_late "$tmp/jit-deadline" deadline
expect_ok "train real --compute-at start" train "${jit[@]}" --compute-at start --out "$tmp/jit-start"
check "real: compute_at start and compute_late" check_compute_late "$tmp/jit-start" start
# X served after the compute: the compute comes first, and the summary says so.
expect_ok "train real --delay-after-compute" train "${jit[@]}" --delay-after-compute --out "$tmp/jit-after"
check "real, delay after compute: compute_at start" check_compute_late "$tmp/jit-after" start
check "virtual: no compute_at, no compute_late" /usr/bin/python3 -c "
import json, sys
s = json.load(open('$tmp/train/summary.json'))
sys.exit(1 if 'compute_at' in s or 'compute_late' in s else 0)"
# --max-staleness: a virtual run's histogram stops at R - 1; summary.json records R; a race
# (its entries from an experiment file) runs each entry with its own R, and an unset R is
# the run without a threshold, byte for byte.
ring=("${data[@]}" --clock virtual --variant async -P 4 --delay 'hetero:const:value=1ms,scales=1,1,1,5' --updates 60)
"$racesgd" train "${ring[@]}" --max-staleness 2 --out "$tmp/ring" >/dev/null 2>&1
check "max-staleness: histogram stops at R - 1, R in summary and config" /usr/bin/python3 -c "
import json; s = json.load(open('$tmp/ring/summary.json')); h = s['staleness_histogram']
assert s['max_staleness'] == 2 and s['config']['max-staleness'] == '2' and sum(h[2:]) == 0 and h[1] > 0 and s['gradients_cancelled'] > 0, (h, s['gradients_cancelled'])"
"$racesgd" train "${ring[@]}" --out "$tmp/ring-plain" >/dev/null 2>&1
check "no max-staleness: stale gradients applied, no max_staleness key" /usr/bin/python3 -c "
import json; s = json.load(open('$tmp/ring-plain/summary.json'))
assert 'max_staleness' not in s and s['staleness_max'] >= 2 and s['gradients_cancelled'] == 0"
printf 'variants = ["async", "async:R=2", "k-async:K=2,R=3"]\nP = 4\nrepeats = 1\nclock = "virtual"\nupdates = 60\nplot = false\ndelay = "hetero:const:value=1ms,scales=1,1,1,5"\n' > "$tmp/ring-race.toml"
"$racesgd" race --config "$tmp/ring-race.toml" "${data[@]}" --out "$tmp/ring-race" >/dev/null 2>&1
check "race: each entry with its own R (folders, summary, runs.csv)" /usr/bin/python3 -c "
import json, os; s = json.load(open('$tmp/ring-race/summary.json'))
assert [(v['variant'], v['K'], v['max_staleness']) for v in s['variants']] == [('async', 1, None), ('async', 1, 2), ('k-async', 2, 3)], s['variants']
runs = json.load(open('$tmp/ring-race/runs/async-K1-R2-r0/summary.json'))
assert runs['max_staleness'] == 2 and sum(runs['staleness_histogram'][2:]) == 0
assert json.load(open('$tmp/ring-race/runs/k-async-K2-R3-r0/summary.json'))['max_staleness'] == 3
assert open('$tmp/ring-race/runs.csv').read().count(',2\n') > 0"
check "race: the entry without R is the plain run" cmp <(grep -v '^#' "$tmp/ring-race/runs/async-K1-r0/curve.csv") <(grep -v '^#' "$tmp/ring-plain/curve.csv")
"$racesgd" race "${data[@]}" --clock virtual -P 4 --variants async --repeats 1 --updates 5 --plot=false \
  --out "$tmp/ring-race" >/dev/null 2>&1
check "race: a later race clears the -R run folders an earlier one left" \
  bash -c "[[ ! -e '$tmp/ring-race/runs/async-K1-R2-r0' && ! -e '$tmp/ring-race/runs/k-async-K2-R3-r0' && -d '$tmp/ring-race/runs/async-K1-r0' ]]"
"$racesgd" train "${ring[@]}" --max-staleness 2 --checkpoint "$tmp/ring-ckpt" --out "$tmp/ring-ck" >/dev/null 2>&1 &&
  "$racesgd" train --resume "$tmp/ring-ckpt" --out "$tmp/ring-resumed" >/dev/null 2>&1
check "max-staleness: a resumed run keeps R from its checkpoint" /usr/bin/python3 -c "
import json; s = json.load(open('$tmp/ring-resumed/summary.json'))
assert s['max_staleness'] == 2 and s['updates'] == 60 and sum(s['staleness_histogram'][2:]) == 0, s.get('max_staleness')"

# --k-schedule (AdaSync): the K variants only, a model to score; K grows in curve.csv and
# summary.json; race entries carry a schedule and a compensation of their own.
expect_error "k-schedule with sync" "AdaSync raises K, but sync waits for all P" train --variant sync --k-schedule adasync:every=1s
expect_error "k-schedule with async" "async applies every gradient alone" train --variant async --k-schedule adasync:every=1s
expect_error "k-schedule with ssp" "--k-schedule" train --variant ssp --staleness-bound 1 --k-schedule adasync:every=1s
expect_error "k-schedule without every" "adasync needs every=T0" train --variant k-async --k-schedule adasync
expect_error "k-schedule unknown" "unknown K schedule 'grow'" train --variant k-async --k-schedule grow
expect_error "k-schedule k0 above P" "k0=9 is more than the 4 learners" train --variant k-async -P 4 --k-schedule adasync:every=1s,k0=9
expect_error "k-schedule timing-only" "--timing-only" train --variant k-async --clock virtual --timing-only --k-schedule adasync:every=1s
expect_error "race: k-schedule on a sync entry" "sync waits for all P" race --variants sync,k-async --k-schedule adasync:every=1s
expect_error "race: an entry's adasync value" "adasync=soon" race --variants 'k-async:adasync=soon'
expect_error "race: two entries, one folder" "would share the run folder" race --variants 'async:dc=1e-2,async:dc=1e+2'
"$racesgd" race "${data[@]}" --clock virtual -P 4 --variants k-async:K=1,k-sync:K=1 --k-schedule adasync:every=5ms \
  --repeats 1 --updates 60 --delay exp:mean=1ms --plot=false --out "$tmp/ada-wide" >/dev/null 2>&1
check "race: a race-wide k-schedule reaches every entry" /usr/bin/python3 -c "
import json; s = json.load(open('$tmp/ada-wide/summary.json'))
assert [v['k_schedule'] for v in s['variants']] == ['adasync:every=5ms'] * 2, s['variants']
assert all(v['mean_update_interval_s']['method'] == 'none (K changes)' for v in s['variants'])
assert len(json.load(open('$tmp/ada-wide/runs/k-async-K1-r0/summary.json'))['k_changes']) >= 1"
expect_error "race: both dc and dc-adaptive" "not both" race --variants 'async:dc=0.1,dc-adaptive=2'
ada=("${data[@]}" --clock virtual --variant k-async -P 6 -K 1 --delay exp:mean=1ms --updates 400 --eval-every 20)
"$racesgd" train "${ada[@]}" --k-schedule adasync:every=20ms,samples=500 --out "$tmp/ada" >/dev/null 2>&1
check "adasync: K grows in curve.csv and summary.json" /usr/bin/python3 -c "
import csv, json; s = json.load(open('$tmp/ada/summary.json'))
ch = s['k_changes']; assert s['k_schedule'] == 'adasync:every=0.02s,samples=500' and len(ch) >= 2, ch
assert ch[0]['K'] == 1 and ch[0]['update'] == 0 and all(a['K'] < b['K'] for a, b in zip(ch, ch[1:])), ch
assert s['final_K'] == ch[-1]['K'] and s['K'] == 1
rows = list(csv.DictReader(l for l in open('$tmp/ada/curve.csv') if not l.startswith('#')))
ks = [int(r['K']) for r in rows]; assert ks[0] == 1 and ks[-1] == ch[-1]['K'] and ks == sorted(ks), ks"
"$racesgd" train "${ada[@]}" --k-schedule adasync:every=20ms,samples=500 --checkpoint "$tmp/ada-ckpt" --out "$tmp/ada-ck" >/dev/null 2>&1 &&
  "$racesgd" train --resume "$tmp/ada-ckpt" --out "$tmp/ada-resumed" >/dev/null 2>&1
check "adasync: a resumed run keeps the schedule and its changes from the checkpoint" /usr/bin/python3 -c "
import json; a = json.load(open('$tmp/ada/summary.json')); b = json.load(open('$tmp/ada-resumed/summary.json'))
assert b['k_schedule'] == a['k_schedule'] and b['k_changes'] == a['k_changes'] and b['updates'] == 400, (a['k_changes'], b.get('k_changes'))"
printf 'variants = ["k-async:K=1", "k-async:K=1,adasync=20ms", "async:dc=0.5"]\nP = 6\nrepeats = 1\nclock = "virtual"\nupdates = 200\nplot = false\ndelay = "exp:mean=1ms"\n' > "$tmp/ada-race.toml"
"$racesgd" race --config "$tmp/ada-race.toml" "${data[@]}" --out "$tmp/ada-race" >/dev/null 2>&1
check "race: entries with their own K schedule and compensation" /usr/bin/python3 -c "
import csv, json; s = json.load(open('$tmp/ada-race/summary.json'))
assert [(v['entry'], v['k_schedule'], v['compensation']) for v in s['variants']] == [('k-async K=1', None, None), ('k-async K=1 adasync=20ms', 'adasync:every=20ms', None), ('async K=1 dc=0.5', None, 'dc:lambda=0.5')], s['variants']
run = json.load(open('$tmp/ada-race/runs/k-async-K1-adasync20ms-r0/summary.json'))
assert run['k_schedule'].startswith('adasync:every=0.02s') and len(run['k_changes']) >= 2
assert json.load(open('$tmp/ada-race/runs/async-K1-dc0.5-r0/summary.json'))['config']['compensation'] == 'dc:lambda=0.5'
rows = list(csv.DictReader(l for l in open('$tmp/ada-race/runs.csv') if not l.startswith('#')))
assert {r['entry'] for r in rows} == {'k-async K=1', 'k-async K=1 adasync=20ms', 'async K=1 dc=0.5'}
assert max(int(r['K_in_force']) for r in rows if 'adasync' in r['entry']) > 1"

# A race's compute-at (here from its config file) reaches every run.
printf 'variants = ["async"]\nP = 2\nrepeats = 1\nclock = "real"\nupdates = 20\ncompute-at = "start"\n' > "$tmp/jit-race.toml"
expect_ok "race real, compute-at start" race --config "$tmp/jit-race.toml" "${data[@]}" --delay exp:mean=1ms \
  --plot=false --out "$tmp/jit-race"
check "race: each run computes at the start" /usr/bin/python3 -c "
import glob, json, sys
runs = glob.glob('$tmp/jit-race/runs/*/summary.json')
sys.exit(0 if runs and all(json.load(open(f)).get('compute_at') == 'start' for f in runs) else 1)"
expect_ok "theory json" theory --delay exp:mean=1ms -P 8 -K 2 --json
check "theory json parses" bash -c "'$racesgd' theory --delay shifted-exp:shift=1ms,mean=1ms -P 1..4 --json | /usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)'"
check "theory --max-staleness: the async family by Monte Carlo, R in the JSON" bash -c "'$racesgd' theory --delay exp:mean=1ms -P 4 -K 2 --max-staleness 2 --mc-updates 2000 --json | /usr/bin/python3 -c '
import json, sys; j = json.load(sys.stdin); m = {v[\"variant\"]: v[\"time_per_update\"][\"method\"] for v in j[\"variants\"]}
assert j[\"max_staleness\"] == 2 and m[\"sync\"] == \"closed form\" and m[\"async\"] == m[\"k-batch-async\"] == \"Monte Carlo\", m'"
printf 'variants = ["sync", "k-async:K=2"]\nP = 4\nrepeats = 1\nclock = "virtual"\nupdates = 30\n' > "$tmp/race.toml"
expect_ok "race from a config file" race --config "$tmp/race.toml" "${data[@]}" --plot=false --out "$tmp/race"
check "race outputs" test -s "$tmp/race/runs.csv" -a -s "$tmp/race/summary.csv" -a -s "$tmp/race/summary.json"
check "race runs.csv rows" bash -c "grep -c '^k-async,2,0,' '$tmp/race/runs.csv' | grep -qv '^0$'"
expect_ok "help" train --help

# Faults: a failing learner stops the run naming it (exit 1, outputs written) ...
"$racesgd" train "${data[@]}" --variant sync -P 3 --clock virtual --updates 50 \
  --delay 'faulty:base=exp:mean=1ms,learner=2,after=3' --out "$tmp/fault" >/dev/null 2>"$tmp/fault.err"
check "failing learner: exit 1" test $? -eq 1
check "failing learner: named" grep -q "learner 2 failed: injected fault" "$tmp/fault.err"
check "failing learner: summary written" grep -q '"stop_reason": "learner-failed"' "$tmp/fault/summary.json"
# ... or, with --on-learner-failure continue, leaves and the run finishes with P-1.
expect_ok "continue after a failure" train "${data[@]}" --variant sync -P 3 --clock virtual \
  --updates 50 --delay 'faulty:base=exp:mean=1ms,learner=2,after=3' --on-learner-failure continue \
  --out "$tmp/fault2"
check "continue: says so" grep -q 'continued with 2 of 3 learners' "$tmp/fault2/summary.json"
# A learner that never returns: the watchdog names it. (Learner 2's trace ends after one
# minibatch, so it then draws +infinity; a long finite draw is no stall, see below.)
printf 'w0,w1,w2\n0.001,0.001,0.001\n0.001,0.001,\n' >"$tmp/hang2.csv"
"$racesgd" train "${data[@]}" --variant sync -P 3 --delay "trace:file=$tmp/hang2.csv,end=stop" \
  --stall-timeout 0.5s --time 30s --out "$tmp/stall" >/dev/null 2>"$tmp/stall.err"
check "stall: exit 1" test $? -eq 1
check "stall: names the stuck learner" grep -q "stuck: learner(s) 2" "$tmp/stall.err"
expect_error "bad stall timeout" "--stall-timeout" train --stall-timeout soon
expect_error "bad failure policy" "--on-learner-failure" train --on-learner-failure ignore
# The role is "learner" everywhere (docs/decisions/0003-layers.md): the old names are refused.
expect_error "old flag name refused" "on-worker-failure" train --on-worker-failure continue
expect_error "old spec key refused" "unknown parameter 'worker'" \
  train --delay 'faulty:base=exp:mean=1ms,worker=2,after=3'
# ... but a checkpoint written before the rename still resumes, its saved parameters read in
# today's names (the fixture saved on-worker-failure=continue and faulty ...,worker=2; its
# data path is relative to the repo root).
(cd "$src" && "$racesgd" train --resume tests/fixtures/checkpoint-0.1 --checkpoint "$tmp/old-ck" \
  --out "$tmp/old-resume" >/dev/null 2>"$tmp/old-resume.err")
check "0.1 checkpoint resumes (exit 0)" test $? -eq 0
check "0.1 checkpoint: policy in today's name" \
  grep -q '"on-learner-failure": "continue"' "$tmp/old-resume/summary.json"
check "0.1 checkpoint: faulty's key in today's name" \
  grep -q 'faulty:base=exp:mean=1ms,learner=2,after=1000000' "$tmp/old-resume/summary.json"
# SIGINT: the run stops within a second or two, writes its outputs marked interrupted, exits 1.
interrupt_after 1.5 train "${data[@]}" --variant k-async -P 4 -K 2 --delay exp:mean=2ms --time 60s \
  --out "$tmp/sigint"
check "SIGINT: exit 1" test $rc -eq 1
check "SIGINT: stopped within 5 s (took ${took_ms} ms)" test $took_ms -lt 5000
check "SIGINT: summary marked interrupted" grep -q '"interrupted": true' "$tmp/sigint/summary.json"
check "SIGINT: curve written" test -s "$tmp/sigint/curve.csv"

# Resuming a real-clock run that already finished adds no update (it used to add one).
expect_ok "finished run with a checkpoint" train "${data[@]}" --variant async -P 2 --updates 50 \
  --delay const:value=1ms --checkpoint "$tmp/done-ckpt" --out "$tmp/done"
expect_ok "resume a finished run" train --resume "$tmp/done-ckpt" --out "$tmp/done2"
check "resume of a finished run: still 50 updates" grep -q '"updates": 50,' "$tmp/done2/summary.json"

# --- D2 (issue 9): run accounting, divergence, stall watchdog ---------------------------
# summary.json agrees with itself: gradients_applied == per-learner sum == histogram sum,
# and the curve's last row shows the updates and gradients reported.
consistent() {  # consistent DIR [expected gradients_applied]
  /usr/bin/python3 - "$@" <<'PY'
import csv, json, sys
d = sys.argv[1]
s = json.load(open(d + '/summary.json'))
rows = [r for r in csv.reader(open(d + '/curve.csv')) if r and not r[0].startswith('#')]
last = dict(zip(rows[0], rows[-1]))
got = [s['gradients_applied'], sum(w['applied'] for w in s['per_learner']),
       sum(s['staleness_histogram']), int(last['gradients'])]
ok = len(set(got)) == 1 and int(last['updates']) == s['updates']
if len(sys.argv) > 2: ok = ok and got[0] == int(sys.argv[2])
if not ok: print(d, 'applied/per-learner/histogram/curve:', got, 'updates', s['updates'], 'curve', last['updates'])
sys.exit(0 if ok else 1)
PY
}
# Real-clock resume with 3 gradients pending (learner 3 takes 1000 s): they are dropped
# and never counted (was: 3 applied with 0 updates).
expect_ok "pending at the stop, checkpointed" train "${data[@]}" --variant k-async -P 4 -K 4 \
  --delay 'hetero:const:value=1ms,scales=1,1,1,1000000' --timing-only --time 0.3s \
  --checkpoint "$tmp/pend-ckpt" --out "$tmp/pend"
check "pending at the stop: not counted" consistent "$tmp/pend" 0
expect_ok "resume with gradients pending" train --resume "$tmp/pend-ckpt" --out "$tmp/pend2"
check "resume with gradients pending: not counted" consistent "$tmp/pend2" 0
# Divergence: the refused update counts nowhere, and the message names the likely cause.
"$racesgd" train "${data[@]}" --clock virtual --updates 100 --l2 1e6 --out "$tmp/div-l2" \
  >/dev/null 2>"$tmp/div-l2.err"
check "--l2 1e6: exit 1" test $? -eq 1
check "--l2 1e6: summary consistent" consistent "$tmp/div-l2"
check "--l2 1e6: blames --l2" grep -q "likely cause: --l2 1e+06" "$tmp/div-l2.err"
"$racesgd" train "${data[@]}" --clock virtual --updates 100 --lr 1e30 --out "$tmp/div-lr" \
  >/dev/null 2>"$tmp/div-lr.err"
check "--lr 1e30: exit 1" test $? -eq 1
check "--lr 1e30: summary consistent, update 1 refused" consistent "$tmp/div-lr" 0
check "--lr 1e30: blames --lr" grep -q "likely cause: --lr 1e+30" "$tmp/div-lr.err"
# Every minibatch takes 1 s, longer than the 0.3 s stall timeout: legitimate, no stall.
expect_ok "long delays are no stall" train "${data[@]}" --variant sync -P 2 --timing-only \
  --delay const:value=1s --stall-timeout 0.3s --updates 2 --out "$tmp/slow"

# --- Helper B (issue 9): labels that are not classes, and a checkpoint's run clock. ---
expect_error "continuous CSV label column: names the column and row" \
  "line 2: label '17.99' in column 0 ('f0') is not a whole number" \
  train --data "$fx/breast_cancer.csv" --label-column f0 --updates 5 --clock virtual --out "$tmp/b-f0"
printf 'a,y\n1,4\n2,4\n3,4\n' >"$tmp/b-one.csv"
expect_error "one training label: nothing to learn" "all 3 training rows have the label 4" \
  train --data "$tmp/b-one.csv" --updates 5 --clock virtual --out "$tmp/b-one"
"$racesgd" train --data "$fx/tiny.csv" --label-column label --batch 2 --updates 5 --clock virtual \
  --progress off --out "$tmp/b-few" >/dev/null 2>"$tmp/b-few.err"
check "3 classes in 4 rows: runs (exit 0)" test $? -eq 0
check "3 classes in 4 rows: warns" grep -q "racesgd: warning: .*3 classes in 4 training rows" "$tmp/b-few.err"
expect_ok "virtual run with a checkpoint" train "${data[@]}" --variant async -P 2 --updates 20 \
  --clock virtual --checkpoint "$tmp/b-ckpt" --out "$tmp/b-run"
# The run clock follows the config string and the clock name at the start of the payload.
/usr/bin/python3 - "$tmp/b-ckpt/checkpoint.rsgd" <<'PY'
import struct, sys, zlib
path = sys.argv[1]
b = bytearray(open(path, "rb").read())
p = 20
for _ in range(2):  # config, clock: u64 length + bytes
    (n,) = struct.unpack_from("<Q", b, p)
    p += 8 + n
struct.pack_into("<d", b, p, float("nan"))
struct.pack_into("<I", b, len(b) - 4, zlib.crc32(bytes(b[:-4])))
open(path, "wb").write(b)
PY
expect_error "checkpoint with a NaN run clock" "run clock nan s is not in [0, 1e+09 s]" \
  train --resume "$tmp/b-ckpt" --out "$tmp/b-resumed"

# ---- Issue 9, helper E: the CLI and its outputs -------------------------------------------
# e_run ARGS...: runs racesgd, stdout to $tmp/e.out, stderr to $tmp/e.err; sets e_rc.
e_run() { "$racesgd" "$@" >"$tmp/e.out" 2>"$tmp/e.err"; e_rc=$?; }
e_vdata=("${data[@]}" --clock virtual --delay exp:mean=1ms)  # (a flag given twice is refused)
# Finding 4: --timing-only scores nothing, so it writes no error columns and the race says
# it measured time only (it used to write error 0 and report every target reached at 0 s).
expect_ok "E timing-only train" train "${e_vdata[@]}" -P 2 --timing-only --updates 10 --out "$tmp/e-to"
check "E timing-only: no error columns" bash -c "grep -q '^time_s,updates,gradients,staleness_mean,K$' '$tmp/e-to/curve.csv' && grep -q '^# errors: not measured' '$tmp/e-to/curve.csv'"
e_run race "${e_vdata[@]}" -P 2 --timing-only --variants sync,async --repeats 1 --updates 10 --plot=false --out "$tmp/e-tor"
check "E timing-only race: exit 0" test $e_rc -eq 0
check "E timing-only race: says time only, reaches no target" bash -c "grep -q 'time per update measured, no test error' '$tmp/e.out' && ! grep -q '1/1' '$tmp/e.out'"
check "E timing-only race: summary.json" /usr/bin/python3 -c "
import json, sys
s = json.load(open('$tmp/e-tor/summary.json'))
v = s['variants'][0]
sys.exit(0 if s['target_error'] is None and v['time_to_target_s'] is None and v['reached_target'] is None else 1)"
check "E timing-only race: runs.csv error cells empty" bash -c "grep -q '^sync,2,0,1,[0-9.]*,[0-9]*,[0-9]*,,,' '$tmp/e-tor/runs.csv'"
# Finding 7: a race where every run diverged says so per variant and exits 1.
e_run race "${e_vdata[@]}" -P 2 --variants sync,async --repeats 2 --updates 10 --lr 1e30 --plot=false --out "$tmp/e-div"
check "E all diverged: exit 1" test $e_rc -eq 1
check "E all diverged: per variant" bash -c "grep -q '^sync K=2 .*diverged 2' '$tmp/e.out' && grep -q '^async K=1 .*diverged 2' '$tmp/e.out'"
check "E all diverged: says nothing finished" grep -q "no run finished" "$tmp/e.err"
check "E all diverged: summary.json stopped_by" grep -q '"diverged": 2' "$tmp/e-div/summary.json"
# Finding 11: empty values and unusable config paths are bad input, not a default run.
expect_error "E empty --resume" "--resume: empty value" train --resume ""
expect_error "E empty --time" "--time: empty value" train --time ""
expect_error "E empty --out" "--out: empty value" train --out ""
expect_error "E empty -P" "-P: empty value" train -P ""
expect_error "E race: empty --config" "--config: empty value" race --config ""
expect_error "E race: --config folder" "not a regular file" race --config "$tmp"
expect_error "E race: --config /dev/zero" "not a regular file" race --config /dev/zero
head -c 2000000 /dev/zero | tr '\0' '#' > "$tmp/e-huge.toml"
expect_error "E race: huge --config" "at most 1 MiB" race --config "$tmp/e-huge.toml"
printf 'time = ""\n' > "$tmp/e-empty.toml"
expect_error "E race: empty value in config" "'time' is empty" race --config "$tmp/e-empty.toml"
# Smaller findings: duplicate flags, P = [4], --checkpoint-every alone.
expect_error "E duplicate flag" "-P: given more than once" train -P 2 -P 4
expect_error "E duplicate switch" "--plot: given more than once" race --plot --no-plot
printf 'P = [4]\n' > "$tmp/e-array.toml"
expect_error "E array for a single value" "'P' takes one value" race --config "$tmp/e-array.toml"
expect_error "E --checkpoint-every without --checkpoint" "--checkpoint-every" train --checkpoint-every 5s
# --no-plot, --version, durations and the 600 s cap in --help, default K = min(2, P).
# The version is project(VERSION) of CMakeLists.txt, in --version and in every output's
# context: curve.csv's '#' lines and summary.json (train), summary.csv (race).
e_version=$(sed -nE 's/^project\(racesgd VERSION ([0-9]+\.[0-9]+\.[0-9]+).*/\1/p' "$src/CMakeLists.txt")
check "E --version: the project's version" bash -c "'$racesgd' --version | grep -Eq '^racesgd ${e_version//./\\.} \(git ([0-9a-f]+|unknown), [A-Za-z]+ build, with(out)? MPI\)$'"
check "E help: durations, cap, --no-plot" bash -c "'$racesgd' race --help > '$tmp/e-help' && grep -q 'durations: a number with unit h, min, s, ms' '$tmp/e-help' && grep -q 'at most 600s' '$tmp/e-help' && grep -q -- '--no-plot' '$tmp/e-help'"
expect_ok "E -P 1 with the default K (k-async)" train "${e_vdata[@]}" -P 1 --variant k-async --updates 5 --out "$tmp/e-p1"
expect_ok "E race --no-plot" race "${e_vdata[@]}" -P 2 --variants sync --repeats 1 --updates 5 --no-plot --out "$tmp/e-noplot"
check "E version in curve.csv, summary.json, summary.csv" bash -c "grep -qx '# racesgd_version: $e_version' '$tmp/e-p1/curve.csv' && grep -q '\"racesgd_version\": \"$e_version\"' '$tmp/e-p1/summary.json' && grep -qx '# racesgd_version: $e_version' '$tmp/e-noplot/summary.csv'"
check "E race --no-plot: no plot" test ! -e "$tmp/e-noplot/error_vs_time.png"
expect_ok "E race -P 1 with the default K" race "${e_vdata[@]}" -P 1 --variants sync,k-async --repeats 1 --updates 5 --plot=false --out "$tmp/e-p1r"
expect_ok "E theory -P 1 with the default K" theory --delay exp:mean=1ms -P 1 --variant sync,k-async
# The train header shows the K in force and the limits; the real-clock progress line
# says when errors are scored instead of "error=-".
e_run train "${data[@]}" --clock virtual --delay const:value=100s --variant async -P 4 -K 2 --target-error 0.05 --out "$tmp/e-hdr"  # (600 s / 100 s: a few updates)
check "E header: effective K and the 600 s cap" bash -c "grep -q 'async P=4 K=1 ' '$tmp/e.err' && grep -q 'time 600s (cap for a lone --target-error' '$tmp/e.err'"
e_run train --data "$fx/mnist100-images-idx3-ubyte" --test-fraction 0.3 --batch 8 --progress on --variant async -P 2 --delay exp:mean=1ms --time 0.6s --out "$tmp/e-prog"
check "E progress line: real clock says errors come later" grep -q "error=scored after the run" "$tmp/e.err"
# Finding 13: huge numbers print in %g form, never hundreds of digits.
# (Delays are capped at 1e6 s, so a run reaches 1e9 s only after ~2000 near-cap updates.)
e_run train "${data[@]}" --clock virtual --variant sync -P 2 --updates 2000 --timing-only \
  --delay 'hetero:const:value=1s,scales=1,999999' --out "$tmp/e-huge"
check "E huge times: short lines" bash -c "[[ \$(wc -L < '$tmp/e.out') -lt 200 && \$(wc -L < '$tmp/e-huge/curve.csv' ) -lt 2000 ]] && grep -q 'e+09' '$tmp/e.out'"
e_run train "${data[@]}" --clock virtual -P 4 --updates 5 --delay 'hetero:exp:mean=1ms,scales=1,1,1,1e300' --out "$tmp/e-huge2"
check "E huge scale: exit 2, one short message" bash -c "[[ $e_rc -eq 2 && \$(wc -L < '$tmp/e.err') -lt 300 ]] && grep -q 'e+300' '$tmp/e.err'"
# Finding 12: curve.csv says why it stopped; stale outputs go; writes are durable; a full
# disk exits 1 with the summary on stdout and no temporary file left.
check "E curve.csv says interrupted" grep -q '^# stop_reason: interrupted$' "$tmp/sigint/curve.csv"
mkdir -p "$tmp/e-stale/runs/k-async-K9-r7" "$tmp/e-stale/runs/mine"
for f in runs.csv summary.json runs/k-async-K9-r7/curve.csv runs/k-async-K9-r7/summary.json runs/mine/notes.txt; do echo old > "$tmp/e-stale/$f"; done
expect_ok "E race over an earlier race" race "${e_vdata[@]}" -P 2 --variants sync --repeats 1 --updates 5 --plot=false --out "$tmp/e-stale"
check "E earlier race's runs/ folders cleared" test ! -e "$tmp/e-stale/runs/k-async-K9-r7"
check "E files racesgd did not write stay" test -s "$tmp/e-stale/runs/mine/notes.txt"
mkdir -p "$tmp/e-old"
for f in curve.csv summary.json summary.json.tmp.99 notes.txt; do echo old > "$tmp/e-old/$f"; done
"$racesgd" train "${data[@]}" -P 2 --variant async --delay exp:mean=2ms --time 60s --out "$tmp/e-old" >/dev/null 2>&1 &
e_pid=$!
for _ in $(seq 100); do  # up to 10 s for a slow (sanitizer) build to start the run
  [[ -e "$tmp/e-old/curve.csv" || -e "$tmp/e-old/summary.json" || -e "$tmp/e-old/summary.json.tmp.99" ]] || break
  sleep 0.1
done
check "E stale outputs removed when a run starts" bash -c "test ! -e '$tmp/e-old/curve.csv' -a ! -e '$tmp/e-old/summary.json' -a ! -e '$tmp/e-old/summary.json.tmp.99' -a -s '$tmp/e-old/notes.txt'"
kill -KILL $e_pid; wait $e_pid 2>/dev/null
if command -v strace >/dev/null && strace -f -o /dev/null true 2>/dev/null; then
  # LeakSanitizer cannot run under ptrace: off for this one traced run.
  ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
    strace -f -e trace=fsync -o "$tmp/e-strace" "$racesgd" train "${e_vdata[@]}" -P 2 --updates 5 --out "$tmp/e-sync" >/dev/null 2>&1
  check "E outputs fsynced (file and folder, twice)" test "$(grep -c '^[0-9]* *fsync(' "$tmp/e-strace")" -ge 4
else
  echo "SKIP: E fsync check: strace missing or not permitted"
fi
e_small="$tmp/e-small"
mkdir -p "$e_small"
if mount -t tmpfs -o size=256k racesgd-test "$e_small" 2>/dev/null; then
  mkdir -p "$e_small/out"
  echo old > "$e_small/out/summary.json"
  dd if=/dev/zero of="$e_small/fill" bs=4k 2>/dev/null  # fills the tmpfs: ENOSPC from here on
  e_run train "${e_vdata[@]}" -P 2 --updates 400 --eval-every 1 --out "$e_small/out"
  check "E disk full: exit 1 (not 2)" test $e_rc -eq 1
  check "E disk full: says so" grep -q "No space left on device" "$tmp/e.err"
  check "E disk full: summary on stdout" grep -q '"stop_reason": "updates"' "$tmp/e.out"
  check "E disk full: no temporary file left" bash -c "! ls '$e_small/out' | grep -q '\.tmp\.'"
  check "E disk full: the earlier summary.json is gone" bash -c "! grep -qx old '$e_small/out/summary.json' 2>/dev/null"
  e_run race "${e_vdata[@]}" -P 2 --variants sync --repeats 1 --updates 400 --eval-every 1 --plot=false --out "$e_small/race"
  check "E race, disk full: exit 1, summary on stdout" bash -c "[[ $e_rc -eq 1 ]] && grep -q '\"finished_runs\": 1' '$tmp/e.out'"
  umount "$e_small"
else
  echo "SKIP: E disk-full checks: cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)"
fi

# --- Issue 9, helper D1: snapshot memory, signals during ticks and scoring, repeated rows ---
# A model whose evaluation snapshots cannot fit the budget fails at once (exit 2) naming the
# model, its size and the flag; it used to allocate for 14 s and abort with std::bad_alloc.
start=$(date +%s%N)
timeout 60 "$racesgd" train "${data[@]}" --clock virtual --updates 20 -P 2 -K 1 \
  --model mlp:hidden=200000 --out "$tmp/huge" >/dev/null 2>"$tmp/huge.err"
rc=$?
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "huge model: exit 2 (got $rc)" test $rc -eq 2
check "huge model: fails within 30 s (took ${took_ms} ms; was 14 s and an abort)" test $took_ms -lt 30000
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
# --eval-every auto: geometric ticks from update 1 (every update while r^k is dense) plus
# the linear grid; an explicit number of updates is the linear grid only.
expect_ok "auto schedule in updates" train "${data[@]}" --clock virtual --updates 2000 --out "$tmp/eauto"
ups=$(grep -v '^#' "$tmp/eauto/curve.csv" | tail -n +2 | cut -d, -f2 | tr '\n' ' ')
check "auto: rows at updates 1..5 ($ups)" bash -c "[[ ' $ups' == *' 0 1 2 3 4 5 '* ]]"
rows=$(wc -w <<< "$ups")
check "auto: a few hundred rows for 2000 updates (got $rows)" test "$rows" -gt 250 -a "$rows" -lt 450
expect_ok "--eval-every 20 updates" train "${data[@]}" --clock virtual --updates 2000 --eval-every 20 --out "$tmp/e20"
rows=$(grep -v '^#' "$tmp/e20/curve.csv" | tail -n +2 | wc -l)
check "--eval-every 20: 101 rows, linear only (got $rows)" test "$rows" -eq 101
# Time to target: interpolated, with the bracket's width in summary.json.
expect_ok "target error: resolution in summary.json" train "${data[@]}" --clock virtual \
  --target-error 0.5 --out "$tmp/ttt"
check "summary.json: time_to_target_resolution_s" /usr/bin/env python3 -c "
import json, sys; s = json.load(open('$tmp/ttt/summary.json'))
t, r = s['time_to_target_s'], s['time_to_target_resolution_s']
sys.exit(0 if t > 0 and 0 < r < t else 1)"
# SIGINT while the virtual clock has billions of 1 ns ticks before each 10 s event: the
# run stops within seconds (it used to loop over the ticks without looking at the signal).
interrupt_after 1.5 train "${data[@]}" --clock virtual --delay const:value=10s --eval-every 1ns \
  --updates 100000000 --out "$tmp/tick-sigint"
check "SIGINT during 1ns ticks: exit 1 (got $rc)" test $rc -eq 1
check "SIGINT during 1ns ticks: stopped within 20 s (took ${took_ms} ms; was > 58 s)" test $took_ms -lt 20000
check "SIGINT during 1ns ticks: summary marked interrupted" \
  grep -q '"interrupted": true' "$tmp/tick-sigint/summary.json"
# --- end of helper D1's block ---

# ---- Issue 9, helper C: the delay cap, saturating deadlines, theory 'never' and an
# independent theory --measure, durations in min and h. Every run is bounded by a timeout
# that also kills: these inputs used to spin forever and ignore SIGTERM, and a regression
# must fail here rather than hang the suite.
c_run() { timeout -k 5 60 "$racesgd" "$@"; }
# A trace holding 1e308 drove the virtual clock to +inf; over the 1e6 s cap it is an input error.
printf '0.001\n1e308\n' >"$tmp/c-huge.csv"
expect_error "trace value above the delay cap" "line 2: delay 1e308 is above the delay cap of 1e+06s" \
  train "${data[@]}" --clock virtual --variant sync -P 2 --updates 5 \
  --delay "trace:file=$tmp/c-huge.csv" --out "$tmp/c-huge"
expect_error "1e9 s const times 1e299 scales" "is out of range [0s, 1e+06s]" \
  train "${data[@]}" --clock virtual --variant sync -P 4 --updates 5 \
  --delay 'hetero:const:value=1e9s,scales=1e299,1e299,1e299,1e299' --out "$tmp/c-hetero"
# A 1e13 straggler on the real clock was served at once (UB in the nanosecond conversion).
expect_error "hetero scale above the delay cap" "scale 1e+13 of learner 1" \
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
expect_error "--time 2m is ambiguous" "ambiguous: write min for minutes or ms for milliseconds" \
  train "${data[@]}" --time 2m --out "$tmp/c-m"
expect_error "exp:mean=2m is ambiguous" "exp:mean=2m' parameter mean: '2m' is ambiguous" \
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

# ---- Issue 10, helper align: a virtual-clock run must not depend on where the heap put a
# buffer. The MLP's bias gradient once went through an Eigen sum whose order followed the
# gradient buffer's address modulo 64 bytes, so the length of the --out string (which
# shifts later allocations) changed final_train_loss in its last digits. One run per --out
# name, lengths 16 apart over 128 characters: which lengths moved a buffer depended on
# the other arguments (the data path, the temporary folder), so two names could miss it.
a_loss() {  # a_loss OUT: trains into OUT, prints summary.json's final_train_loss
  timeout -k 5 60 "$racesgd" train "${data[@]}" --clock virtual --variant k-async -P 4 -K 2 \
    --updates 200 --model mlp:hidden=16 --delay 'pareto:scale=1ms,alpha=2' --seed 3 \
    --out "$1" >/dev/null 2>&1 &&
    /usr/bin/python3 -c "import json, sys; print(repr(json.load(open(sys.argv[1]))[sys.argv[2]]))" \
      "$1/summary.json" final_train_loss
}
a_name=a
a_first=$(a_loss "$tmp/$a_name")
a_same=1
for _ in 1 2 3 4 5 6 7; do
  a_name="${a_name}aaaaaaaaaaaaaaaa"
  a_loss_here=$(a_loss "$tmp/$a_name")
  if [[ -z "$a_first" || "$a_loss_here" != "$a_first" ]]; then
    a_same=0
    echo "--out name of ${#a_name} characters: final_train_loss $a_loss_here, of 1: $a_first"
  fi
done
check "virtual MLP run: final_train_loss bit-identical for any --out length" test $a_same -eq 1

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
