"""The M-step, from sufficient statistics, and the expected complete-data log-likelihood Q.

Everything the M-step needs from the data and the responsibilities r (n, K) is K-sized:
Nₖ = Σᵢ rᵢₖ, Σᵢ rᵢₖ xᵢ and Σᵢ rᵢₖ xᵢxᵢᵀ, with x measured from a fixed centre (the data's mean,
so that data with large offsets lose no precision). The fast engine accumulates these over row
chunks; :func:`sufficient_statistics` computes them directly for the small reference path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emstudio.core.params import MixtureParams, check_covariance_type

LOG_2PI = float(np.log(2.0 * np.pi))
# scikit-learn adds this to every Nₖ so that an empty component divides by a tiny number, not 0.
NK_FLOOR = 10.0 * np.finfo(np.float64).eps
# Below this effective size a component counts as empty: its mean and covariance are kept as
# they were (there is nothing to estimate them from) and its weight falls to ~0.
EMPTY_COMPONENT_SIZE = 1e-8


@dataclass(frozen=True, eq=False)
class SufficientStats:
    """K-sized summaries of (X, r) measured from ``centre``.

    n_k: (K,) Σᵢ rᵢₖ; sum_x: (K, d) Σᵢ rᵢₖ (xᵢ − c); sum_xx: (K, d, d) Σᵢ rᵢₖ (xᵢ − c)(xᵢ − c)ᵀ for
    full/tied, (K, d) its diagonal for diag/spherical; centre: (d,); n_samples: n.
    """

    n_k: np.ndarray
    sum_x: np.ndarray
    sum_xx: np.ndarray
    centre: np.ndarray
    n_samples: int


def sufficient_statistics(X: np.ndarray, resp: np.ndarray, covariance_type: str,
                          centre: np.ndarray | None = None) -> SufficientStats:
    """Sufficient statistics of data X (n, d) under responsibilities resp (n, K)."""
    X = np.asarray(X, dtype=np.float64)
    centre = X.mean(axis=0) if centre is None else np.asarray(centre, dtype=np.float64)
    Xc = X - centre
    n_k = resp.sum(axis=0)
    sum_x = resp.T @ Xc
    if covariance_type in ("full", "tied"):
        sum_xx = np.einsum("nk,ni,nj->kij", resp, Xc, Xc, optimize=True)
    else:
        sum_xx = resp.T @ (Xc * Xc)
    return SufficientStats(n_k, sum_x, sum_xx, centre, X.shape[0])


def _scatter_about(stats: SufficientStats, means_c: np.ndarray) -> np.ndarray:
    """Σᵢ rᵢₖ (xᵢ − mₖ)(xᵢ − mₖ)ᵀ for centred means mₖ: (K, d, d), or (K, d) diagonals."""
    n_k = stats.n_k
    cross = stats.sum_x[:, :, None] * means_c[:, None, :] if stats.sum_xx.ndim == 3 else stats.sum_x * means_c
    if stats.sum_xx.ndim == 3:
        outer = np.einsum("ki,kj->kij", means_c, means_c)
        return stats.sum_xx - cross - np.swapaxes(cross, 1, 2) + n_k[:, None, None] * outer
    return stats.sum_xx - 2.0 * cross + n_k[:, None] * means_c * means_c


def _make_positive_definite(cov: np.ndarray, floor: float) -> np.ndarray:
    """Symmetrise a (d, d) matrix and lift eigenvalues below ``floor`` (never fails)."""
    cov = 0.5 * (cov + cov.T)
    try:
        np.linalg.cholesky(cov)
        return cov
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(cov)
        values = np.maximum(values, max(floor, np.finfo(float).tiny))
        return (vectors * values) @ vectors.T


def m_step(stats: SufficientStats, covariance_type: str, reg_covar: float,
           previous: MixtureParams | None = None) -> MixtureParams:
    """Parameters maximising Q(θ | θₜ) for the responsibilities summarised in ``stats``.

    πₖ = Nₖ/n, μₖ = Σᵢ rᵢₖ xᵢ / Nₖ, Σₖ = Σᵢ rᵢₖ (xᵢ−μₖ)(xᵢ−μₖ)ᵀ / Nₖ + reg_covar·I (and the tied,
    diagonal and spherical variants), as scikit-learn computes them. A component whose Nₖ is below
    EMPTY_COMPONENT_SIZE keeps ``previous``'s mean and covariance; a covariance that rounding made
    indefinite has its eigenvalues lifted to reg_covar. The result never holds NaN.
    """
    check_covariance_type(covariance_type)
    n_k = stats.n_k + NK_FLOOR
    k, d = stats.sum_x.shape
    means_c = stats.sum_x / n_k[:, None]
    empty = stats.n_k < EMPTY_COMPONENT_SIZE
    if previous is not None and np.any(empty):
        means_c[empty] = previous.means[empty] - stats.centre
    scatter = _scatter_about(stats, means_c)
    eye = np.eye(d)
    if covariance_type == "full":
        cov = scatter / n_k[:, None, None] + reg_covar * eye
        if previous is not None and np.any(empty):
            cov[empty] = previous.covariances[empty]
        cov = np.stack([_make_positive_definite(c, reg_covar) for c in cov])
    elif covariance_type == "tied":
        cov = _make_positive_definite(scatter.sum(axis=0) / n_k.sum() + reg_covar * eye, reg_covar)
    else:
        variances = scatter / n_k[:, None] + reg_covar
        if covariance_type == "spherical":
            variances = variances.mean(axis=1)
        if previous is not None and np.any(empty):
            variances[empty] = previous.covariances[empty]
        cov = np.maximum(variances, reg_covar if reg_covar > 0 else np.finfo(float).tiny)
    weights = n_k / n_k.sum()
    return MixtureParams(weights, means_c + stats.centre, cov, covariance_type)


def _cholesky_terms(params: MixtureParams) -> tuple[np.ndarray, np.ndarray]:
    """Precisions (K, d, d) and log-determinants (K,) of every component's covariance."""
    full = params.full_covariances()
    chol = np.linalg.cholesky(full)
    inv_chol = np.linalg.inv(chol)
    precisions = np.swapaxes(inv_chol, 1, 2) @ inv_chol
    log_det = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    return precisions, log_det


def expected_complete_log_likelihood(stats: SufficientStats, params: MixtureParams) -> float:
    """Q(θ | θₜ) = Σᵢₖ rᵢₖ [log πₖ + log N(xᵢ | μₖ, Σₖ)], with r (from θₜ) summarised by ``stats``.

    Uses Σᵢ rᵢₖ (xᵢ−μₖ)ᵀPₖ(xᵢ−μₖ) = tr(Pₖ Sₖ), Sₖ the scatter about μₖ; no pass over the data.
    """
    precisions, log_det = _cholesky_terms(params)
    means_c = params.means - stats.centre
    scatter = _scatter_about(stats, means_c)
    d = params.n_features
    if scatter.ndim == 3:
        mahalanobis = np.einsum("kij,kji->k", precisions, scatter)
    else:
        mahalanobis = np.einsum("kii,ki->k", precisions, scatter)
    per_component = stats.n_k * (np.log(params.weights) - 0.5 * (d * LOG_2PI + log_det)) - 0.5 * mahalanobis
    return float(per_component.sum())
