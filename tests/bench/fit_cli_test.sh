#!/usr/bin/env bash
# End-to-end checks of `racesgd fit`: bad input exits 2 naming the file, line or flag; good
# input prints a ranking whose specs parse back (racesgd theory accepts each one), writes
# fit.json with its documented fields, and draws qq.png -- or, without matplotlib, says so.
# Usage: fit_cli_test.sh RACESGD SOURCE_DIR
set -uo pipefail
racesgd=$1
src=$2
source "$src/tests/shell_checks.sh"
scratch_dir
py=/usr/bin/python3

# Seeded samples: 500 draws of 1ms + Exp(2ms) in ms (header "t"), and three learners at 1, 2
# and 4 times 1 + Exp(2) (header "w0,w1,w2").
$py - "$tmp" <<'EOF'
import random, sys
d = sys.argv[1]
r = random.Random(7)
with open(d + "/one.csv", "w") as f:
    f.write("t\n" + "".join("%.6f\n" % (1 + r.expovariate(0.5)) for _ in range(500)))
with open(d + "/three.csv", "w") as f:
    f.write("w0,w1,w2\n")
    for _ in range(400):
        f.write(",".join("%.6f" % (c * (1 + r.expovariate(0.5))) for c in (1, 2, 4)) + "\n")
EOF
printf '1\n2\n3\n' > "$tmp/few.csv"
{ echo t; for i in $(seq 30); do echo 0.$i; done; echo 0.x; } > "$tmp/nan.csv"
{ for i in $(seq 30); do echo $i; done; echo -4; } > "$tmp/neg.csv"
: > "$tmp/empty.csv"
for i in $(seq 25); do echo 5; done > "$tmp/const.csv"

fit() { "$racesgd" fit --no-plot "$@"; }
# expect_error "description" "text the message must contain" fit-args...: exit 2 with that text.
expect_error() { expect_exit2 "$1" "$2" "$racesgd" fit --no-plot "${@:3}"; }
# parses SPEC theory-args...: racesgd theory accepts the spec.
parses() { "$racesgd" theory --delay "$@" --variant async >/dev/null; }
expect_error "fit: no --trace" "--trace: required"
expect_error "fit: missing file" "cannot read trace file '$tmp/none.csv'" --trace "$tmp/none.csv"
expect_error "fit: empty file" "holds no delays (empty file)" --trace "$tmp/empty.csv"
expect_error "fit: fewer than 20 values" "'$tmp/few.csv': 3 values; a fit needs at least 20" \
  --trace "$tmp/few.csv"
expect_error "fit: a non-number names file and line" "'$tmp/nan.csv' line 32 column 1: '0.x'" \
  --trace "$tmp/nan.csv"
expect_error "fit: a negative value names file and line" "'$tmp/neg.csv' line 31: negative delay -4" \
  --trace "$tmp/neg.csv"
expect_error "fit: a constant" "a constant (const:value=5s)" --trace "$tmp/const.csv"
expect_error "fit: unknown column lists the names" "--column 'w9': no such column in '$tmp/three.csv' (columns: w0, w1, w2)" \
  --trace "$tmp/three.csv" --column w9
expect_error "fit: --column by number needs a file without header" "no such column" \
  --trace "$tmp/three.csv" --column 2
expect_error "fit: bad unit" "--unit 'min': must be s, ms, us or ns" --trace "$tmp/one.csv" --unit min
expect_error "fit: --per-worker on one column" "has one column; it needs one per learner" \
  --trace "$tmp/one.csv" --per-worker
expect_error "fit: --per-worker with --column" "leave out --column" \
  --trace "$tmp/three.csv" --per-worker --column w0
{ echo "fast,slow"; for i in $(seq 30); do if ((i <= 10)); then echo "1,$i"; else echo ",$i"; fi; done; } \
  > "$tmp/ragged.csv"
expect_error "fit --per-worker: a learner with too few values is named" \
  "--trace '$tmp/ragged.csv' column 'fast': 10 values; a fit needs at least 20" \
  --trace "$tmp/ragged.csv" --per-worker
expect_error "fit: stray word" "unexpected argument 'extra'" --trace "$tmp/one.csv" extra
expect_error "fit: bad input writes nothing" "negative delay" --trace "$tmp/neg.csv" --out "$tmp/bad-out"
check "fit: no output folder after bad input" test ! -e "$tmp/bad-out"

help=$("$racesgd" fit --help)
for flag in --trace --column --unit --per-worker --out --no-plot; do
  check "fit --help lists $flag" grep -q -- "$flag" <<<"$help"
done
check "racesgd --help lists fit" bash -c "'$racesgd' --help | grep -q '^  fit '"

# A good run: the ranking, the best spec, fit.json.
out=$(fit --trace "$tmp/one.csv" --column t --unit ms --out "$tmp/one" 2>&1)
check "fit one.csv: exit 0 ($out)" test $? -eq 0
check "fit one.csv: shifted-exp ranked first" grep -qE '^ +1  shifted-exp ' <<<"$out"
best=$(sed -n 's/^best: //p' <<<"$out")
check "fit one.csv: best spec printed" test -n "$best"
check "fit one.csv: the best spec parses (racesgd theory)" \
  parses "$best" -P 2
check "fit one.csv: fit.json fields" $py - "$tmp/one/fit.json" "$best" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["best"] == sys.argv[2], d["best"]
assert d["input"]["file"].endswith("one.csv") and d["input"]["column"] == "t" and d["input"]["unit"] == "ms"
assert d["data"]["n"] == 500 and abs(d["data"]["mean_s"] - 3e-3) < 0.4e-3, d["data"]
assert set(d["data"]["quantiles_s"]) == {"p5", "p25", "p50", "p75", "p95", "p99"}
fams = [f["family"] for f in d["fits"]]
assert sorted(fams) == ["exp", "hyperexp", "lognormal", "pareto", "shifted-exp", "uniform"], fams
for f in d["fits"]:
    for key in ("params", "log_likelihood", "aic", "ks", "spec", "num_params", "mean_s", "note"):
        assert key in f, (f["family"], key)
aics = [f["aic"] for f in d["fits"]]
assert aics == sorted(aics), aics
s = d["fits"][0]["params"]
assert abs(s["shift"] - 1e-3) < 0.05e-3 and abs(s["mean"] - 2e-3) < 0.2e-3, s
assert len(d["qq"]["p"]) == 200 and len(d["qq"]["data_s"]) == 200
EOF
# Every printed spec parses.
while read -r spec; do
  check "fit one.csv: spec '$spec' parses" parses "$spec" -P 2
done < <($py -c 'import json, sys
for f in json.load(open(sys.argv[1]))["fits"]:
    if f["spec"]: print(f["spec"])' "$tmp/one/fit.json")

# --per-worker: a hetero row whose spec needs -P 3 and wins on these scaled learners.
out=$(fit --trace "$tmp/three.csv" --unit ms --per-worker --out "$tmp/three" 2>&1)
check "fit --per-worker: exit 0 ($out)" test $? -eq 0
check "fit --per-worker: hetero ranked first" grep -qE '^ +1  hetero ' <<<"$out"
best=$(sed -n 's/^best: //p' <<<"$out")
check "fit --per-worker: best spec is hetero" test "${best#hetero:}" != "$best"
check "fit --per-worker: the hetero spec parses with -P 3" \
  parses "$best" -P 3 --mc-updates 1000
check "fit --per-worker: fit.json" $py - "$tmp/three/fit.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["input"]["per_worker"] and d["input"]["columns"] == 3 and d["data"]["n"] == 1200
h = d["fits"][0]
assert h["family"] == "hetero" and h["num_params"] == 4, h
scales = [h["params"]["scale_%d" % w] for w in range(3)]
assert all(abs(s - c * 3 / 7) < 0.1 * c * 3 / 7 for s, c in zip(scales, (1, 2, 4))), scales
EOF

# fit.json cannot be written (a folder of that name is in the way): exit 1, and the fits
# are on stdout instead of lost.
mkdir -p "$tmp/blocked/fit.json"
out=$(fit --trace "$tmp/one.csv" --unit ms --out "$tmp/blocked" 2>&1)
check "fit: an unwritable fit.json exits 1" test $? -eq 1
check "fit: an unwritable fit.json: its content on stdout" grep -q '"best": "shifted-exp:' <<<"$out"
check "fit: an unwritable fit.json: the error says so" grep -q "cannot write the outputs" <<<"$out"

# The plot: qq.png with matplotlib, else a note and no PNG. python3 -S leaves out the
# site-packages, so plot_fit.py then meets a python without matplotlib.
plot_out=$("$racesgd" fit --trace "$tmp/one.csv" --unit ms --out "$tmp/plot" 2>&1)
if $py -c "import matplotlib" 2>/dev/null; then
  check "fit: qq.png written ($plot_out)" test -s "$tmp/plot/qq.png"
  check "fit: the plot line names qq.png" grep -q "^plot: $tmp/plot/qq.png" <<<"$plot_out"
else
  check "fit: the note without matplotlib ($plot_out)" grep -q "no qq.png" <<<"$plot_out"
fi
rm -f "$tmp/plot/qq.png"
$py -S "$src/bench/plot_fit.py" "$tmp/plot" 2>"$tmp/plot.err"
check "plot_fit.py without matplotlib: exit 3" test $? -eq 3
check "plot_fit.py without matplotlib: says so" grep -q "matplotlib is missing" "$tmp/plot.err"
check "plot_fit.py without matplotlib: no PNG" test ! -e "$tmp/plot/qq.png"

echo "$pass passed, $fail failed"
((fail == 0))
