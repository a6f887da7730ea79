"""A grid's rows share their starts' partitions (core.start_cache): the same numbers as without."""

import numpy as np
import pytest

from emstudio.core import FitSettings, fit_mixture
from emstudio.core.init import initial_params, kmeans
from emstudio.core.selection import cell_settings, fit_row, select_models
from emstudio.core.start_cache import StartCache


def _data(seed=0, n=600):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [5.0, 1.0, -2.0], [1.0, 6.0, 3.0], [-4.0, 3.0, 1.0]])
    # Columns in very different units: the spaces (standard, svd) matter.
    return (centres[rng.integers(4, size=n)] + rng.normal(size=(n, 3))) * np.array([1.0, 100.0, 0.01])


@pytest.mark.parametrize("kind", ["raw", "standard", "svd"])
def test_kmeans_labels_from_the_cache_equal_a_fresh_run_and_leave_the_generator_alike(kind):
    X = _data()
    cache = StartCache(X)
    for k in (2, 5):
        fresh = np.random.default_rng(3)
        _, expected = kmeans(X, k, fresh, space=kind)
        for _ in range(2):  # a miss, then a hit
            rng = np.random.default_rng(3)
            assert np.array_equal(cache.kmeans_labels(k, rng, kind), expected)
            assert rng.bit_generator.state == fresh.bit_generator.state


def test_the_hc_start_from_the_cache_equals_the_start_without_it():
    X = _data(n=2500)  # above hc's subset size: the rows outside the subset join a cluster
    cache = StartCache(X)
    for covariance_type in ("full", "spherical"):  # the second model's start is a hit
        for k in (1, 3):
            plain = initial_params(X, k, covariance_type, "hc", np.random.default_rng(0), hc_seed=9)
            cached = initial_params(X, k, covariance_type, "hc", np.random.default_rng(0), hc_seed=9, cache=cache)
            assert np.array_equal(plain.means, cached.means)
            assert np.array_equal(plain.covariances, cached.covariances)


def test_a_cache_serves_only_its_own_array():
    X = _data()
    cache = StartCache(X)
    assert cache.serves(X) and not cache.serves(X.copy())
    other = X * 2.0
    start = initial_params(other, 3, "full", "kmeans-std", np.random.default_rng(1), cache=cache)
    assert np.array_equal(start.means, initial_params(other, 3, "full", "kmeans-std", np.random.default_rng(1)).means)


def test_a_kmeans_run_cut_short_by_stop_is_not_kept():
    X = _data()
    cache = StartCache(X)
    cache.kmeans_labels(4, np.random.default_rng(2), "standard", should_stop=lambda: True)
    _, expected = kmeans(X, 4, np.random.default_rng(2), space="standard")
    assert np.array_equal(cache.kmeans_labels(4, np.random.default_rng(2), "standard"), expected)


def test_rows_sharing_a_cache_fit_what_each_row_fits_alone():
    X = np.ascontiguousarray(_data(1))
    base = FitSettings(restarts=3, short_iter=4, long_runs=1, seed=5, accelerate="squarem",
                       convergence="aitken", tol=1e-8)
    grid = select_models(X, [1, 2, 3, 4], ["full", "diag", "spherical"], base, jobs=1)
    for covariance_type in ("full", "diag", "spherical"):
        alone = fit_row(X, base, covariance_type, [1, 2, 3, 4])
        shared = [c for c in grid.cells if c.covariance_type == covariance_type]
        assert [c.result.log_likelihood for c in alone] == [c.result.log_likelihood for c in shared]
        assert [c.result.best_restart for c in alone] == [c.result.best_restart for c in shared]


def test_every_model_at_k_starts_from_the_same_seed():
    base = FitSettings(seed=4)
    seeds = {cell_settings(base, t, 3).seed for t in ("full", "tied", "diag", "spherical")}
    assert len(seeds) == 1 and seeds != {cell_settings(base, "full", 4).seed}


def test_one_component_is_fitted_from_one_start():
    X = _data()
    one = fit_mixture(X, FitSettings(k=1, restarts=5, seed=0))
    assert len(one.start_names) == 1
    alone = fit_mixture(X, FitSettings(k=1, restarts=1, seed=0, init="random-data"))
    assert one.log_likelihood == pytest.approx(alone.log_likelihood, rel=1e-12)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_statistics_from_labels_equal_those_from_their_one_hot_responsibilities(covariance_type):
    from emstudio.core.mstep import label_statistics, sufficient_statistics

    X = _data(2)
    labels = np.random.default_rng(0).integers(4, size=X.shape[0])
    labels[labels == 2] = 3  # an empty label: a component with no row
    resp = np.zeros((X.shape[0], 4))
    resp[np.arange(X.shape[0]), labels] = 1.0
    want = sufficient_statistics(X, resp, covariance_type)
    got = label_statistics(X, labels, 4, covariance_type)
    assert np.array_equal(got.n_k, want.n_k)
    for name in ("sum_x", "sum_xx"):
        assert np.allclose(getattr(got, name), getattr(want, name), rtol=1e-12, atol=1e-12 * X.shape[0])
    assert np.array_equal(got.origins, want.origins) and np.array_equal(got.scale, want.scale)
