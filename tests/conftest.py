"""Shared test data: small, deterministic mixtures of the kinds EM Studio must handle."""

import signal

import numpy as np
import pytest
from hypothesis import settings

# Started in the background by a non-interactive shell (`./test &`, some CI runners), the suite
# inherits SIGINT ignored, and so would every command it starts: the tests that press Ctrl+C on a
# command (tests/cli/test_select_interrupt.py and others) could not. A handler, unlike an ignored
# signal, is reset to the default in the commands the suite starts.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# The same examples on every run: CI must not fail on an example a previous run never tried.
# (EMSTUDIO_PROPERTY_EXAMPLES and a local `--hypothesis-seed` still explore more.)
settings.register_profile("emstudio", derandomize=True)
settings.load_profile("emstudio")


def blobs(n_per, centres, scales, seed=0, rotations=None):
    """Gaussian blobs: n_per (list), centres (K, d), scales (K,) → X (n, d)."""
    rng = np.random.default_rng(seed)
    parts = []
    for i, (n, centre, scale) in enumerate(zip(n_per, centres, scales)):
        centre = np.atleast_1d(np.asarray(centre, dtype=float))
        z = rng.normal(size=(n, centre.size)) * scale
        if rotations is not None:
            z = z @ rotations[i]
        parts.append(z + centre)
    X = np.vstack(parts)
    return X[rng.permutation(X.shape[0])]


@pytest.fixture
def faithful_like():
    """Two elongated clusters in 2-D, far from the origin (like Old Faithful)."""
    rot = [np.array([[1.0, 0.6], [0.0, 1.0]]), np.array([[1.0, -0.3], [0.0, 1.5]])]
    return blobs([100, 170], [[2.0, 55.0], [4.3, 80.0]], [0.3, 5.0], seed=1, rotations=rot)


DATASETS = {
    "1d": lambda: blobs([150, 100, 50], [[-2.0], [1.0], [4.0]], [0.7, 1.0, 0.5], seed=2),
    "2d": lambda: blobs([200, 150, 100], [[0, 0], [4, 1], [1, 5]], [1.0, 0.8, 1.2], seed=3,
                        rotations=[np.array([[1, 0.5], [0, 1]]), np.eye(2), np.array([[1, 0], [-0.4, 0.6]])]),
    "10d": lambda: blobs([150, 150, 100], np.random.default_rng(4).normal(scale=3, size=(3, 10)), [1.0, 1.5, 0.8], seed=5),
    "offset": lambda: blobs([120, 120], [[1e4 + 0, 5e3], [1e4 + 3, 5e3 + 2]], [1.0, 1.0], seed=6),
}


@pytest.fixture(scope="package")
def dask_client():
    """One local Dask cluster of 2 worker processes per test package that asks for it (starting one
    costs seconds), closed when that package's tests end, so that its IO-loop thread is not left
    running under the next package's tests."""
    pytest.importorskip("distributed")
    from emstudio.distributed.cluster import open_client

    with open_client(workers=2) as client:
        yield client
