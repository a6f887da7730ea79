"""Edits of a mixture by hand: the fixes the window offers for a collapsing component.

Each function is pure: it takes parameters θ (K components, d dimensions) and returns new, valid
parameters; the caller decides where EM goes on from them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from emstudio.core.checks import degenerate_components, empirical_eigenvalues
from emstudio.core.estep import e_step
from emstudio.core.geometry import shown_columns
from emstudio.core.init import data_covariance
from emstudio.core.params import MixtureParams, make_params, storage_type
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
                    variance_floor: float | np.ndarray = 0.0, scale: np.ndarray | None = None) -> list[Collapse]:
    """(k, λmin, Nₖ) of every component :func:`degenerate_components` flags, in index order.

    component_sizes: (K,) the Nₖ = Σᵢ rᵢₖ; λmin is the smallest eigenvalue of Σₖ − reg_covar·I (the
    part of the covariance the data gave). Costs K eigen-decompositions of d × d: cheap per frame.
    ``variance_floor`` and ``scale``: the data's column units (core.scaling.column_units).
    """
    flagged = degenerate_components(params, component_sizes, reg_covar, variance_floor, scale)
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


# ---------------------------------------------------------------------- hands-on edits
# The window's drags and clicks: each takes θ and a component (and the two data columns on
# screen) and returns valid parameters of the same covariance type. For d > 2 only the shown
# columns' part changes; the rest of the model is carried along so that it stays a valid mixture.


def _shown_columns(params: MixtureParams, axes: tuple[int, int]) -> list[int]:
    """The distinct data columns on screen: [i, j], or [i] for 1-D data (axes (0, 0))."""
    columns = shown_columns(axes)
    if any(not 0 <= a < params.n_features for a in columns):
        raise FitError(f"axes {tuple(axes)} are not columns of d={params.n_features} data")
    return columns


def move_mean(params: MixtureParams, k: int, axes: tuple[int, int], position) -> MixtureParams:
    """θ with μₖ moved to ``position`` on the shown columns (its other coordinates unchanged).

    position: (2,) the (x, y) on screen (only x is used for 1-D data, axes (0, 0)).
    """
    k = _check_index(params, k)
    columns = _shown_columns(params, axes)
    position = np.asarray(position, dtype=np.float64).ravel()[: len(columns)]
    if not np.all(np.isfinite(position)):
        raise FitError("a component's mean must be finite")
    means = np.array(params.means)
    means[k, columns] = position
    return params.replace(means=means)


def _congruence(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """M (m, m) with M old Mᵀ = new, for symmetric positive definite old and new (m, m)."""
    try:
        return np.linalg.cholesky(new) @ np.linalg.inv(np.linalg.cholesky(old))
    except np.linalg.LinAlgError:
        raise FitError("the covariance on the shown columns is too close to singular to edit") from None


def set_shown_covariance(params: MixtureParams, k: int, axes: tuple[int, int], block) -> MixtureParams:
    """θ whose component k has the marginal covariance ``block`` on the shown columns.

    block: (2, 2) symmetric positive definite for axes (i, j), or (1, 1) for 1-D data. For a full
    covariance Σ' = A Σ Aᵀ, with A the identity except M on the shown columns (M Σ_shown Mᵀ =
    block): the shown marginal becomes ``block``, the other columns' covariance is unchanged, and Σ'
    stays positive definite. The covariance type limits what can change: diagonal keeps only the
    variances (no rotation), spherical takes the mean variance, and tied edits the one shared
    matrix, so every component follows.
    """
    k = _check_index(params, k)
    columns = _shown_columns(params, axes)
    block = np.asarray(block, dtype=np.float64)
    m = len(columns)
    if block.shape != (m, m) or not np.all(np.isfinite(block)):
        raise FitError(f"the covariance on the shown columns must be a finite {m}×{m} matrix")
    block = 0.5 * (block + block.T)
    if np.linalg.eigvalsh(block)[0] <= 0:
        raise FitError("the covariance on the shown columns must be positive definite")
    ct = storage_type(params.covariance_type)  # mclust's models store full matrices
    covariances = np.array(params.covariances)
    if ct in ("full", "tied"):
        sigma = covariances[k] if ct == "full" else covariances
        shown = np.ix_(columns, columns)
        transform = np.eye(params.n_features)
        transform[shown] = _congruence(sigma[shown], block)
        edited = transform @ sigma @ transform.T
        edited = 0.5 * (edited + edited.T)
        if ct == "full":
            covariances[k] = edited
        else:
            covariances = edited
    elif ct == "diag":
        covariances[k, columns] = np.diag(block)
    else:  # spherical: one variance for every direction
        covariances[k] = float(np.trace(block)) / m
    return make_params(params.weights, params.means, covariances, params.covariance_type)


def ellipse_block(axis, other_length: float) -> np.ndarray:
    """The (2, 2) covariance whose 1σ ellipse has semi-axis ``axis`` (2,) and, at right angles to
    it, a semi-axis of length ``other_length`` (both > 0): Σ = a aᵀ + b² n nᵀ, n ⟂ a, |n| = 1."""
    axis = np.asarray(axis, dtype=np.float64)
    length = float(np.hypot(*axis))
    if not (length > 0 and other_length > 0 and np.isfinite(length) and np.isfinite(other_length)):
        raise FitError("an ellipse's axes must have positive, finite lengths")
    normal = np.array([-axis[1], axis[0]]) / length
    return np.outer(axis, axis) + other_length**2 * np.outer(normal, normal)


def add_component(params: MixtureParams, mean, covariance=None) -> MixtureParams:
    """θ with one more component (K → K + 1) at ``mean`` (d,).

    Its weight is 1/(K+1) and the others are scaled to share K/(K+1). ``covariance`` is a full
    (d, d) matrix; None takes the average of the existing components' covariances. It is stored in
    the type's native shape (tied: the shared matrix is kept as it is).
    """
    mean = np.asarray(mean, dtype=np.float64).ravel()
    d, K = params.n_features, params.n_components
    if mean.shape != (d,) or not np.all(np.isfinite(mean)):
        raise FitError(f"a new component's mean must be {d} finite numbers")
    full = params.full_covariances()
    cov = full.mean(axis=0) if covariance is None else np.asarray(covariance, dtype=np.float64)
    weights = np.append(params.weights * K / (K + 1), 1.0 / (K + 1))
    means = np.vstack([params.means, mean])
    ct = storage_type(params.covariance_type)
    if ct == "full":
        covariances = np.concatenate([params.covariances, cov[None]])
    elif ct == "tied":
        covariances = params.covariances
    elif ct == "diag":
        covariances = np.vstack([params.covariances, np.diag(cov)])
    else:
        covariances = np.append(params.covariances, np.trace(cov) / d)
    return make_params(weights, means, covariances, params.covariance_type)
