"""Collapsing components are flagged, impossible requests are clear errors, and nothing is NaN."""

import numpy as np
import pytest

from emstudio.core import FitSettings, MixtureEngine, fit_mixture, iterate_em, make_params
from emstudio.errors import DataError, FitError

COV_TYPES = ["full", "tied", "diag", "spherical"]


def _finite(result):
    p = result.params
    return all(np.all(np.isfinite(a)) for a in (p.weights, p.means, p.covariances)) and np.isfinite(result.log_likelihood)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_component_on_duplicated_points_is_flagged(covariance_type):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(200, 2)), np.tile([[5.0, 5.0]], (30, 1))])
    start = make_params([0.5, 0.5], [[0.0, 0.0], [5.0, 5.0]],
                        {"full": [np.eye(2)] * 2, "diag": [[1.0, 1.0]] * 2, "spherical": [1.0, 1.0]}[covariance_type],
                        covariance_type)
    result = fit_mixture(X, FitSettings(k=2, covariance_type=covariance_type, init=start, max_iter=100))
    assert _finite(result)
    assert result.degenerate == (1,)
    assert np.linalg.eigvalsh(result.params.full_covariances()).min() >= 1e-6 * 0.999  # reg_covar keeps it PD


def test_single_point_component_is_flagged():
    X = np.vstack([np.random.default_rng(1).normal(size=(100, 2)), [[20.0, 20.0]]])
    start = make_params([0.9, 0.1], [[0, 0], [20, 20]], [np.eye(2)] * 2)
    result = fit_mixture(X, FitSettings(k=2, init=start, max_iter=50))
    assert _finite(result) and 1 in result.degenerate


def test_empty_component_keeps_its_place_and_never_becomes_nan():
    """A component far from all data gets Nₖ ≈ 0: it keeps its mean and covariance, weight → ~0."""
    X = np.random.default_rng(2).normal(size=(300, 2))
    start = make_params([0.5, 0.5], [[0, 0], [1e3, 1e3]], [np.eye(2), np.eye(2)])
    with MixtureEngine(X, "full") as engine:
        snaps = list(iterate_em(engine, start, max_iter=5, tol=0, reg_covar=1e-6))
    last = snaps[-1].params
    assert np.all(np.isfinite(last.covariances)) and np.all(np.isfinite(last.means))
    assert np.allclose(last.means[1], [1e3, 1e3]) and np.allclose(last.covariances[1], np.eye(2))
    assert last.weights[1] < 1e-12 and last.weights[1] > 0
    result = fit_mixture(X, FitSettings(k=2, init=start, max_iter=5))
    assert result.degenerate == (1,)


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_k_larger_than_distinct_points_is_a_clear_error(covariance_type):
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [2.0, 2.0]] * 5)
    with pytest.raises(FitError, match="only 3 distinct points"):
        fit_mixture(X, FitSettings(k=4, covariance_type=covariance_type))


def test_k_larger_than_samples_is_a_clear_error():
    with pytest.raises(FitError, match="only 3 usable samples"):
        fit_mixture(np.array([[0.0], [1.0], [2.0]]), FitSettings(k=5))


def test_constant_column_is_a_clear_error_naming_it():
    X = np.column_stack([np.random.default_rng(0).normal(size=50), np.full(50, 3.0)])
    with pytest.raises(DataError, match="'height' is constant"):
        fit_mixture(X, FitSettings(k=2), column_names=["width", "height"])


def test_huge_values_say_they_overflow_and_how_to_rescale():
    # A spread of 1e200: the variance 1e400 overflows in any units, so --standardize cannot help.
    X = np.random.default_rng(0).normal(size=(50, 2)) * 1e200
    with pytest.raises(DataError, match=r"overflow float64.*divide them by a power of ten \(e.g. 1e\+197\)") as caught:
        fit_mixture(X, FitSettings(k=2))
    assert "standardize" not in str(caught.value)
    # Huge values with a spread whose variance fits: --standardize is offered as well.
    Y = 2e151 + np.random.default_rng(0).normal(size=(50, 2)) * 1e144
    with pytest.raises(DataError, match="or use --standardize"):
        fit_mixture(Y, FitSettings(k=2))


def test_values_near_the_largest_float_are_not_called_infinite():
    X = np.random.default_rng(1).uniform(-1, 1, size=(50, 2)) * 1.7e308
    with pytest.raises(DataError, match=r"reach 1\.\d+e\+308.*overflow") as caught:
        fit_mixture(X, FitSettings(k=2))
    assert "NaN" not in str(caught.value) and "infinite" not in str(caught.value)


@pytest.mark.parametrize("covariance_type", COV_TYPES)
@pytest.mark.parametrize("init", ["kmeans", "kmeans++", "random", "random-data", "seed-step0"])
def test_heavily_tied_data_never_gives_nan(covariance_type, init):
    """Rounded measurements: many identical values, components free to collapse onto them."""
    rng = np.random.default_rng(3)
    X = np.round(rng.normal(size=(400, 2)) * 2) / 2
    result = fit_mixture(X, FitSettings(k=6, covariance_type=covariance_type, init=init, max_iter=200, restarts=2))
    assert _finite(result)
    assert all(np.isfinite(v) for v in (result.bic, result.aic, result.icl))


def test_restarts_prefer_a_healthy_fit_over_a_collapsed_one():
    """Collapsed restarts have the higher raw log L here; the kept one must still be healthy."""
    X = np.round(np.random.default_rng(3).normal(size=(300, 2)) * 2) / 2
    result = fit_mixture(X, FitSettings(k=5, covariance_type="diag", init="random-data", restarts=6, seed=0))
    collapsed = [ll for ll, bad in zip(result.restart_log_likelihoods, result.restart_degenerate) if bad]
    healthy = [ll for ll, bad in zip(result.restart_log_likelihoods, result.restart_degenerate) if not bad]
    assert collapsed and healthy and max(collapsed) > max(healthy)
    assert _finite(result)
    assert result.degenerate == ()
    assert result.log_likelihood == max(healthy)
    assert not result.restart_degenerate[result.best_restart]


def test_reg_covar_warning_only_when_large_against_the_variances():
    from emstudio.core.checks import reg_covar_warning

    assert reg_covar_warning(np.array([1.0, 4.0]), 1e-6) is None
    message = reg_covar_warning(np.array([1.0, 1e-5]), 1e-6, ["a", "tiny"])
    assert "'tiny'" in message and "--standardize" in message


def test_tiny_values_ask_for_rescaling_not_standardising():
    # The variance 1e-600 underflows in the data's own units, so --standardize cannot help.
    X = np.random.default_rng(0).normal(size=(50, 2)) * 1e-300
    with pytest.raises(DataError, match=r"too small.*about 1e-600.*multiply them by a power of ten \(e.g. 1e\+300\)"):
        fit_mixture(X, FitSettings(k=2))


@pytest.mark.parametrize("init", ["kmeans", "kmeans++", "random", "random-data"])
@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_exactly_collinear_data_with_no_reg_covar_is_a_collapse_not_a_crash(init, covariance_type):
    """y = 2x + 1 and reg_covar = 0: every covariance is singular. The fit must end with the
    components called collapsed, not with numpy's 'Matrix is not positive definite'."""
    from emstudio.core.edits import reseed_component

    x = np.random.default_rng(0).normal(size=300)
    X = np.column_stack([x, 2 * x + 1])
    result = fit_mixture(X, FitSettings(k=2, covariance_type=covariance_type, init=init, reg_covar=0.0,
                                        max_iter=20))
    assert np.isfinite(result.log_likelihood) and result.degenerate
    reseeded = reseed_component(result.params, 0, X, np.random.default_rng(1), reg_covar=0.0)
    again = fit_mixture(X, FitSettings(k=2, covariance_type=covariance_type, init=reseeded, reg_covar=0.0,
                                       max_iter=5))
    assert np.isfinite(again.log_likelihood)


def _two_point_cluster(d=2, seed=5):
    """200 points about 0 and two points far away, about one unit apart (a healthy spread)."""
    rng = np.random.default_rng(seed)
    far = np.full(d, 12.0)
    return np.vstack([rng.normal(size=(200, d)), far + np.array([[0.6] * d, [-0.6] * d]) + rng.normal(scale=0.2, size=(2, d))])


def _start_at_the_far_pair(X, covariance_type):
    from emstudio.core.init import params_from_labels

    labels = (np.arange(X.shape[0]) >= X.shape[0] - 2).astype(int)
    return params_from_labels(X, labels, 2, covariance_type, 1e-6)


@pytest.mark.parametrize("covariance_type", ["tied", "spherical", "EII", "EEI", "EEV", "VEI"])
def test_two_point_components_are_healthy_where_the_model_estimates_little_of_their_own(covariance_type):
    """Issue 16: Nₖ < d + 1 flagged tied and spherical components of 2–4 points with healthy variances."""
    from emstudio.core.checks import degenerate_components
    from emstudio.core.models import singular_size

    X = _two_point_cluster()
    result = fit_mixture(X, FitSettings(k=2, covariance_type=covariance_type,
                                        init=_start_at_the_far_pair(X, covariance_type), max_iter=200))
    assert abs(result.component_sizes[1] - 2.0) < 1e-3
    assert result.degenerate == ()
    assert singular_size(covariance_type, 2) <= 1
    assert degenerate_components(result.params, np.array([200.0, 2.0]), 1e-6) == []


@pytest.mark.parametrize("covariance_type", ["full", "EVV"])
def test_two_points_in_two_dimensions_are_collapsed_for_a_covariance_of_their_own(covariance_type):
    X = _two_point_cluster()
    result = fit_mixture(X, FitSettings(k=2, covariance_type=covariance_type,
                                        init=_start_at_the_far_pair(X, covariance_type), max_iter=200))
    assert result.degenerate == (1,)


@pytest.mark.parametrize("covariance_type", ["spherical", "diag", "VEV"])
def test_one_point_is_collapsed_for_a_volume_or_shape_of_its_own(covariance_type):
    from emstudio.core.checks import degenerate_components
    from emstudio.core.init import params_from_labels

    X = _two_point_cluster()
    labels = (np.arange(X.shape[0]) >= X.shape[0] - 2).astype(int)
    params = params_from_labels(X, labels, 2, covariance_type, 1e-6)
    assert degenerate_components(params, np.array([201.0, 1.0]), 1e-6) == [1]
    assert degenerate_components(params, np.array([200.0, 2.0]), 1e-6) == []


def test_a_one_d_component_of_about_two_points_is_not_collapsed():
    """Issue 16: every 1-D fit with K ≥ 5 of a classic data set was collapsed because one
    component held 1.99994 points (Nₖ < d + 1 = 2)."""
    from emstudio.core.checks import degenerate_components
    from emstudio.core.init import params_from_labels

    X = _two_point_cluster(d=1)
    params = params_from_labels(X, (np.arange(202) >= 200).astype(int), 2, "full", 1e-6)
    assert degenerate_components(params, np.array([200.00006, 1.99994]), 1e-6) == []
    assert degenerate_components(params, np.array([201.0, 1.0]), 1e-6) == [1]
    result = fit_mixture(X, FitSettings(k=2, covariance_type="full", init=params, max_iter=200))
    assert result.degenerate == ()


def test_a_shared_covariance_flags_only_an_empty_component():
    from emstudio.core.checks import degenerate_components
    from emstudio.core.init import params_from_labels

    X = _two_point_cluster()
    params = params_from_labels(X, (np.arange(202) >= 200).astype(int), 2, "tied", 1e-6)
    assert degenerate_components(params, np.array([201.5, 0.5]), 1e-6) == []
    assert degenerate_components(params, np.array([202.0, 0.0]), 1e-6) == [1]
