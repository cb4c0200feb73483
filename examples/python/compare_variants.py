#!/usr/bin/python3
"""Races three variants on the virtual clock and plots test error against time.

    PYTHONPATH=build/release/python /usr/bin/python3 examples/python/compare_variants.py [OUT.png]

Run from the repository (MNIST in data/, scripts/setup.sh); a notebook can paste the body.
The virtual clock makes it quick (seconds) and reproducible: the same seed, the same plot.
"""
import sys

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt

import racesgd

out_png = sys.argv[1] if len(sys.argv) > 1 else "runs/compare_variants.png"

# The same data, model, delays and seeds for each variant; racesgd.race runs them in turn.
race = racesgd.race(variants="sync,async,k-async:K=2", P=8, delay="exp:mean=5ms",
                    clock="virtual", updates=3000, repeats=1, seed=1, progress="off",
                    out="runs/compare_variants")

fig, ax = plt.subplots(figsize=(7, 4.5))
for run in race.runs:
    curve = run.result.curve  # numpy arrays per curve.csv column
    ax.plot(curve["time_s"], curve["test_error"], label=run.entry)
ax.set_xlabel("virtual time (s)")
ax.set_ylabel("test error")
ax.set_ylim(0, 0.5)
ax.grid(alpha=0.3)
ax.legend(title="P=8, delay exp:mean=5ms")
fig.tight_layout()
fig.savefig(out_png, dpi=120)

for v in race.summary["variants"]:
    print("%-12s final test error %.4f, %s s per update" % (
        v["entry"], v["final_test_error"]["mean"], format(v["mean_update_interval_s"]["measured"], ".4g")))
print("plot:", out_png)
