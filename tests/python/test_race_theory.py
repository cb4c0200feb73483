# racesgd.race and racesgd.theory: the commands' own code, results as Python values.
import json
import os
import subprocess
import sys

import numpy
import pytest

import racesgd
from conftest import FIXTURE, REPO, SMALL, run_cli


def test_race_returns_every_run_and_the_summary(tmp_path):
    r = racesgd.race(**SMALL, variants="sync,async,k-async:K=2", P=3, repeats=2, updates=100,
                     eval_every=50, out=str(tmp_path / "race"), delay="exp:mean=1ms")
    assert [(x.entry, x.repeat) for x in r.runs] == [
        ("sync K=3", 0), ("async K=1", 0), ("k-async K=2", 0),
        ("sync K=3", 1), ("async K=1", 1), ("k-async K=2", 1)]
    assert [x.seed for x in r.runs] == [1, 1, 1, 2, 2, 2]
    assert all(x.result.summary["updates"] == 100 for x in r.runs)
    assert [v["entry"] for v in r.summary["variants"]] == ["sync K=3", "async K=1", "k-async K=2"]
    # The files are the command's.
    on_disk = json.loads((tmp_path / "race" / "summary.json").read_text())
    assert on_disk["variants"] == r.summary["variants"]
    assert not (tmp_path / "race" / "error_vs_time.png").exists()  # no plot from Python


def test_race_curve_frame(tmp_path):
    pytest.importorskip("pandas")
    r = racesgd.race(**SMALL, variants="sync,async", P=2, updates=50, eval_every=25, repeats=1,
                     out=str(tmp_path / "race"))
    frame = r.curve_frame()
    assert set(frame["entry"]) == {"sync K=2", "async K=1"}
    assert len(frame) == 6


def test_race_bad_value_is_the_clis_message(tmp_path):
    with pytest.raises(ValueError) as e:
        racesgd.race(**SMALL, repeats=0, out=str(tmp_path / "race"))
    code, _, err = run_cli("race", "--repeats", "0", "--out", str(tmp_path / "r2"))
    assert code == 2 and str(e.value) in err


def test_theory_is_the_json_of_the_command():
    t = racesgd.theory(delay="exp:mean=5ms", P=4, K=2, seed=1)
    code, out, err = run_cli("theory", "--delay", "exp:mean=5ms", "-P", "4", "-K", "2",
                             "--seed", "1", "--json")
    assert code == 0, err
    cli = json.loads(out)
    for j in (t, cli):
        j.pop("context")
        j["config"].pop("json")
    assert t == cli
    assert {v["variant"] for v in t["variants"]} >= {"sync", "async", "k-async"}


def test_theory_p_range():
    t = racesgd.theory(delay="exp:mean=5ms", P="1..3")
    assert [row["P"] for row in t["rows"]] == [1, 2, 3]


def test_theory_bad_value():
    with pytest.raises(ValueError, match="--mc-updates: must be at least 1000"):
        racesgd.theory(mc_updates=10)


def test_compare_variants_example_plots_three_variants(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "cmp.png"
    p = subprocess.run(
        [sys.executable, str(REPO / "examples/python/compare_variants.py"), str(png),
         "data=" + FIXTURE, "test_fraction=0.3", "batch=8", "updates=100", "P=3",
         "out=" + str(tmp_path / "race")],
        capture_output=True, text=True, check=False, cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(racesgd.__file__))))
    assert p.returncode == 0, p.stderr
    assert png.stat().st_size > 10000
    assert [l.split()[0] for l in p.stdout.splitlines()[:3]] == ["sync", "async", "k-async"]


# race() takes train()'s data and delay: numpy arrays, a delay array, a delay function.
def _blobs(n, seed, classes=3, features=5):
    rng = numpy.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = numpy.eye(classes, features, dtype=numpy.float32)[y] * 4 + rng.standard_normal((n, features))
    return x.astype(numpy.float32), y


ARRAYS_RUN = dict(clock="virtual", progress="off", batch=8, updates=120, eval_every=60)


def _arrays():
    x, y = _blobs(300, 1)
    xt, yt = _blobs(100, 2)
    return x, y, xt, yt


def _jitter(worker, rng):
    return 0.001 * (1 + worker) + rng.exponential(0.002)


@pytest.mark.parametrize("delay", ["exp:mean=2ms", "array", "function"])
def test_race_with_arrays_and_python_delays_is_trains_runs(tmp_path, delay):
    # Every run of the race is the run train() makes with its variant and seed: the arrays
    # are the data, a delay array is replayed from its start, and a function's generators
    # start afresh from each run's own seed (not where the previous run left them).
    d = {"array": numpy.random.default_rng(7).exponential(0.003, size=(40, 3)),
         "function": _jitter}.get(delay, delay)
    r = racesgd.race(data=_arrays(), delay=d, **ARRAYS_RUN, variants="sync,async", P=3,
                     repeats=2, out=str(tmp_path / "race"))
    assert [(x.entry, x.seed) for x in r.runs] == [
        ("sync K=3", 1), ("async K=1", 1), ("sync K=3", 2), ("async K=1", 2)]
    for x in r.runs:
        t = racesgd.train(data=_arrays(), delay=d, **ARRAYS_RUN, variant=x.variant, P=3,
                          seed=x.seed)
        assert list(x.result.curve["time_s"]) == list(t.curve["time_s"]), x.entry
        assert list(x.result.curve["test_error"]) == list(t.curve["test_error"]), x.entry
        assert x.result.summary["config"]["data"] == "numpy"
    assert r.runs[1].result.summary["final_test_error"] < 0.2  # the arrays were learned


def test_race_refuses_loading_flags_with_arrays_and_a_function_on_the_real_clock(tmp_path):
    with pytest.raises(ValueError, match="--scale: applies to data racesgd loads"):
        racesgd.race(data=_arrays(), scale="none", **ARRAYS_RUN, out=str(tmp_path / "a"))
    with pytest.raises(ValueError, match="only with clock='virtual'"):
        racesgd.race(data=_arrays(), delay=_jitter, progress="off", updates=10,
                     out=str(tmp_path / "b"))
    with pytest.raises(ValueError, match="delay array has 2 columns but there are 3 learners"):
        racesgd.race(data=_arrays(), delay=numpy.full((4, 2), 0.001), **ARRAYS_RUN, P=3,
                     out=str(tmp_path / "c"))


def test_race_refuses_a_config_files_loading_setting_with_arrays(tmp_path):
    cfg = tmp_path / "race.toml"
    cfg.write_text('test-fraction = 0.3\nvariants = ["async"]\n')
    with pytest.raises(ValueError, match="--test-fraction: applies to data racesgd loads, not to arrays"):
        racesgd.race(data=_arrays(), config=str(cfg), **ARRAYS_RUN, out=str(tmp_path / "r"))
