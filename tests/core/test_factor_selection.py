"""Choosing K and q for factor models (issue 13): the grid's cells are fits of their own, the chosen
one has the lowest criterion among cells with no Heywood case, q = 0 is the diagonal Gaussian
mixture, and a stop leaves no worker."""

import multiprocessing

import numpy as np
import pytest

from emstudio.core import FitSettings, fit_mixture
from emstudio.core.factor import FactorSettings, fit_factor
from emstudio.core.factor_selection import (
    FactorCell, best_factor_cell, parse_factor_range, select_factor_models,
)
from emstudio.core.params import MixtureParams
from emstudio.core.selection import Cancelled, parse_covariance_types, select_models
from emstudio.errors import FitError


def _two_factor_data(seed=0, n=600, d=6):
    """Six columns driven by two factors, noise of its own in each."""
    rng = np.random.default_rng(seed)
    loadings = rng.normal(size=(d, 2)) * 2.0
    return rng.normal(size=(n, 2)) @ loadings.T + rng.normal(size=(n, d)) * np.sqrt(rng.uniform(0.3, 1.0, d))


def _separated_clusters(seed=1, n=150, d=3):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [12.0, 0.0, 0.0], [0.0, 12.0, 0.0]])[:, :d]
    spreads = np.array([[1.0, 0.5, 2.0]] * 3)[:, :d]  # one diagonal shape: both VVI and EEI are right
    return np.vstack([rng.normal(size=(n, d)) * s + c for c, s in zip(centres, spreads)])


def test_each_cell_is_the_fit_of_its_own_k_and_q_with_the_same_seed():
    X = _two_factor_data()
    # 800 iterations: q = 2 converges (at ~580) and q = 1, 3 stop at the limit, so both ways a fit
    # ends are compared (2,000 only made q = 1 and 3 run longer to the same kind of end).
    base = FactorSettings(init="pca", seed=7, restarts=3, tol=1e-8, max_iter=800)
    selection = select_factor_models(X, [1], [0, 1, 2, 3], base, jobs=1)
    ends = [cell.result.n_iter for cell in selection.cells if cell.n_factors]
    assert min(ends) < 800 and max(ends) == 800, ends
    for cell in selection.cells:
        alone = fit_factor(X, FactorSettings(k=1, n_factors=cell.n_factors, init="pca", seed=7, restarts=3,
                                             tol=1e-8, max_iter=800))
        assert cell.result.log_likelihood == alone.log_likelihood
        assert cell.result.bic == alone.bic and cell.result.n_iter == alone.n_iter
        np.testing.assert_array_equal(cell.result.params.loadings, alone.params.loadings)


def test_the_best_cell_has_the_lowest_bic_and_finds_the_factors():
    X = _two_factor_data(n=1500)
    selection = select_factor_models(X, [1], [0, 1, 2, 3, 4], FactorSettings(init="pca", restarts=2), jobs=1)
    assert selection.model == "fa" and selection.best.n_factors == 2
    assert selection.best.criterion("bic") == min(c.criterion("bic") for c in selection.cells)
    by_aic = select_factor_models(X, [1], [0, 1, 2, 3, 4], FactorSettings(init="pca", restarts=2),
                                  criterion="aic", jobs=1)
    assert by_aic.best.criterion("aic") == min(c.criterion("aic") for c in by_aic.cells)


@pytest.mark.parametrize("psi, covariance", [("per-component", "VVI"), ("shared", "EEI")])
def test_without_factors_the_cells_are_the_diagonal_gaussian_mixtures(psi, covariance):
    """docs/factor-analysis.md: a mixture of factor analysers with q = 0 is the VVI mixture (Ψ per
    component) or the EEI one (Ψ shared). Every q = 0 cell is a diagonal Gaussian mixture with the
    same log L, parameter count and BIC; where the optimum is unique (K = 1, and the true K = 3 of
    well-separated clusters) the Gaussian grid finds the same numbers, and both choose K = 3."""
    X = _separated_clusters()
    factor = select_factor_models(X, [1, 2, 3, 4], [0], FactorSettings(init="kmeans", psi=psi, restarts=3,
                                                                       tol=1e-12, max_iter=5000), jobs=1)
    types = parse_covariance_types(covariance)
    gaussian = select_models(X, [1, 2, 3, 4], types, FitSettings(restarts=3, tol=1e-12, max_iter=5000,
                                                                 reg_covar=0.0), jobs=1)
    for f, g in zip(factor.cells, gaussian.cells):
        p = f.result.params
        as_gaussian = fit_mixture(X, FitSettings(k=f.k, covariance_type=types[0], reg_covar=0.0, max_iter=0,
                                                 init=MixtureParams(p.weights, p.means, p.psi, "diag")))
        assert f.result.log_likelihood == pytest.approx(as_gaussian.log_likelihood, rel=1e-12)
        assert f.result.n_parameters == g.result.n_parameters == as_gaussian.n_parameters
        assert f.result.bic == pytest.approx(as_gaussian.bic, rel=1e-12)
        if f.k in (1, 3):
            assert f.result.log_likelihood == pytest.approx(g.result.log_likelihood, rel=1e-10)
            assert f.result.bic == pytest.approx(g.result.bic, rel=1e-10)
    assert factor.best.k == gaussian.best.k == 3


def _heywood_data(seed=10, n=300):
    """Column b is column a doubled (to 1e-9): one factor explains both entirely."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 1))
    return np.hstack([z, z * 2 + rng.normal(size=(n, 1)) * 1e-9, z + rng.normal(size=(n, 1)),
                      -z + rng.normal(size=(n, 1))])


def test_a_heywood_cell_is_never_chosen():
    X = _heywood_data()
    selection = select_factor_models(X, [1], [0, 1], FactorSettings(init="pca", restarts=2, tol=1e-10,
                                                                    max_iter=5000), jobs=1)
    zero, one = selection.cells
    assert one.heywood and one.n_heywood == one.n_restarts == 2
    assert one.criterion("bic") < zero.criterion("bic")  # its likelihood soars at the boundary
    assert selection.best is zero


def test_no_cell_without_a_heywood_case_means_no_choice():
    X = _heywood_data()
    assert best_factor_cell(select_factor_models(X, [1], [1], FactorSettings(restarts=1), jobs=1).cells,
                            "bic") is None
    assert best_factor_cell([FactorCell(2, 1, None, 0, 0, "K=2 components, but ...")], "bic") is None


def test_a_restart_without_a_heywood_case_wins_over_one_with():
    X = _heywood_data()
    fit = fit_factor(X, FactorSettings(k=1, n_factors=1, init="random", seed=0, restarts=4, tol=1e-10, max_iter=5000))
    assert len(fit.restart_heywood) == 4
    if not all(fit.restart_heywood):
        assert not fit.heywood and not fit.restart_heywood[fit.best_restart]


def test_factor_analysis_restarts_after_the_pca_start_are_random():
    X = _two_factor_data(3, n=200)
    fit = fit_factor(X, FactorSettings(k=1, n_factors=2, init="pca", restarts=3, tol=0, max_iter=3))
    values = fit.restart_log_likelihoods
    assert len(set(values)) == 3  # three different starts, not PCA three times
    pca_only = fit_factor(X, FactorSettings(k=1, n_factors=2, init="pca", restarts=1, tol=0, max_iter=3))
    assert values[0] == pca_only.log_likelihood


def test_the_same_answer_on_any_number_of_processes(monkeypatch):
    monkeypatch.setattr("emstudio.core.grid.available_cores", lambda: 2)
    X = _separated_clusters(n=80)
    base = FactorSettings(init="kmeans", psi="per-component", restarts=2, seed=4)
    one = select_factor_models(X, [1, 2, 3], [0, 1], base, jobs=1)
    two = select_factor_models(X, [1, 2, 3], [0, 1], base, jobs=2)
    assert [(c.k, c.n_factors) for c in one.cells] == [(c.k, c.n_factors) for c in two.cells]
    np.testing.assert_allclose([c.result.log_likelihood for c in one.cells],
                               [c.result.log_likelihood for c in two.cells], rtol=1e-12)
    assert (one.best.k, one.best.n_factors) == (two.best.k, two.best.n_factors)
    assert multiprocessing.active_children() == []


def _stop_after(calls):
    asked = []

    def stop():
        asked.append(1)
        return len(asked) >= calls
    return stop


@pytest.mark.parametrize("jobs", [1, 2])
def test_stop_cancels_the_grid_and_leaves_no_worker(jobs, monkeypatch):
    monkeypatch.setattr("emstudio.core.grid.available_cores", lambda: 2)
    X = _separated_clusters(n=300)
    seen = []
    slow = FactorSettings(init="kmeans", restarts=30, tol=0.0, max_iter=100_000)  # minutes unless stopped
    with pytest.raises(Cancelled):
        select_factor_models(X, [1, 2, 3, 4], [0, 1, 2], slow, jobs=jobs,
                             on_cell=lambda cell, done, total: seen.append(cell), stop=_stop_after(50))
    assert seen == []
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("text, d, expected", [("1-4", 6, [1, 2, 3, 4]), ("0,2", 3, [0, 2]), ("0", 1, [0]),
                                                ("2,0-1,1", 5, [0, 1, 2])])
def test_factor_ranges(text, d, expected):
    assert parse_factor_range(text, d) == expected


@pytest.mark.parametrize("text, d, message", [
    ("1-4", 4, "q goes up to 3"), ("4", 4, "fewer than columns"), ("1-100000000", 5, "q goes up to 4"),
    ("-1", 5, "at least 0"), ("3-1", 5, "reversed"), ("a", 5, "range like"), ("1", 1, "q goes up to 0"),
])
def test_bad_factor_ranges_are_one_line(text, d, message):
    with pytest.raises(FitError, match=message) as caught:
        parse_factor_range(text, d)
    assert "\n" not in str(caught.value)


def test_impossible_cells_are_listed_not_fatal():
    X = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.5]] * 10)
    selection = select_factor_models(X, [1, 31], [0], FactorSettings(init="kmeans", restarts=1), jobs=1)
    assert selection.cells[0].result is not None
    assert selection.cells[1].result is None and "31" in selection.cells[1].error
    assert selection.best is selection.cells[0]
