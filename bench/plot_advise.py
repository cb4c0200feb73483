#!/usr/bin/python3
"""Draws the phase diagram of `racesgd advise --sweep`: the winning variant of each point,
P on the x axis (log 2), the swept delay value (e.g. pareto alpha: tail heaviness) on the
y axis; one marker per winner family, filled when the winner is synchronous, with the
winner's name and the runner-up margin written next to it.

usage: /usr/bin/python3 bench/plot_advise.py SWEEP_DIR
Reads SWEEP_DIR/sweep.csv; writes SWEEP_DIR/phase.png.
Exits 3, writing nothing, when matplotlib is missing (Debian's python3-matplotlib), so
racesgd advise can say so.
"""
import csv
import os
import sys

from curve_plot import NO_MATPLOTLIB, load_pyplot

MARKERS = {"sync": "s", "k-sync": "D", "k-batch-sync": "d", "async": "o", "k-async": "^",
           "k-batch-async": "v", "ssp": "P"}


def read_points(path):
    with open(path) as f:
        rows = [line for line in f if not line.startswith("#")]
    return list(csv.DictReader(rows))


def swept_key(point):
    """The spec key whose value was swept: "alpha" of "pareto:scale=1ms,alpha=1.5" at 1.5."""
    spec = point["delay"]
    for item in spec.partition(":")[2].split(","):
        key, _, value = item.partition("=")
        if value == point["value"]:
            return spec.partition(":")[0] + " " + key
    return "swept value of " + spec.partition(":")[0]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sweep_dir = sys.argv[1]
    plt = load_pyplot("plot_advise.py")
    if plt is None:
        return NO_MATPLOTLIB
    points = read_points(os.path.join(sweep_dir, "sweep.csv"))
    values = []  # the swept values in sweep order: numbers sort, words keep their order
    for p in points:
        if p["value"] not in values:
            values.append(p["value"])
    try:
        y_of = {v: float(v) for v in values}
    except ValueError:
        y_of = {v: i for i, v in enumerate(values)}

    fig, ax = plt.subplots(figsize=(8, 5))
    seen = set()
    for p in points:
        x, y = int(p["P"]), y_of[p["value"]]
        winner = p["winner"] or "none reached"
        family = winner.split(" ")[0]
        sync = p["synchronous"] == "1"
        label = family + (" (synchronous)" if sync else "")
        ax.scatter([x], [y], s=140, marker=MARKERS.get(family, "x"),
                   facecolors="tab:blue" if sync else "none",
                   edgecolors="tab:blue" if sync else "tab:red",
                   label=None if label in seen else label)
        seen.add(label)
        margin = " x%.2f" % float(p["margin"]) if p["margin"] else ""
        ax.annotate(winner + margin, (x, y), textcoords="offset points", xytext=(8, 6), fontsize=7)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("learners P")
    ax.set_ylabel(swept_key(points[0]) if points else "swept value")
    ax.set_title("racesgd advise: winner by time to target (x: runner-up's time / winner's)")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(os.path.join(sweep_dir, "phase.png"), dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
