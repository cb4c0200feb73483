#!/usr/bin/python3
"""Runtime fidelity: measured mean time per update of every variant against paper.md's
closed forms, on the real clock (threads, real softmax gradients, real sleeps) and on the
virtual clock, side by side.

usage: /usr/bin/python3 bench/fidelity.py [--racesgd build/release/bench/racesgd]
           [--delay exp:mean=10ms] [-P 8] [--seconds 8] [--out runs/fidelity]
           [--transports threads|mpi|threads,mpi] [--compute-at deadline|start]
           [--max-steal 0.02] [--attempts 3] [--bar-sync F] [--bar-async F]
Prints a markdown table (measured, predicted, ratio, the share of gradients late and the
host's steal time during the run; and real / virtual clock with the same seed and number of
updates, i.e. the same delay draws) and writes OUT/fidelity.json. With
--transports threads,mpi every configuration runs on the real clock over both transports
(MPI: P + 1 ranks through scripts/mpirun_local.sh) and the table shows them side by side.

Steal: a VM's host that runs other tenants takes CPU time from the VM's vCPUs (/proc/stat's
steal, recorded by racesgd as host_steal_fraction). A real-clock run during which more than
--max-steal of the machine's CPU time was stolen measured the host as much as racesgd: it is
run again, up to --attempts runs in all, and the row keeps the run with the least steal
(every attempt is in fidelity.json, and the table says how many there were).

Verdict: the real clock's error is real / virtual clock on the same draws (the sample's own
luck -- the mean of a few hundred maximums of exponentials is itself off by several percent
-- cancels). A row meets its bar when that is within --bar-sync (sync family) or
--bar-async (async family); defaults are issue 13's: 2% at P <= 8, else 5% and 3%. A row
whose every attempt had more than --max-steal is not judged ("host").
"""
import argparse
import json
import os
import subprocess
import sys

MPIRUN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "mpirun_local.sh")


SYNC_FAMILY = ("sync", "k-sync", "k-batch-sync")


def default_bars(p):
    """Issue 13's bars: (sync family, async family)."""
    return (0.02, 0.02) if p <= 8 else (0.05, 0.03)


def steal_of(summary):
    s = summary.get("host_steal_fraction")
    return None if s is None else float(s)


def keep_attempt(attempts, max_steal):
    """The attempt a row keeps: the first whose steal is known and at most max_steal, else
    the one with the least steal (unknown steal counts as none measured: kept last)."""
    for a in attempts:
        if a["host_steal_fraction"] is not None and a["host_steal_fraction"] <= max_steal:
            return a
    known = [a for a in attempts if a["host_steal_fraction"] is not None]
    return min(known, key=lambda a: a["host_steal_fraction"]) if known else attempts[-1]


def verdict(variant, real_s, same_draws_s, steal, max_steal, bars):
    """'met', 'over' or 'host' (steal above max_steal: the host, not judged)."""
    if steal is not None and steal > max_steal:
        return "host"
    bar = bars[0] if variant in SYNC_FAMILY else bars[1]
    return "met" if abs(real_s / same_draws_s - 1) <= bar else "over"


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"fidelity.py: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    return p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--racesgd", default="build/release/bench/racesgd")
    ap.add_argument("--delay", default="exp:mean=10ms")
    ap.add_argument("-P", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=8.0, help="real-clock seconds per configuration")
    ap.add_argument("--ks", default="1,2,4,8")
    ap.add_argument("--out", default="runs/fidelity")
    ap.add_argument("--batch", type=int, default=64, help="minibatch size (compute per gradient)")
    ap.add_argument("--only", default="", help="comma-separated variants to run (default: all)")
    ap.add_argument("--transports", default="threads", help="threads, mpi or threads,mpi")
    ap.add_argument("--compute-at", default="deadline", choices=["deadline", "start"])
    ap.add_argument("--max-steal", type=float, default=0.02,
                    help="rerun a real-clock run whose host steal exceeded this fraction")
    ap.add_argument("--attempts", type=int, default=3, help="real-clock runs per row at most")
    ap.add_argument("--bar-sync", type=float, help="bar for the sync family (default: issue 13's)")
    ap.add_argument("--bar-async", type=float, help="bar for the async family (default: issue 13's)")
    args = ap.parse_args()
    if args.attempts < 1:
        ap.error(f"--attempts: want at least 1, got {args.attempts}")
    if not 0 <= args.max_steal <= 1:
        ap.error(f"--max-steal: want a fraction in [0, 1], got {args.max_steal}")
    bars = default_bars(args.P)
    bars = (bars[0] if args.bar_sync is None else args.bar_sync,
            bars[1] if args.bar_async is None else args.bar_async)
    if min(bars) < 0:
        ap.error(f"--bar-sync/--bar-async: want fractions >= 0, got {bars}")
    transports = args.transports.split(",")
    if not transports or any(t not in ("threads", "mpi") for t in transports):
        ap.error(f"--transports: want threads, mpi or both, got {args.transports!r}")
    os.makedirs(args.out, exist_ok=True)
    ks = [int(k) for k in args.ks.split(",")]
    configs = [("sync", args.P), ("async", 1)]
    for v in ("k-sync", "k-batch-sync", "k-async", "k-batch-async"):
        configs += [(v, k) for k in ks if k <= args.P]
    if args.only:
        keep = set(args.only.split(","))
        configs = [c for c in configs if c[0] in keep]
    common = ["--model", "softmax", "--data", "mnist", "--max-test", "1000", "--eval-train-samples",
              "1000", "-P", str(args.P), "--delay", args.delay, "--progress", "off", "--lr", "0.05",
              "--batch", str(args.batch)]
    real_only = ["--compute-at", args.compute_at]
    rows = []
    print(f"delay {args.delay}, P = {args.P}, softmax minibatch {args.batch}, "
          f"real clock {args.seconds:g} s per configuration, compute at {args.compute_at}; "
          f"runs with host steal > {args.max_steal:.0%} rerun ({args.attempts} at most); bars "
          f"{bars[0]:.0%} sync family, {bars[1]:.0%} async family (real / virtual, same draws)\n")
    real_cols = "".join(f" {t} | {t}/pred | {t} late | {t} steal (runs) |" for t in transports)
    print(f"| variant | K | predicted E[T] | method |{real_cols} virtual clock | virtual/pred | "
          f"{transports[0]}/virtual, same draws | bar | updates ({transports[0]}) |")
    print("|---|---|---|---|" + "---|---|---|---|" * len(transports) + "---|---|---|---|---|")
    for variant, k in configs:
        theory = json.loads(run([args.racesgd, "theory", "--delay", args.delay, "-P", str(args.P),
                                 "-K", str(k), "--variant", variant, "--json"]))
        pred = theory["variants"][0]["time_per_update"]
        p = pred["seconds"]
        outdir = os.path.join(args.out, f"{variant}-K{k}")
        row = {"variant": variant, "K": k, "predicted_s": p, "method": pred["method"]}
        cells = ""
        for t in transports:
            # The host's steal time during the run (a VM whose host is busy stalls its vCPUs):
            # a run with more than --max-steal measured the host's other tenants too, and is
            # run again; the row keeps the quietest run.
            attempts = []
            while len(attempts) < args.attempts:
                out = f"{outdir}-{t}" + (f"-run{len(attempts) + 1}" if attempts else "")
                train = [args.racesgd, "train", *common, *real_only, "--variant", variant, "-K", str(k),
                         "--clock", "real", "--time", f"{args.seconds}s", "--out", out]
                run([MPIRUN, str(args.P + 1), *train, "--transport", "mpi"] if t == "mpi" else train)
                real = json.load(open(os.path.join(out, "summary.json")))
                attempts.append({"out": out, "real_s": real["mean_update_interval_s"], "updates": real["updates"],
                                 "delay_drawn_mean_s": real["delay_drawn_mean_s"],
                                 "delay_served_mean_s": real["delay_served_mean_s"],
                                 "compute_mean_s": real["compute_mean_s"],
                                 "compute_late": real.get("compute_late", {}),
                                 "host_steal_fraction": steal_of(real)})
                if steal_of(real) is None or steal_of(real) <= args.max_steal:
                    break
            row[t] = dict(keep_attempt(attempts, args.max_steal), attempts=attempts)
            r = row[t]["real_s"]
            steal = row[t]["host_steal_fraction"]
            steal_cell = ("?" if steal is None else f"{steal:.1%}") + (
                f" ({len(attempts)})" if len(attempts) > 1 else "")
            late = row[t]["compute_late"].get("late_fraction", 0)
            cells += f" {r*1e3:.3f} ms | {r/p:.3f} | {late:.1%} | {steal_cell} |"
        run([args.racesgd, "train", *common, "--variant", variant, "-K", str(k), "--clock", "virtual",
             "--updates", "20000", "--eval-every", "20000", "--out", outdir + "-virtual"])
        virt = json.load(open(os.path.join(outdir + "-virtual", "summary.json")))
        v = virt["mean_update_interval_s"]
        row["virtual_s"] = v
        # The same seed for the real run's number of updates: the learners draw the same X
        # sequences, so this is what the real run would measure if it added no time of its
        # own; real / same-draws is the real clock's error free of the sample's luck (the
        # mean of a few thousand exponential draws is itself off by ~1%).
        n = row[transports[0]]["updates"]
        if n < 2:
            sys.exit(f"fidelity.py: {variant} K={k} made {n} updates in {args.seconds:g} s: "
                     "too few to compare; raise --seconds")
        run([args.racesgd, "train", *common, "--variant", variant, "-K", str(k), "--clock", "virtual",
             "--updates", str(n), "--eval-every", str(n), "--out", outdir + "-same-draws"])
        same = json.load(open(os.path.join(outdir + "-same-draws", "summary.json")))["mean_update_interval_s"]
        row["virtual_same_draws_s"] = same
        r0 = row[transports[0]]["real_s"]
        row["verdict"] = verdict(variant, r0, same, row[transports[0]]["host_steal_fraction"],
                                 args.max_steal, bars)
        rows.append(row)
        print(f"| {variant} | {k} | {p*1e3:.3f} ms | {pred['method']} |{cells} "
              f"{v*1e3:.3f} ms | {v/p:.3f} | {r0/same:.3f} | {row['verdict']} | {n} |", flush=True)
    print()
    for t in transports:
        worst = max(abs(x[t]["real_s"] / x["predicted_s"] - 1) for x in rows)
        worst_v = max(abs(x[t]["real_s"] / x["virtual_s"] - 1) for x in rows)
        print(f"{t}: worst |real/predicted - 1| = {worst:.3%}; worst |real/virtual - 1| = {worst_v:.3%}")
    worst_s = max(abs(x[transports[0]]["real_s"] / x["virtual_same_draws_s"] - 1) for x in rows)
    print(f"{transports[0]}: worst |real/virtual with the same draws - 1| = {worst_s:.3%}")
    counts = {v: sum(x["verdict"] == v for x in rows) for v in ("met", "over", "host")}
    print(f"bars: {counts['met']} of {len(rows)} rows met, {counts['over']} over, {counts['host']} "
          f"not judged (host steal > {args.max_steal:.0%} in every run)")
    json.dump({"delay": args.delay, "P": args.P, "seconds": args.seconds, "batch": args.batch,
               "compute_at": args.compute_at, "transports": transports, "max_steal": args.max_steal,
               "attempts": args.attempts, "bars": {"sync": bars[0], "async": bars[1]}, "rows": rows,
               "context": real.get("context", {})},
              open(os.path.join(args.out, "fidelity.json"), "w"), indent=2)


if __name__ == "__main__":
    main()
