"""What the window draws, computed without Qt: ellipses, marginals, decimation, density images.

All functions are pure numpy. Shapes are given in the docstrings; K components, d dimensions,
n samples, m drawn samples.
"""

from __future__ import annotations

import numpy as np

from emstudio.core.palette import palette  # noqa: F401 - the window's component colours, re-exported
from emstudio.core.params import MixtureParams

def shown_columns(axes) -> list[int]:
    """The distinct data columns of the axes on screen: [i, j], or [i] for 1-D data (axes (i, i))."""
    return list(dict.fromkeys(int(a) for a in axes))


def marginal(params: MixtureParams, axes: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The exact marginal of every component on two data axes.

    A Gaussian's marginal on a subset of coordinates keeps those entries of μ and Σ.
    Returns means (K, 2) and covariances (K, 2, 2).
    """
    i, j = axes
    index = np.array([i, j])
    means = params.means[:, index]
    full = params.full_covariances()
    covariances = full[:, index[:, None], index[None, :]]
    return means, covariances


def ellipse_points(mean: np.ndarray, covariance: np.ndarray, n_sigma: float = 1.0,
                   n_points: int = 96) -> np.ndarray:
    """(n_points + 1, 2) closed curve {x : (x − μ)ᵀ Σ⁻¹ (x − μ) = n_sigma²} of a 2×2 covariance."""
    mean = np.asarray(mean, dtype=np.float64)
    covariance = np.asarray(covariance, dtype=np.float64)
    covariance = 0.5 * (covariance + covariance.T)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    radii = n_sigma * np.sqrt(np.maximum(eigenvalues, 0.0))
    t = np.linspace(0.0, 2.0 * np.pi, n_points + 1)
    circle = np.stack([np.cos(t), np.sin(t)])  # (2, n_points + 1)
    curve = eigenvectors @ (radii[:, None] * circle)
    curve[:, -1] = curve[:, 0]  # closed exactly
    return mean + curve.T


def ellipses_path(means: np.ndarray, covariances: np.ndarray, sigmas=(1.0, 2.0),
                  n_points: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """All ellipses as one polyline broken by NaN (for a single ``connect="finite"`` curve).

    means (K, 2), covariances (K, 2, 2) → x, y each (K · len(sigmas) · (n_points + 2),):
    for every component, for every sigma, n_points + 1 points and one NaN.
    """
    pieces = []
    gap = np.full((1, 2), np.nan)
    for mean, covariance in zip(means, covariances):
        for sigma in sigmas:
            pieces.append(ellipse_points(mean, covariance, sigma, n_points))
            pieces.append(gap)
    if not pieces:
        return np.empty(0), np.empty(0)
    path = np.vstack(pieces)
    return path[:, 0].copy(), path[:, 1].copy()


def component_densities(params: MixtureParams, axis: int, grid: np.ndarray) -> np.ndarray:
    """πₖ N(x | μₖ, σₖ²) of the marginal on one axis at ``grid`` (G,) → (K, G)."""
    grid = np.asarray(grid, dtype=np.float64)
    mu = params.means[:, axis]
    var = params.full_covariances()[:, axis, axis]
    z = (grid[None, :] - mu[:, None]) ** 2 / var[:, None]
    return params.weights[:, None] * np.exp(-0.5 * z) / np.sqrt(2.0 * np.pi * var[:, None])


def densities_path(grid: np.ndarray, densities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Curves (K, G) over ``grid`` (G,) as one polyline broken by NaN → x, y (K · (G + 1),)."""
    k, g = densities.shape
    x = np.empty((k, g + 1))
    y = np.empty((k, g + 1))
    x[:, :g] = grid
    y[:, :g] = densities
    x[:, g] = np.nan
    y[:, g] = np.nan
    return x.ravel(), y.ravel()


def decimation_indices(n: int, max_points: int, seed: int = 0) -> np.ndarray:
    """Sorted indices (m,) of a fixed random subset of at most ``max_points`` of n samples."""
    if n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_points, replace=False))


def padded_range(values: np.ndarray, pad: float = 0.05) -> tuple[float, float]:
    """(low, high) of ``values`` widened by ``pad`` of the span on each side (never empty)."""
    low, high = float(np.min(values)), float(np.max(values))
    span = high - low
    if not span > 0:
        span = max(abs(low), 1.0)
    return low - pad * span, high + pad * span


def bin_indices(x: np.ndarray, y: np.ndarray, x_range, y_range, bins: tuple[int, int]) -> np.ndarray:
    """Flat bin index (m,) of every point on a ``bins`` = (bx, by) grid, −1 outside the ranges.

    Bin (i, j) (i along x, j along y) has flat index i · by + j.
    """
    bx, by = bins
    i = np.floor((np.asarray(x) - x_range[0]) / (x_range[1] - x_range[0]) * bx).astype(np.int64)
    j = np.floor((np.asarray(y) - y_range[0]) / (y_range[1] - y_range[0]) * by).astype(np.int64)
    inside = (i >= 0) & (i < bx) & (j >= 0) & (j < by)
    flat = i * by + j
    flat[~inside] = -1
    return flat


def blend_colours(resp: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Each point's colour: its responsibilities (m, K) mixing the component colours (K, 3) → (m, 3)."""
    return np.asarray(resp, dtype=np.float64) @ np.asarray(colours, dtype=np.float64)


def density_image(flat_bins: np.ndarray, resp: np.ndarray, bins: tuple[int, int],
                  colours: np.ndarray, background=(255, 255, 255)) -> np.ndarray:
    """An RGBA image (bx, by, 4) uint8 of points binned on a grid, coloured by responsibility.

    flat_bins (m,) from :func:`bin_indices`; resp (m, K). A bin's colour is the mean of its
    points' blended colours; its opacity grows with log(1 + count), full in the fullest bin.
    Empty bins are transparent.
    """
    bx, by = bins
    size = bx * by
    keep = flat_bins >= 0
    flat = flat_bins[keep]
    resp = np.asarray(resp)[keep]
    counts = np.bincount(flat, minlength=size).astype(np.float64)
    k = resp.shape[1]
    mass = np.empty((size, k))
    for j in range(k):
        mass[:, j] = np.bincount(flat, weights=resp[:, j], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = mass / counts[:, None]
    share[counts == 0] = 0.0
    rgb = share @ np.asarray(colours, dtype=np.float64)
    image = np.empty((size, 4), dtype=np.uint8)
    image[:, :3] = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    image[:, 3] = bin_opacity(counts)
    return image.reshape(bx, by, 4)


def bin_opacity(counts: np.ndarray) -> np.ndarray:
    """Alpha (size,) uint8 of bins holding ``counts`` (size,) points: growing with log(1 + count),
    opaque in the fullest bin, at least a quarter for one point, transparent when empty."""
    counts = np.asarray(counts, dtype=np.float64)
    top = counts.max() if counts.size and counts.max() > 0 else 1.0
    alpha = np.log1p(counts) / np.log1p(top)
    alpha = np.where(counts > 0, 0.25 + 0.75 * alpha, 0.0)
    return np.clip(np.rint(255 * alpha), 0, 255).astype(np.uint8)


def histogram(values: np.ndarray, bins: int = 60, value_range=None) -> tuple[np.ndarray, np.ndarray]:
    """Density-normalised histogram: edges (bins + 1,), heights (bins,) (area 1)."""
    heights, edges = np.histogram(values, bins=bins, range=value_range, density=True)
    return edges, heights
