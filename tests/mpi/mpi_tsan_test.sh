#!/usr/bin/env bash
# The MPI transport's threads under ThreadSanitizer: rank 0's PS thread, communication
# thread, checkpoint writes and signal handling, and each learner rank's loop, in short
# real-clock runs of all six variants over mpirun (P = 4, random delays so that restarts,
# cancellations and held gradients interleave), then a run interrupted by SIGINT. Fails on
# any ThreadSanitizer report, a bad exit or a run without updates. Registered only in a
# ThreadSanitizer build with MPI (tests/mpi/CMakeLists.txt); exit 77 without mpirun.
# Usage: mpi_tsan_test.sh RACESGD SOURCE_DIR
set -uo pipefail
racesgd=$1
src=$2
fx="$src/tests/fixtures"
source "$src/tests/shell_checks.sh"
if ! command -v mpirun >/dev/null; then
  echo "SKIP: mpirun not found (install openmpi-bin: scripts/setup.sh)"
  exit 77
fi
scratch_dir
# mpirun passes the environment to every rank. The suppressions name Open MPI's own code only.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$src/tests/mpi/tsan_openmpi.supp"
mpi() {  # mpi NP racesgd-args...: a 120 s timeout so a hang fails here
  timeout -k 5 120 "$src/scripts/mpirun_local.sh" "$1" "$racesgd" "${@:2}"
}
data=(--data "$fx/mnist100-images-idx3-ubyte" --test-fraction 0.2 --batch 10 --progress off)
run=("${data[@]}" --transport mpi -P 4 --delay 'exp:mean=2ms' --time 1.5s --checkpoint-every 0.4s)

clean() {  # clean LOG: no ThreadSanitizer report in it (printed when there is one)
  ! grep -q "ThreadSanitizer" "$1" || { grep -A40 "WARNING: ThreadSanitizer" "$1" | head -80; false; }
}
updated() {  # updated DIR: its summary.json counts at least one update
  /usr/bin/python3 -c "import json, sys; sys.exit(json.load(open('$1/summary.json'))['updates'] < 1)"
}

for v in sync k-sync k-batch-sync async k-async k-batch-async; do
  mpi 5 train "${run[@]}" --variant "$v" --checkpoint "$tmp/ckpt-$v" --out "$tmp/$v" >"$tmp/$v.log" 2>&1
  rc=$?
  check "$v over MPI under TSan: no report" clean "$tmp/$v.log"
  check "$v over MPI under TSan: exit 0" test $rc -eq 0 || tail -5 "$tmp/$v.log"
  check "$v over MPI under TSan: updates made" updated "$tmp/$v"
done

# Interrupted: SIGINT to rank 0 once it has written a checkpoint (the run is under way);
# rank 0 stops the learners, writes a checkpoint and its outputs, exit 1.
mpi 5 train "${data[@]}" --transport mpi -P 4 --delay 'exp:mean=2ms' --variant k-async --time 100s \
  --checkpoint "$tmp/ckpt-int" --checkpoint-every 0.3s --out "$tmp/int" >"$tmp/int.log" 2>&1 &
mpirun_pid=$!
for ((i = 0; i < 1200; ++i)); do
  [[ -e "$tmp/ckpt-int/checkpoint.rsgd" ]] || ! kill -0 $mpirun_pid 2>/dev/null && break
  sleep 0.05
done
for p in $(pgrep -f -- "--out $tmp/int"); do
  tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=0 && kill -INT "$p"
done
wait $mpirun_pid
rc=$?
check "interrupted run over MPI under TSan: no report" clean "$tmp/int.log"
check "interrupted run over MPI under TSan: exit 1" test $rc -eq 1 || tail -5 "$tmp/int.log"
check "interrupted run over MPI under TSan: stopped by the signal, outputs written" /usr/bin/python3 -c "
import json; s = json.load(open('$tmp/int/summary.json')); assert s['stop_reason'] == 'interrupted', s['stop_reason']"
echo "mpi_tsan: $pass passed, $fail failed"
((fail == 0))
