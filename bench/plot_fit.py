#!/usr/bin/python3
"""Draws the QQ plot of a `racesgd fit`: each fitted family's quantiles (x) against the
sample's (y), the best fit drawn bold, the line y = x where a perfect fit lies. Log axes
when every value is positive (delays are skewed: the tail is where families differ).

usage: /usr/bin/python3 bench/plot_fit.py FIT_DIR
Reads FIT_DIR/fit.json (its "qq" section); writes FIT_DIR/qq.png.
Exits 3, writing nothing, when matplotlib is missing (Debian's python3-matplotlib; use
/usr/bin/python3: another python3 may be first on PATH), so racesgd fit can say so.
"""
import json
import os
import sys

from curve_plot import NO_MATPLOTLIB, load_pyplot


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    fit_dir = sys.argv[1]
    plt = load_pyplot("plot_fit.py")
    if plt is None:
        return NO_MATPLOTLIB
    with open(os.path.join(fit_dir, "fit.json")) as f:
        fit = json.load(f)
    qq = fit["qq"]
    data_ms = [x * 1e3 for x in qq["data_s"]]
    best = next(f["family"] for f in fit["fits"] if f["spec"])

    fig, ax = plt.subplots(figsize=(7, 6))
    for f in fit["fits"]:
        q = qq["fits_s"].get(f["family"])
        if q is None:
            continue
        bold = f["family"] == best
        ax.plot([x * 1e3 for x in q], data_ms, marker="o", markersize=3 if bold else 2,
                linewidth=2 if bold else 0.8, alpha=1.0 if bold else 0.6,
                label="%s (AIC %.1f, KS %.3f)%s" % (f["family"], f["aic"], f["ks"], "  best" if bold else ""))
    lo, hi = min(data_ms), max(data_ms)
    ax.plot([lo, hi], [lo, hi], color="black", linestyle="--", linewidth=0.8, label="y = x")
    if lo > 0:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("fitted quantile (ms)")
    ax.set_ylabel("measured quantile (ms)")
    inp = fit["input"]
    column = " column %s" % inp["column"] if inp["column"] else ""
    ax.set_title("QQ plot: %s%s, n = %d\nbest: %s"
                 % (os.path.basename(inp["file"]), column, fit["data"]["n"], fit["best"]), fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(fit_dir, "qq.png"), dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
