"""Property tests: EM's guarantees hold on arbitrary data, K and covariance types."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emstudio.core import FitSettings, bound_terms, e_step, fit_mixture, initial_params, iterate_em, m_step
from emstudio.core import MixtureEngine, sufficient_statistics
from emstudio.core.checks import reg_covar_binds

data_cases = st.fixed_dictionaries({
    "seed": st.integers(0, 2**31 - 1),
    "n": st.integers(30, 300),
    "d": st.integers(1, 4),
    "k": st.integers(1, 5),
    "clusters": st.integers(1, 4),
    "covariance_type": st.sampled_from(["full", "tied", "diag", "spherical"]),
    "init": st.sampled_from(["kmeans", "kmeans++", "random", "random-data", "seed-step0"]),
    "scale": st.sampled_from([1e-3, 1.0, 1e3]),
})


def _data(case):
    rng = np.random.default_rng(case["seed"])
    centres = rng.normal(scale=4.0, size=(case["clusters"], case["d"]))
    labels = rng.integers(case["clusters"], size=case["n"])
    X = centres[labels] + rng.normal(size=(case["n"], case["d"])) * rng.uniform(0.2, 2.0, case["d"])
    return X * case["scale"]


def _reg_covar(case):
    """reg_covar small against the data's variance (1e-6 on unit-scale data, the default).

    Adding reg_covar·I is not the maximiser of Q, so when it is NOT small against the variances
    EM's log L can fall by a little; the command line warns about that case.
    """
    return 1e-6 * case["scale"] ** 2


def _assert_monotone_where_reg_does_not_bind(snapshots, reg_covar):
    for before, after in zip(snapshots, snapshots[1:]):
        if reg_covar_binds(after.params, reg_covar, after.component_sizes):
            continue
        size = max(abs(after.log_likelihood), 1.0)
        assert after.log_likelihood >= before.log_likelihood - 1e-9 * size
        assert after.after_m.lower_bound >= after.after_e.lower_bound - 1e-9 * size


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data_cases)
def test_log_likelihood_never_decreases(case):
    X = _data(case)
    reg = _reg_covar(case)
    result = fit_mixture(X, FitSettings(k=case["k"], covariance_type=case["covariance_type"], init=case["init"],
                                        seed=case["seed"], max_iter=40, tol=0.0, reg_covar=reg),
                         keep_snapshots=True)
    values = np.array([ll for _, ll in result.history])
    assert np.all(np.isfinite(values))
    _assert_monotone_where_reg_does_not_bind(result.snapshots, reg)
    assert np.all(np.isfinite(result.params.covariances)) and np.all(np.isfinite(result.params.means))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data_cases)
def test_bound_touches_after_e_and_rises_after_m(case):
    X = _data(case)
    ct = case["covariance_type"]
    reg = _reg_covar(case)
    start = initial_params(X, case["k"], ct, case["init"], np.random.default_rng(case["seed"]), reg)
    with MixtureEngine(X, ct) as engine:
        snapshots = list(iterate_em(engine, start, max_iter=8, tol=0.0, reg_covar=reg))
    for before, after in zip(snapshots, snapshots[1:]):
        e, m = after.after_e, after.after_m
        size = max(abs(e.log_likelihood), 1.0)
        # After the E-step the bound touches: F = log L(θₜ₋₁), KL = 0.
        assert abs(e.log_likelihood - before.log_likelihood) <= 1e-12 * size
        assert abs(e.kl) <= 1e-8 * size
        # log L(θₜ) ≥ F(q, θₜ) always (KL ≥ 0 opened again); the M-step raised F wherever
        # reg_covar does not bind.
        assert m.kl >= -1e-8 * size
        if not reg_covar_binds(after.params, reg, after.component_sizes):
            assert m.lower_bound >= e.lower_bound - 1e-9 * size
            assert m.log_likelihood >= e.log_likelihood - 1e-9 * size


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data_cases)
def test_plain_reference_bound_terms_agree(case):
    """The same guarantees computed the plain way: r stored, F, Q, Ent, KL summed over samples."""
    X = _data(case)
    ct = case["covariance_type"]
    reg = _reg_covar(case)
    theta = initial_params(X, case["k"], ct, case["init"], np.random.default_rng(case["seed"]), reg)
    for _ in range(3):
        _, log_q = e_step(X, theta)
        after_e = bound_terms(X, log_q, theta)
        size = max(abs(after_e.log_likelihood), 1.0)
        assert abs(after_e.kl) <= 1e-8 * size
        theta = m_step(sufficient_statistics(X, np.exp(log_q), ct), ct, reg, previous=theta)
        after_m = bound_terms(X, log_q, theta)
        if not reg_covar_binds(theta, reg, np.exp(log_q).sum(axis=0)):
            assert after_m.lower_bound >= after_e.lower_bound - 1e-9 * size
        assert after_m.kl >= -1e-8 * size
        assert abs(after_m.log_likelihood - (after_m.expected_complete + after_m.h)) <= 1e-9 * size


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data_cases, st.integers(0, 2**31 - 1))
def test_frozen_components_keep_em_monotone(case, mask_seed):
    """Freezing components makes each M-step partial — still a generalised EM step: log L never
    falls, F never falls, and the frozen components do not move."""
    X = _data(case)
    ct, k = case["covariance_type"], case["k"]
    reg = _reg_covar(case)
    start = initial_params(X, k, ct, case["init"], np.random.default_rng(case["seed"]), reg)
    frozen = np.random.default_rng(mask_seed).random(k) < 0.5
    with MixtureEngine(X, ct) as engine:
        snapshots = list(iterate_em(engine, start, max_iter=15, tol=0.0, reg_covar=reg, frozen=frozen))
    _assert_monotone_where_reg_does_not_bind(snapshots, reg)
    for s in snapshots[1:]:
        assert np.isclose(s.params.weights.sum(), 1.0)
    last = snapshots[-1].params
    assert np.array_equal(last.means[frozen], start.means[frozen])
    assert np.allclose(last.weights[frozen], start.weights[frozen])
    if ct != "tied":
        assert np.array_equal(last.covariances[frozen], start.covariances[frozen])
