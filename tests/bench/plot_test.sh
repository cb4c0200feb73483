#!/usr/bin/env bash
# The plot scripts on a tiny race (virtual clock, the 100-image fixture): plot_race.py with
# its default log axes and --linear-time, plot_study.py in both layouts. Skipped (77) when
# /usr/bin/python3 has no matplotlib (the scripts need Debian's python3-matplotlib).
# Usage: plot_test.sh RACESGD SOURCE_DIR
set -uo pipefail
racesgd=$1
src=$2
if ! /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
  echo "skipped: /usr/bin/python3 has no matplotlib (apt-get install python3-matplotlib)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$src/tests/shell_checks.sh"

"$racesgd" race --data "$src/tests/fixtures/mnist100-images-idx3-ubyte" --test-fraction 0.3 \
  --batch 8 --progress off --clock virtual --delay exp:mean=1ms -P 2 --variants sync,async \
  --repeats 2 --time 0.3s --target 0.5 --out "$tmp/race" > "$tmp/race.out" 2>&1
check "race with its plot: exit 0 ($(tail -3 "$tmp/race.out"))" test $? -eq 0
check "race: plot written" test -s "$tmp/race/error_vs_time.png" -a -s "$tmp/race/error_vs_time.svg"
check "race: the table has a resolution column" grep -q "resolution" "$tmp/race.out"
check "race: log time axis by default" grep -q "log scale" "$tmp/race/error_vs_time.svg"
rm "$tmp/race/error_vs_time.png"
check "plot_race.py --linear-time" /usr/bin/python3 "$src/bench/plot_race.py" "$tmp/race" \
  --target 0.5 --clock virtual --linear-time
check "--linear-time: plot written" test -s "$tmp/race/error_vs_time.png"
check "--linear-time: no log axis" bash -c "! grep -q 'log scale' '$tmp/race/error_vs_time.svg'"
for layout in overlay grid; do
  check "plot_study.py --layout $layout" /usr/bin/python3 "$src/bench/plot_study.py" \
    --layout "$layout" --thresholds 0.6,0.5 --out "$tmp/study-$layout" "A=$tmp/race" "B=$tmp/race"
  check "plot_study.py --layout $layout: plot and numbers" \
    test -s "$tmp/study-$layout.png" -a -s "$tmp/study-${layout}_stats.csv"
done
check "plot_study.py: resolution column" grep -q "t_to_0.5_resolution_max_s" "$tmp/study-grid_stats.csv"
echo "$pass passed, $fail failed"
((fail == 0))
