#!/usr/bin/python3
"""Plots a race: test error against wall-clock seconds (one line per variant, the mean over
repeats with a min-max band) and, in a second panel, against updates.

usage: /usr/bin/python3 bench/plot_race.py RACE_DIR [--target 0.1] [--title TEXT] [--linear-time]
Reads RACE_DIR/runs.csv; writes RACE_DIR/error_vs_time.png and .svg.
Both x axes are logarithmic (--linear-time: linear), starting at the first point recorded
after the start; lines break where the curve was not evaluated (bench/curve_plot.py).
Needs Debian's python3-matplotlib (use /usr/bin/python3: another python3 may be first on PATH).
"""
import argparse
import csv
import os
import sys
from collections import defaultdict

from curve_plot import NO_MATPLOTLIB, load_pyplot, mean_band, plot_mean


def entry_label(variant, K, R):
    """The label of a runs.csv from before the entry column: "k-async K=2 R=4"."""
    label = variant if variant in ("sync", "async") else f"{variant} K={K}"
    return label + (f" R={R}" if R else "")


def read_runs(path):
    # (variant, K, R, entry label) -> repeat -> rows. The entry column tells apart entries
    # of one variant and K (AdaSync, compensation); older files lack it.
    runs = defaultdict(lambda: defaultdict(list))
    with open(path) as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        for r in rows:
            # max_staleness: Ringmaster's R, 0 when unset (or the column predates it)
            R = int(r.get("max_staleness") or 0)
            label = r.get("entry") or entry_label(r["variant"], int(r["K"]), R)
            key = (r["variant"], int(r["K"]), R, label)
            runs[key][int(r["repeat"])].append(
                (float(r["time_s"]), int(r["updates"]), float(r["test_error"]) if r["test_error"] else float("nan")))
    return runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("race_dir")
    ap.add_argument("--target", type=float, default=None)
    ap.add_argument("--title", default="")
    ap.add_argument("--clock", default="real")
    ap.add_argument("--footer", default="", help="context line (version, build, CPU, seeds)")
    ap.add_argument("--linear-time", action="store_true",
                    help="linear x axes (default: logarithmic time and updates)")
    args = ap.parse_args()
    plt = load_pyplot("plot_race.py")
    if plt is None:
        return NO_MATPLOTLIB
    runs = read_runs(os.path.join(args.race_dir, "runs.csv"))
    if not runs:
        print("plot_race.py: runs.csv has no rows", file=sys.stderr)
        return 1
    fig, (ax_t, ax_u) = plt.subplots(1, 2, figsize=(13, 5))
    order = ["sync", "k-sync", "k-batch-sync", "async", "k-async", "k-batch-async"]
    keys = sorted(runs, key=lambda k: (order.index(k[0]) if k[0] in order else 99, k[1], k[2], k[3]))
    log = not args.linear_time
    for key in keys:
        reps = runs[key]
        label = key[3]
        colour = None
        for ax, index in ((ax_t, 0), (ax_u, 1)):
            curves = [([p[index] for p in pts], [p[1] for p in pts], [p[2] for p in pts])
                      for pts in reps.values()]
            grid, mean, lo, hi = mean_band(curves, positive=log)
            if not grid:
                continue
            line = plot_mean(ax, grid, mean, lo, hi, len(curves) > 1, linewidth=1.6, color=colour,
                             label=label if ax is ax_t else None)
            colour = line.get_color()
    time_label = "wall-clock time (s)" if args.clock == "real" else "virtual-clock time (s)"
    for ax, xl in ((ax_t, time_label), (ax_u, "updates")):
        ax.set_xlabel(xl + (", log scale" if log else ""))
        ax.set_ylabel("test error")
        ax.set_yscale("log")
        if log:
            ax.set_xscale("log")
        else:
            ax.set_xlim(left=0)
        ax.grid(True, which="both", alpha=0.3)
        if args.target is not None:
            ax.axhline(args.target, color="gray", linestyle="--", linewidth=1)
    ax_t.legend(fontsize=8)
    ax_t.set_title("error against time (mean, band = min..max over repeats; gaps: not evaluated)",
                   fontsize=9)
    ax_u.set_title("error against updates", fontsize=9)
    if args.title:
        fig.suptitle(args.title, fontsize=10)
    if args.footer:
        fig.text(0.01, 0.005, args.footer, fontsize=6, color="gray")
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    for ext in ("png", "svg"):
        fig.savefig(os.path.join(args.race_dir, f"error_vs_time.{ext}"), dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
