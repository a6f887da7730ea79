"""The k-means start keeps README's memory budget (issue 10, item 7): its passes over X go by row
chunks, so what it allocates beyond X is a few n-sized vectors, never a copy of X (a 2e6 × 50
array made three: X * X, X − mean and the M-step's einsum)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from emstudio.core import init, mstep
from emstudio.core.init import initial_params


@pytest.fixture(autouse=True)
def one_blas_thread():
    """BLAS on one thread: the small-chunk matrix products of these starts (512 × 64 rows by a 64 × 64
    map) ran ~10× slower with OpenBLAS's two threads on a busy 2-core machine. What they allocate
    through numpy (tracemalloc's count) is the same; BLAS's own buffers were never in it."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.mark.parametrize("method", ["kmeans", "kmeans-std", "kmeans-svd", "kmeans++", "random", "seed-step0"])
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_starts_allocate_no_copy_of_the_data(monkeypatch, method, covariance_type):
    # Small chunks, so that at this small scale the chunks are small beside X as they are at 2e6 × 50.
    monkeypatch.setattr(init, "CHUNK_BYTES", 256 << 10)
    monkeypatch.setattr(mstep, "CHUNK_BYTES", 256 << 10)
    rng = np.random.default_rng(0)
    n, d, k = 60_000, 64, 3
    X = rng.normal(size=(n, d))
    X[: n // 2] += 3.0
    tracemalloc.start()
    try:
        params = initial_params(X, k, covariance_type, method, np.random.default_rng(1))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert params.n_components == k and np.isfinite(params.means).all()
    # n-sized vectors (row norms, labels, distances, candidates) and the n × K responsibilities
    # of the M-step: a fifth of X here. The unchunked code peaked at 1.1–2.1 × X.
    vectors = 8 * n * (8 + 3 * k)
    assert peak < vectors + 4 * (256 << 10) + (1 << 20)
    assert peak < 0.25 * X.nbytes


def test_chunked_statistics_equal_the_direct_ones(monkeypatch):
    """By chunks, in the same column units as core.scaling.scaled_columns (the engine's)."""
    from emstudio.core.scaling import noise_variance, scaled_columns

    monkeypatch.setattr(mstep, "CHUNK_BYTES", 4096)  # many chunks, a ragged last one
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1001, 3)) * [1.0, 1e8, 1e-6] + [5.0, -3e9, 0.0]
    resp = rng.random((1001, 2))
    resp /= resp.sum(axis=1, keepdims=True)
    data_t, centre, scale, magnitude = scaled_columns(X)
    for covariance_type, expected in (("full", np.einsum("nk,in,jn->kij", resp, data_t, data_t)),
                                      ("diag", resp.T @ (data_t * data_t).T)):
        stats = mstep.sufficient_statistics(X, resp, covariance_type)
        assert np.array_equal(stats.column_scale(), scale)
        assert np.allclose(stats.origins, centre, rtol=1e-14, atol=0)
        assert np.allclose(stats.sum_xx, expected, rtol=1e-10, atol=1e-12)
        assert np.allclose(stats.sum_x, resp.T @ data_t.T, rtol=1e-10, atol=1e-10)
        assert np.allclose(stats.n_k, resp.sum(axis=0))
        assert np.allclose(stats.variance_floor, noise_variance(magnitude, scale))
