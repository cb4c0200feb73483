#!/usr/bin/env python3
"""bench/fidelity.py: a real-clock run with the host's steal over --max-steal is run again
(up to --attempts), the row keeps the quietest run and records every attempt, and the
verdict judges real / virtual on the same draws against issue 13's bars. A stub stands in
for racesgd (no training). Usage: fidelity_test.py SOURCE_DIR"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

SOURCE = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else ".")
sys.path.insert(0, os.path.join(SOURCE, "bench"))
import fidelity  # noqa: E402

# racesgd's stand-in: `theory` prints E[T] = 1 ms; `train --clock real` writes a summary
# whose mean interval and steal are the next pair of STUB_REAL ("1.01:0.10,1.03:0.01": ms,
# steal; "none" for an unknown steal); `--clock virtual` writes 1 ms.
STUB = r'''#!/usr/bin/env python3
import json, os, sys
a = sys.argv[1:]
if a[0] == "theory":
    print(json.dumps({"variants": [{"time_per_update": {"seconds": 1e-3, "method": "closed form"}}]}))
    sys.exit(0)
out = a[a.index("--out") + 1]
os.makedirs(out, exist_ok=True)
s = {"mean_update_interval_s": 1e-3, "updates": 500}
if a[a.index("--clock") + 1] == "real":
    counter = os.environ["STUB_COUNTER"]
    i = int(open(counter).read()) if os.path.exists(counter) else 0
    open(counter, "w").write(str(i + 1))
    ms, steal = os.environ["STUB_REAL"].split(",")[i].split(":")
    s.update(mean_update_interval_s=float(ms) * 1e-3, delay_drawn_mean_s=0.01, delay_served_mean_s=0.01,
             compute_mean_s=4e-5, compute_late={"late_fraction": 0.1})
    if steal != "none":
        s["host_steal_fraction"] = float(steal)
json.dump(s, open(os.path.join(out, "summary.json"), "w"))
'''


def attempt(steal):
    return {"real_s": 1.0, "host_steal_fraction": steal}


class Rules(unittest.TestCase):
    def test_bars(self):
        self.assertEqual(fidelity.default_bars(8), (0.02, 0.02))
        self.assertEqual(fidelity.default_bars(16), (0.05, 0.03))

    def test_keep_attempt(self):
        runs = [attempt(0.10), attempt(0.05), attempt(0.01)]
        self.assertIs(fidelity.keep_attempt(runs, 0.02), runs[2])
        runs = [attempt(0.10), attempt(0.05), attempt(0.30)]
        self.assertIs(fidelity.keep_attempt(runs, 0.02), runs[1])
        runs = [attempt(None), attempt(None)]
        self.assertIs(fidelity.keep_attempt(runs, 0.02), runs[1])

    def test_verdict(self):
        bars = (0.05, 0.03)
        self.assertEqual(fidelity.verdict("k-sync", 1.045, 1.0, 0.01, 0.02, bars), "met")
        self.assertEqual(fidelity.verdict("k-async", 1.045, 1.0, 0.01, 0.02, bars), "over")
        self.assertEqual(fidelity.verdict("async", 0.96, 1.0, None, 0.02, bars), "over")
        self.assertEqual(fidelity.verdict("sync", 1.2, 1.0, 0.05, 0.02, bars), "host")


class Runs(unittest.TestCase):
    def fidelity(self, real, *flags):
        with tempfile.TemporaryDirectory() as d:
            stub = os.path.join(d, "racesgd")
            with open(stub, "w") as f:
                f.write(STUB)
            os.chmod(stub, 0o755)
            env = dict(os.environ, STUB_REAL=real, STUB_COUNTER=os.path.join(d, "n"))
            p = subprocess.run([sys.executable, os.path.join(SOURCE, "bench", "fidelity.py"), "--racesgd", stub,
                                "-P", "16", "--only", "sync", "--out", os.path.join(d, "out"), *flags],
                               capture_output=True, text=True, env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            return p.stdout, json.load(open(os.path.join(d, "out", "fidelity.json")))

    def test_a_stolen_run_is_run_again_and_the_quiet_one_kept(self):
        out, js = self.fidelity("1.20:0.10,1.03:0.01,1.0:0.0")
        row = js["rows"][0]["threads"]
        self.assertEqual([a["host_steal_fraction"] for a in row["attempts"]], [0.10, 0.01])
        self.assertAlmostEqual(row["real_s"], 1.03e-3)
        self.assertTrue(row["out"].endswith("-run2"))
        self.assertEqual(js["rows"][0]["verdict"], "met")
        self.assertIn("1.0% (2)", out)
        self.assertIn("bars: 1 of 1 rows met, 0 over, 0 not judged", out)

    def test_every_run_stolen_is_not_judged(self):
        out, js = self.fidelity("1.20:0.10,1.10:0.05,1.30:0.08", "--attempts", "3")
        row = js["rows"][0]
        self.assertEqual(len(row["threads"]["attempts"]), 3)
        self.assertAlmostEqual(row["threads"]["real_s"], 1.10e-3)  # the least stolen
        self.assertEqual(row["verdict"], "host")
        self.assertIn("0 of 1 rows met, 0 over, 1 not judged", out)

    def test_over_the_bar_in_a_quiet_run(self):
        out, js = self.fidelity("1.08:0.00", "--bar-sync", "0.05")
        self.assertEqual(len(js["rows"][0]["threads"]["attempts"]), 1)
        self.assertEqual(js["rows"][0]["verdict"], "over")

    def test_bad_flags_exit_2_naming_the_flag(self):
        for flags, name in ((["--attempts", "0"], "--attempts"), (["--max-steal", "1.5"], "--max-steal"),
                            (["--bar-sync", "-0.1"], "--bar-sync")):
            p = subprocess.run([sys.executable, os.path.join(SOURCE, "bench", "fidelity.py"), *flags],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 2, flags)
            self.assertIn(name, p.stderr)

    def test_unknown_steal_is_one_run(self):
        _, js = self.fidelity("1.01:none,1.0:0.0")
        self.assertEqual(len(js["rows"][0]["threads"]["attempts"]), 1)
        self.assertEqual(js["rows"][0]["verdict"], "met")


if __name__ == "__main__":
    unittest.main()
