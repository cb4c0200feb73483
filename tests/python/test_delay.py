# delay= as a numpy array (an in-memory trace) or a Python function (virtual clock only).
import numpy
import pytest

import racesgd
from conftest import SMALL

RUN = dict(SMALL, updates=200, eval_every=100)


def test_a_constant_array_gives_that_time_per_update():
    # Four learners, async: each update takes one draw of 10 ms per learner in turn, so the
    # run advances 10 ms per 4 updates.
    r = racesgd.train(**RUN, variant="async", P=4, delay=numpy.full(5, 0.01))
    assert r.summary["run_time_s"] == pytest.approx(0.5, rel=0.02)
    assert r.summary["delay"].startswith("trace:file=array")


def test_an_array_per_learner_matches_the_trace_file(tmp_path):
    rng = numpy.random.default_rng(4)
    times = rng.exponential(0.005, size=(50, 3))
    path = tmp_path / "t.csv"
    path.write_text("\n".join(",".join(repr(v) for v in row) for row in times) + "\n")
    a = racesgd.train(**RUN, variant="k-async", P=3, K=2, delay=times)
    b = racesgd.train(**RUN, variant="k-async", P=3, K=2, delay="trace:file=%s" % path)
    assert list(a.curve["time_s"]) == list(b.curve["time_s"])
    assert list(a.curve["test_error"]) == list(b.curve["test_error"])


def test_delay_end_stop_ends_a_learners_sequence():
    # 2 draws each for 2 learners, then none: the run stalls rather than cycling.
    r = racesgd.train(**dict(RUN, updates=100), variant="async", P=2,
                      delay=numpy.full((2, 2), 0.001), delay_end="stop")
    assert r.summary["updates"] < 100


@pytest.mark.parametrize("delay, message", [
    (numpy.full((5, 3), 0.01), "the delay array has 3 columns but there are 4 learners"),
    (numpy.array([0.01, -1.0]), "holds -1.000000 at row 1"),
    (numpy.array([0.01, numpy.nan]), "holds nan at row 1"),
    (numpy.zeros((2, 2, 2)), "1-D .shared. or 2-D"),
    (numpy.zeros(0), "the delay array is empty"),
])
def test_bad_arrays_are_value_errors(delay, message):
    with pytest.raises(ValueError, match=message):
        racesgd.train(**RUN, variant="async", P=4, delay=delay)


def test_a_function_draws_per_learner_with_its_own_stream():
    seen = set()

    def f(worker, rng):
        seen.add(worker)
        return 0.001 * (1 + worker) * rng.exponential()

    a = racesgd.train(**RUN, variant="async", P=3, delay=f)
    b = racesgd.train(**RUN, variant="async", P=3, delay=f)
    assert seen == {0, 1, 2}
    assert list(a.curve["time_s"]) == list(b.curve["time_s"])  # same seed, same draws
    assert a.summary["delay"].startswith("python:function=")
    c = racesgd.train(**dict(RUN, seed=2), variant="async", P=3, delay=f)
    assert list(c.curve["time_s"]) != list(a.curve["time_s"])


def test_a_function_is_refused_on_the_real_clock():
    with pytest.raises(ValueError, match="only with clock='virtual'.*GIL"):
        racesgd.train(**dict(RUN, clock="real"), delay=lambda w, rng: 0.001)


# A draw that fails is a failed learner, as for any delay model: the run stops early and
# says why (summary.json's stop_reason and error), like the CLI's exit 1.
def test_a_function_returning_a_negative_time_fails_the_learner():
    r = racesgd.train(**RUN, variant="async", P=2, delay=lambda w, rng: -1.0)
    assert r.summary["stop_reason"] == "learner-failed"
    assert "the Python function returned -1.000000 for learner" in r.summary["error"]


def test_a_function_that_raises_fails_the_learner_with_its_message():
    def f(worker, rng):
        raise RuntimeError("from the delay function")

    r = racesgd.train(**RUN, variant="async", P=2, delay=f)
    assert r.summary["stop_reason"] == "learner-failed"
    assert "RuntimeError: from the delay function" in r.summary["error"]


def test_the_python_spec_is_not_for_the_command_line():
    with pytest.raises(ValueError, match="not available from the command line"):
        racesgd.train(**RUN, delay="python")


def test_a_second_call_with_a_python_delay_is_refused_while_one_runs():
    # The runs release the GIL, so another thread's call can start meanwhile; it must not
    # be handed (or take away) the delay the first call parked.
    import threading
    drawing, go, out = threading.Event(), threading.Event(), {}

    def slow(worker, rng):
        drawing.set()
        go.wait(60)  # releases the GIL: the main thread runs meanwhile
        return 0.001

    def first():
        out["result"] = racesgd.train(**RUN, variant="async", P=2, delay=slow)

    t = threading.Thread(target=first)
    t.start()
    try:
        assert drawing.wait(60)
        with pytest.raises(RuntimeError, match="another train\\(\\) or race\\(\\) call with a Python delay"):
            racesgd.train(**RUN, variant="async", P=2, delay=numpy.full(3, 0.001))
    finally:
        go.set()
        t.join()
    assert out["result"].summary["updates"] == RUN["updates"]
    assert out["result"].summary["delay"].endswith(".slow")
