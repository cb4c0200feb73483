#!/usr/bin/python3
"""Runtime fidelity: measured mean time per update of every variant against paper.md's
closed forms, on the real clock (threads, real softmax gradients, real sleeps) and on the
virtual clock, side by side.

usage: /usr/bin/python3 bench/fidelity.py [--racesgd build/release/bench/racesgd]
           [--delay exp:mean=10ms] [-P 8] [--seconds 8] [--out runs/fidelity]
Prints a markdown table (measured, predicted, ratio) and writes OUT/fidelity.json.
"""
import argparse
import json
import os
import subprocess
import sys


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
    args = ap.parse_args()
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
    rows = []
    print(f"delay {args.delay}, P = {args.P}, softmax minibatch {args.batch}, "
          f"real clock {args.seconds:g} s per configuration\n")
    print("| variant | K | predicted E[T] | method | real clock | real/pred | virtual clock | virtual/pred | real/virtual | updates (real) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for variant, k in configs:
        theory = json.loads(run([args.racesgd, "theory", "--delay", args.delay, "-P", str(args.P),
                                 "-K", str(k), "--variant", variant, "--json"]))
        pred = theory["variants"][0]["time_per_update"]
        outdir = os.path.join(args.out, f"{variant}-K{k}")
        run([args.racesgd, "train", *common, "--variant", variant, "-K", str(k), "--clock", "real",
             "--time", f"{args.seconds}s", "--out", outdir + "-real"])
        real = json.load(open(os.path.join(outdir + "-real", "summary.json")))
        run([args.racesgd, "train", *common, "--variant", variant, "-K", str(k), "--clock", "virtual",
             "--updates", "20000", "--eval-every", "20000", "--out", outdir + "-virtual"])
        virt = json.load(open(os.path.join(outdir + "-virtual", "summary.json")))
        r, v, p = real["mean_update_interval_s"], virt["mean_update_interval_s"], pred["seconds"]
        rows.append({"variant": variant, "K": k, "predicted_s": p, "method": pred["method"],
                     "real_s": r, "virtual_s": v, "real_updates": real["updates"],
                     "delay_drawn_mean_s": real["delay_drawn_mean_s"],
                     "delay_served_mean_s": real["delay_served_mean_s"],
                     "compute_mean_s": real["compute_mean_s"]})
        print(f"| {variant} | {k} | {p*1e3:.3f} ms | {pred['method']} | {r*1e3:.3f} ms | {r/p:.3f} | "
              f"{v*1e3:.3f} ms | {v/p:.3f} | {r/v:.3f} | {real['updates']} |", flush=True)
    worst_real = max(abs(x["real_s"] / x["predicted_s"] - 1) for x in rows)
    worst_rv = max(abs(x["real_s"] / x["virtual_s"] - 1) for x in rows)
    print(f"\nworst |real/predicted - 1| = {worst_real:.3%}; worst |real/virtual - 1| = {worst_rv:.3%}")
    json.dump({"delay": args.delay, "P": args.P, "seconds": args.seconds, "rows": rows,
               "context": real.get("context", {})},
              open(os.path.join(args.out, "fidelity.json"), "w"), indent=2)


if __name__ == "__main__":
    main()
