"""Hands-on edits (move, stretch/rotate, add) and the monotonicity rule the window applies."""

import numpy as np
import pytest

from emstudio.core.checks import likelihood_falls, reg_covar_binds
from emstudio.core.edits import add_component, ellipse_block, move_mean, set_shown_covariance
from emstudio.core.em import FitSettings, fit_mixture
from emstudio.core.init import initial_params
from emstudio.core.params import COVARIANCE_TYPES, make_params
from emstudio.errors import EmstudioError


def _params(covariance_type, k=3, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, d)) @ rng.normal(size=(d, d))
    return X, initial_params(X, k, covariance_type, "kmeans", np.random.default_rng(seed))


def _valid(params):
    return make_params(params.weights, params.means, params.covariances, params.covariance_type)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_move_mean_changes_only_the_shown_coordinates(covariance_type):
    _, params = _params(covariance_type)
    out = _valid(move_mean(params, 1, (1, 3), (5.0, -2.0)))
    assert out.means[1, 1] == 5.0 and out.means[1, 3] == -2.0
    assert np.array_equal(out.means[1, [0, 2]], params.means[1, [0, 2]])
    assert np.array_equal(np.delete(out.means, 1, axis=0), np.delete(params.means, 1, axis=0))
    assert np.array_equal(out.covariances, params.covariances) and np.array_equal(out.weights, params.weights)


def test_move_mean_one_dimension():
    _, params = _params("full", d=1)
    out = move_mean(params, 0, (0, 0), (3.5, 99.0))  # y is the histogram's height: ignored
    assert out.means[0, 0] == 3.5


@pytest.mark.parametrize("axes", [(0, 1), (2, 0), (3, 1)])
def test_full_covariance_takes_the_block_on_the_shown_columns(axes):
    _, params = _params("full")
    block = np.array([[2.0, 0.7], [0.7, 0.5]])
    out = _valid(set_shown_covariance(params, 2, axes, block))
    shown = np.ix_(list(axes), list(axes))
    np.testing.assert_allclose(out.covariances[2][shown], block, rtol=1e-10, atol=1e-12)
    rest = [c for c in range(4) if c not in axes]
    np.testing.assert_allclose(out.covariances[2][np.ix_(rest, rest)], params.covariances[2][np.ix_(rest, rest)],
                               rtol=1e-10, atol=1e-12)
    assert np.linalg.eigvalsh(out.covariances[2])[0] > 0
    assert np.array_equal(out.covariances[[0, 1]], params.covariances[[0, 1]])


def test_tied_covariance_edit_moves_every_component():
    _, params = _params("tied")
    block = np.array([[1.5, -0.2], [-0.2, 0.8]])
    out = _valid(set_shown_covariance(params, 0, (0, 1), block))
    for sigma in out.full_covariances():
        np.testing.assert_allclose(sigma[:2, :2], block, rtol=1e-10)


def test_diagonal_and_spherical_keep_their_shape():
    _, diag = _params("diag")
    out = _valid(set_shown_covariance(diag, 1, (0, 2), np.array([[2.0, 0.9], [0.9, 3.0]])))
    assert out.covariances[1, 0] == 2.0 and out.covariances[1, 2] == 3.0  # rotation dropped
    assert out.covariances[1, 1] == diag.covariances[1, 1]
    _, spherical = _params("spherical")
    out = _valid(set_shown_covariance(spherical, 1, (0, 2), np.array([[2.0, 0.0], [0.0, 4.0]])))
    assert out.covariances[1] == pytest.approx(3.0)


def test_one_dimensional_variance():
    _, params = _params("full", d=1)
    out = set_shown_covariance(params, 1, (0, 0), [[0.25]])
    assert out.covariances[1, 0, 0] == pytest.approx(0.25)


def test_bad_blocks_are_refused_with_a_message():
    _, params = _params("full")
    for block in ([[1.0, 2.0], [2.0, 1.0]], [[np.nan, 0], [0, 1]], [[1.0]]):
        with pytest.raises(EmstudioError):
            set_shown_covariance(params, 0, (0, 1), block)
    with pytest.raises(EmstudioError):
        set_shown_covariance(params, 5, (0, 1), np.eye(2))
    with pytest.raises(EmstudioError):
        move_mean(params, 0, (0, 7), (1.0, 1.0))


def test_ellipse_block_has_the_dragged_semi_axes():
    axis = np.array([3.0, 4.0])
    block = ellipse_block(axis, 2.0)
    values, vectors = np.linalg.eigh(block)
    np.testing.assert_allclose(np.sqrt(values), [2.0, 5.0])
    np.testing.assert_allclose(abs(vectors[:, 1] @ axis) / 5.0, 1.0)
    with pytest.raises(EmstudioError):
        ellipse_block([0.0, 0.0], 1.0)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_add_component(covariance_type):
    _, params = _params(covariance_type)
    out = _valid(add_component(params, np.arange(4.0)))
    assert out.n_components == 4
    assert out.weights[-1] == pytest.approx(0.25) and out.weights.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(out.weights[:3] / params.weights, 0.75)
    assert np.array_equal(out.means[-1], np.arange(4.0))
    if covariance_type == "full":
        np.testing.assert_allclose(out.covariances[-1], params.covariances.mean(axis=0))
    with pytest.raises(EmstudioError):
        add_component(params, [1.0, 2.0])


def test_frozen_components_stay_in_a_fit():
    X, params = _params("full", k=3, d=2)
    frozen = np.array([False, True, False])
    moved = move_mean(params, 1, (0, 1), (4.0, 4.0))
    result = fit_mixture(X, FitSettings(k=3, init=moved, max_iter=30), frozen=frozen)
    assert np.array_equal(result.params.means[1], moved.means[1])
    assert np.array_equal(result.params.covariances[1], moved.covariances[1])
    assert result.params.weights[1] == pytest.approx(moved.weights[1])
    values = np.array([v for _, v in result.history])
    assert np.all(np.diff(values) >= -1e-9 * np.abs(values[1:]))
    with pytest.raises(EmstudioError):
        fit_mixture(X, FitSettings(k=3, max_iter=3), frozen=frozen)  # frozen needs a parameter start


def test_likelihood_falls_rule():
    log_l = [-100.0, -90.0, -95.0, -80.0, -80.0 - 1e-12, -85.0, -70.0]
    binds = [False, False, False, False, False, True, False]
    breaks = [True, False, False, True, False, False, False]
    falls = likelihood_falls(log_l, binds, breaks)
    # -90 → -95 is a fault; -80 → -80 − 1e-12 is rounding; -80 → -85 is explained by reg_covar.
    assert [(f.index, f.explained) for f in falls] == [(2, False), (5, True)]
    assert falls[0].drop == pytest.approx(5.0)
    assert likelihood_falls([-1.0, -2.0], [False, False], [False, True]) == []  # an edit may lower log L


def test_a_real_fit_has_no_unexplained_fall():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(200, 2)), rng.normal(size=(5, 2)) * 1e-3 + 6])
    for covariance_type in COVARIANCE_TYPES:
        result = fit_mixture(X, FitSettings(k=4, covariance_type=covariance_type, max_iter=60, tol=0, reg_covar=1e-6),
                             keep_snapshots=True)
        snaps = result.snapshots
        falls = likelihood_falls([s.log_likelihood for s in snaps],
                                 [reg_covar_binds(s.params, 1e-6, s.component_sizes) for s in snaps],
                                 [i == 0 for i in range(len(snaps))])
        assert not [f for f in falls if not f.explained]


def test_settle_keeps_the_first_iterations_from_converging():
    from emstudio.core.em import iterate_em
    from emstudio.core.engine import MixtureEngine

    X, params = _params("full", k=2, d=2)
    with MixtureEngine(X, "full") as engine:
        plain = list(iterate_em(engine, params, max_iter=10, tol=1e9, reg_covar=1e-6))
        settled = list(iterate_em(engine, params, max_iter=10, tol=1e9, reg_covar=1e-6, settle=2))
    assert [s.iteration for s in plain] == [0, 1] and plain[-1].converged
    assert [s.iteration for s in settled] == [0, 1, 2, 3] and settled[-1].converged
