"""Edits of a mixture by hand: the fixes the window offers for a collapsing component.

Each function is pure: it takes parameters θ (K components, d dimensions) and returns new, valid
parameters; the caller decides where EM goes on from them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from emstudio.core.checks import degenerate_components, empirical_eigenvalues
from emstudio.core.estep import e_step
from emstudio.core.init import data_covariance
from emstudio.core.params import MixtureParams, make_params
from emstudio.errors import FitError

RESEED_METHODS = ("lowest-density", "random")
# Rows scored per block when looking for the least likely point (bounds the (block, K) arrays).
_DENSITY_CHUNK = 65536


class Collapse(NamedTuple):
    """One collapsing component: its index, smallest eigenvalue of Σₖ − reg_covar·I, and Nₖ."""

    component: int
    smallest_eigenvalue: float
    size: float


def _check_index(params: MixtureParams, k: int) -> int:
    if not isinstance(k, (int, np.integer)) or not 0 <= k < params.n_components:
        raise FitError(f"no component {k}: the mixture has K={params.n_components} (indices 0…"
                       f"{params.n_components - 1})")
    return int(k)


def collapse_report(params: MixtureParams, component_sizes: np.ndarray, reg_covar: float,
                    variance_floor: float = 0.0) -> list[Collapse]:
    """(k, λmin, Nₖ) of every component :func:`degenerate_components` flags, in index order.

    component_sizes: (K,) the Nₖ = Σᵢ rᵢₖ; λmin is the smallest eigenvalue of Σₖ − reg_covar·I (the
    part of the covariance the data gave). Costs K eigen-decompositions of d × d: cheap per frame.
    """
    flagged = degenerate_components(params, component_sizes, reg_covar, variance_floor)
    if not flagged:
        return []
    smallest = empirical_eigenvalues(params, reg_covar)[:, 0]
    sizes = np.asarray(component_sizes, dtype=float)
    return [Collapse(k, float(smallest[k]), float(sizes[k])) for k in flagged]


def remove_component(params: MixtureParams, k: int) -> MixtureParams:
    """θ without component k (K → K − 1); the other weights are renormalised to sum to 1.

    weights (K,) → (K−1,); means (K, d) → (K−1, d); covariances lose entry k (tied: unchanged
    (d, d)). Raises FitError when K = 1 or k is not a component.
    """
    k = _check_index(params, k)
    if params.n_components == 1:
        raise FitError("cannot remove the only component (K=1)")
    keep = np.arange(params.n_components) != k
    weights = params.weights[keep]
    total = weights.sum()
    weights = weights / total if total > 0 else np.full(weights.size, 1.0 / weights.size)
    covariances = params.covariances if params.covariance_type == "tied" else params.covariances[keep]
    return make_params(weights, params.means[keep], covariances, params.covariance_type)


def least_likely_point(X: np.ndarray, params: MixtureParams) -> int:
    """Index of the row of X (n, d) with the lowest mixture density Σₖ πₖ N(xᵢ | μₖ, Σₖ)."""
    best, best_value = 0, np.inf
    for a in range(0, X.shape[0], _DENSITY_CHUNK):
        with np.errstate(divide="ignore"):  # a zero weight: log 0 = −inf, harmless here
            log_density, _ = e_step(X[a:a + _DENSITY_CHUNK], params)
        i = int(np.argmin(log_density))
        if log_density[i] < best_value:
            best, best_value = a + i, float(log_density[i])
    return best


def reseed_component(params: MixtureParams, k: int, X: np.ndarray, rng: np.random.Generator,
                     method: str = "lowest-density", reg_covar: float = 0.0) -> MixtureParams:
    """θ with component k started again (same K).

    The mean μₖ moves to a data point: the one with the lowest density under the current mixture
    (``method="lowest-density"``, deterministic) or one drawn by ``rng`` (``"random"``). Σₖ becomes
    the whole data's covariance (+ reg_covar·I) in the type's native shape; a tied model keeps its
    tied matrix. πₖ = 1/K and the other weights are rescaled to share 1 − 1/K.
    X: (n, d) the data; returns parameters with the shapes of ``params``.
    """
    k = _check_index(params, k)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] != params.n_features:
        raise FitError(f"re-seeding needs data of d={params.n_features} columns, got shape {X.shape}")
    if method == "lowest-density":
        row = least_likely_point(X, params)
    elif method == "random":
        row = int(rng.integers(X.shape[0]))
    else:
        raise FitError(f"unknown re-seed method {method!r}; choose one of {', '.join(RESEED_METHODS)}")
    K = params.n_components
    means = np.array(params.means)
    means[k] = X[row]
    weights = np.array(params.weights)
    others = np.arange(K) != k
    rest = weights[others].sum()
    if K > 1:
        weights[others] = weights[others] / rest * (1 - 1 / K) if rest > 0 else (1 - 1 / K) / (K - 1)
    weights[k] = 1.0 / K
    covariances = np.array(params.covariances)
    if params.covariance_type != "tied":
        covariances[k] = data_covariance(X, params.covariance_type, 1, reg_covar)[0]
    return make_params(weights / weights.sum(), means, covariances, params.covariance_type)
