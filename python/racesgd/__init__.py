"""racesgd from Python: the runtime of `racesgd train`, with curves as numpy arrays.

    import racesgd
    r = racesgd.train(clock="virtual", updates=2000)
    r.summary["final_test_error"], r.curve["test_error"], r.write("runs/x")

Every `racesgd train` flag is a keyword argument (underscores for dashes); values are
checked by the same code as the CLI, and a bad one raises ValueError with the CLI's
message. docs/python.md has the rest.
"""

import json
import os

import numpy

from . import _racesgd

__all__ = ["train", "race", "theory", "Result", "RaceEntry", "RaceResult"]

# Flags that say how racesgd loads a dataset: they mean nothing for arrays.
_LOADING_FLAGS = ("format", "data-dir", "test-data", "test-fraction", "label-column", "scale",
                  "binary", "max-train", "max-test")


class Result:
    """One run: `.curve` (numpy arrays per curve.csv column), `.summary` (summary.json)."""

    def __init__(self, run):
        self._run = run
        self.curve = run.curve()
        self.summary = json.loads(run.summary_json())

    def curve_frame(self):
        """The curve as a pandas DataFrame (needs pandas)."""
        import pandas  # optional: only this method needs it
        return pandas.DataFrame(self.curve)

    def write(self, folder):
        """Writes FOLDER/curve.csv and FOLDER/summary.json exactly as `racesgd train --out`."""
        os.makedirs(folder, exist_ok=True)
        self._run.write(os.fspath(folder))

    def __repr__(self):
        s = self.summary
        return "<racesgd.Result %s P=%s stopped by %s after %s updates>" % (
            s.get("variant"), s.get("P"), s.get("stop_reason"), s.get("updates"))


def _flag_text(flag, value):
    # The text a command line would carry: a switch is true/false, a number as Python
    # prints it (shortest round trip), text as it is.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (int, float, str, numpy.integer, numpy.floating)):
        return str(value)
    raise TypeError("--%s: expected text, a number or a bool, not %s" % (flag, type(value).__name__))


def _flags(kwargs):
    # P and K stay as they are (the CLI's -P and -K); other names take dashes.
    flags = []
    for name, value in kwargs.items():
        if value is None:
            continue
        flag = name if name in ("P", "K") else name.replace("_", "-")
        flags.append((flag, _flag_text(flag, value)))
    return flags


def _split_delay(delay, clock):
    """(spec text or None, array or None, callable or None) for delay=."""
    if delay is None or isinstance(delay, str):
        return delay, None, None
    if callable(delay):
        if clock != "virtual":
            raise ValueError(
                "--delay: a Python function is allowed only with clock='virtual': on the real "
                "clock the learner threads would each need the GIL for every draw and run one "
                "at a time, so the run would measure Python instead of the delay model")
        return "python", None, delay
    return "python", numpy.asarray(delay), None


def _interrupted(run):
    result = Result(run)
    exc = run.interrupt
    exc.result = result
    raise exc


def _inputs(data, delay, delay_end, kwargs):
    """What train() and race() pass besides the flags: (arrays or None, delay array or
    None, stop at end, delay function or None, its label); sets kwargs' data and delay."""
    if delay_end not in ("cycle", "stop"):
        raise ValueError("delay_end: must be cycle or stop, not %r" % (delay_end,))
    arrays = None
    if isinstance(data, (tuple, list)):
        arrays = tuple(data)
        for flag in _LOADING_FLAGS:
            if kwargs.get(flag.replace("-", "_")) is not None:
                raise ValueError("--%s: applies to data racesgd loads, not to arrays" % flag)
        data = "numpy"
    spec, array, fn = _split_delay(delay, kwargs.get("clock", "real"))
    kwargs["data"] = data
    kwargs["delay"] = spec
    label = "array" if array is not None else (getattr(fn, "__qualname__", "function") if fn else "")
    return arrays, array, delay_end == "stop", fn, label


def train(data="mnist", delay=None, delay_end="cycle", **kwargs):
    """Runs `racesgd train` with these flags and returns a Result.

    data: a name or path as on the command line, or (X_train, y_train, X_test, y_test)
    numpy arrays (float32 features, integer labels 0..classes-1).
    delay: a spec ("exp:mean=5ms"), a numpy array of recorded seconds (1-D shared, or 2-D:
    rows = draws, columns = learners; delay_end="stop" ends a learner's sequence instead of
    cycling), or on the virtual clock a function f(worker, rng) -> seconds, rng a
    numpy.random.Generator of that worker's own stream.
    Ctrl-C stops the run and raises KeyboardInterrupt with the partial result as `.result`.
    """
    inputs = _inputs(data, delay, delay_end, kwargs)
    run = _racesgd.train(_flags(kwargs), *inputs)
    if run.interrupt is not None:
        _interrupted(run)
    return Result(run)


class RaceEntry:
    """One run of a race: `.entry` ("k-async K=2"), `.variant`, `.K`, `.repeat`, `.seed`,
    and `.result` (a Result, as train returns)."""

    def __init__(self, entry, variant, K, repeat, seed, run):
        self.entry, self.variant, self.K, self.repeat, self.seed = entry, variant, K, repeat, seed
        self.result = Result(run)

    def __repr__(self):
        return "<racesgd.RaceEntry %s repeat %d seed %d>" % (self.entry, self.repeat, self.seed)


class RaceResult:
    """A race: `.runs` (RaceEntry per run, in the order run) and `.summary` (the race's
    summary.json, per-variant statistics under "variants")."""

    def __init__(self, raw):
        self.runs = [RaceEntry(*r) for r in raw.runs()]
        self.summary = json.loads(raw.summary_json)

    def curve_frame(self):
        """Every run's curve in one pandas DataFrame, with entry/repeat/seed columns."""
        import pandas  # optional: only this method needs it
        frames = [r.result.curve_frame().assign(entry=r.entry, variant=r.variant, K=r.K,
                                                repeat=r.repeat, seed=r.seed)
                  for r in self.runs]
        return pandas.concat(frames, ignore_index=True)


def race(data=None, delay=None, delay_end="cycle", **kwargs):
    """Runs `racesgd race` with these flags (variants="sync,async,k-async", repeats=3, ...)
    and returns a RaceResult. Writes --out's files as the CLI does, but draws no plot and
    prints no table. data and delay take what train() takes (arrays, a delay array or, with
    clock="virtual", a function), shared by every run: each run replays a delay array from
    its start and draws a function's delays from its own seed's streams.
    Ctrl-C: KeyboardInterrupt with the runs finished so far as `.result`."""
    inputs = _inputs(data, delay, delay_end, kwargs)
    raw = _racesgd.race(_flags(kwargs), *inputs)
    if raw.interrupt is not None:
        exc = raw.interrupt
        exc.result = RaceResult(raw)
        raise exc
    return RaceResult(raw)


def theory(**kwargs):
    """What `racesgd theory --json` prints with these flags, as a dict."""
    kwargs.pop("json", None)  # the result is the JSON whatever it says
    return json.loads(_racesgd.theory(_flags(kwargs)))
