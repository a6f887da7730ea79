"""Columns of any scale (issue 10, item 2): EM works in column units, so nothing depends on the units.

- K = 1 is a closed form (the mean and the biased covariance): every covariance type meets it to
  1e-9 relative on data whose columns are rescaled by factors in 1e-10 … 1e10.
- EM is equivariant to scaling: a K = 2 fit of the rescaled data, from the rescaled start, is the
  fit of the original data rescaled — or both are refused with a reason (a collapsed component).
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emstudio.core import FitSettings, MixtureParams, fit_mixture, initial_params
from emstudio.core.scaling import power_of_two_near, scaled_columns

COV_TYPES = ["full", "tied", "diag", "spherical"]

cases = st.fixed_dictionaries({
    "seed": st.integers(0, 2**31 - 1),
    "n": st.integers(20, 300),
    "d": st.integers(1, 4),
    "clusters": st.integers(1, 3),
    # log10 of each column's factor; the offset puts a column's mean far from 0 (in its own spread).
    "exponents": st.lists(st.floats(-10.0, 10.0), min_size=4, max_size=4),
    "offset": st.sampled_from([0.0, 10.0, 1e4]),
})


def _data(case) -> tuple[np.ndarray, np.ndarray]:
    """X (n, d) with unit-scale columns, and the factors (d,) to rescale them by."""
    rng = np.random.default_rng(case["seed"])
    d = case["d"]
    centres = rng.normal(scale=4.0, size=(case["clusters"], d))
    X = centres[rng.integers(case["clusters"], size=case["n"])] + rng.normal(size=(case["n"], d))
    X += case["offset"] * rng.normal(size=d)
    return X, 10.0 ** np.array(case["exponents"][:d])


def _closed_form(X: np.ndarray, covariance_type: str):
    """The K = 1 maximum-likelihood fit, computed directly: mean, covariance (native shape), log L.

    log|S| from the correlation matrix (scale-free) plus the log variances, so that it keeps its
    precision whatever the columns' scales.
    """
    n, d = X.shape
    mean = X.mean(axis=0)
    centred = X - mean
    cov = centred.T @ centred / n
    sd = np.sqrt(np.diag(cov))
    log_var = 2.0 * np.log(sd)
    if covariance_type in ("full", "tied"):
        log_det = np.linalg.slogdet(cov / np.outer(sd, sd))[1] + log_var.sum()
        native = cov if covariance_type == "tied" else cov[None]
    elif covariance_type == "diag":
        log_det = log_var.sum()
        native = np.diag(cov)[None]
    else:
        variance = np.diag(cov).mean()
        log_det = d * np.log(variance)
        native = np.array([variance])
    log_l = -0.5 * n * (d * np.log(2 * np.pi) + log_det + d)
    return mean, native, log_l, sd


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases, st.sampled_from(COV_TYPES))
def test_one_component_meets_the_closed_form_at_any_column_scales(case, covariance_type):
    X0, factors = _data(case)
    X = X0 * factors
    mean, cov, log_l, sd = _closed_form(X, covariance_type)
    result = fit_mixture(X, FitSettings(k=1, covariance_type=covariance_type, reg_covar=0.0, tol=1e-12,
                                        max_iter=5))
    params = result.params
    assert np.all(np.abs(params.means[0] - mean) <= 1e-9 * sd)
    if covariance_type in ("full", "tied"):
        unit = np.outer(sd, sd)
        fitted = params.covariances if covariance_type == "tied" else params.covariances[0]
        reference = cov if covariance_type == "tied" else cov[0]
        assert np.all(np.abs(fitted - reference) <= 1e-9 * unit)
    else:
        assert np.all(np.abs(params.covariances - cov) <= 1e-9 * np.abs(cov))
    assert abs(result.log_likelihood - log_l) <= 1e-9 * max(abs(log_l), 1.0)
    assert result.degenerate == ()


def _rescaled(params: MixtureParams, factors: np.ndarray) -> MixtureParams:
    """θ for data X·diag(factors): means scaled, covariances by fᵢfⱼ (diag by f²)."""
    cov = params.covariances
    if params.covariance_type in ("full", "tied"):
        cov = cov * np.outer(factors, factors)
    elif params.covariance_type == "diag":
        cov = cov * factors ** 2
    else:  # a sphere stays one only under a common factor
        cov = cov * factors[0] ** 2
    return MixtureParams(params.weights, params.means * factors, cov, params.covariance_type)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases, st.sampled_from(COV_TYPES))
def test_em_is_equivariant_to_rescaling_the_columns(case, covariance_type):
    X0, factors = _data(case)
    if covariance_type == "spherical":
        factors = np.full_like(factors, factors[0])
    X = X0 * factors
    start = initial_params(X0, 2, covariance_type, "kmeans", np.random.default_rng(case["seed"]), 0.0)
    # reg_covar = 0: reg_covar·I is not equivariant to rescaling (it is one number in every unit).
    run = dict(k=2, covariance_type=covariance_type, reg_covar=0.0, tol=0.0, max_iter=20)
    original = fit_mixture(X0, FitSettings(init=start, **run))
    scaled = fit_mixture(X, FitSettings(init=_rescaled(start, factors), **run))
    # Collapse is the same verdict in any units: a refusal with a reason (then nothing to compare).
    assert original.degenerate == scaled.degenerate
    if original.degenerate:
        return
    back = _rescaled(scaled.params, 1.0 / factors)
    sd = X0.std(axis=0)
    assert np.allclose(back.weights, original.params.weights, rtol=0, atol=1e-7)
    assert np.all(np.abs(back.means - original.params.means) <= 1e-7 * sd)
    if covariance_type in ("full", "tied"):
        assert np.all(np.abs(back.covariances - original.params.covariances) <= 1e-7 * np.outer(sd, sd))
    else:
        assert np.allclose(back.covariances, original.params.covariances, rtol=1e-7, atol=0)
    # log L moves by the Jacobian: −n Σⱼ log fⱼ.
    shift = -X.shape[0] * np.log(factors).sum()
    assert abs(scaled.log_likelihood - (original.log_likelihood + shift)) <= 1e-8 * max(abs(original.log_likelihood), 1.0)


def test_issue_case_tiny_beside_huge_column():
    """x0 ~ N(0, (1e-8)²) beside x1 ~ N(0, (1e8)²), K = 1, reg_covar = 0: Σ₀₀ ≈ 1e-16, not 4567."""
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(0, 1e-8, 500), rng.normal(0, 1e8, 500)])
    for covariance_type in COV_TYPES:
        result = fit_mixture(X, FitSettings(k=1, covariance_type=covariance_type, reg_covar=0.0))
        mean, cov, log_l, sd = _closed_form(X, covariance_type)
        assert abs(result.log_likelihood - log_l) <= 1e-9 * abs(log_l)
        if covariance_type != "spherical":
            variance_0 = result.params.full_covariances()[0, 0, 0]
            assert abs(variance_0 - sd[0] ** 2) <= 1e-9 * sd[0] ** 2
        if covariance_type == "full":
            assert abs(result.log_likelihood + 1410) < 30  # about −1410, as the issue expected
            assert result.degenerate == ()


def test_scaled_columns_are_exact_powers_of_two_within_root_two_of_the_spread():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1000, 3)) * np.array([1e-300, 1.0, 1e300]) + np.array([0.0, 1e6, -1e301])
    data_t, centre, scale, magnitude = scaled_columns(X)
    assert np.all(np.frexp(scale)[0] == 0.5)  # powers of two: dividing by them is exact
    rms = np.sqrt((data_t ** 2).mean(axis=1))
    assert np.all((rms > 2 ** -0.5 - 1e-12) & (rms < 2 ** 0.5 + 1e-12))
    assert np.allclose(centre, X.mean(axis=0), rtol=1e-12)
    assert np.array_equal(magnitude, np.abs(X).max(axis=0))
    assert np.array_equal(power_of_two_near(np.array([0.0, np.nan, np.inf, 3.0])), [1.0, 1.0, 1.0, 4.0])


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_fast_route_is_kept_for_columns_of_very_different_scales(covariance_type):
    """In column units the quadratic features do not cancel, so the fast route is used."""
    from emstudio.core import MixtureEngine

    rng = np.random.default_rng(5)
    X = rng.normal(size=(2000, 2)) * np.array([1e-8, 1e8])
    start = initial_params(X, 2, covariance_type, "kmeans", rng, 0.0)
    with MixtureEngine(X, covariance_type) as engine:
        assert engine.plan(start).uses_features
