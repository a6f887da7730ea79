"""Factor analysis and mixtures of factor analysers: against scikit-learn and R, reductions, EM's guarantees."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import multivariate_normal

from emstudio.core import FitSettings, fit_mixture
from emstudio.core.factor import (
    FactorData, FactorParams, FactorSettings, fit_factor, heywood_message, iterate_factor_em,
    m_step, n_free_parameters, posterior_means, start_params, varimax,
)
from emstudio.core.params import MixtureParams
from emstudio.errors import FitError, ParameterError

FIXTURES = json.loads((Path(__file__).parent / "factanal_fixtures.json").read_text())


def _factor_data(seed, n=400, d=6, q=2, k=1, shift=6.0):
    rng = np.random.default_rng(seed)
    parts = []
    for j in range(k):
        loadings = rng.normal(size=(d, q))
        noise = np.sqrt(rng.uniform(0.2, 1.0, d))
        parts.append(rng.normal(size=(n, q)) @ loadings.T + rng.normal(size=(n, d)) * noise + j * shift)
    return np.vstack(parts)


def _direct_log_likelihood(X, params: FactorParams) -> float:
    covs = params.covariances
    dens = [params.weights[j] * multivariate_normal(params.means[j], covs[j]).pdf(X)
            for j in range(params.n_components)]
    return float(np.log(np.sum(dens, axis=0)).sum())


@pytest.mark.parametrize("seed,q", [(0, 1), (1, 2), (2, 3)])
def test_factor_analysis_reaches_scikit_learns_maximum(seed, q):
    from sklearn.decomposition import FactorAnalysis

    X = _factor_data(seed, q=q)
    fit = fit_factor(X, FactorSettings(k=1, n_factors=q, tol=1e-13, max_iter=200000))
    reference = FactorAnalysis(n_components=q, tol=1e-12, max_iter=100000).fit(X)
    assert fit.log_likelihood == pytest.approx(reference.score(X) * X.shape[0], rel=1e-6)
    np.testing.assert_allclose(fit.params.covariances[0], reference.get_covariance(), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("case", FIXTURES["factanal"], ids=lambda c: f"{c['data']}-q{c['factors']}")
def test_factor_analysis_matches_r_factanal(case):
    X = np.array(case["x"], dtype=float)
    fit = fit_factor(X, FactorSettings(k=1, n_factors=case["factors"], tol=1e-14, max_iter=500000))
    cov = fit.params.covariances[0]
    sd = np.sqrt(np.diagonal(X.T @ (X - X.mean(axis=0)) / X.shape[0]))
    implied = cov / np.outer(sd, sd)   # factanal fits the correlation matrix: compare in its units
    np.testing.assert_allclose(implied, np.array(case["implied_correlation"]), atol=1e-4)


def test_varimax_matches_r_and_keeps_the_likelihood():
    case = FIXTURES["varimax"]
    loadings = np.array(case["loadings"])
    rotated, rotation = varimax(loadings, tol=1e-14)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(rotated @ rotated.T, loadings @ loadings.T, atol=1e-10)
    # columns of a varimax solution are determined up to order and sign
    reference = np.array(case["rotated"])
    for column in reference.T:
        best = min(np.abs(np.abs(rotated.T) - np.abs(column)).max(axis=1))
        assert best < 1e-6


def test_the_pass_log_likelihood_is_the_density_of_the_marginal():
    X = _factor_data(3, n=200, k=2)
    rng = np.random.default_rng(0)
    for k, shared in [(1, True), (2, True), (2, False)]:
        params = start_params(X, k, 2, "random", rng, psi_shared=shared)
        stats = FactorData(X).run_pass(params)
        assert stats.log_likelihood == pytest.approx(_direct_log_likelihood(X, params), rel=1e-12)


def test_the_single_component_shortcut_equals_the_general_pass():
    X = _factor_data(4)
    params = start_params(X, 1, 2, "random", np.random.default_rng(1))
    data = FactorData(X)
    fast = data.run_pass(params)
    general = data._mixture_pass(params, fast.posterior)
    assert fast.log_likelihood == pytest.approx(general.log_likelihood, rel=1e-12)
    np.testing.assert_allclose(fast.first, general.first, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(fast.second, general.second, rtol=1e-10)
    np.testing.assert_allclose(m_step(fast, True).loadings, m_step(general, True).loadings, rtol=1e-9)


def test_without_factors_per_component_psi_is_the_diagonal_gaussian_mixture():
    X = _factor_data(5, n=150, d=3, k=3)
    start = start_params(X, 3, 0, "kmeans", np.random.default_rng(2), psi_shared=False)
    gmm_start = MixtureParams(start.weights, start.means, start.psi, "diag")
    gmm = fit_mixture(X, FitSettings(k=3, covariance_type="diag", init=gmm_start, max_iter=25, tol=0,
                                     reg_covar=0.0), keep_snapshots=True)
    snapshots = list(iterate_factor_em(FactorData(X), start, max_iter=25, tol=0, psi_floor=0.0))
    np.testing.assert_allclose([s.log_likelihood for s in snapshots], [s.log_likelihood for s in gmm.snapshots],
                               rtol=1e-10)
    np.testing.assert_allclose(snapshots[-1].params.psi, gmm.snapshots[-1].params.covariances, rtol=1e-7)


def test_without_factors_shared_psi_is_the_eei_mixture():
    X = _factor_data(6, n=100, d=3, k=2)
    start = start_params(X, 2, 0, "kmeans", np.random.default_rng(3), psi_shared=True)
    stats = FactorData(X).run_pass(start)
    new = m_step(stats, True, psi_floor=0.0)
    # EEI by hand: one diagonal covariance, the responsibility-weighted scatter about each new mean
    resp = np.exp(np.log(start.weights) + np.stack(
        [multivariate_normal(start.means[j], np.diag(start.psi[j])).logpdf(X) for j in range(2)], axis=1))
    resp /= resp.sum(axis=1, keepdims=True)
    means = resp.T @ X / resp.sum(axis=0)[:, None]
    scatter = sum((resp[:, j:j + 1] * (X - means[j]) ** 2).sum(axis=0) for j in range(2)) / X.shape[0]
    np.testing.assert_allclose(new.means, means, rtol=1e-10)
    np.testing.assert_allclose(new.psi[0], scatter, rtol=1e-10)


def test_factor_analysis_without_factors_is_the_diagonal_gaussian():
    X = _factor_data(7)
    fit = fit_factor(X, FactorSettings(k=1, n_factors=0, tol=1e-12))
    np.testing.assert_allclose(fit.params.psi[0], X.var(axis=0), rtol=1e-12)
    expected = multivariate_normal(X.mean(axis=0), np.diag(X.var(axis=0))).logpdf(X).sum()
    assert fit.log_likelihood == pytest.approx(expected, rel=1e-12)


def test_a_mixture_of_one_factor_analyser_is_factor_analysis():
    X = _factor_data(8)
    one = fit_factor(X, FactorSettings(k=1, n_factors=2, tol=1e-12, max_iter=100000))
    for psi in ("shared", "per-component"):
        mixture = fit_factor(X, FactorSettings(k=1, n_factors=2, psi=psi, tol=1e-12, max_iter=100000))
        assert mixture.log_likelihood == pytest.approx(one.log_likelihood, rel=1e-10)


def test_the_fit_is_equivariant_to_column_units():
    X = _factor_data(9, n=300, d=4, k=2)
    scales = np.array([1e-8, 1.0, 1e6, 3.0])
    a = fit_factor(X, FactorSettings(k=2, n_factors=1, init="kmeans", tol=0, max_iter=40))
    b = fit_factor(X * scales, FactorSettings(k=2, n_factors=1, init="kmeans", tol=0, max_iter=40))
    assert b.log_likelihood == pytest.approx(a.log_likelihood - X.shape[0] * np.log(scales).sum(), rel=1e-9)
    np.testing.assert_allclose(b.params.means / scales, a.params.means, rtol=1e-7, atol=1e-9)


def test_parameter_counts_discount_the_rotation():
    assert n_free_parameters(1, 6, 2, True) == 6 * 2 - 1 + 6 + 6
    assert n_free_parameters(3, 5, 0, False) == 3 * 5 + 3 * 5 + 2          # the VVI mixture
    assert n_free_parameters(2, 4, 3, True) == 2 * (12 - 3 + 4) + 4 + 1


def test_a_heywood_case_is_flagged_and_the_fit_stays_finite():
    rng = np.random.default_rng(10)
    z = rng.normal(size=(300, 1))
    X = np.hstack([z, z * 2 + rng.normal(size=(300, 1)) * 1e-9, z + rng.normal(size=(300, 1)),
                   -z + rng.normal(size=(300, 1))])
    fit = fit_factor(X, FactorSettings(k=1, n_factors=1, tol=1e-10, max_iter=5000))
    assert np.isfinite(fit.log_likelihood)
    assert {j for _, j in fit.heywood} >= {0, 1} or {j for _, j in fit.heywood} & {0, 1}
    message = heywood_message(fit.heywood, ["a", "b", "c", "d"])
    assert message.startswith("Heywood case") and "fewer factors" in message


@pytest.mark.parametrize("settings_, message", [
    (FactorSettings(k=1, n_factors=4), "factors must be fewer than columns"),
    (FactorSettings(k=0, n_factors=1), "K must be at least 1"),
    (FactorSettings(k=1, n_factors=1, psi="both"), "--psi"),
    (FactorSettings(k=1, n_factors=1, init="hc"), "unknown start"),
])
def test_impossible_requests_get_one_line(settings_, message):
    with pytest.raises(FitError, match=message):
        fit_factor(_factor_data(0, n=50, d=4), settings_)


def test_a_constant_column_is_named():
    X = _factor_data(0, n=50, d=4)
    X[:, 2] = 5.0
    with pytest.raises(FitError, match="x3|column 3"):
        fit_factor(X, FactorSettings(k=1, n_factors=1), column_names=["x1", "x2", "x3", "x4"])


def test_parameters_are_validated():
    with pytest.raises(ParameterError, match="positive"):
        FactorParams([1.0], [[0.0, 0.0]], [[[1.0], [0.0]]], [[1.0, 0.0]])
    with pytest.raises(ParameterError, match="shared"):
        FactorParams([0.5, 0.5], np.zeros((2, 2)), np.zeros((2, 2, 1)), [[1.0, 1.0], [2.0, 1.0]], psi_shared=True)


def test_posterior_means_solve_the_e_step():
    X = _factor_data(11)
    fit = fit_factor(X, FactorSettings(k=1, n_factors=2, tol=1e-9))
    m, v = posterior_means(X, fit.params)
    L, psi = fit.params.loadings[0], fit.params.psi[0]
    expected_v = np.linalg.inv(np.eye(2) + L.T @ np.diag(1 / psi) @ L)
    np.testing.assert_allclose(v, expected_v, rtol=1e-10)
    np.testing.assert_allclose(m, (X - fit.params.means[0]) @ (expected_v @ L.T @ np.diag(1 / psi)).T, rtol=1e-9)


factor_cases = st.fixed_dictionaries({
    "seed": st.integers(0, 2**31 - 1),
    "n": st.integers(20, 120),
    "d": st.integers(2, 5),
    "k": st.integers(1, 3),
    "psi": st.sampled_from(["shared", "per-component"]),
    "scale": st.sampled_from([1e-3, 1.0, 1e4]),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(factor_cases, st.data())
def test_em_never_lowers_the_likelihood_and_the_bound_identities_hold(case, draw):
    rng = np.random.default_rng(case["seed"])
    q = draw.draw(st.integers(0, case["d"] - 1))
    X = (rng.normal(size=(case["n"], case["d"])) @ rng.normal(size=(case["d"], case["d"]))
         + rng.integers(0, 3, size=(case["n"], 1)) * 4.0) * case["scale"]
    fit = fit_factor(X, FactorSettings(k=case["k"], n_factors=q, psi=case["psi"], init="random",
                                       seed=case["seed"], tol=0, max_iter=30), keep_snapshots=True)
    previous = None
    for snapshot in fit.snapshots:
        assert np.all(snapshot.params.psi > 0)
        scale = max(1.0, abs(snapshot.log_likelihood))
        if previous is not None:
            assert snapshot.log_likelihood >= previous - 1e-9 * scale
            e, m = snapshot.after_e, snapshot.after_m
            assert e.kl == pytest.approx(0.0, abs=1e-8 * scale)          # the bound touches after E
            assert e.log_likelihood == pytest.approx(previous, rel=1e-12)
            assert m.lower_bound >= e.lower_bound - 1e-9 * scale        # M raises F
            assert m.kl >= -1e-8 * scale                                # log L ≥ F
            assert m.h == pytest.approx(m.entropy + m.kl, rel=1e-9, abs=1e-9 * scale)
        previous = snapshot.log_likelihood
