# racesgd.train: flags as keyword arguments, the result's curve/summary/files, errors as
# the CLI words them, Ctrl-C, and the bars of issue 14 (MNIST error, CLI-equal curves).
import _thread
import json
import os
import pathlib
import subprocess
import sys
import threading
import time

import numpy
import pytest

import racesgd
from conftest import FIXTURE, REPO, SMALL, run_cli


def test_flags_reach_the_run(small):
    r = racesgd.train(**small, variant="k-async", P=4, K=2, delay="exp:mean=5ms", updates=300,
                      seed=3, eval_every=100, max_staleness=5)
    s = r.summary
    assert (s["variant"], s["P"], s["K"], s["clock"], s["seed"]) == ("k-async", 4, 2, "virtual", 3)
    assert s["updates"] == 300
    assert s["config"]["max-staleness"] == "5"
    assert s["config"]["eval-every"] == "100"


def test_curve_columns_are_numpy_arrays(small):
    r = racesgd.train(**small, updates=200, eval_every=50)
    # Virtual clock: no wall_s column (as in curve.csv).
    assert list(r.curve) == ["time_s", "updates", "gradients", "train_loss", "test_error",
                             "staleness_mean", "K"]
    assert all(isinstance(v, numpy.ndarray) for v in r.curve.values())
    assert list(r.curve["updates"]) == [0, 50, 100, 150, 200]
    assert r.curve["updates"].dtype == numpy.uint64
    assert r.curve["test_error"][-1] == pytest.approx(r.summary["final_test_error"])


def test_timing_only_has_no_error_columns(small):
    r = racesgd.train(**small, updates=50, timing_only=True)
    assert "test_error" not in r.curve and "train_loss" not in r.curve


def test_real_clock_curve_has_wall_time(small):
    small["clock"] = "real"
    r = racesgd.train(**small, updates=30, P=2, delay="const:value=0ms")
    assert "wall_s" in r.curve


def test_curve_frame_is_a_dataframe(small):
    pandas = pytest.importorskip("pandas")
    r = racesgd.train(**small, updates=100, eval_every=50)
    frame = r.curve_frame()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == list(r.curve)
    assert len(frame) == 3


def test_bad_values_raise_the_cli_message(small):
    with pytest.raises(ValueError) as e:
        racesgd.train(**small, variant="nope")
    code, _, err = run_cli("train", "--data", FIXTURE, "--test-fraction", "0.3", "--clock",
                           "virtual", "--variant", "nope")
    assert code == 2
    assert str(e.value) in err


def test_unknown_flag_is_a_value_error(small):
    with pytest.raises(ValueError, match="unknown parameter 'no-such-flag'"):
        racesgd.train(**small, no_such_flag=1)


def test_a_value_of_the_wrong_type_is_a_type_error(small):
    with pytest.raises(TypeError, match="--lr"):
        racesgd.train(**small, lr=[0.1])


def test_a_bad_model_spec_is_a_value_error(small):
    with pytest.raises(ValueError, match="nope"):
        racesgd.train(**small, model="nope", updates=10)


def cli_train(tmp_path, flags):
    out = tmp_path / "cli"
    code, _, err = run_cli("train", *flags, "--out", str(out))
    assert code == 0, err
    return out


def as_argv(flags):
    argv = []
    for k, v in flags.items():
        argv += ["-" + k if k in ("P", "K") else "--" + k.replace("_", "-"), str(v)]
    return argv


def without_times(text):
    # The context lines that hold times of day or this machine's timing.
    return [l for l in text.splitlines() if not l.startswith(("# started_utc", "# wall"))]


def test_virtual_curve_equals_the_clis_byte_for_byte(tmp_path):
    flags = dict(SMALL, variant="k-async", P=4, K=2, delay="exp:mean=5ms", updates=400, seed=7,
                 eval_every=50, lr=0.05)
    cli = cli_train(tmp_path, as_argv(flags))
    racesgd.train(**flags).write(tmp_path / "py")
    cli_csv = (cli / "curve.csv").read_text()
    py_csv = (tmp_path / "py" / "curve.csv").read_text()
    assert without_times(py_csv) == without_times(cli_csv)
    assert len(py_csv.splitlines()) > 10
    # summary.json: the same apart from the machine's timings, the start time and --out.
    def stable(path):
        s = json.loads(path.read_text())
        s.pop("context", None)
        s["config"].pop("out")
        return {k: v for k, v in s.items()
                if "wall" not in k and "eval_time" not in k and "cpu" not in k}
    assert stable(tmp_path / "py" / "summary.json") == stable(cli / "summary.json")


def test_write_creates_the_folder(tmp_path, small):
    r = racesgd.train(**small, updates=50)
    r.write(tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b" / "curve.csv").is_file()
    assert json.loads((tmp_path / "a" / "b" / "summary.json").read_text())["updates"] == 50


def test_ctrl_c_stops_the_run_and_keeps_the_partial_result(small):
    # A run of tens of seconds (bounded, so a broken stop fails rather than hangs): the
    # simulated Ctrl-C after half a second must end it.
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    with pytest.raises(KeyboardInterrupt) as e:
        racesgd.train(**small, updates=200000, eval_every=1000)
    timer.join()
    r = e.value.result
    assert r.summary["stop_reason"] == "interrupted"
    assert 0 < r.summary["updates"] < 200000
    assert len(r.curve["updates"]) > 0


def test_a_run_releases_the_gil(small):
    # A Python thread counts while train() runs: with the GIL held for the run it would
    # only get the few 5 ms switch intervals around the call.
    count, done = [0], threading.Event()

    def spin():
        while not done.is_set():
            count[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    time.sleep(0.1)
    rate = count[0] / 0.1  # counts per second alone
    before, t0 = count[0], time.perf_counter()
    racesgd.train(**small, updates=6000, eval_every=2000)
    elapsed, during = time.perf_counter() - t0, count[0] - before
    done.set()
    t.join()
    assert elapsed > 0.2, "the run was too short to tell"
    assert during > 0.25 * rate * elapsed


@pytest.mark.skipif(not (REPO / "data/mnist").is_dir(), reason="data/mnist absent (scripts/setup.sh)")
def test_mnist_bar_from_the_issue():
    code = ("import racesgd; r = racesgd.train(clock='virtual', updates=2000); "
            "print(r.summary['final_test_error'])")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       cwd=REPO, env=dict(os.environ))
    assert float(p.stdout.strip().splitlines()[-1]) < 0.15
