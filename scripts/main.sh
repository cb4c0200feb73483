#!/usr/bin/env bash
# Does all set-up (packages, datasets), builds the release preset and runs racesgd's main
# job. Extra arguments go to the racesgd command.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target racesgd
exec ./build/release/bench/racesgd train --model softmax --data mnist --variant k-batch-async \
  -P 8 -K 2 --delay exp:mean=5ms --lr 0.1 --time 20s --out runs/main "$@"
