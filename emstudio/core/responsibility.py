"""Responsibilities as the window inspects them: their uncertainty, a sequential colour map for
it, and the responsibilities at any position under the components' marginal on the axes shown.

All functions are pure numpy. Shapes are given in the docstrings; K components, m points.
"""

from __future__ import annotations

import numpy as np

from emstudio.core.estep import e_step
from emstudio.core.geometry import bin_opacity
from emstudio.core.params import MixtureParams

#: The uncertainty colour map, light (certain) to dark (uncertain): stops at t = 0, ¼, ½, ¾, 1
#: (RGB, 0–255). Sequential: CIE lightness L* falls all the way (75 → 17), so darker always
#: means less certain; its certain end is a muted blue-grey at L* ≈ 75, not a pale yellow
#: (L* 90), so that points one component owns stay visible on the plot's white background.
UNCERTAINTY_STOPS = np.array([
    (172, 188, 206), (236, 148, 62), (216, 80, 50), (165, 25, 50), (80, 10, 56),
], dtype=np.float64)


def uncertainty(resp: np.ndarray) -> np.ndarray:
    """1 − maxₖ rᵢₖ (m,) of responsibilities (m, K): 0 for a point one component owns."""
    resp = np.asarray(resp, dtype=np.float64)
    return 1.0 - resp.max(axis=1)


def max_uncertainty(k: int) -> float:
    """The largest possible uncertainty with K components, 1 − 1/K (all rᵢₖ equal)."""
    return 1.0 - 1.0 / max(int(k), 1)


def uncertainty_map(t: np.ndarray) -> np.ndarray:
    """Colours (m, 3) (RGB 0–255) of t (m,) in [0, 1] on :data:`UNCERTAINTY_STOPS` (clipped)."""
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    where = np.linspace(0.0, 1.0, len(UNCERTAINTY_STOPS))
    return np.column_stack([np.interp(t, where, UNCERTAINTY_STOPS[:, c]) for c in range(3)])


def uncertainty_colours(resp: np.ndarray) -> np.ndarray:
    """Each point's colour (m, 3) for its uncertainty, the map spanning 0 … 1 − 1/K; resp (m, K)."""
    top = max_uncertainty(np.shape(resp)[1])
    return uncertainty_map(uncertainty(resp) / top if top > 0 else np.zeros(np.shape(resp)[0]))


def uncertainty_image(flat_bins: np.ndarray, resp: np.ndarray, bins: tuple[int, int]) -> np.ndarray:
    """An RGBA image (bx, by, 4) uint8 of binned points coloured by their mean uncertainty.

    flat_bins (m,) from :func:`emstudio.core.geometry.bin_indices`; resp (m, K). A bin's colour
    is :func:`uncertainty_map` of its points' mean uncertainty over 1 − 1/K; its opacity that of
    :func:`emstudio.core.geometry.density_image` (log(1 + count)). Empty bins are transparent.
    """
    bx, by = bins
    size = bx * by
    keep = flat_bins >= 0
    flat = flat_bins[keep]
    counts = np.bincount(flat, minlength=size).astype(np.float64)
    total = np.bincount(flat, weights=uncertainty(np.asarray(resp)[keep]), minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, total / counts, 0.0)
    top = max_uncertainty(np.shape(resp)[1])
    rgb = uncertainty_map(mean / top if top > 0 else np.zeros(size))
    image = np.empty((size, 4), dtype=np.uint8)
    image[:, :3] = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    image[:, 3] = bin_opacity(counts)
    return image.reshape(bx, by, 4)


def marginal_params(params: MixtureParams, axes) -> MixtureParams:
    """The mixture's exact marginal on the data axes ``axes`` (a sequence of distinct indices):
    the same weights, those entries of every μₖ and those rows and columns of every Σₖ (full)."""
    index = np.asarray(list(axes), dtype=np.intp)
    full = params.full_covariances()[:, index[:, None], index[None, :]]
    return MixtureParams(params.weights, params.means[:, index], full, "full")


def marginal_responsibilities(params: MixtureParams, axes, positions: np.ndarray) -> np.ndarray:
    """rₖ(x) (m, K) at ``positions`` (m, len(axes)) under the mixture's marginal on ``axes``.

    πₖ N(x | μₖ, Σₖ) / Σⱼ πⱼ N(x | μⱼ, Σⱼ) with μₖ, Σₖ restricted to those axes: exact when the
    axes are all the data's axes; for fewer, the responsibilities of a point known only on them.
    """
    positions = np.atleast_2d(np.asarray(positions, dtype=np.float64))
    _, log_resp = e_step(positions, marginal_params(params, axes))
    return np.exp(log_resp)
