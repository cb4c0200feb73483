#!/usr/bin/python3
"""Races three variants on the virtual clock and plots test error against time.

    PYTHONPATH=build/release/python /usr/bin/python3 examples/python/compare_variants.py [OUT.png [FLAG=VALUE ...]]

Run from the repository (MNIST in data/, scripts/setup.sh); a notebook can paste the body.
FLAG=VALUE pairs override the race's flags (the test runs it on a small fixture).
The virtual clock makes it quick (seconds) and reproducible: the same seed, the same plot.
"""
import sys

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt

import racesgd

out_png = sys.argv[1] if len(sys.argv) > 1 else "runs/compare_variants.png"
flags = dict(variants="sync,async,k-async:K=2", P=8, delay="exp:mean=5ms", clock="virtual",
             updates=3000, repeats=1, seed=1, progress="off", out="runs/compare_variants")
flags.update(arg.split("=", 1) for arg in sys.argv[2:])

# The same data, model, delays and seeds for each variant; racesgd.race runs them in turn.
race = racesgd.race(**flags)

fig, ax = plt.subplots(figsize=(7, 4.5))
for run in race.runs:
    curve = run.result.curve  # numpy arrays per curve.csv column
    later = curve["time_s"] > 0  # a log axis has no 0
    ax.plot(curve["time_s"][later], curve["test_error"][later], label=run.entry)
ax.set_xscale("log")  # sync is ~20x slower per update than async: a linear axis hides async
ax.set_xlabel("virtual time (s)")
ax.set_ylabel("test error")
ax.set_ylim(0, 0.5)
ax.grid(alpha=0.3)
ax.legend(title="P=%s, delay %s" % (flags["P"], flags["delay"]))
fig.tight_layout()
fig.savefig(out_png, dpi=120)

for v in race.summary["variants"]:
    print("%-12s final test error %.4f, %s s per update" % (
        v["entry"], v["final_test_error"]["mean"], format(v["mean_update_interval_s"]["measured"], ".4g")))
print("plot:", out_png)
