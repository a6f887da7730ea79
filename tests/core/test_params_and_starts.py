"""Parameters are validated with clear errors; every start gives valid, reproducible parameters."""

import numpy as np
import pytest

from emstudio.core import (
    FitSettings, MixtureEngine, fit_mixture, initial_params, iterate_em, make_params, n_free_parameters,
)
from emstudio.core.init import kmeans
from emstudio.errors import FitError, ParameterError
from tests.conftest import DATASETS


@pytest.mark.parametrize("args, message", [
    (([0.5, 0.6], [[0], [1]], [1, 1], "spherical"), "sum to 1"),
    # Components are numbered 1 … K in messages, as people read them.
    (([-0.5, 1.5], [[0], [1]], [1, 1], "spherical"), "non-negative: component 1 has weight -0.5$"),
    # They sum to 1: the message names the negative weight, never "they sum to 1".
    (([0.6, 0.6, -0.2], [[0], [1], [2]], [1, 1, 1], "spherical"), "component 3 has weight -0.2$"),
    (([-0.1, 1.2, -0.1], [[0], [1], [2]], [1, 1, 1], "spherical"), r"component 1 has weight -0.1 \(2 negative"),
    (([0.5, 0.5], [[0], [1]], [[[1]], [[-1]]], "full"), "component 2 is not positive-definite"),
    (([0.5, 0.5], [[0, 0], [1, 1]], [[1, 2], [2, 1]], "tied"), "tied covariance is not positive-definite"),
    (([0.5, 0.5], [[0, 0], [1, 1]], [[[1, 0.5], [0.4, 1]]] * 2, "full"), "symmetric"),
    (([0.5, 0.5], [[0, 0], [1, 1]], [1, 1], "diag"), "shape"),
    (([0.5, 0.5], [[0, np.nan], [1, 1]], [1, 1], "spherical"), "NaN"),
    (([1.0], [[0]], [1], "round"), "unknown covariance type"),
])
def test_invalid_parameters_are_clear_errors(args, message):
    with pytest.raises(ParameterError, match=message):
        make_params(*args)


def test_params_are_read_only():
    params = make_params([1.0], [[0.0, 0.0]], [np.eye(2)])
    with pytest.raises(ValueError):
        params.means[0, 0] = 1.0


def test_parameter_counts_match_sklearn():
    from sklearn.mixture import GaussianMixture

    X = DATASETS["2d"]()
    for ct in ("full", "tied", "diag", "spherical"):
        gm = GaussianMixture(3, covariance_type=ct, max_iter=200).fit(X)
        assert n_free_parameters(ct, 3, 2) == gm._n_parameters()


@pytest.mark.parametrize("method", ["kmeans", "kmeans-std", "kmeans-svd", "kmeans++", "random", "random-data", "seed-step0"])
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_starts_are_valid_and_reproducible(method, covariance_type):
    X = DATASETS["2d"]()
    a = initial_params(X, 3, covariance_type, method, np.random.default_rng(5))
    b = initial_params(X, 3, covariance_type, method, np.random.default_rng(5))
    make_params(a.weights, a.means, a.covariances, covariance_type)  # validates
    assert np.array_equal(a.means, b.means) and np.array_equal(a.covariances, b.covariances)


def test_seed_step0_is_the_first_seeds_step_zero():
    X = DATASETS["2d"]()
    start = initial_params(X, 3, "full", "seed-step0", np.random.default_rng(0))
    centres, _ = kmeans(X, 3, np.random.default_rng(0))
    assert np.allclose(start.weights, 1 / 3)
    assert np.allclose(start.covariances, np.eye(2)[None].repeat(3, 0))
    assert np.allclose(start.means, centres)


def test_kmeans_finds_separated_clusters():
    X = np.vstack([np.random.default_rng(0).normal(size=(100, 2)) * 0.1 + c for c in ([0, 0], [5, 5], [0, 5])])
    centres, labels = kmeans(X, 3, np.random.default_rng(1))
    assert sorted(np.round(centres).tolist()) == [[0, 0], [0, 5], [5, 5]]
    assert sorted(np.bincount(labels).tolist()) == [100, 100, 100]


def test_restarts_keep_the_best_and_seeds_reproduce():
    X = DATASETS["2d"]()
    settings = FitSettings(k=3, init="random", restarts=4, seed=9, max_iter=200)
    a, b = fit_mixture(X, settings), fit_mixture(X, settings)
    assert a.log_likelihood == max(a.restart_log_likelihoods) == b.log_likelihood
    assert len(a.restart_histories) == 4
    single = fit_mixture(X, FitSettings(k=3, init="random", restarts=1, seed=9, max_iter=200))
    assert single.log_likelihood == a.restart_log_likelihoods[0]  # restart 0 is the one-start fit


def test_convergence_rule_and_stop_callback():
    X = DATASETS["2d"]()
    result = fit_mixture(X, FitSettings(k=3, tol=1e-3))
    (_, before), (_, last) = result.history[-2:]
    assert result.converged and (last - before) / X.shape[0] < 1e-3
    assert all((b - a) / X.shape[0] >= 1e-3 for (_, a), (_, b) in zip(result.history[:-2], result.history[1:-1]))
    calls = []
    stopped = fit_mixture(X, FitSettings(k=3, tol=0, max_iter=100), stop=lambda: len(calls) >= 4,
                          on_snapshot=lambda r, s: calls.append(s.iteration))
    assert stopped.stopped and stopped.n_iter == 3 and calls == [0, 1, 2, 3]


def test_iterator_snapshots_are_immutable_and_consistent():
    X = DATASETS["2d"]()
    start = initial_params(X, 3, "full", "kmeans", np.random.default_rng(0))
    with MixtureEngine(X, "full") as engine:
        snaps = list(iterate_em(engine, start, max_iter=5, tol=0, reg_covar=1e-6))
    assert [s.iteration for s in snaps] == list(range(6))
    assert snaps[0].after_e is None and snaps[0].params is start
    for s in snaps:
        assert np.isclose(s.component_sizes.sum(), X.shape[0])
        with pytest.raises(ValueError):
            s.params.weights[0] = 0.0


def test_invalid_settings_are_clear_errors():
    X = DATASETS["2d"]()
    with pytest.raises(FitError, match="unknown start"):
        fit_mixture(X, FitSettings(init="magic"))
    with pytest.raises(FitError, match="K must be"):
        fit_mixture(X, FitSettings(k=0))
    with pytest.raises(FitError, match="d=1 dimensions"):
        fit_mixture(X, FitSettings(k=1, init=make_params([1.0], [[0.0]], [[[1.0]]])))


def test_stepper_half_steps_follow_the_em_loop():
    from emstudio.core.stepper import Stepper

    X = DATASETS["2d"]()
    start = initial_params(X, 3, "full", "kmeans", np.random.default_rng(0))
    with MixtureEngine(X, "full") as engine:
        loop = list(iterate_em(engine, start, max_iter=4, tol=0, reg_covar=1e-6))
        stepper = Stepper(engine, start, 1e-6)
        assert stepper.start().kind == "start" and stepper.start().terms is None
        for snapshot in loop[1:]:
            e = stepper.e_step()
            assert stepper.e_step() is not None and stepper.iteration == snapshot.iteration  # E twice: same q
            m = stepper.m_step()
            assert stepper.m_step() is m  # M twice: same θ
            assert e.kind == "E" and m.kind == "M" and m.iteration == snapshot.iteration
            assert np.allclose(m.params.means, snapshot.params.means, rtol=1e-12)
            assert np.isclose(e.terms.lower_bound, snapshot.after_e.lower_bound, rtol=1e-12)
            assert np.isclose(m.terms.lower_bound, snapshot.after_m.lower_bound, rtol=1e-12)
            assert abs(e.terms.kl) < 1e-8 * abs(e.log_likelihood)
            assert m.terms.kl >= -1e-8 * abs(m.log_likelihood) and m.terms.lower_bound >= e.terms.lower_bound
    # An M-step first does the E-step it needs.
    with MixtureEngine(X, "full") as engine:
        first = Stepper(engine, start, 1e-6).m_step()
    assert first.iteration == 1 and np.allclose(first.params.means, loop[1].params.means)


def test_icl_is_bic_minus_twice_the_log_of_the_largest_responsibilities():
    from emstudio.core import e_step

    X = DATASETS["2d"]()
    result = fit_mixture(X, FitSettings(k=3))
    _, log_resp = e_step(X, result.params)
    assert np.isclose(result.icl, result.bic - 2 * log_resp.max(axis=1).sum(), rtol=1e-10)
    assert np.isclose(result.bic, -2 * result.log_likelihood + n_free_parameters("full", 3, 2) * np.log(len(X)))


@pytest.mark.parametrize("covariance_type", ["tied", "VEE", "full", "EII"])
def test_random_start_separates_components_even_with_a_shared_covariance(covariance_type):
    """Issue 16: uniform random responsibilities gave every component the data's mean, and a tied
    model never left that point (K identical components, log L at the K = 1 value)."""
    X = np.loadtxt("emstudio/samples/separated.csv", delimiter=",", skiprows=1)
    one = fit_mixture(X, FitSettings(k=1, covariance_type=covariance_type))
    kmeans_fit = fit_mixture(X, FitSettings(k=3, covariance_type=covariance_type, init="kmeans"))
    for seed in range(3):
        fit = fit_mixture(X, FitSettings(k=3, covariance_type=covariance_type, init="random", seed=seed))
        assert fit.identical == ()
        gain = kmeans_fit.log_likelihood - one.log_likelihood
        assert fit.log_likelihood - one.log_likelihood > 0.5 * gain


def test_random_responsibilities_do_not_depend_on_the_columns_units():
    from emstudio.core.init import random_responsibilities

    X = DATASETS["2d"]()
    a = random_responsibilities(X, 3, np.random.default_rng(4))
    b = random_responsibilities(X * np.array([1e-3, 1e4]), 3, np.random.default_rng(4))
    assert np.allclose(a, b, rtol=1e-9, atol=1e-12)
    assert np.allclose(a.sum(axis=1), 1.0)
