#!/usr/bin/python3
"""Plots one study of docs/results.md from one or more race folders, and tabulates the
numbers docs/results.md quotes.

usage: /usr/bin/python3 bench/plot_study.py --out PREFIX [--layout overlay|grid]
           [--thresholds 0.12,0.10,0.09] [--title TEXT] LABEL=RACE_DIR [LABEL=RACE_DIR ...]
(the last "=" separates the label from the folder)

overlay: every race's curves in one figure (test error and training loss against time);
         the legend says "LABEL: variant K".
grid:    one panel per race (test error against time), e.g. study 3's 2x2.
Time axes are logarithmic, so the early race (where short updates win) and the floor (where
stale or noisy updates lose) are both visible. Lines are the mean over repeats of the
step-interpolated curves, bands the min..max over repeats; lines break where a curve was
not evaluated (bench/curve_plot.py).

Writes PREFIX.png, PREFIX.svg and PREFIX_stats.csv: per race, variant and K the mean (and
min..max over repeats) time to reach each threshold, interpolated between the bracketing
evaluation points as racesgd does, with the largest bracket (resolution), the floor (mean
test error and mean training loss over the second half of the run) and the final values.
Needs Debian's python3-matplotlib (use /usr/bin/python3: another python3 may be first on PATH).
"""
import argparse
import csv
import math
import os
import sys
from collections import defaultdict

from curve_plot import NO_MATPLOTLIB, load_pyplot, crossing, mean_band, plot_mean

ORDER = ["sync", "k-sync", "k-batch-sync", "async", "k-async", "k-batch-async"]


def read_runs(race_dir):
    """(variant, K) -> repeat -> [(time_s, test_error, train_loss, updates)], in time order."""
    runs = defaultdict(lambda: defaultdict(list))
    with open(os.path.join(race_dir, "runs.csv")) as f:
        for r in csv.DictReader(line for line in f if not line.startswith("#")):
            err = float(r["test_error"]) if r["test_error"] else math.nan
            loss = float(r["train_loss"]) if r["train_loss"] else math.nan
            # The entry label tells apart entries of one variant and K (AdaSync, R, DC);
            # runs.csv files from before the column get "" and the old label.
            runs[(r["variant"], int(r["K"]), r.get("entry") or "")][int(r["repeat"])].append(
                (float(r["time_s"]), err, loss, int(r["updates"])))
    return runs


def variant_label(key):
    variant, k, entry = key
    if entry:
        return entry
    return variant if variant in ("sync", "async") else f"{variant} K={k}"


def sorted_keys(runs):
    return sorted(runs, key=lambda k: (ORDER.index(k[0]) if k[0] in ORDER else 99, k[1], k[2]))


def stats_rows(label, runs, thresholds):
    rows = []
    for key in sorted_keys(runs):
        reps = runs[key]
        row = {"race": label, "variant": key[0], "K": key[1], "entry": variant_label(key),
               "repeats": len(reps)}
        for th in thresholds:
            hits = [crossing([p[0] for p in pts], [p[1] for p in pts], th) for pts in reps.values()]
            reached = [h[0] for h in hits if h is not None]
            resolution = [h[1] for h in hits if h is not None]
            row[f"t_to_{th:g}_reached"] = f"{len(reached)}/{len(hits)}"
            row[f"t_to_{th:g}_mean_s"] = f"{sum(reached) / len(reached):.3f}" if reached else ""
            row[f"t_to_{th:g}_min_s"] = f"{min(reached):.3f}" if reached else ""
            row[f"t_to_{th:g}_max_s"] = f"{max(reached):.3f}" if reached else ""
            row[f"t_to_{th:g}_resolution_max_s"] = f"{max(resolution):.3g}" if reached else ""
        floors_err, floors_loss, finals_err, finals_loss = [], [], [], []
        for pts in reps.values():
            end = pts[-1][0]
            tail = [p for p in pts if p[0] >= end / 2]
            floors_err.append(sum(p[1] for p in tail) / len(tail))
            floors_loss.append(sum(p[2] for p in tail) / len(tail))
            finals_err.append(pts[-1][1])
            finals_loss.append(pts[-1][2])
        row["run_end_s"] = f"{max(pts[-1][0] for pts in reps.values()):.2f}"
        row["floor_test_error_mean"] = f"{sum(floors_err) / len(floors_err):.4f}"
        row["floor_test_error_min"] = f"{min(floors_err):.4f}"
        row["floor_test_error_max"] = f"{max(floors_err):.4f}"
        row["floor_train_loss_mean"] = f"{sum(floors_loss) / len(floors_loss):.4f}"
        row["final_test_error_mean"] = f"{sum(finals_err) / len(finals_err):.4f}"
        row["final_train_loss_mean"] = f"{sum(finals_loss) / len(finals_loss):.4f}"
        rows.append(row)
    return rows


def draw(ax, runs, index, prefix, colours, linestyle="-"):
    for key in sorted_keys(runs):
        curves = [([p[0] for p in pts], [p[3] for p in pts], [p[index] for p in pts])
                  for pts in runs[key].values()]
        grid, mean, lo, hi = mean_band(curves)
        name = prefix + variant_label(key)
        colour = colours.setdefault(name, f"C{len(colours) % 10}")
        plot_mean(ax, grid, mean, lo, hi, len(curves) > 1, color=colour, linestyle=linestyle,
                  linewidth=1.4, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.set_xlabel("virtual-clock time (s), log scale")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("races", nargs="+", help="LABEL=RACE_DIR")
    ap.add_argument("--out", required=True, help="output prefix (PREFIX.png, .svg, _stats.csv)")
    ap.add_argument("--layout", choices=["overlay", "grid"], default="overlay")
    ap.add_argument("--thresholds", default="0.12,0.10,0.09")
    ap.add_argument("--title", default="")
    args = ap.parse_args()
    thresholds = [float(x) for x in args.thresholds.split(",")]
    races = []
    for spec in args.races:
        if "=" not in spec:
            print(f"plot_study.py: '{spec}' is not LABEL=RACE_DIR", file=sys.stderr)
            return 2
        label, race_dir = spec.rsplit("=", 1)  # labels may contain "=", paths rarely do
        runs = read_runs(race_dir)
        if not runs:
            print(f"plot_study.py: {race_dir}/runs.csv has no rows", file=sys.stderr)
            return 1
        races.append((label, runs))

    rows = [row for label, runs in races for row in stats_rows(label, runs, thresholds)]
    with open(args.out + "_stats.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        writer.writeheader()
        writer.writerows(rows)

    plt = load_pyplot("plot_study.py")
    if plt is None:
        return NO_MATPLOTLIB
    colours = {}
    if args.layout == "overlay":
        fig, (ax_e, ax_l) = plt.subplots(1, 2, figsize=(13, 5))
        styles = ["-", "--", ":", "-."]
        for i, (label, runs) in enumerate(races):
            prefix = f"{label}: " if len(races) > 1 else ""
            draw(ax_e, runs, 1, prefix, colours, styles[i % len(styles)])
            draw(ax_l, runs, 2, prefix, colours, styles[i % len(styles)])
        ax_e.set_ylabel("test error")
        ax_l.set_ylabel("training loss")
        ax_e.set_title("test error (mean; band = min..max over repeats)", fontsize=10)
        ax_l.set_title("training loss", fontsize=10)
        ax_e.legend(fontsize=8)
    else:
        n = len(races)
        cols = 2 if n > 1 else 1
        rows_n = (n + cols - 1) // cols
        fig, axes = plt.subplots(rows_n, cols, figsize=(6.5 * cols, 4.3 * rows_n), squeeze=False,
                                 sharey=True)
        for ax, (label, runs) in zip(axes.flat, races):
            colours = {}
            draw(ax, runs, 1, "", colours)
            ax.set_title(label, fontsize=10)
            ax.set_ylabel("test error")
            ax.legend(fontsize=8)
        for ax in list(axes.flat)[n:]:
            ax.set_visible(False)
    if args.title:
        fig.suptitle(args.title, fontsize=11)
    fig.tight_layout()
    fig.savefig(args.out + ".png", dpi=90)
    fig.savefig(args.out + ".svg")
    print(f"plot: {args.out}.png (+ .svg), numbers: {args.out}_stats.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
