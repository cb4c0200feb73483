# Shared by the pytest files: the fixture data as flags, and the racesgd executable of the
# same build (ctest sets RACESGD_EXE; by hand: build/release/bench/racesgd).
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURE = str(REPO / "tests/fixtures/mnist100-images-idx3-ubyte")

# 100 MNIST images, 30 held out: a few hundred virtual-clock updates take milliseconds.
SMALL = dict(data=FIXTURE, test_fraction=0.3, batch=8, clock="virtual", progress="off")


@pytest.fixture
def small():
    return dict(SMALL)


def racesgd_exe():
    return os.environ.get("RACESGD_EXE", str(REPO / "build/release/bench/racesgd"))


def run_cli(*args):
    """racesgd ARGS: (exit code, stdout, stderr)."""
    p = subprocess.run([racesgd_exe(), *args], capture_output=True, text=True, check=False)
    return p.returncode, p.stdout, p.stderr
