#!/usr/bin/env bash
# Runs the studies of docs/results.md and refreshes docs/results/ (plots, summary CSV/JSON).
#   bash scripts/studies.sh          # every study, 1..7
#   bash scripts/studies.sh 3        # one study
# The racesgd binary is $RACESGD if set, else build/release/bench/racesgd (built with the
# release preset when missing). Full per-evaluation outputs (runs.csv) stay under runs/.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

racesgd=${RACESGD:-build/release/bench/racesgd}
if [[ ! -x $racesgd ]]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target racesgd
fi
py=/usr/bin/python3
results=docs/results
mkdir -p "$results"

# race STUDY NAME: runs experiments/NAME.toml and copies its summaries to docs/results/.
race() {
  local study=$1 name=$2
  echo "== study $study: racesgd race --config experiments/$name.toml"
  "$racesgd" race --config "experiments/$name.toml" --out "runs/$name"
  cp "runs/$name/summary.csv" "$results/$name.summary.csv"
  cp "runs/$name/summary.json" "$results/$name.summary.json"
}

toml_get() {  # toml_get FILE KEY: a top-level value as text (lists joined by spaces)
  "$py" -c 'import sys, tomllib
v = tomllib.load(open(sys.argv[1], "rb"))[sys.argv[2]]
print(" ".join(map(str, v)) if isinstance(v, list) else v)' "$1" "$2"
}

study1() {
  race 1 study1_sync_vs_async
  "$py" bench/plot_study.py --out "$results/study1_sync_vs_async" \
    --title "Study 1: sync vs async at lr 0.5, MNIST softmax, P = 8, X ~ Exp(5 ms), virtual clock" \
    "lr 0.5=runs/study1_sync_vs_async"
}

study2() {
  local file=experiments/study2_runtime_vs_p.toml jsons=() delay tag
  local p mc seed
  p=$(toml_get "$file" P)
  mc=$(toml_get "$file" mc-updates)
  seed=$(toml_get "$file" seed)
  for delay in $(toml_get "$file" delays); do
    tag=${delay%%:*}
    echo "== study 2: racesgd theory --delay $delay -P $p --measure --mc-updates $mc --seed $seed --json"
    "$racesgd" theory --delay "$delay" -P "$p" --measure --mc-updates "$mc" --seed "$seed" --json \
      >"$results/study2_$tag.json"
    jsons+=("$results/study2_$tag.json")
  done
  "$py" bench/plot_theory.py --out "$results/study2_runtime_vs_p" "${jsons[@]}"
}

study3() {
  local args=() fam
  for fam in k_sync k_batch_sync k_async k_batch_async; do
    race 3 "study3_$fam"
    args+=("${fam//_/-}, K = 1, 2, 4, 8=runs/study3_$fam")
  done
  "$py" bench/plot_study.py --layout grid --out "$results/study3_k_tradeoff" \
    --title "Study 3: the K trade-off, MNIST softmax, P = 8, X ~ Exp(5 ms), lr 0.5, virtual clock" \
    "${args[@]}"
}

study4() {
  race 4 study4_constant_lr16
  race 4 study4_adaptive_lr16
  race 4 study4_constant_lr1
  "$py" bench/plot_study.py --out "$results/study4_adaptive_lr" \
    --title "Study 4: async, staleness-adaptive vs constant lr, MNIST softmax, P = 16, X ~ Exp(5 ms)" \
    "constant lr 16=runs/study4_constant_lr16" \
    "staleness:c=1, lr_max 16=runs/study4_adaptive_lr16" \
    "constant lr 1=runs/study4_constant_lr1"
}

study5() {
  race 5 study5_pareto
  race 5 study5_exp
  "$py" bench/plot_study.py --layout grid --out "$results/study5_heavy_tails" \
    --title "Study 5: heavy tails, MNIST softmax, P = 8, K = 2, lr 0.5, E[X] = 3 ms, virtual clock" \
    "X ~ pareto:scale=1ms,alpha=1.5=runs/study5_pareto" \
    "X ~ exp:mean=3ms (same mean)=runs/study5_exp"
  for delay in "pareto:scale=1ms,alpha=1.5" "exp:mean=3ms"; do
    echo "== study 5: racesgd theory --delay $delay -P 8 -K 2 --json"
    "$racesgd" theory --delay "$delay" -P 8 -K 2 --json >"$results/study5_theory_${delay%%:*}.json"
  done
}

study6() {
  race 6 study6_fashion_mlp
  "$py" bench/plot_study.py --out "$results/study6_fashion_mlp" --thresholds 0.20,0.16,0.14 \
    --title "Study 6: MLP (256 hidden) on Fashion-MNIST, P = 8, X ~ Exp(5 ms), virtual clock" \
    "mlp=runs/study6_fashion_mlp"
}

study7() {
  race 7 study7_ringmaster
  # The race's own plot: it keeps entries that differ only in R apart (plot_study.py does not).
  cp runs/study7_ringmaster/error_vs_time.png "$results/study7_ringmaster.png"
}

if [[ $# -gt 1 || ($# -eq 1 && ! $1 =~ ^[1-7]$) ]]; then
  echo "usage: bash scripts/studies.sh [1-7]" >&2
  exit 2
fi
for s in ${1:-1 2 3 4 5 6 7}; do "study$s"; done
