#!/usr/bin/python3
"""Wall time of racesgd.train() against `racesgd train` for the same run (docs/performance.md,
"Python module overhead").

    PYTHONPATH=build/release/python /usr/bin/python3 bench/python_overhead.py [--repeats 5] [FLAG=VALUE ...]

Both sides do the same work: load the data, run, write curve.csv and summary.json. The CLI
is timed as a whole process (its start-up counts: a notebook user pays the import once
instead); the Python side as the train() call plus Result.write(). The runs alternate, so
a machine that slows down during the measurement slows both; medians are compared.
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

import racesgd

DEFAULTS = dict(clock="virtual", updates="2000", variant="k-async", P="8", K="2",
                delay="exp:mean=5ms", seed="1", progress="off")


def cli_argv(exe, flags, out):
    argv = [exe, "train"]
    for k, v in flags.items():
        argv += ["-" + k if k in ("P", "K") else "--" + k.replace("_", "-"), v]
    return argv + ["--out", out]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--exe", default="build/release/bench/racesgd")
    ap.add_argument("flags", nargs="*", help="train flags as name=value (override the defaults)")
    args = ap.parse_args()
    flags = dict(DEFAULTS)
    flags.update(f.split("=", 1) for f in args.flags)

    cli, py = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            t0 = time.perf_counter()
            subprocess.run(cli_argv(args.exe, flags, os.path.join(tmp, "cli")), check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cli.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            racesgd.train(**flags).write(os.path.join(tmp, "py"))
            py.append(time.perf_counter() - t0)
    c, p = statistics.median(cli), statistics.median(py)
    print("flags:", " ".join("%s=%s" % kv for kv in flags.items()))
    print("cli    median %.3f s  (runs: %s)" % (c, " ".join("%.3f" % t for t in cli)))
    print("python median %.3f s  (runs: %s)" % (p, " ".join("%.3f" % t for t in py)))
    print("python / cli = %.3f (%+.1f%%)" % (p / c, 100 * (p / c - 1)))


if __name__ == "__main__":
    main()
