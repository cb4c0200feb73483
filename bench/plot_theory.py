#!/usr/bin/python3
"""Plots study 2 of docs/results.md: E[T_sync] / E[T_async] against P, the closed form as a
line and the virtual-clock measurement as points, one colour per delay family; a second
panel shows measured / predicted - 1 with the 2% bar.

usage: /usr/bin/python3 bench/plot_theory.py --out PREFIX THEORY.json [THEORY.json ...]
Each THEORY.json is the output of `racesgd theory --delay D -P 1..32 --measure --json`.
Writes PREFIX.png, PREFIX.svg and PREFIX.csv (delay, P, predicted and measured ratio, the
measured ratio's standard error from the two Monte Carlo standard errors, relative
deviation). Exits 1 if a file has no measured rows.
Needs Debian's python3-matplotlib (use /usr/bin/python3: another python3 may be first on PATH).
"""
import argparse
import csv
import json
import math
import sys

from curve_plot import NO_MATPLOTLIB, load_pyplot


def rows_of(path):
    with open(path) as f:
        doc = json.load(f)
    out = []
    for r in doc["rows"]:
        if "measured_ratio" not in r:
            continue
        ms, ma = r["measured_sync"], r["measured_async"]
        # Delta method for a ratio of two independent means.
        rel_se = math.hypot(ms["std_error"] / ms["seconds"], ma["std_error"] / ma["seconds"])
        out.append({
            "delay": doc["delay"],
            "P": r["P"],
            "predicted_ratio": r["ratio"],
            "predicted_method": r["sync"]["method"] + " / " + r["async"]["method"],
            "measured_ratio": r["measured_ratio"],
            "measured_ratio_se": r["measured_ratio"] * rel_se,
            "deviation": r["measured_ratio"] / r["ratio"] - 1.0,
        })
    return doc["delay"], out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--bar", type=float, default=0.02, help="agreement bar (fraction)")
    args = ap.parse_args()
    families = []
    for path in args.json:
        delay, rows = rows_of(path)
        if not rows:
            print(f"plot_theory.py: {path} has no measured rows (run theory with --measure)",
                  file=sys.stderr)
            return 1
        families.append((delay, rows))

    with open(args.out + ".csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(families[0][1][0].keys()))
        writer.writeheader()
        for _, rows in families:
            for r in rows:
                writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    for delay, rows in families:
        worst = max(rows, key=lambda r: abs(r["deviation"]))
        print(f"{delay}: worst |measured/predicted - 1| = {abs(worst['deviation']) * 100:.3f}% "
              f"at P = {worst['P']} (bar {args.bar * 100:g}%)")

    plt = load_pyplot("plot_theory.py")
    if plt is None:
        return NO_MATPLOTLIB
    fig, (ax_r, ax_d) = plt.subplots(1, 2, figsize=(13, 5))
    for i, (delay, rows) in enumerate(families):
        colour = f"C{i}"
        ps = [r["P"] for r in rows]
        ax_r.plot(ps, [r["predicted_ratio"] for r in rows], color=colour, linewidth=1.3,
                  label=f"{delay}: theory ({rows[0]['predicted_method']})")
        ax_r.errorbar(ps, [r["measured_ratio"] for r in rows],
                      yerr=[2 * r["measured_ratio_se"] for r in rows], fmt="o", markersize=3.5,
                      color=colour, label=f"{delay}: measured (virtual clock)")
        ax_d.errorbar(ps, [100 * r["deviation"] for r in rows],
                      yerr=[200 * r["measured_ratio_se"] / r["predicted_ratio"] for r in rows],
                      fmt="o-", markersize=3.5, linewidth=0.8, color=colour, label=delay)
    for y in (-100 * args.bar, 100 * args.bar):
        ax_d.axhline(y, color="grey", linestyle="--", linewidth=1)
    ax_d.axhline(0, color="black", linewidth=0.6)
    ax_r.set_xlabel("P (learners)")
    ax_r.set_ylabel("E[T_sync] / E[T_async]")
    ax_r.set_title("runtime ratio per update (error bars: 2 standard errors)", fontsize=10)
    ax_r.grid(True, alpha=0.3)
    ax_r.legend(fontsize=8)
    ax_d.set_xlabel("P (learners)")
    ax_d.set_ylabel("measured / predicted - 1 (%)")
    ax_d.set_title(f"deviation from theory (dashed: the {args.bar * 100:g}% bar)", fontsize=10)
    ax_d.set_ylim(-100 * args.bar * 1.5, 100 * args.bar * 1.5)
    ax_d.grid(True, alpha=0.3)
    ax_d.legend(fontsize=8)
    fig.suptitle("Study 2: E[T_sync] / E[T_async] against P, virtual clock vs closed form", fontsize=11)
    fig.tight_layout()
    fig.savefig(args.out + ".png", dpi=90)
    fig.savefig(args.out + ".svg")
    print(f"plot: {args.out}.png (+ .svg), table: {args.out}.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
