"""The Derivation view's numbers (core.derivation) equal the core's and the seeds' equations hold."""

from pathlib import Path

import numpy as np
import pytest

from emstudio.core.derivation import derive, uniform_bound
from emstudio.core.stepper import Stepper
from emstudio.core.engine import MixtureEngine
from emstudio.core.estep import log_likelihood
from emstudio.core.init import initial_params
from emstudio.io.data import load_data

SAMPLES = Path(__file__).resolve().parents[2] / "emstudio" / "samples"


def _steps(name, covariance_type, reg_covar=0.0, k=3, method="seed-step0"):
    X = load_data(SAMPLES / name).values
    start = initial_params(X, k, covariance_type, method, np.random.default_rng(0), reg_covar)
    engine = MixtureEngine(X, covariance_type)
    return X, engine, Stepper(engine, start, reg_covar)


@pytest.mark.parametrize("name", ["overlapping.csv", "one_d.csv", "four_d.csv"])
def test_the_uniform_q_is_a_lower_bound_far_below_log_l_at_step_0(name):
    X, engine, stepper = _steps(name, "full")
    with engine:
        start = stepper.start()
        numbers = derive(X, start.params, None)
    assert numbers.terms is None and numbers.m_step is None
    assert numbers.log_likelihood == pytest.approx(start.log_likelihood, rel=1e-12)
    assert numbers.uniform_bound < numbers.log_likelihood
    assert numbers.uniform_gap > 0
    assert numbers.log10_assignments == pytest.approx(X.shape[0] * np.log10(3))
    # F(uniform q, θ) written out: Σᵢₖ (1/K)[log πₖ + log N] + n log K.
    assert uniform_bound(X, start.params) == numbers.uniform_bound


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied", "VEV"])
@pytest.mark.parametrize("reg_covar", [0.0, 1e-3])
def test_after_an_m_step_the_stationarity_equations_hold(covariance_type, reg_covar):
    """π: Nⱼ/πⱼ = λ = n; μⱼ = Σᵢ qᵢⱼ xᵢ / Nⱼ; Σⱼ the weighted scatter (+ reg): the M-step's θ for this q
    is the θ on screen, to 1e-12."""
    X, engine, stepper = _steps("overlapping.csv", covariance_type, reg_covar)
    with engine:
        stepper.m_step()
        e = stepper.e_step()
        m = stepper.m_step()
        numbers = derive(X, m.params, e.params, reg_covar)
    n = X.shape[0]
    np.testing.assert_allclose(numbers.lagrange, n, rtol=1e-12)
    np.testing.assert_allclose(numbers.m_step.weights, m.params.weights, rtol=1e-12)
    np.testing.assert_allclose(numbers.m_step.means, m.params.means, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(numbers.m_step.full_covariances(), m.params.full_covariances(), rtol=1e-10, atol=1e-12)
    # The terms are the core's (engine) terms of the same (q, θ).
    assert numbers.terms.log_likelihood == pytest.approx(m.terms.log_likelihood, rel=1e-12)
    assert numbers.terms.expected_complete == pytest.approx(m.terms.expected_complete, rel=1e-10)
    assert numbers.terms.entropy == pytest.approx(m.terms.entropy, rel=1e-9)
    # The first seed's inequality: log L rose at least as much as Q.
    assert numbers.q_rise > 0
    if reg_covar == 0.0:
        assert numbers.log_likelihood_rise >= numbers.q_rise - 1e-9 * abs(numbers.log_likelihood)
    assert numbers.log_likelihood_rise == pytest.approx(m.log_likelihood - e.log_likelihood, rel=1e-9)


def test_after_an_e_step_kl_is_zero_and_theta_is_not_yet_stationary():
    X, engine, stepper = _steps("overlapping.csv", "full")
    with engine:
        e = stepper.e_step()
        numbers = derive(X, e.params, e.params)
    assert abs(numbers.terms.kl) < 1e-9 * abs(numbers.log_likelihood)
    assert numbers.q_rise == 0.0 and numbers.log_likelihood_rise == 0.0
    # θ₀ (Σ = I, π = 1/K) is not the M-step's θ for this q: the next M-step moves it.
    assert not np.allclose(numbers.m_step.means, e.params.means)
    assert numbers.uniform_gap > 0


def test_the_identity_holds_at_every_half_step():
    X, engine, stepper = _steps("overlapping.csv", "full")
    with engine:
        q_params = None
        for _ in range(4):
            e = stepper.e_step()
            m = stepper.m_step()
            numbers = derive(X, m.params, e.params)
            t = numbers.terms
            assert t.log_likelihood == pytest.approx(t.lower_bound + t.kl, rel=1e-13)
            assert t.kl >= -1e-9 * abs(t.log_likelihood)
            assert numbers.log_likelihood == pytest.approx(log_likelihood(X, m.params), rel=1e-12)
            q_params = e.params
    assert q_params is not None
