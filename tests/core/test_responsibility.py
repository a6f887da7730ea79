"""Uncertainty, its colour map and image, and responsibilities under a marginal."""

import numpy as np
import pytest

from emstudio.core.estep import e_step
from emstudio.core.geometry import bin_indices, density_image, palette
from emstudio.core.params import make_params
from emstudio.core.responsibility import (
    UNCERTAINTY_STOPS,
    marginal_params,
    marginal_responsibilities,
    max_uncertainty,
    uncertainty,
    uncertainty_colours,
    uncertainty_image,
    uncertainty_map,
)


def _params(d, k=3, seed=0, covariance_type="full"):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(k, d, d))
    covs = a @ np.swapaxes(a, 1, 2) + 0.5 * np.eye(d)
    weights = rng.dirichlet(np.ones(k))
    return make_params(weights, rng.normal(scale=2, size=(k, d)), covs, covariance_type)


def test_uncertainty_is_one_minus_the_largest_responsibility():
    resp = np.array([[1.0, 0.0, 0.0], [0.5, 0.3, 0.2], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(uncertainty(resp), [0.0, 0.5, 2 / 3])
    assert max_uncertainty(3) == pytest.approx(2 / 3) and max_uncertainty(1) == 0.0


def test_the_colour_map_runs_light_to_dark_and_spans_zero_to_one_minus_one_over_k():
    np.testing.assert_allclose(uncertainty_map(np.array([0.0, 1.0, -1.0, 2.0])),
                               UNCERTAINTY_STOPS[[0, -1, 0, -1]])
    lightness = uncertainty_map(np.linspace(0, 1, 50)).sum(axis=1)
    assert np.all(np.diff(lightness) < 0)  # darker all the way: sequential
    resp = np.array([[1.0, 0.0], [0.5, 0.5]])
    np.testing.assert_allclose(uncertainty_colours(resp), UNCERTAINTY_STOPS[[0, -1]])
    # one component: every point is certain
    np.testing.assert_allclose(uncertainty_colours(np.ones((4, 1))), np.tile(UNCERTAINTY_STOPS[0], (4, 1)))


def test_uncertainty_image_shades_each_bin_by_its_mean_uncertainty():
    x = np.array([0.1, 0.15, 0.9, 0.5])
    y = np.array([0.1, 0.12, 0.9, 5.0])  # the last point is outside the grid
    resp = np.array([[1.0, 0.0], [0.6, 0.4], [0.5, 0.5], [0.5, 0.5]])
    flat = bin_indices(x, y, (0, 1), (0, 1), (2, 2))
    image = uncertainty_image(flat, resp, (2, 2))
    assert image.shape == (2, 2, 4) and image.dtype == np.uint8
    # bin (0, 0): mean uncertainty (0 + 0.4) / 2 = 0.2 of 0.5 → t = 0.4
    np.testing.assert_array_equal(image[0, 0, :3], np.rint(uncertainty_map(np.array([0.4]))[0]))
    np.testing.assert_array_equal(image[1, 1, :3], UNCERTAINTY_STOPS[-1])
    assert image[0, 1, 3] == 0 and image[1, 0, 3] == 0  # empty bins are transparent
    # the same opacity as the responsibility image
    np.testing.assert_array_equal(image[..., 3], density_image(flat, resp, (2, 2), palette(2))[..., 3])


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied"])
def test_marginal_responsibilities_of_two_dimensional_data_are_the_e_step(covariance_type):
    params = _params(2, covariance_type="full")
    if covariance_type != "full":
        from emstudio.core.init import params_for_type

        params = params_for_type(params, covariance_type)
    X = np.random.default_rng(1).normal(scale=3, size=(50, 2))
    _, log_resp = e_step(X, params)
    np.testing.assert_allclose(marginal_responsibilities(params, (0, 1), X), np.exp(log_resp), atol=1e-12)
    np.testing.assert_allclose(marginal_responsibilities(params, (0, 1), X[3]), np.exp(log_resp[3:4]), atol=1e-12)


def test_marginal_responsibilities_on_two_of_four_axes_use_that_marginal():
    params = _params(4)
    positions = np.random.default_rng(2).normal(size=(20, 2))
    axes = (3, 1)
    means = params.means[:, [3, 1]]
    covs = params.full_covariances()[:, [3, 1]][:, :, [3, 1]]
    reference = make_params(params.weights, means, covs, "full")
    _, log_resp = e_step(positions, reference)
    np.testing.assert_allclose(marginal_responsibilities(params, axes, positions), np.exp(log_resp), atol=1e-12)
    assert marginal_params(params, axes).n_features == 2


def test_marginal_responsibilities_in_one_dimension():
    params = _params(1)
    x = np.linspace(-5, 5, 11)
    _, log_resp = e_step(x[:, None], params)
    r = marginal_responsibilities(params, (0,), x[:, None])
    np.testing.assert_allclose(r, np.exp(log_resp), atol=1e-12)
    np.testing.assert_allclose(r.sum(axis=1), 1.0)


def test_certain_points_stay_visible_on_white():
    """The certain end of the uncertainty map is visibly darker than the white background and the
    map's lightness falls all the way (a sequential map)."""
    from emstudio.core.palette import srgb_to_lab

    lightness = srgb_to_lab(uncertainty_map(np.linspace(0, 1, 400)))[:, 0]
    assert lightness[0] <= 80  # white is 100
    assert np.all(np.diff(lightness) < 0)
