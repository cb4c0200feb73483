#!/usr/bin/python3
"""MPI transport overhead: updates/s of `racesgd train --transport mpi --delay none` (async)
next to the raw MPI round-trip rate of the same message size (bench/micro/mpi_pingpong),
measured in one run: each model's ping-pong runs right before and right after its train
runs, and the ratio uses the mean of the two (this machine's MPI rate moves run to run).

One async update costs the transport one round trip (weights out, gradient back), so the
raw rate is its ceiling; the threads transport is measured alongside for reference. With
--delay none a learner computes its gradient at once: minibatch 1 makes that compute small
(transport-bound), the default 64 shows the compute-bound rate.

usage: /usr/bin/python3 bench/mpi_rate.py [--racesgd build/release/bench/racesgd]
           [--pingpong build/release/bench/micro/mpi_pingpong] [--seconds 4]
           [--learners 1,2,8] [--batches 1,64] [--models softmax,mlp:hidden=256]
           [--out runs/mpi_rate]
Prints a markdown table and writes OUT/mpi_rate.json. Needs MNIST (scripts/setup.sh) and
an MPI build. Exit 2 on bad arguments, 1 when a run fails.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MPIRUN = os.path.join(HERE, "..", "scripts", "mpirun_local.sh")
DIMS = {"softmax": 7850}  # MNIST: 784 x 10 + 10


def fail(msg, code=1):
    print(f"mpi_rate.py: {msg}", file=sys.stderr)
    sys.exit(code)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        fail(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    return p.stdout


def model_dim(model):
    if model in DIMS:
        return DIMS[model]
    m = re.fullmatch(r"mlp:hidden=(\d+(?:,\d+)*)", model)
    if not m:
        fail(f"--models: '{model}' is not softmax or mlp:hidden=W[,W...]", 2)
    widths = [784] + [int(w) for w in m.group(1).split(",")] + [10]
    return sum(a * b + b for a, b in zip(widths, widths[1:]))


def pingpong(binary, d):
    out = run([MPIRUN, "2", binary, "--sizes", str(d), "--repeats", "5", "--time", "400ms"])
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == str(d):
            return float(cells[2])
    fail(f"no row for d = {d} in the ping-pong output:\n{out}")


def updates_per_s(racesgd, transport, model, P, batch, seconds, out):
    cmd = ["train", "--data", "mnist", "--model", model, "--variant", "async", "-P", str(P),
           "--batch", str(batch), "--delay", "none", "--time", f"{seconds}s", "--progress", "off",
           "--eval-every", f"{seconds}s", "--max-test", "1000", "--eval-train-samples", "1000",
           "--out", out]
    if transport == "mpi":
        run([MPIRUN, str(P + 1), racesgd, *cmd, "--transport", "mpi"])
    else:
        run([racesgd, *cmd])
    s = json.load(open(os.path.join(out, "summary.json")))
    return s["updates"] / s["run_time_s"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--racesgd", default="build/release/bench/racesgd")
    ap.add_argument("--pingpong", default="build/release/bench/micro/mpi_pingpong")
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--learners", default="1,2,8")
    ap.add_argument("--batches", default="1,64")
    ap.add_argument("--models", default="softmax,mlp:hidden=256")
    ap.add_argument("--out", default="runs/mpi_rate")
    args = ap.parse_args()
    try:
        learners = [int(x) for x in args.learners.split(",")]
        batches = [int(x) for x in args.batches.split(",")]
    except ValueError:
        fail("--learners and --batches take comma-separated integers", 2)
    if not (args.seconds > 0) or min(learners) < 1 or min(batches) < 1:
        fail("--seconds, --learners and --batches must be positive", 2)
    for f in (args.racesgd, args.pingpong):
        if not os.access(f, os.X_OK):
            fail(f"{f}: not an executable (build it: cmake --build --preset release)", 2)
    os.makedirs(args.out, exist_ok=True)
    rows = []
    print("| model | d | P | batch | threads updates/s | MPI updates/s | raw round trips/s (before, after) | MPI / raw |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for model in args.models.split(","):
        d = model_dim(model)
        before = pingpong(args.pingpong, d)
        measured = []
        for P in learners:
            for b in batches:
                out = os.path.join(args.out, f"{model.replace(':', '-').replace(',', '-')}-P{P}-b{b}")
                mpi = updates_per_s(args.racesgd, "mpi", model, P, b, args.seconds, out + "-mpi")
                thr = updates_per_s(args.racesgd, "threads", model, P, b, args.seconds, out + "-threads")
                measured.append((P, b, thr, mpi))
        after = pingpong(args.pingpong, d)
        raw = statistics.mean([before, after])
        for P, b, thr, mpi in measured:
            rows.append({"model": model, "d": d, "P": P, "batch": b, "threads_updates_per_s": thr,
                         "mpi_updates_per_s": mpi, "raw_before": before, "raw_after": after,
                         "mpi_over_raw": mpi / raw})
            print(f"| {model} | {d:,} | {P} | {b} | {thr:,.0f} | {mpi:,.0f} | {before:,.0f}, {after:,.0f} "
                  f"| **{mpi / raw:.2f}** |", flush=True)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    json.dump({"cpu": cpu, "cores": os.cpu_count(), "seconds": args.seconds, "rows": rows},
              open(os.path.join(args.out, "mpi_rate.json"), "w"), indent=2)
    print(f"\nCPU: {cpu}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
