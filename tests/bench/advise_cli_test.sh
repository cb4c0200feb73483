#!/usr/bin/env bash
# End-to-end checks of `racesgd advise` on the digits fixture (virtual clock, a few hundred
# updates per run): bad input exits 2 naming the flag; a heavy-tailed delay (pareto alpha
# 1.5) is advised an asynchronous or K < P variant and a near-constant one (uniform 4.9..5.1
# ms) a synchronous one, each backed by the race written next to the report; --trace fits
# the delay first; --sweep writes sweep.csv and phase.png (or says why not).
# Usage: advise_cli_test.sh RACESGD SOURCE_DIR
set -uo pipefail
racesgd=$1
src=$2
source "$src/tests/shell_checks.sh"
scratch_dir
py=/usr/bin/python3

# lr 2: large enough that staleness costs what it does in practice (at a small lr async's
# P-fold more updates win even on constant delays; docs/advise.md).
common=(--data "$src/tests/fixtures/digits.csv.gz" --batch 16 --lr 2 --progress off --no-plot)
advise() { "$racesgd" advise "${common[@]}" "$@"; }
expect_error() { expect_exit2 "$1" "$2" "$racesgd" advise "${common[@]}" "${@:3}"; }

expect_error "advise: no --target-error" "--target-error: required" -P 4
expect_error "advise: --target-error out of range" "--target-error: must lie in [0, 1]" --target-error 2
expect_error "advise: --trace and --delay" "give one" --target-error 0.1 --delay const:value=1ms \
  --trace "$tmp/none.csv"
expect_error "advise: missing trace" "cannot read trace file '$tmp/none.csv'" --target-error 0.1 \
  --trace "$tmp/none.csv"
expect_error "advise: bad delay spec" "uniform:lo=1ms" --target-error 0.1 --delay uniform:lo=1ms
expect_error "advise: --candidates 0" "--candidates: must lie in 1..20" --target-error 0.1 --candidates 0
expect_error "advise: --budget 1" "--budget: must be at least 10" --target-error 0.1 --budget 1
expect_error "advise: bad --beyond entry" "unknown variant" --target-error 0.1 --beyond fast-sync
expect_error "advise: bad --sweep" "--sweep 'Q=1..4': must be P=A..B" --target-error 0.1 --sweep Q=1..4 \
  --sweep-delay exp:mean=1ms
expect_error "advise: --sweep without --sweep-delay" "--sweep: needs --sweep-delay" --target-error 0.1 \
  --sweep P=2..4
expect_error "advise: --sweep-delay without --sweep" "--sweep-delay: needs --sweep" --target-error 0.1 \
  --sweep-delay exp:mean=1ms
expect_error "advise: a bad swept spec fails before any race" "alpha" --target-error 0.1 \
  --sweep P=2..4 --sweep-delay 'pareto:scale=1ms,alpha={1.5,-1}' --out "$tmp/bad-sweep"
check "advise: no output after a bad sweep" test ! -e "$tmp/bad-sweep"
help=$("$racesgd" advise --help)
for flag in --delay --trace --target-error --candidates --beyond --budget --repeats --sweep \
  --sweep-delay --lr --batch --out; do
  check "advise --help lists $flag" grep -q -- "$flag" <<<"$help"
done
check "racesgd --help lists advise" bash -c "'$racesgd' --help | grep -q '^  advise '"

# recommendation DIR: the recommended entry, whether it is synchronous, and the race backs
# it: its summary.json's entries hold the recommendation with the best mean time to target.
backed_by_race() {
  $py - "$1" <<'EOF'
import json, os, sys
d = sys.argv[1]
a = json.load(open(os.path.join(d, "advice.json")))
s = json.load(open(os.path.join(d, "race", "summary.json")))
rec = a["recommendation"]
times = {v["entry"]: v["time_to_target_s"]["mean"] for v in s["variants"]
         if v["time_to_target_s"] and v["reached_target"] == v["repeats"]}
assert rec in times and times[rec] == min(times.values()), (rec, times)
assert a["ranking"][0]["entry"] == rec and os.path.exists(os.path.join(d, "race", "runs.csv"))
assert "racesgd race " in a["race"]["command"] and a["reason"]
md = open(os.path.join(d, "advice.md")).read()
assert "**Recommendation: " + rec + "**" in md and "racesgd race " in md, md
EOF
}
is_synchronous() {
  $py -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1]))["ranking"][0]["synchronous"] else 1)' \
    "$1/advice.json"
}

# Heavy tail: waiting for all P is expensive; the winner must not be synchronous.
start=$SECONDS
out=$(advise -P 8 --delay pareto:scale=1ms,alpha=1.5 --target-error 0.1 --out "$tmp/heavy" 2>&1)
check "advise heavy: exit 0 ($(tail -3 <<<"$out"))" test $? -eq 0
not_synchronous() { ! is_synchronous "$1"; }
check "advise heavy: recommends async or K < P ($(grep -A1 '^recommendation' <<<"$out"))" \
  not_synchronous "$tmp/heavy"
check "advise heavy: the reason says heavy tail" grep -q "^  heavy tail: waiting for all 8 learners" <<<"$out"
check "advise heavy: backed by its race" backed_by_race "$tmp/heavy"
# Its speed is a benchmark number (docs/advise.md), not a check: a sanitizer build on a busy
# CI machine took 32 s where a release build takes about 1 s.
echo "advise heavy: took $((SECONDS - start)) s"

# Near-constant: waiting costs nothing and sync has no staleness.
out=$(advise -P 8 --delay uniform:min=4.9ms,max=5.1ms --target-error 0.1 --out "$tmp/flat" 2>&1)
check "advise near-constant: exit 0 ($(tail -3 <<<"$out"))" test $? -eq 0
check "advise near-constant: recommends a synchronous variant ($(grep -A1 '^recommendation' <<<"$out"))" \
  is_synchronous "$tmp/flat"
check "advise near-constant: the reason says near-constant" grep -q "^  near-constant delays" <<<"$out"
check "advise near-constant: backed by its race" backed_by_race "$tmp/flat"

# --trace: 400 near-constant times in ms are fitted (a uniform law wins) and advised on.
$py -c 'import random; r = random.Random(3); print("t"); [print("%.4f" % r.uniform(4.9, 5.1)) for _ in range(400)]' \
  > "$tmp/flat.csv"
out=$(advise -P 8 --trace "$tmp/flat.csv" --unit ms --target-error 0.1 --out "$tmp/trace" 2>&1)
check "advise --trace: exit 0 ($(tail -3 <<<"$out"))" test $? -eq 0
check "advise --trace: says what it fitted" grep -q "^advise: fitted uniform:" <<<"$out"
check "advise --trace: advice.json names the trace" $py -c '
import json, sys
a = json.load(open(sys.argv[1]))
assert a["delay"].startswith("uniform:") and a["delay_fitted_from"].endswith("flat.csv"), a["delay"]' \
  "$tmp/trace/advice.json"
check "advise --trace: a synchronous variant" is_synchronous "$tmp/trace"

# What is raced: --candidates 1 --beyond none leaves theory's best plus sync and async;
# --beyond ENTRY adds that entry.
raced() { $py -c 'import json, sys; print(", ".join(v["entry"] for v in json.load(open(sys.argv[1]))["variants"]))' "$1/race/summary.json"; }
advise -P 4 --delay exp:mean=1ms --target-error 0.2 --repeats 1 --candidates 1 --beyond none \
  --out "$tmp/few" >/dev/null 2>&1
check "advise --candidates 1 --beyond none: 3 entries ($(raced "$tmp/few"))" \
  test "$(raced "$tmp/few" | tr ',' '\n' | wc -l)" -eq 3
advise -P 4 --delay exp:mean=1ms --target-error 0.2 --repeats 1 --candidates 1 --beyond async:R=3 \
  --out "$tmp/own" >/dev/null 2>&1
check "advise --beyond async:R=3: raced ($(raced "$tmp/own"))" grep -q "async K=1 R=3" <<<"$(raced "$tmp/own")"

# An earlier advice never passes for a failed one: a blocked race/ leaves no advice.json.
mkdir -p "$tmp/blocked" && : > "$tmp/blocked/race"
cp "$tmp/flat/advice.json" "$tmp/blocked/"
advise -P 2 --delay const:value=1ms --target-error 0.1 --out "$tmp/blocked" >/dev/null 2>&1
check "advise: a race that cannot write fails (exit != 0)" test $? -ne 0
check "advise: the old advice.json is gone" test ! -e "$tmp/blocked/advice.json"

# --sweep: 2 x 2 points, the CSV and the plot (or the note without matplotlib).
out=$("$racesgd" advise "${common[@]/--no-plot/--plot}" --target-error 0.1 --repeats 1 \
  --sweep P=2..4 --sweep-delay 'pareto:scale=1ms,alpha={1.5,3}' --out "$tmp/sweep" 2>&1)
check "advise --sweep: exit 0 ($(tail -3 <<<"$out"))" test $? -eq 0
check "advise --sweep: ETA lines" grep -qE "sweep point 4/4 P=4 delay pareto:scale=1ms,alpha=3, sweep ETA [0-9]" <<<"$out"
check "advise --sweep: sweep.csv has the 4 points" $py - "$tmp/sweep/sweep.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(l for l in open(sys.argv[1]) if not l.startswith("#")))
assert [(r["P"], r["value"]) for r in rows] == [("2", "1.5"), ("4", "1.5"), ("2", "3"), ("4", "3")], rows
assert all(r["winner"] and r["delay"].startswith("pareto:scale=1ms,alpha=") for r in rows), rows
EOF
check "advise --sweep: each point's race is kept" test -s "$tmp/sweep/points/P4-3/summary.json"
if $py -c "import matplotlib" 2>/dev/null; then
  check "advise --sweep: phase.png ($out)" test -s "$tmp/sweep/phase.png"
else
  check "advise --sweep: the note without matplotlib" grep -q "no phase.png" <<<"$out"
fi
# A later sweep in the same folder: the earlier phase.png does not pass for its own.
advise --target-error 0.2 --repeats 1 --sweep P=2..2 --sweep-delay exp:mean=1ms --out "$tmp/sweep" \
  >/dev/null 2>&1
check "advise --sweep again: exit 0" test $? -eq 0
check "advise --sweep again: no earlier phase.png" test ! -e "$tmp/sweep/phase.png"
check "advise --sweep again: sweep.csv has its one point" \
  test "$(grep -vc '^#' "$tmp/sweep/sweep.csv")" -eq 2

echo "$pass passed, $fail failed"
((fail == 0))
