"""Hand edits of a mixture: remove, re-seed, and the collapse report."""

import numpy as np
import pytest

from emstudio.core.checks import degenerate_components
from emstudio.core.edits import collapse_report, remove_component, reseed_component
from emstudio.core.em import FitSettings, fit_mixture
from emstudio.core.init import data_covariance, initial_params
from emstudio.core.params import COVARIANCE_TYPES, make_params
from emstudio.errors import FitError


def _data(seed=0):
    """Normal data plus 30 identical points at (8, 8)."""
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(size=(200, 2)), np.tile([8.0, 8.0], (30, 1))])


def _start(covariance_type, k=3, seed=0):
    X = _data(seed)
    return X, initial_params(X, k, covariance_type, "kmeans++", np.random.default_rng(seed))


def _valid(params):
    again = make_params(params.weights, params.means, params.covariances, params.covariance_type)
    assert again.weights.sum() == pytest.approx(1.0)
    return again


def _collapsed_fit():
    X = _data()
    start = make_params([0.5, 0.5], [[8.0, 8.0], [0.0, 0.0]], [np.eye(2) * 0.01, np.eye(2)])
    return X, fit_mixture(X, FitSettings(k=2, init=start, max_iter=5))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_remove_component(covariance_type):
    X, params = _start(covariance_type)
    out = _valid(remove_component(params, 1))
    assert out.n_components == 2 and out.covariance_type == covariance_type
    np.testing.assert_allclose(out.means, params.means[[0, 2]])
    np.testing.assert_allclose(out.weights, params.weights[[0, 2]] / params.weights[[0, 2]].sum())
    if covariance_type == "tied":
        np.testing.assert_allclose(out.covariances, params.covariances)
    else:
        np.testing.assert_allclose(out.covariances, params.covariances[[0, 2]])
    result = fit_mixture(X, FitSettings(k=2, covariance_type=covariance_type, init=out, max_iter=20))
    assert result.params.n_components == 2 and np.isfinite(result.log_likelihood)


def test_remove_refuses_the_last_component_and_bad_indices():
    _, params = _start("full", k=1)
    with pytest.raises(FitError, match="only component"):
        remove_component(params, 0)
    _, params = _start("full", k=2)
    with pytest.raises(FitError, match="no component 3"):  # numbered 1 … K as people read them
        remove_component(params, 2)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_reseed_moves_the_mean_to_the_least_likely_point(covariance_type):
    X, params = _start(covariance_type)
    out = _valid(reseed_component(params, 0, X, np.random.default_rng(1)))
    assert out.n_components == 3
    log_density = np.array([
        np.log(sum(w * np.exp(-0.5 * (x - m) @ np.linalg.solve(c, x - m)) / (2 * np.pi * np.sqrt(np.linalg.det(c)))
                   for w, m, c in zip(params.weights, params.means, params.full_covariances())))
        for x in X])
    np.testing.assert_allclose(out.means[0], X[np.argmin(log_density)])
    np.testing.assert_allclose(out.means[1:], params.means[1:])
    assert out.weights[0] == pytest.approx(1 / 3)
    np.testing.assert_allclose(out.weights[1:] / out.weights[1:].sum(), params.weights[1:] / params.weights[1:].sum())
    if covariance_type == "tied":
        np.testing.assert_allclose(out.covariances, params.covariances)
    else:
        np.testing.assert_allclose(out.covariances[0], data_covariance(X, covariance_type, 1, 0.0)[0])
    result = fit_mixture(X, FitSettings(k=3, covariance_type=covariance_type, init=out, max_iter=20))
    assert np.isfinite(result.log_likelihood)


def test_reseed_at_a_random_point_and_bad_method():
    X, params = _start("diag")
    out = _valid(reseed_component(params, 2, X, np.random.default_rng(5), method="random", reg_covar=1e-3))
    assert any(np.array_equal(out.means[2], x) for x in X)
    np.testing.assert_allclose(out.covariances[2], X.var(axis=0) + 1e-3)
    with pytest.raises(FitError, match="re-seed method"):
        reseed_component(params, 0, X, np.random.default_rng(0), method="nowhere")


def test_reseed_a_component_that_holds_all_the_weight():
    X = _data()
    params = make_params([1.0, 0.0], [[0, 0], [1, 1]], [np.eye(2), np.eye(2)])
    out = _valid(reseed_component(params, 0, X, np.random.default_rng(0)))
    np.testing.assert_allclose(out.weights, [0.5, 0.5])


def test_collapse_report_names_the_collapsed_component():
    _, result = _collapsed_fit()
    report = collapse_report(result.params, result.component_sizes, 1e-6)
    assert [c.component for c in report] == degenerate_components(result.params, result.component_sizes, 1e-6) == [0]
    k, smallest, size = report[0]
    assert k == 0 and abs(smallest) < 1e-9 and size == pytest.approx(30.0)
    healthy = fit_mixture(_data(), FitSettings(k=1))
    assert collapse_report(healthy.params, healthy.component_sizes, 1e-6) == []


def test_em_runs_after_either_fix():
    X, result = _collapsed_fit()
    removed = remove_component(result.params, 0)
    assert removed.n_components == 1
    reseeded = reseed_component(result.params, 0, X, np.random.default_rng(0))
    again = fit_mixture(X, FitSettings(k=2, init=reseeded, max_iter=50))
    assert np.isfinite(again.log_likelihood)
