"""The two identities of EM's lower bound hold at every half-step of step-by-step EM.

    log L(θ) = F(q, θ) + KL(q ‖ p(z | x, θ))      and      log L(θ) = Q(θ | θₜ) + H(θ | θₜ)

The Stepper's BoundTerms come from the fast engine; KL and H are summed here again, element by
element, from the plain reference E-step (q and p(z | x, θ) as n × K arrays), so the identities
are checked against numbers that share no code with the terms they check.
"""

from pathlib import Path

import numpy as np
import pytest

from emstudio.core import COVARIANCE_TYPES, MixtureEngine, Stepper, e_step, initial_params

SAMPLES = Path(__file__).resolve().parents[2] / "emstudio" / "samples"
ITERATIONS = 8
REG_COVAR = 1e-6
RELATIVE = 1e-9


def _asset(name):
    X = np.loadtxt(SAMPLES / name, delimiter=",", skiprows=1, ndmin=2)
    return X


def _random(seed, n, d, clusters):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(clusters, d))
    labels = rng.integers(clusters, size=n)
    return centres[labels] + rng.normal(size=(n, d)) * rng.uniform(0.3, 1.5, d)


DATA = {
    "separated": (lambda: _asset("separated.csv"), 3),
    "overlapping": (lambda: _asset("overlapping.csv"), 3),
    "elongated": (lambda: _asset("elongated.csv"), 2),
    "one_d": (lambda: _asset("one_d.csv"), 3),
    "four_d": (lambda: _asset("four_d.csv"), 3),
    "random-2d": (lambda: _random(1, 400, 2, 4), 4),
    "random-3d": (lambda: _random(2, 250, 3, 2), 3),
}


def _kl_and_h(X, log_q, theta):
    """KL(q ‖ p) = Σᵢₖ qᵢₖ log(qᵢₖ / pᵢₖ) and H = −Σᵢₖ qᵢₖ log pᵢₖ, with pᵢₖ = p(zᵢ = k | xᵢ, θ),
    and log L(θ), all from the plain reference E-step."""
    per_sample, log_p = e_step(X, theta)
    q = np.exp(log_q)
    # 0 · log 0 = 0: a q that underflowed to zero contributes nothing.
    kl = float(np.sum(np.where(q > 0, q * (log_q - log_p), 0.0)))
    h = -float(np.sum(np.where(q > 0, q * log_p, 0.0)))
    return kl, h, float(per_sample.sum())


def _check_identities(X, terms, log_q, theta, where):
    kl, h, log_l = _kl_and_h(X, log_q, theta)
    size = abs(log_l)
    assert abs(terms.log_likelihood - log_l) <= RELATIVE * size, where
    assert abs(terms.log_likelihood - (terms.lower_bound + kl)) <= RELATIVE * size, f"log L ≠ F + KL at {where}"
    assert abs(terms.log_likelihood - (terms.expected_complete + h)) <= RELATIVE * size, f"log L ≠ Q + H at {where}"
    return kl, size


@pytest.mark.parametrize("init", ["seed-step0", "kmeans"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("name", list(DATA))
def test_identities_at_every_half_step(name, covariance_type, init):
    make, k = DATA[name]
    X = make()
    theta = initial_params(X, k, covariance_type, init, np.random.default_rng(0), REG_COVAR)
    with MixtureEngine(X, covariance_type) as engine:
        stepper = Stepper(engine, theta, REG_COVAR)
        for t in range(1, ITERATIONS + 1):
            theta_before = stepper.params
            after_e = stepper.e_step()
            assert after_e.params is theta_before  # the E-step leaves θ alone
            _, log_q = e_step(X, theta_before)  # q_t = p(z | x, θₜ₋₁)
            kl, size = _check_identities(X, after_e.terms, log_q, theta_before, f"E{t}")
            # The bound touches: KL = 0, both as summed here and as the terms give it.
            assert abs(kl) <= RELATIVE * size, f"KL = {kl} after E{t}"
            assert abs(after_e.terms.kl) <= RELATIVE * size, f"terms.kl = {after_e.terms.kl} after E{t}"

            after_m = stepper.m_step()
            assert after_m.params is not theta_before
            kl, size = _check_identities(X, after_m.terms, log_q, after_m.params, f"M{t}")
            # The bound separates again, never the wrong way.
            assert kl >= -RELATIVE * size, f"KL = {kl} < 0 after M{t}"
            assert after_m.terms.kl >= -RELATIVE * size
            # Same q, so the same entropy: F rose exactly as Q did.
            assert after_m.terms.entropy == after_e.terms.entropy
