"""Two components on one point (issue 10, item 8): random-data never starts them so, at any n, and
a result with identical components says so."""

import numpy as np
import pytest

from emstudio.core import FitSettings, MixtureParams, fit_mixture
from emstudio.core.checks import identical_components, identical_warning
from emstudio.core.init import UNIQUE_ROWS_LIMIT, distinct_data_points, initial_params
from emstudio.errors import FitError


def _rows_with_repeats(n: int, distinct: int, rng) -> np.ndarray:
    """n rows (n, 2): one point repeated, plus ``distinct`` − 1 other points once each."""
    X = np.zeros((n, 2))
    X[rng.choice(n, size=distinct - 1, replace=False)] = rng.normal(size=(distinct - 1, 2)) + 5.0
    return X


@pytest.mark.parametrize("n", [1000, UNIQUE_ROWS_LIMIT + 50_000])
def test_random_data_starts_on_k_distinct_points_above_the_unique_limit_too(n):
    rng = np.random.default_rng(0)
    X = _rows_with_repeats(n, 6, rng)  # almost every row is the same point
    for seed in range(5):
        means = distinct_data_points(X, 5, np.random.default_rng(seed))
        assert np.unique(means, axis=0).shape[0] == 5
        assert all(any(np.array_equal(m, x) for x in np.unique(X, axis=0)) for m in means)
    start = initial_params(X, 5, "full", "random-data", np.random.default_rng(1), 1e-6)
    assert identical_components(start) == []


def test_random_data_refuses_more_components_than_distinct_points_at_any_n():
    X = _rows_with_repeats(UNIQUE_ROWS_LIMIT + 10_000, 3, np.random.default_rng(2))
    with pytest.raises(FitError, match="only 3 distinct points"):
        distinct_data_points(X, 4, np.random.default_rng(0))


def test_random_data_is_reproducible_above_the_limit():
    X = np.random.default_rng(3).normal(size=(UNIQUE_ROWS_LIMIT + 1, 2))
    first = distinct_data_points(X, 4, np.random.default_rng(9))
    assert np.array_equal(first, distinct_data_points(X, 4, np.random.default_rng(9)))


def test_identical_components_are_found_and_named():
    cov = np.array([[1.0, 0.3], [0.3, 2.0]])
    params = MixtureParams(np.array([0.2, 0.3, 0.5]), np.array([[1e-9, 1e9], [1e-9, 1e9], [0.0, 0.0]]),
                           np.stack([cov * [[1e-18, 1], [1, 1e18]]] * 3), "full")
    assert identical_components(params) == [(0, 1)]
    assert "components 1 and 2 are identical" in identical_warning([(0, 1)])
    assert identical_warning([]) is None
    moved = params.replace(means=params.means + [[0, 0], [1e-3, 0], [0, 0]])  # 1e-3 of 1e-9's spread: apart
    assert identical_components(moved) == []


def test_a_fit_whose_components_stay_on_one_point_reports_them():
    """Two components started on the same point with the same covariance never separate (EM is
    symmetric in them): the result names the pair."""
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 6])
    start = MixtureParams(np.array([0.5, 0.5]), np.array([[3.0, 3.0], [3.0, 3.0]]), np.stack([np.eye(2)] * 2),
                          "full")
    result = fit_mixture(X, FitSettings(k=2, init=start, max_iter=50))
    assert result.identical == ((0, 1),)
    healthy = fit_mixture(X, FitSettings(k=2, seed=0))
    assert healthy.identical == ()
