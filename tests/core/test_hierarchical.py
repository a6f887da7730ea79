"""The hc start (mclust's hierarchical agglomeration on scaled data): units-free, subset, errors."""

import numpy as np
import pytest

from emstudio.core import FitSettings, fit_mixture, initial_params
from emstudio.core.hierarchical import hc_labels, svd_scaled
from emstudio.errors import FitError


def _two_clusters_hidden_by_units(n=400, seed=0):
    """Two clusters apart in a small-unit column; a large-unit column of pure noise beside it."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(2, size=n)
    small = truth * 0.1 + rng.normal(scale=0.01, size=n)
    noise = rng.normal(scale=10.0, size=n)
    return np.column_stack([small, noise]), truth


def _agreement(labels, truth):
    same = np.mean(labels == truth)
    return max(same, 1 - same)


def test_hc_finds_clusters_that_column_units_hide_from_kmeans():
    X, truth = _two_clusters_hidden_by_units()
    rng = np.random.default_rng(0)
    assert _agreement(hc_labels(X, 2, rng), truth) > 0.97
    fit_hc = fit_mixture(X, FitSettings(k=2, init="hc"))
    fit_kmeans = fit_mixture(X, FitSettings(k=2, init="kmeans"))
    assert fit_hc.log_likelihood >= fit_kmeans.log_likelihood - 1e-6


def test_the_start_does_not_depend_on_column_units():
    X, _ = _two_clusters_hidden_by_units(seed=1)
    X = np.column_stack([X, np.random.default_rng(2).normal(size=X.shape[0])])
    scales = np.array([1e-6, 1e4, 3.0])
    a = hc_labels(X, 3, np.random.default_rng(5))
    b = hc_labels(X * scales, 3, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.abs(svd_scaled(X)), np.abs(svd_scaled(X * scales)), atol=1e-9)


def test_large_data_agglomerates_a_subset_and_assigns_the_rest():
    rng = np.random.default_rng(3)
    centres = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    truth = rng.integers(3, size=6000)
    X = centres[truth] + rng.normal(size=(6000, 2))
    labels = hc_labels(X, 3, np.random.default_rng(4))
    assert labels.shape == (6000,) and set(labels) == {0, 1, 2}
    # every true cluster lands (almost) whole in one hc cluster
    for j in range(3):
        assert np.bincount(labels[truth == j], minlength=3).max() / np.sum(truth == j) > 0.98
    np.testing.assert_array_equal(labels, hc_labels(X, 3, np.random.default_rng(4)))  # same seed, same start


def test_k_above_the_distinct_points_is_one_line():
    X = np.repeat([[0.0, 1.0], [2.0, 3.0]], 10, axis=0)
    with pytest.raises(FitError, match="only 2 distinct points"):
        initial_params(X, 3, "full", "hc", np.random.default_rng(0))


def test_a_constant_column_and_one_dimension_are_fine():
    rng = np.random.default_rng(6)
    x = np.concatenate([rng.normal(size=100), rng.normal(size=100) + 10])
    assert set(hc_labels(x[:, None], 2, rng)) == {0, 1}
    X = np.column_stack([x, np.full(200, 4.0)])
    assert set(hc_labels(X, 2, rng)) == {0, 1}


def test_the_default_start_is_auto_and_is_not_fooled_by_column_units():
    """Issue 16: the default start must not depend on the columns' units (k-means on raw data is)."""
    from emstudio.core.init import DEFAULT_INIT

    assert FitSettings().init == DEFAULT_INIT == "auto"
    X, truth = _two_clusters_hidden_by_units()
    fit = fit_mixture(X, FitSettings(k=2, reg_covar=0.0, tol=1e-10))
    from emstudio.core import predict

    assert _agreement(predict(X, fit.params), truth) > 0.95
    scales = np.array([1e3, 1e-2])
    scaled = fit_mixture(X * scales, FitSettings(k=2, reg_covar=0.0, tol=1e-10))
    shift = -X.shape[0] * np.log(scales).sum()
    assert scaled.log_likelihood == pytest.approx(fit.log_likelihood + shift, rel=1e-8)


@pytest.mark.parametrize("method", ["kmeans-std", "kmeans-svd", "auto"])
def test_scaled_kmeans_starts_do_not_depend_on_column_units(method):
    X, _ = _two_clusters_hidden_by_units(seed=3)
    scales = np.array([1e-4, 1e5])
    for restart in (0, 1):
        a = initial_params(X, 2, "full", method, np.random.default_rng(8), 0.0, restart=restart)
        b = initial_params(X * scales, 2, "full", method, np.random.default_rng(8), 0.0, restart=restart)
        np.testing.assert_allclose(b.means / scales, a.means, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(b.weights, a.weights, rtol=1e-12)
