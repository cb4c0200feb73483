# data=(X_train, y_train, X_test, y_test): numpy arrays as the run's dataset, checked.
import numpy
import pytest

import racesgd

RUN = dict(clock="virtual", progress="off", batch=8, updates=200, eval_every=100)


def blobs(n, seed, classes=3, features=5):
    # Well-separated clusters: a softmax learns them in a few hundred updates.
    rng = numpy.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centres = numpy.eye(classes, features, dtype=numpy.float32) * 4
    x = centres[y] + rng.standard_normal((n, features)).astype(numpy.float32)
    return x.astype(numpy.float32), y


def arrays():
    x, y = blobs(300, 1)
    xt, yt = blobs(100, 2)
    return x, y, xt, yt


def test_arrays_train_a_model():
    r = racesgd.train(data=arrays(), **RUN)
    assert r.summary["final_test_error"] < 0.1
    assert r.summary["config"]["data"] == "numpy"


def test_strided_and_fortran_arrays_give_the_same_run():
    x, y, xt, yt = arrays()
    a = racesgd.train(data=(x, y, xt, yt), **RUN)
    wide = numpy.zeros((x.shape[0], 2 * x.shape[1]), numpy.float32)
    wide[:, ::2] = x  # a strided view: every other column
    b = racesgd.train(data=(wide[:, ::2], y.astype(numpy.uint8), numpy.asfortranarray(xt), yt), **RUN)
    assert list(a.curve["test_error"]) == list(b.curve["test_error"])


@pytest.mark.parametrize("change, message", [
    (lambda d: (d[0].astype(numpy.float64),) + d[1:], "X_train must be float32, not float64"),
    (lambda d: (d[0][:, 0],) + d[1:], "X_train must be 2-D"),
    (lambda d: (d[0], d[1][:-1]) + d[2:], "y_train has 299 labels for 300 rows"),
    (lambda d: d[:2] + (d[2][:, :4], d[3]), "X_test has 4 features but X_train has 5"),
    (lambda d: (d[0], d[1].astype(numpy.float32)) + d[2:], "y_train must hold integer class labels"),
    (lambda d: (d[0], -d[1]) + d[2:], r"y_train\[\d+\] = -\d is not a class label"),
    (lambda d: d[:3] + (d[3] + 3,), r"y_test\[0\] = \d is not in \[0, 3\)"),
    (lambda d: (numpy.where(d[0] > 3, numpy.nan, d[0]).astype(numpy.float32),) + d[1:],
     "X_train holds NaN or Inf"),
    (lambda d: d[:2] + (numpy.full_like(d[2], numpy.inf), d[3]), "X_test holds NaN or Inf"),
    (lambda d: (d[0][:0], d[1][:0]) + d[2:], "X_train has no rows"),
])
def test_bad_arrays_are_value_errors(change, message):
    with pytest.raises(ValueError, match=message):
        racesgd.train(data=change(arrays()), **RUN)


def test_not_arrays_is_a_type_error():
    x, y, xt, yt = arrays()
    with pytest.raises(TypeError, match="X_train must be a numpy array"):
        racesgd.train(data=(x.tolist(), y, xt, yt), **RUN)
    with pytest.raises(TypeError, match="tuple"):
        racesgd.train(data=(x, y, xt), **RUN)


def test_loading_flags_are_refused_with_arrays():
    with pytest.raises(ValueError, match="--scale: applies to data racesgd loads"):
        racesgd.train(data=arrays(), scale="max", **RUN)
