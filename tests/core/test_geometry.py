"""The window's geometry, computed without Qt."""

import numpy as np
import pytest

from emstudio.core.geometry import (
    bin_indices,
    blend_colours,
    component_densities,
    decimation_indices,
    density_image,
    densities_path,
    ellipse_points,
    ellipses_path,
    marginal,
    padded_range,
    palette,
)
from emstudio.core.params import make_params


def _mahalanobis_sq(points, mean, cov):
    diff = points - mean
    return np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)


@pytest.mark.parametrize("sigma", [1.0, 2.0])
def test_ellipse_points_lie_on_the_sigma_contour(sigma):
    mean = np.array([3.0, -1.0])
    cov = np.array([[4.0, 1.5], [1.5, 1.0]])
    points = ellipse_points(mean, cov, sigma, n_points=50)
    assert points.shape == (51, 2)
    np.testing.assert_allclose(_mahalanobis_sq(points, mean, cov), sigma ** 2, rtol=1e-10)
    np.testing.assert_array_equal(points[0], points[-1])


def test_ellipse_axes_follow_the_eigenvectors():
    cov = np.diag([9.0, 1.0])
    points = ellipse_points(np.zeros(2), cov, 1.0, n_points=400)
    assert np.abs(points[:, 0]).max() == pytest.approx(3.0, rel=1e-4)
    assert np.abs(points[:, 1]).max() == pytest.approx(1.0, rel=1e-4)


def test_ellipses_path_is_one_curve_broken_by_nan():
    means = np.array([[0.0, 0.0], [5.0, 5.0], [1.0, -2.0]])
    covs = np.array([np.eye(2), np.diag([2.0, 0.5]), [[1.0, 0.3], [0.3, 1.0]]])
    x, y = ellipses_path(means, covs, sigmas=(1.0, 2.0), n_points=32)
    assert x.shape == y.shape == (3 * 2 * 34,)
    breaks = np.flatnonzero(np.isnan(x))
    assert len(breaks) == 6 and np.array_equal(breaks, np.flatnonzero(np.isnan(y)))
    first = np.column_stack([x[:33], y[:33]])
    np.testing.assert_allclose(_mahalanobis_sq(first, means[0], covs[0]), 1.0)


def test_marginal_keeps_the_chosen_entries():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2, 4, 4))
    covs = a @ np.swapaxes(a, 1, 2) + np.eye(4)
    params = make_params([0.4, 0.6], rng.normal(size=(2, 4)), covs, "full")
    means, marg = marginal(params, (3, 1))
    np.testing.assert_array_equal(means, params.means[:, [3, 1]])
    np.testing.assert_allclose(marg[0], [[covs[0, 3, 3], covs[0, 3, 1]], [covs[0, 1, 3], covs[0, 1, 1]]])
    # The marginal of samples matches: Monte Carlo check of one component.
    draws = rng.multivariate_normal(params.means[1], covs[1], size=200_000)[:, [3, 1]]
    np.testing.assert_allclose(np.cov(draws.T), marg[1], atol=0.08)


def test_marginal_of_diagonal_and_spherical_models():
    params = make_params([0.5, 0.5], [[0, 0, 0], [1, 1, 1]], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], "diag")
    _, marg = marginal(params, (2, 0))
    np.testing.assert_allclose(marg[1], np.diag([6.0, 4.0]))
    params = make_params([0.5, 0.5], [[0, 0], [1, 1]], [2.0, 3.0], "spherical")
    _, marg = marginal(params, (0, 1))
    np.testing.assert_allclose(marg[0], 2.0 * np.eye(2))


def test_component_densities_integrate_to_the_weights():
    params = make_params([0.3, 0.7], [[0.0], [4.0]], [[[1.0]], [[0.25]]], "full")
    grid = np.linspace(-10, 14, 20001)
    dens = component_densities(params, 0, grid)
    np.testing.assert_allclose(np.trapezoid(dens, grid, axis=1), [0.3, 0.7], rtol=1e-6)
    x, y = densities_path(grid, dens)
    assert np.isnan(x).sum() == 2 and x.shape == (2 * (grid.size + 1),)


def test_decimation_is_fixed_sorted_and_bounded():
    idx = decimation_indices(1_000_000, 5000, seed=3)
    assert idx.shape == (5000,) and np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(idx, decimation_indices(1_000_000, 5000, seed=3))
    np.testing.assert_array_equal(decimation_indices(10, 5000), np.arange(10))


def test_bin_indices_and_density_image():
    x = np.array([0.05, 0.95, 0.5, 2.0])
    y = np.array([0.05, 0.95, 0.5, 0.5])
    flat = bin_indices(x, y, (0.0, 1.0), (0.0, 1.0), (10, 5))
    assert flat.tolist() == [0, 9 * 5 + 4, 5 * 5 + 2, -1]
    resp = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    colours = np.array([[255.0, 0, 0], [0, 0, 255.0]])
    image = density_image(flat, resp, (10, 5), colours)
    assert image.shape == (10, 5, 4) and image.dtype == np.uint8
    assert image[0, 0].tolist() == [255, 0, 0, 255]
    assert image[9, 4].tolist() == [0, 0, 255, 255]
    assert image[5, 2, :3].tolist() == [128, 0, 128]
    assert image[3, 3, 3] == 0  # empty bins are transparent


def test_blend_colours_and_palette():
    colours = palette(12)
    assert colours.shape == (12, 3)
    assert len({tuple(c) for c in colours.tolist()}) == 12  # 12 components, 12 colours
    resp = np.array([[1.0, 0.0], [0.25, 0.75]])
    out = blend_colours(resp, colours[:2])
    np.testing.assert_allclose(out[0], colours[0])
    np.testing.assert_allclose(out[1], 0.25 * colours[0] + 0.75 * colours[1])


def test_padded_range_never_empty():
    assert padded_range(np.array([1.0, 1.0])) == (0.95, 1.05)
    low, high = padded_range(np.array([0.0, 10.0]), pad=0.1)
    assert (low, high) == (-1.0, 11.0)
