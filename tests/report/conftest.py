"""Session-wide small results directories (see result_dirs.py) and a headless chromium."""

from __future__ import annotations

import shutil

import pytest

from .result_dirs import Spec, write_run, write_sweep

BINARY = Spec(
    "blobs_binary",
    classes=["0", "1"],
    units=1,
    activation="tanh",
    epochs=20,
    validation_split=0.25,
    record_weights=True,
    center_scale=1.0,
    seed=1,
)
MULTICLASS = Spec(
    "blobs_three",
    classes=["a", "b", "c"],
    units=3,
    activation="sigmoid",
    epochs=12,
    learning_rate=0.1,
    record_epochs=[0, 4, 8],
    seed=2,
)
NOISE = Spec(
    "blobs_noise",
    n_features=4,
    classes=["0", "1", "2"],
    units=3,
    activation="sigmoid",
    epochs=10,
    learning_rate=0.1,
    noise_alpha=[0.3, 0.5],
    center_scale=0.6,
    seed=3,
)
REGRESSION = Spec(
    "plane",
    task="regression",
    n_features=2,
    classes=[],
    units=1,
    activation="identity",
    epochs=15,
    learning_rate=0.01,
    seed=4,
)
SWEEP_BASE = Spec("blobs_sweep", epochs=8, seed=5)


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory):
    return tmp_path_factory.mktemp("results")


def _run(root, spec: Spec):
    return write_run(root / spec.name / "20240501-120000-00000000", spec)


@pytest.fixture(scope="session")
def binary_run(runs_root):
    return _run(runs_root, BINARY)


@pytest.fixture(scope="session")
def multiclass_run(runs_root):
    return _run(runs_root, MULTICLASS)


@pytest.fixture(scope="session")
def noise_run(runs_root):
    return _run(runs_root, NOISE)


@pytest.fixture(scope="session")
def regression_run(runs_root):
    return _run(runs_root, REGRESSION)


@pytest.fixture(scope="session")
def sweep_2d(runs_root):
    grid = {"optimizer.learning_rate": [0.01, 0.1, 0.5], "batch_size": [4, 16]}
    return write_sweep(runs_root / "blobs_sweep" / "sweep-20240501-120000", SWEEP_BASE, grid, failed=5)


@pytest.fixture(scope="session")
def sweep_1d(runs_root):
    grid = {"optimizer.learning_rate": [0.001, 0.01, 0.1, 1.0]}
    return write_sweep(runs_root / "blobs_sweep" / "sweep-20240501-130000", SWEEP_BASE, grid)


@pytest.fixture(scope="session")
def sweep_3d(runs_root):
    grid = {"optimizer.learning_rate": [0.01, 0.1], "batch_size": [4, 16], "epochs": [3, 6]}
    return write_sweep(runs_root / "blobs_sweep" / "sweep-20240501-140000", SWEEP_BASE, grid)


def _find_chromium() -> str | None:
    return next((path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a headless-capable chromium; the test skips when none is installed (tests never
    install system packages: .ci/run installs it)."""
    found = _find_chromium()
    if found is None:
        pytest.skip("no chromium or chromium-browser on PATH (.ci/run installs Debian's chromium)")
    return found
