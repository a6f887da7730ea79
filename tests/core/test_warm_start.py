"""The select grid's speed-ups keep its answers: Ward's tree in numpy is scipy's, the warm start
from K − 1 is reproducible and never makes a cell worse, one process and two give one answer."""

import numpy as np
import pytest

from emstudio.core import FitSettings
from emstudio.core.params import MixtureParams
from emstudio.core.selection import fit_row, select_models
from emstudio.core.warm import component_to_split, split_component


def _same_partition(a, b) -> bool:
    """Whether two labelings make the same clusters (whatever their numbers)."""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def _params(covariance_type="full"):
    cov = np.array([[[4.0, 1.0], [1.0, 1.0]], [[0.5, 0.0], [0.0, 0.5]]])
    return MixtureParams(np.array([0.7, 0.3]), np.array([[0.0, 0.0], [6.0, 6.0]]), cov, covariance_type)


def test_the_split_halves_the_widest_heaviest_component_along_its_principal_axis():
    params = _params()
    assert component_to_split(params) == 0
    split = split_component(params)
    assert split.n_components == 3 and np.isclose(split.weights.sum(), 1.0)
    assert np.allclose(split.weights[:2], 0.35)
    offset = split.means[1] - split.means[0]
    values, vectors = np.linalg.eigh(params.covariances[0])
    assert abs(abs(offset @ vectors[:, -1]) - np.linalg.norm(offset)) < 1e-12  # along the principal axis
    assert np.allclose(split.means[:2].mean(axis=0), params.means[0])  # the halves keep the mean
    assert np.array_equal(split.means[2], params.means[1])
    again = split_component(_params())
    assert np.array_equal(again.means, split.means) and np.array_equal(again.covariances, split.covariances)


@pytest.mark.parametrize("covariance_type", ["tied", "diag", "spherical", "VEV"])
def test_the_split_is_in_the_models_own_form(covariance_type):
    from emstudio.core.init import params_for_type

    params = params_for_type(_params(), covariance_type) if covariance_type in ("tied", "diag", "spherical") \
        else _params(covariance_type)
    split = split_component(params)
    assert split.covariance_type == covariance_type and split.n_components == 3


def _planted(seed=0):
    """Four clusters, two of them close together: K = 3 lumps them, and splitting that lump is
    the right move for K = 4."""
    rng = np.random.default_rng(seed)
    centres = [[0.0, 0.0], [12.0, 0.0], [0.0, 12.0], [2.6, 2.6]]
    return np.vstack([rng.normal(size=(150, 2)) + c for c in centres])


@pytest.mark.parametrize("covariance_type", ["full", "spherical"])
def test_a_warm_start_is_reproducible_and_never_worse_where_the_split_is_right(covariance_type):
    X = _planted()
    base = FitSettings(restarts=1, seed=3, accelerate="squarem", convergence="aitken", tol=1e-8, short_iter=5,
                       init="kmeans")
    warm = fit_row(X, base, covariance_type, [1, 2, 3, 4, 5], warm_start=True)
    again = fit_row(X, base, covariance_type, [1, 2, 3, 4, 5], warm_start=True)
    cold = fit_row(X, base, covariance_type, [1, 2, 3, 4, 5], warm_start=False)
    assert [c.result.log_likelihood for c in warm] == [c.result.log_likelihood for c in again]
    # K = 4 is where splitting K = 3's lump of the two close clusters is the right move.
    assert warm[3].result.log_likelihood >= cold[3].result.log_likelihood - 1e-9 * abs(cold[3].result.log_likelihood)
    assert warm[0].result.start_names == ("kmeans",)  # K = 1 has no K − 1
    assert all(c.result.start_names == ("kmeans", "split") for c in warm[1:])


def test_the_selection_file_names_each_cells_starts():
    from emstudio.io.results import selection_to_dict

    selection = select_models(_planted(), [1, 2, 3], ["full"], FitSettings(restarts=2, seed=1), jobs=1)
    models = selection_to_dict(selection, source="x.csv", columns=["a", "b"])["models"]
    assert models[0]["starts"] == ["hc"]  # K = 1 has one optimum: one start
    assert models[1]["starts"] == ["hc", "kmeans-std", "split"]
    assert models[2]["starts"] == ["hc", "kmeans-std", "split"]
    assert all(m["kept_start"] in m["starts"] for m in models)


def test_no_processes_and_two_processes_give_the_same_grid_with_warm_starts(monkeypatch):
    monkeypatch.setattr("emstudio.core.grid.available_cores", lambda: 2)  # two workers even on one core
    X = _planted(1)
    base = FitSettings(restarts=3, short_iter=4, long_runs=1, seed=11, accelerate="squarem",
                       convergence="aitken", tol=1e-8)
    one = select_models(X, [1, 2, 3, 4], ["full", "tied", "spherical"], base, jobs=1)
    two = select_models(X, [1, 2, 3, 4], ["full", "tied", "spherical"], base, jobs=2)
    assert [c.result.log_likelihood for c in one.cells] == [c.result.log_likelihood for c in two.cells]
    assert [c.result.start_names for c in one.cells] == [c.result.start_names for c in two.cells]
    assert [c.result.best_restart for c in one.cells] == [c.result.best_restart for c in two.cells]


def test_the_split_goes_to_the_component_that_lumps_two_clusters():
    from emstudio.core import fit_mixture

    X = _planted(2)
    three = fit_mixture(X, FitSettings(k=3, seed=0, restarts=3)).params
    lump = int(np.argmin(np.linalg.norm(three.means - [1.3, 1.3], axis=1)))  # the two close clusters
    split = split_component(three)
    kept = [m for m in split.means if any(np.allclose(m, c) for c in three.means)]
    halves = [m for m in split.means if not any(np.allclose(m, c) for c in three.means)]
    assert len(kept) == 2 and len(halves) == 2  # the other two components untouched
    assert np.allclose(np.mean(halves, axis=0), three.means[lump])
