#!/usr/bin/env bash
# Does all set-up (packages, datasets), builds the release preset and runs racesgd's main
# job. Extra arguments go to the racesgd command.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target racesgd
exec ./build/release/bench/racesgd race --config experiments/default.toml "$@"
