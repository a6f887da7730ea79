"""Fewer iterations: SQUAREM reaches plain EM's optimum and never lowers log L; the Aitken rule stops
a fast fit early and a creeping one late; em-EM restarts; the settings a result file reports."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emstudio.core import FitSettings, fit_mixture, initial_params
from emstudio.core.em import ConvergenceTest, UnconstrainedParams, iterate_em, iterate_squarem
from emstudio.core.engine import MixtureEngine
from emstudio.core.init import params_for_type
from emstudio.core.params import ALL_COVARIANCE_TYPES, MixtureParams
from emstudio.core.selection import select_models
from emstudio.errors import FitError

SAMPLES = Path(__file__).resolve().parents[2] / "emstudio" / "samples"


def _csv(name, columns=None):
    data = np.genfromtxt(SAMPLES / name, delimiter=",", skip_header=1)
    return data if columns is None else data[:, columns]


DATASETS = {
    "overlapping": (lambda: _csv("overlapping.csv"), 3),
    "elongated": (lambda: _csv("elongated.csv"), 2),
    "iris": (lambda: _csv("iris.csv", [0, 1, 2, 3]), 3),
}


def _run(iterator):
    snapshots = list(iterator)
    return snapshots[-1], snapshots


def _match(a: MixtureParams, b: MixtureParams) -> np.ndarray:
    """The order of b's components that best matches a's (by means)."""
    from itertools import permutations

    k = a.n_components
    return np.array(min(permutations(range(k)), key=lambda p: np.abs(a.means - b.means[list(p)]).sum()))


@pytest.mark.parametrize("covariance_type", ALL_COVARIANCE_TYPES)
@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_squarem_reaches_plain_ems_optimum(dataset, covariance_type):
    """From the same start, to 1e-8 relative in log L and close in every parameter."""
    make, k = DATASETS[dataset]
    X = make()
    start = initial_params(X, k, covariance_type, "kmeans", np.random.default_rng(3), 1e-6)
    with MixtureEngine(X, covariance_type) as engine:
        plain, _ = _run(iterate_em(engine, start, max_iter=20000, tol=1e-13, reg_covar=1e-6, bound_terms=False))
        fast, snapshots = _run(iterate_squarem(engine, start, max_iter=20000, tol=1e-13, reg_covar=1e-6))
    assert plain.converged and fast.converged
    assert fast.log_likelihood == pytest.approx(plain.log_likelihood, rel=1e-8, abs=0)
    order = _match(plain.params, fast.params)
    scale = np.abs(X).max()
    np.testing.assert_allclose(fast.params.weights[order], plain.params.weights, atol=1e-4)
    np.testing.assert_allclose(fast.params.means[order], plain.params.means, atol=1e-4 * scale)
    full_plain, full_fast = plain.params.full_covariances(), fast.params.full_covariances()[order]
    np.testing.assert_allclose(full_fast, full_plain, atol=1e-4 * scale ** 2)
    # and with far fewer M-steps than plain EM on the slow ones
    assert fast.iteration <= max(plain.iteration, 12)
    values = [s.log_likelihood for s in snapshots]
    assert all(b >= a for a, b in zip(values, values[1:]))


cases = st.fixed_dictionaries({
    "seed": st.integers(0, 2**31 - 1),
    "n": st.integers(20, 200),
    "d": st.integers(1, 3),
    "k": st.integers(1, 5),
    "clusters": st.integers(1, 4),
    "covariance_type": st.sampled_from(ALL_COVARIANCE_TYPES),
    "init": st.sampled_from(["kmeans", "kmeans++", "random", "random-data"]),
    "scale": st.sampled_from([1e-3, 1.0, 1e3]),
    "ties": st.booleans(),
    "reg": st.sampled_from([0.0, 1e-6, 1e-2]),
})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases)
def test_squarem_never_lowers_the_log_likelihood(case):
    rng = np.random.default_rng(case["seed"])
    centres = rng.normal(scale=4.0, size=(case["clusters"], case["d"]))
    X = centres[rng.integers(case["clusters"], size=case["n"])] + rng.normal(size=(case["n"], case["d"]))
    if case["ties"]:
        X = np.round(X)  # collapses: variances fall to the floors
    X = X * case["scale"]
    settings_ = FitSettings(k=case["k"], covariance_type=case["covariance_type"], init=case["init"],
                            seed=case["seed"], max_iter=60, tol=1e-300, reg_covar=case["reg"] * case["scale"] ** 2,
                            accelerate="squarem")
    try:
        result = fit_mixture(X, settings_)
    except FitError:
        return  # too few distinct points for K: refused as plain EM refuses it
    values = np.array([ll for _, ll in result.history])
    assert np.all(np.isfinite(values))
    assert np.all(np.diff(values) >= 0), values
    iterations = [i for i, _ in result.history]
    assert iterations == sorted(set(iterations)) and iterations[-1] <= 60
    assert np.all(np.isfinite(result.params.covariances))


@pytest.mark.parametrize("covariance_type", ALL_COVARIANCE_TYPES)
def test_the_unconstrained_vector_maps_back(covariance_type):
    X = _csv("iris.csv", [0, 1, 2, 3])
    params = initial_params(X, 3, covariance_type, "kmeans", np.random.default_rng(0), 1e-6)
    with MixtureEngine(X, covariance_type) as engine:
        shape = UnconstrainedParams(params, engine.scale)
    back = shape.params(shape.vector(params))
    np.testing.assert_allclose(back.weights, params.weights, rtol=1e-12)
    np.testing.assert_allclose(back.means, params.means, rtol=1e-12)
    np.testing.assert_allclose(back.covariances, params.covariances, rtol=1e-10, atol=1e-14)
    assert shape.params(np.full_like(shape.vector(params), np.nan)) is None
    wild = shape.vector(params)
    wild[: params.n_components] = [0.0] + [-1e4] * (params.n_components - 1)  # weights underflow to 0
    assert shape.params(wild) is None


# ------------------------------------------------------------------ the stopping rules
def _geometric(limit, first_gain, rate, steps):
    """log L of a linearly converging run: ℓₜ = ℓ∞ − first_gain·rateᵗ/(1 − rate)."""
    return [limit - first_gain * rate ** t / (1 - rate) for t in range(steps)]


def _stop_at(rule, tol, values, n):
    test = ConvergenceTest(rule, tol, n)
    for t in range(1, len(values)):
        if test.update(t, values[t - 1], values[t]):
            return t
    return None


def test_aitken_goes_on_through_a_slow_creep_that_the_change_rule_stops_in():
    n = 1000
    values = _geometric(-5000.0, 0.01, 0.999, 40000)
    by_change = _stop_at("change", 1e-6, values, n)
    by_aitken = _stop_at("aitken", 1e-6, values, n)
    # the change rule stops with ~1 nat (1e-3 per sample) still to gain ...
    assert -5000.0 - values[by_change] > 0.5
    # ... Aitken only once less than tol·n is left
    assert -5000.0 - values[by_aitken] < 1e-6 * n
    assert by_aitken > by_change


def test_aitken_stops_a_fast_fit_as_soon_as_what_is_left_no_longer_matters():
    n = 1000
    values = _geometric(-5000.0, 50.0, 0.2, 60)
    by_aitken = _stop_at("aitken", 1e-6, values, n)
    assert -5000.0 - values[by_aitken] < 1e-6 * n
    assert by_aitken <= _stop_at("change", 1e-6, values, n) + 1
    assert by_aitken < 12


def test_aitken_is_not_fooled_by_a_run_still_speeding_up_nor_by_rounding():
    test = ConvergenceTest("aitken", 1e-6, 100)
    assert not test.update(1, -100.0, -99.0)
    assert not test.update(2, -99.0, -97.0)      # the gain grew: no estimate yet
    assert test.update(3, -97.0, -97.0)          # no gain at all: converged
    test = ConvergenceTest("aitken", 1e-6, 100)
    assert not test.update(1, -100.0, -99.0)
    assert test.update(2, -99.0, -99.0 + 1e-15)  # below rounding: converged
    assert not ConvergenceTest("aitken", 0.0, 100).update(5, -100.0, -100.0)  # tol 0 never stops
    assert not ConvergenceTest("aitken", 1e-6, 100, settle=3).update(2, -100.0, -100.0)


def test_a_creeping_fit_runs_on_under_aitken_and_a_quick_one_stops():
    """Real fits: an overfitted cell (K above the truth) creeps; one with the right K is quick."""
    X = _csv("overlapping.csv")
    creep_change = fit_mixture(X, FitSettings(k=7, tol=1e-6, seed=2))
    creep_aitken = fit_mixture(X, FitSettings(k=7, tol=1e-6, seed=2, convergence="aitken", max_iter=5000))
    reference = fit_mixture(X, FitSettings(k=7, tol=1e-300, seed=2, max_iter=20000, accelerate="squarem"))
    assert creep_aitken.n_iter > creep_change.n_iter
    assert reference.log_likelihood - creep_aitken.log_likelihood < reference.log_likelihood - creep_change.log_likelihood
    quick = fit_mixture(X, FitSettings(k=3, tol=1e-6, convergence="aitken", accelerate="squarem"))
    assert quick.converged and quick.n_iter < 60


# ------------------------------------------------------------------ em-EM restarts
def test_short_runs_then_the_best_go_on():
    X = _csv("overlapping.csv")
    result = fit_mixture(X, FitSettings(k=5, restarts=6, short_iter=5, long_runs=2, seed=1, accelerate="squarem",
                                        convergence="aitken", tol=1e-8))
    assert len(result.restart_finished) == 6
    assert 2 <= sum(result.restart_finished) <= 6
    assert result.restart_finished[result.best_restart]
    for finished, history in zip(result.restart_finished, result.restart_histories):
        if not finished:
            assert 5 <= history[-1][0] <= 7  # stopped just after the short run's 5 M-steps
    kept = result.restart_log_likelihoods[result.best_restart]
    assert kept == max(ll for ll, f in zip(result.restart_log_likelihoods, result.restart_finished) if f)
    assert result.total_iterations == sum(h[-1][0] for h in result.restart_histories)


def test_em_em_gives_the_same_grid_on_any_number_of_processes():
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(size=(80, 2)) + c for c in ([0, 0], [4, 0], [0, 4])])
    base = FitSettings(restarts=4, short_iter=3, long_runs=2, seed=7, accelerate="squarem", convergence="aitken",
                       tol=1e-8)
    one = select_models(X, [1, 2, 3, 4], ["full", "spherical"], base, jobs=1)
    two = select_models(X, [1, 2, 3, 4], ["full", "spherical"], base, jobs=2)
    assert [c.result.log_likelihood for c in one.cells] == [c.result.log_likelihood for c in two.cells]
    assert [c.result.restart_finished for c in one.cells] == [c.result.restart_finished for c in two.cells]


def test_frozen_components_run_plain_em():
    X = _csv("overlapping.csv")
    start = fit_mixture(X, FitSettings(k=3, max_iter=3)).params
    result = fit_mixture(X, FitSettings(k=3, init=start, accelerate="squarem", max_iter=20, tol=0),
                         frozen=np.array([True, False, False]))
    np.testing.assert_array_equal(result.params.means[0], start.means[0])
    assert [i for i, _ in result.history] == list(range(21))


def test_settings_are_checked():
    for bad in ({"convergence": "never"}, {"accelerate": "warp"}, {"short_iter": -1}, {"long_runs": 0}):
        with pytest.raises(FitError):
            FitSettings(**bad).validate()


# ------------------------------------------------------------------ the result file
@pytest.mark.parametrize("options", [
    {"convergence": "aitken", "tol": 1e-8, "accelerate": "squarem", "short_iter": 20, "long_runs": 2, "restarts": 5},
    {"convergence": "change", "tol": 1e-6, "accelerate": "none", "short_iter": 0, "long_runs": 1, "restarts": 1},
])
def test_the_stopping_rule_round_trips_in_the_result_file(options):
    from emstudio.io.results import result_to_dict, settings_from_dict

    X = _csv("overlapping.csv")
    settings_ = FitSettings(k=3, covariance_type="diag", seed=4, max_iter=300, reg_covar=1e-5, **options)
    result = fit_mixture(X, settings_)
    content = json.loads(json.dumps(result_to_dict(result, source="overlapping.csv", columns=["x", "y"])))
    assert content["settings"]["convergence"] == options["convergence"]
    assert content["settings"]["accelerate"] == options["accelerate"]
    assert FitSettings(**settings_from_dict(content)) == settings_
    # a file from before these settings existed reads as what the fit then did
    for key in ("convergence", "accelerate", "short_iter", "long_runs"):
        del content["settings"][key]
    old = FitSettings(**settings_from_dict(content))
    assert (old.convergence, old.accelerate, old.short_iter, old.long_runs) == ("change", "none", 0, 1)


def test_a_result_file_start_runs_once_whatever_the_restarts():
    X = _csv("overlapping.csv")
    start = fit_mixture(X, FitSettings(k=3, max_iter=2)).params
    result = fit_mixture(X, FitSettings(k=3, init=params_for_type(start, "full"), restarts=5, short_iter=3,
                                        accelerate="squarem"))
    assert len(result.restart_finished) == 1 and result.restart_finished[0]
