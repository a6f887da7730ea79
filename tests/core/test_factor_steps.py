"""Factor models one half-step at a time (the window's Step E / Step M) and what the factor views
read: the same EM as fit_factor, the bound identities at every half-step, rotations that leave
the model alone."""

import numpy as np
import pytest

from emstudio.core.factor import FactorSettings, fit_factor, posterior_means, varimax
from emstudio.core.factor_display import arrow_segments, latent_means, loading_rows, rotations, shown_loadings
from emstudio.core.factor_steps import FactorProblem, FactorStepper
from emstudio.errors import FitError


def _data(n=300, d=5, q=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, q)) @ rng.normal(size=(q, d)) + rng.normal(size=(n, d))
    return X * np.array([1.0, 10.0, 0.1, 100.0, 3.0])[:d]  # columns in very different units


@pytest.mark.parametrize("k, q, psi, init", [(1, 2, "shared", "pca"), (3, 1, "per-component", "kmeans"),
                                             (2, 2, "shared", "random")])
def test_steps_are_the_iterations_of_fit_factor(k, q, psi, init):
    X = _data()
    settings = FactorSettings(k=k, n_factors=q, psi=psi, init=init, seed=4, max_iter=4, tol=0)
    fit = fit_factor(X, settings, keep_snapshots=True)
    problem = FactorProblem(X)
    stepper = FactorStepper(problem, problem.start(settings))
    start = stepper.start()
    assert start.terms is None and start.log_likelihood == pytest.approx(fit.snapshots[0].log_likelihood, rel=1e-12)
    for snapshot in fit.snapshots[1:]:
        e = stepper.e_step()
        m = stepper.m_step()
        assert e.kind == "E" and m.kind == "M" and m.iteration == snapshot.iteration
        scale = abs(snapshot.log_likelihood)
        assert m.log_likelihood == pytest.approx(snapshot.log_likelihood, abs=1e-9 * scale)
        assert e.terms.kl == pytest.approx(0.0, abs=1e-9 * scale)  # the bound touches after E
        assert e.terms.lower_bound == pytest.approx(snapshot.after_e.lower_bound, abs=1e-9 * scale)
        assert m.terms.lower_bound == pytest.approx(snapshot.after_m.lower_bound, abs=1e-9 * scale)
        assert m.terms.kl >= -1e-9 * scale and m.terms.lower_bound >= e.terms.lower_bound - 1e-9 * scale
        np.testing.assert_allclose(m.params.covariances, snapshot.params.covariances, rtol=1e-7)
        assert stepper.terms_after_e().lower_bound == pytest.approx(e.terms.lower_bound, rel=1e-12)


def test_repeated_half_steps_change_nothing():
    X = _data()
    problem = FactorProblem(X)
    stepper = FactorStepper(problem, problem.start(FactorSettings(n_factors=1)))
    first = stepper.e_step()
    assert stepper.e_step().iteration == first.iteration == 1
    m = stepper.m_step()
    assert stepper.m_step() is m


def test_a_step_may_start_from_any_theta_in_the_data_units():
    X = _data()
    fit = fit_factor(X, FactorSettings(n_factors=2, max_iter=30, tol=0))
    stepper = FactorStepper(FactorProblem(X), fit.params, iteration=30)
    assert stepper.start().log_likelihood == pytest.approx(fit.log_likelihood, rel=1e-12)
    m = stepper.m_step()  # an M-step with no E-step before it makes one first
    assert m.iteration == 31 and m.log_likelihood >= fit.log_likelihood - 1e-9 * abs(fit.log_likelihood)


def test_a_constant_column_is_one_line():
    X = _data()
    X[:, 2] = 1.0
    with pytest.raises(FitError, match="column 3 is constant"):
        FactorProblem(X)


def test_rotations_leave_the_model_and_turn_the_views_together():
    X = _data()
    fit = fit_factor(X, FactorSettings(k=2, n_factors=2, init="kmeans", max_iter=50, tol=0))
    p = fit.params
    plain, turned = rotations(p, False), rotations(p, True)
    np.testing.assert_array_equal(plain, np.broadcast_to(np.eye(2), (2, 2, 2)))
    for k in range(2):
        np.testing.assert_allclose(turned[k] @ turned[k].T, np.eye(2), atol=1e-12)  # orthogonal
        np.testing.assert_allclose(shown_loadings(p, turned)[k], varimax(p.loadings[k])[0], atol=1e-10)
        lam = shown_loadings(p, turned)[k]
        np.testing.assert_allclose(lam @ lam.T, p.loadings[k] @ p.loadings[k].T, atol=1e-9)  # ΛR(ΛR)ᵀ = ΛΛᵀ
        rows = loading_rows(p, k, turned)
        np.testing.assert_allclose(rows.communality, p.communalities()[k], rtol=1e-9)  # h² does not turn
        np.testing.assert_allclose(rows.explained, rows.communality / (rows.communality + p.psi[k]))
        means, v = latent_means(X, p, k, turned)
        plain_means, plain_v = posterior_means(X, p, k)
        np.testing.assert_allclose(means, plain_means @ turned[k], atol=1e-9)
        np.testing.assert_allclose(v, turned[k].T @ plain_v @ turned[k], atol=1e-12)
    segments = arrow_segments(p, (1, 3), plain)
    assert segments.shape == (2, 2, 2, 2)
    np.testing.assert_allclose(segments[1, 0, 0], p.means[1, [1, 3]])
    np.testing.assert_allclose(segments[1, 0, 1], p.means[1, [1, 3]] + p.loadings[1, [1, 3], 0])
