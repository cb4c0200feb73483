"""Helpers shared by the plot scripts: loading matplotlib or saying what to install
(load_pyplot, every plot_*.py), and for curves (plot_race.py, plot_study.py) the time a curve
crosses a target, its value between evaluation points, and where it was not evaluated.

A curve is a list of points in run order, each with x (run time or updates), the updates
applied so far and a value (test error or training loss). Between two points the weights
change only at updates: across a segment that spans one update at most the curve is a
step, which a line may draw; across one that spans more updates and a wide stretch of the
axis nothing is known, so no line is drawn there (a gap, with markers on points left
alone). Needs no matplotlib.
"""
import bisect
import math

# A segment spanning more than one update is drawn only when it is shorter than both
# WIDE_GAP_REL of its end and WIDE_GAP_SPACINGS times the curve's own spacing near the end
# (the linear grid: --eval-every, or the auto schedule's 100 points over the run). The auto
# schedule's geometric ticks are 1.5% apart, so its segments are always drawn.
WIDE_GAP_REL = 0.1
WIDE_GAP_SPACINGS = 2.0


def crossing(xs, values, target):
    """(x, resolution) where values first fall to target or below, or None: interpolated
    between the bracketing points in log value, linear x, as racesgd's time to target
    (bench/time_to_target.h); resolution = the bracket's width. NaN values are passed over.
    """
    before = None
    for x, v in zip(xs, values):
        if math.isnan(v):
            continue
        if v > target:
            before = (x, v)
            continue
        if before is None:
            return x, 0.0
        x0, v0 = before
        if not (v > 0 and target > 0):
            return x, x - x0
        f = (math.log(v0) - math.log(target)) / (math.log(v0) - math.log(v))
        return x0 + (x - x0) * f, x - x0
    return None


def end_spacing(xs, tail=20):
    """The median gap between the last `tail` points: the evaluation grid near the end."""
    gaps = sorted(b - a for a, b in zip(xs[-tail - 1:], xs[-tail:]) if b > a)
    return gaps[len(gaps) // 2] if gaps else 0.0


def drawn_segments(xs, updates):
    """One flag per segment (i, i + 1): True when a line may join the two points."""
    limit = WIDE_GAP_SPACINGS * end_spacing(xs)
    flags = []
    for i in range(len(xs) - 1):
        gap = xs[i + 1] - xs[i]
        steps = updates[i + 1] - updates[i]
        flags.append(steps <= 1 or gap <= min(WIDE_GAP_REL * xs[i + 1], limit) or gap <= 0)
    return flags


def value_at(xs, values, x):
    """The curve's value at x: the last point's at or before x (the weights then in force)."""
    i = bisect.bisect_right(xs, x) - 1
    return values[max(i, 0)]


def inside_drawn(xs, drawn, x):
    """True when x, strictly between two of the curve's points, lies in a drawn segment."""
    i = bisect.bisect_right(xs, x) - 1
    return 0 <= i < len(drawn) and drawn[i]


def mean_band(curves, positive=True):
    """Mean, min and max over repeats on the union of their x values (only x > 0 with
    `positive`: a log axis has no 0, and the first point drawn is the first recorded after
    the start). curves: [(xs, updates, values)]. Between two neighbouring x values that
    any repeat does not join (a segment not drawn) a NaN is inserted: the line breaks
    there. Returns (grid, mean, lo, hi)."""
    end = min(c[0][-1] for c in curves)
    xs_all = sorted({x for c in curves for x in c[0] if x <= end and (x > 0 or not positive)})
    drawn = [drawn_segments(xs, ups) for xs, ups, _ in curves]
    grid, mean, lo, hi = [], [], [], []
    for j, x in enumerate(xs_all):
        if j > 0:
            mid = (xs_all[j - 1] + x) / 2
            if not all(inside_drawn(c[0], d, mid) for c, d in zip(curves, drawn)):
                grid.append(mid)
                mean.append(math.nan)
                lo.append(math.nan)
                hi.append(math.nan)
        vals = [value_at(xs, vs, x) for xs, _, vs in curves]
        grid.append(x)
        mean.append(sum(vals) / len(vals))
        lo.append(min(vals))
        hi.append(max(vals))
    return grid, mean, lo, hi


def isolated(ys):
    """Indices of finite values with no finite neighbour: a line cannot show them."""
    ok = [not math.isnan(y) for y in ys]
    return [i for i in range(len(ys))
            if ok[i] and not (i > 0 and ok[i - 1]) and not (i + 1 < len(ys) and ok[i + 1])]


def plot_mean(ax, grid, mean, lo, hi, band, **line_style):
    """The mean as a line broken at NaN, markers where it is a lone point, and the min..max
    band (when `band`) over the same stretches. Returns the line."""
    line, = ax.plot(grid, mean, **line_style)
    alone = isolated(mean)
    if alone:
        ax.plot([grid[i] for i in alone], [mean[i] for i in alone], linestyle="none", marker="o",
                markersize=2.5, color=line.get_color())
    if band:
        ax.fill_between(grid, lo, hi, color=line.get_color(), alpha=0.18, linewidth=0)
    return line


# What every plot script exits with when matplotlib is missing: nothing is written.
NO_MATPLOTLIB = 3


def load_pyplot(script):
    """matplotlib.pyplot on the Agg backend, or None after telling stderr what to install
    (the caller returns NO_MATPLOTLIB). Imported here, not at this module's load, so the
    scripts' other work and this module's helpers need no matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        import sys
        print(f"{script}: matplotlib is missing: apt-get install python3-matplotlib "
              "(and use /usr/bin/python3: another python3 may be first on PATH)", file=sys.stderr)
        return None
    return plt
