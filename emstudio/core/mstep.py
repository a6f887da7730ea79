"""The M-step, from sufficient statistics, and the expected complete-data log-likelihood Q.

Everything the M-step needs from the data and the responsibilities r (n, K) is K-sized:
Nₖ = Σᵢ rᵢₖ, Σᵢ rᵢₖ xᵢ and Σᵢ rᵢₖ xᵢxᵢᵀ, with x measured from an origin oₖ per component (the
data's mean, or the component's own current mean when components lie far from it), so that
Σₖ = Σᵢ rᵢₖ (xᵢ−oₖ)(xᵢ−oₖ)ᵀ/Nₖ − (μₖ−oₖ)(μₖ−oₖ)ᵀ loses no precision. The fast engine
accumulates these over row chunks; :func:`sufficient_statistics` computes them directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emstudio.core.params import MCLUST_EXTRA_TYPES, MixtureParams, check_covariance_type, storage_type
from emstudio.core.scaling import ColumnFrame, scaled_precision_cholesky

LOG_2PI = float(np.log(2.0 * np.pi))
_TINY = float(np.finfo(np.float64).tiny)
# scikit-learn adds this to every Nₖ so that an empty component divides by a tiny number, not 0.
NK_FLOOR = 10.0 * np.finfo(np.float64).eps
# Below this effective size a component counts as empty: its mean and covariance are kept as
# they were (there is nothing to estimate them from) and its weight falls to ~0.
EMPTY_COMPONENT_SIZE = 1e-8


@dataclass(frozen=True, eq=False)
class SufficientStats:
    """K-sized summaries of (X, r), component k's measured from its origin oₖ in column units.

    With u = (x − oₖ) / s (s (d,) the column scales, powers of two; core.scaling):
    n_k: (K,) Σᵢ rᵢₖ; sum_x: (K, d) Σᵢ rᵢₖ uᵢ; sum_xx: (K, d, d) Σᵢ rᵢₖ uᵢuᵢᵀ for full/tied, (K, d)
    its diagonal for diag/spherical; origins: (K, d) in the data's units; n_samples: n;
    variance_floor: the smallest variance a covariance may have, per column in column units (d,)
    or one number (the rounding noise of the data); scale: (d,), None meaning 1 for every column.
    """

    n_k: np.ndarray
    sum_x: np.ndarray
    sum_xx: np.ndarray
    origins: np.ndarray
    n_samples: int
    variance_floor: float | np.ndarray = 0.0
    scale: np.ndarray | None = None

    def column_scale(self) -> np.ndarray:
        """(d,) the column scales (ones when none were used)."""
        return np.ones(self.sum_x.shape[1]) if self.scale is None else np.asarray(self.scale, dtype=np.float64)


#: Bytes of data rows (times the larger of d and K) taken per chunk by the direct passes below:
#: their temporaries stay this size, never a copy of X (README's memory budget).
CHUNK_BYTES = 8 << 20


def sufficient_statistics(X: np.ndarray, resp: np.ndarray, covariance_type: str,
                          centre: np.ndarray | None = None) -> SufficientStats:
    """Sufficient statistics of data X (n, d) under responsibilities resp (n, K), in column units.

    Accumulated over row chunks: the rows in column units and their products exist one chunk at
    a time, never a copy of X (README's memory budget holds for the starts too).
    """
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    k = resp.shape[1]
    full = storage_type(covariance_type) in ("full", "tied")
    step = max(256, CHUNK_BYTES // (8 * max(d, k)))
    frame = ColumnFrame(X, centre, chunk_rows=step)
    n_k = resp.sum(axis=0)
    sum_x = np.zeros((k, d))
    sum_xx = np.zeros((k, d, d) if full else (k, d))
    for a in range(0, n, step):
        u = frame.units(X[a:a + step])
        r = resp[a:a + step]
        sum_x += r.T @ u
        if full:
            for j in range(k):
                sum_xx[j] += (u * r[:, j:j + 1]).T @ u
        else:
            sum_xx += r.T @ (u * u)
    origins = np.broadcast_to(frame.centre, (k, d)).copy()
    return SufficientStats(n_k, sum_x, sum_xx, origins, n, frame.noise(), frame.scale)


def label_statistics(X: np.ndarray, labels: np.ndarray, k: int, covariance_type: str,
                     frame: ColumnFrame | None = None) -> SufficientStats:
    """:func:`sufficient_statistics` of X (n, d) under hard labels (n,) in 0…K−1 — responsibilities
    0 or 1 — without the (n, K) responsibilities: each chunk's rows are grouped by label and each
    group's sums are one product (a start's M-step cost 9 ms at 20,000 × 3, K = 9, through the
    dense responsibilities, ~1 ms so). The same numbers up to the order of the additions.

    ``frame``: X's ColumnFrame when it is known (a grid makes one for all its starts).
    """
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    full = storage_type(covariance_type) in ("full", "tied")
    step = max(256, CHUNK_BYTES // (8 * d))
    if frame is None:
        frame = ColumnFrame(X, chunk_rows=step)
    labels = np.asarray(labels)
    n_k = np.bincount(labels, minlength=k).astype(np.float64)
    sum_x = np.zeros((k, d))
    sum_xx = np.zeros((k, d, d) if full else (k, d))
    edges = np.arange(k + 1)
    for a in range(0, n, step):
        chunk_labels = labels[a:a + step]
        order = np.argsort(chunk_labels, kind="stable")
        u = frame.units(X[a:a + step][order])
        bounds = np.searchsorted(chunk_labels[order], edges)
        for j in range(k):
            part = u[bounds[j]:bounds[j + 1]]
            if part.shape[0]:
                sum_x[j] += part.sum(axis=0)
                sum_xx[j] += part.T @ part if full else np.einsum("ij,ij->j", part, part)
    origins = np.broadcast_to(frame.centre, (k, d)).copy()
    return SufficientStats(n_k, sum_x, sum_xx, origins, n, frame.noise(), frame.scale)


def _per_column(floor, d: int) -> np.ndarray:
    """A variance floor as (d,) per-column values (one number stands for every column)."""
    if isinstance(floor, np.ndarray) and floor.shape == (d,) and floor.dtype == np.float64:
        return floor
    return np.broadcast_to(np.asarray(floor, dtype=np.float64), (d,))


def _eigen_floor(reg: np.ndarray, noise: np.ndarray) -> float:
    """One number for an eigenvalue lift (column units): a direction mixes columns, so the smallest
    reg_covar of any column (what every direction got added at least) or the noisiest column's noise."""
    return max(float(reg.min()), float(noise.max()), _TINY)


def variance_floor(largest_value: float) -> float:
    """The smallest meaningful variance for data whose largest magnitude is ``largest_value``.

    Float64 rounding of such values; a covariance eigenvalue below it is noise (a component that
    collapsed with reg_covar = 0), and the M-step lifts it here so that precisions stay finite.
    (One number for all columns; the engine uses core.scaling.noise_variance per column.)
    """
    scale = min(largest_value, 1e150)
    return max((64.0 * np.finfo(np.float64).eps * scale) ** 2, np.finfo(np.float64).tiny)


def _scatter_about(stats: SufficientStats, means_c: np.ndarray) -> np.ndarray:
    """Σᵢ rᵢₖ (xᵢ − mₖ)(xᵢ − mₖ)ᵀ for points mₖ given relative to the origins: (K, d, d), or (K, d)."""
    n_k = stats.n_k
    cross = stats.sum_x[:, :, None] * means_c[:, None, :] if stats.sum_xx.ndim == 3 else stats.sum_x * means_c
    if stats.sum_xx.ndim == 3:
        outer = np.einsum("ki,kj->kij", means_c, means_c)
        return stats.sum_xx - cross - np.swapaxes(cross, 1, 2) + n_k[:, None, None] * outer
    return stats.sum_xx - 2.0 * cross + n_k[:, None] * means_c * means_c


#: Eigenvalues are lifted to at least this many rounding units of the largest: below it a matrix
#: rebuilt from its eigen-decomposition is not positive definite to Cholesky (exactly collinear
#: data with reg_covar = 0 failed so). Far below DEGENERATE_FLATNESS (1e-8), so such a component
#: is still called collapsed.
PD_RELATIVE_FLOOR = 1e3 * np.finfo(np.float64).eps


def make_positive_definite(cov: np.ndarray, floor: float) -> np.ndarray:
    """Symmetrise a (d, d) matrix and lift eigenvalues below ``floor`` > 0, or below
    PD_RELATIVE_FLOOR · d of the largest, so that Cholesky succeeds (never fails)."""
    cov = 0.5 * (cov + cov.T)
    values, vectors = np.linalg.eigh(cov)
    floor = max(floor, PD_RELATIVE_FLOOR * cov.shape[0] * float(values[-1]))
    if values[0] >= floor:
        return cov
    lifted = (vectors * np.maximum(values, floor)) @ vectors.T
    return 0.5 * (lifted + lifted.T)


def make_positive_definite_all(cov: np.ndarray, floor: float) -> np.ndarray:
    """:func:`make_positive_definite` of each of K matrices (K, d, d), with one batched
    eigen-decomposition (the per-matrix calls cost more than the arithmetic on small data)."""
    cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
    values = np.linalg.eigvalsh(cov)
    floors = np.maximum(floor, PD_RELATIVE_FLOOR * cov.shape[1] * values[:, -1])
    low = values[:, 0] < floors
    if not low.any():
        return cov
    out = cov.copy()
    for j in np.flatnonzero(low):
        out[j] = make_positive_definite(cov[j], floor)
    return out


def m_step(stats: SufficientStats, covariance_type: str, reg_covar: float,
           previous: MixtureParams | None = None, frozen: np.ndarray | None = None,
           prior=None) -> MixtureParams:
    """Parameters maximising Q(θ | θₜ) for the responsibilities summarised in ``stats``.

    πₖ = Nₖ/n, μₖ = Σᵢ rᵢₖ xᵢ / Nₖ, Σₖ = Σᵢ rᵢₖ (xᵢ−μₖ)(xᵢ−μₖ)ᵀ / Nₖ + reg_covar·I (and the tied,
    diagonal and spherical variants), as scikit-learn computes them. A component whose Nₖ is below
    EMPTY_COMPONENT_SIZE keeps ``previous``'s mean and covariance; eigenvalues that rounding made
    negative, or that fell below the data's rounding noise (reg_covar = 0), are lifted to
    max(reg_covar, noise). The arithmetic is done in column units (u = (x − o)/s, Σ/(s sᵀ), reg_covar
    as reg_covar/s² per column), where every floor acts per column in that column's unit, and the
    result is given back in the data's units. The result never holds NaN or a zero variance.

    ``frozen`` (K,) bool with ``previous``: those components keep their weight, mean and
    covariance; the other weights share what is left in proportion to their Nₖ, and a tied
    covariance is the scatter about the kept means. Each block is still Q's maximiser given the
    frozen ones, so this is a generalised EM step: log L never falls (reg_covar 0).
    """
    check_covariance_type(covariance_type)
    if prior is not None:
        return map_m_step(stats, covariance_type, reg_covar, prior)
    n_k = stats.n_k + NK_FLOOR
    k, d = stats.sum_x.shape
    scale = stats.column_scale()
    tiny = _TINY
    with np.errstate(over="ignore"):
        # reg_covar in column units; capped so that an absurd reg_covar stays finite.
        reg = np.minimum(reg_covar / (scale * scale), 1e300)
    noise = _per_column(stats.variance_floor, d)
    means_rel = stats.sum_x / n_k[:, None]  # (μₖ − oₖ)/s
    empty = stats.n_k < EMPTY_COMPONENT_SIZE
    frozen = np.zeros(k, dtype=bool) if frozen is None or previous is None else np.asarray(frozen, dtype=bool)
    keep = empty | frozen
    # Whether any component keeps previous's values: asked once (each np.any costs a few µs).
    kept = previous is not None and bool(keep.any())
    if kept:
        means_rel[keep] = (previous.means[keep] - stats.origins[keep]) / scale
    scatter = _scatter_about(stats, means_rel)
    outer = scale[:, None] * scale[None, :]
    if covariance_type == "full":
        cov = scatter / n_k[:, None, None] + np.diag(reg)
        cov = make_positive_definite_all(cov, _eigen_floor(reg, noise)) * outer
        if kept:
            cov[keep] = previous.covariances[keep]
    elif covariance_type == "tied":
        cov = make_positive_definite(scatter.sum(axis=0) / n_k.sum() + np.diag(reg), _eigen_floor(reg, noise)) * outer
    elif covariance_type in MCLUST_EXTRA_TYPES:
        # mclust's models are defined in the data's units (a sphere or a common orientation is not
        # one after rescaling columns): their M-step works on the scatter in those units, started
        # from the previous θ's volume, shape and orientation (core.models: never lowers Q).
        from emstudio.core.models import m_step_covariances

        same_model = previous is not None and previous.covariance_type == covariance_type
        cov = m_step_covariances(covariance_type, n_k, scatter * outer,
                                 previous=previous.covariances if same_model else None)
        cov = cov + reg_covar * np.eye(d)
        data_floor = max(reg_covar, float((noise * scale * scale).max()), tiny)
        cov = make_positive_definite_all(cov, data_floor)
        if kept:
            cov[keep] = previous.full_covariances()[keep]
    elif covariance_type == "diag":
        column_floor = np.maximum(np.maximum(reg, noise), tiny)  # (d,) per column, column units
        cov = np.maximum(scatter / n_k[:, None] + reg, column_floor) * (scale * scale)
        if kept:
            cov[keep] = previous.covariances[keep]
    else:
        # A sphere in the data's units: the mean of the per-column variances, in the data's units.
        variances = (scatter / n_k[:, None]) * (scale * scale)
        cov = np.maximum(variances.mean(axis=1) + reg_covar,
                         max(reg_covar, float((noise * scale * scale).max()), tiny))
        if kept:
            cov[keep] = previous.covariances[keep]
    weights = n_k / n_k.sum()
    if frozen.any():
        free = ~frozen
        left = 1.0 - previous.weights[frozen].sum()
        weights = previous.weights.copy()
        if np.any(free):
            weights[free] = left * n_k[free] / n_k[free].sum()
    means = means_rel * scale + stats.origins
    if kept:
        means[keep] = previous.means[keep]  # exactly, not through the origin and back
    return MixtureParams.owning(weights, means, cov, covariance_type)


def map_m_step(stats: SufficientStats, covariance_type: str, reg_covar: float, prior) -> MixtureParams:
    """The M-step under a conjugate prior (core.prior): θ maximising Q(θ | θₜ) + log p(θ).

    Worked in the data's units (the prior's mean and scale are in them); reg_covar·I is added
    after, and eigenvalues below max(reg_covar, the data's rounding noise) lifted, as m_step does.
    """
    from emstudio.core.params import from_full_covariances
    from emstudio.core.prior import map_covariances

    n_k = stats.n_k + NK_FLOOR
    k, d = stats.sum_x.shape
    scale = stats.column_scale()
    means_rel = stats.sum_x / n_k[:, None]
    scatter = _scatter_about(stats, means_rel)
    if scatter.ndim == 2:  # diag/spherical statistics hold the diagonals only
        scatter = np.stack([np.diag(v) for v in scatter])
    scatter = scatter * np.outer(scale, scale)
    means, cov = map_covariances(prior, n_k, means_rel * scale + stats.origins, scatter)
    noise = np.broadcast_to(np.asarray(stats.variance_floor, dtype=np.float64), (d,))
    floor = max(reg_covar, float((noise * scale * scale).max()), np.finfo(np.float64).tiny)
    cov = np.stack([make_positive_definite(c + reg_covar * np.eye(d), floor) for c in cov])
    weights = n_k / n_k.sum()
    return MixtureParams(weights, means, from_full_covariances(cov, covariance_type, weights), covariance_type)


def expected_complete_log_likelihood(stats: SufficientStats, params: MixtureParams) -> float:
    """Q(θ | θₜ) = Σᵢₖ rᵢₖ [log πₖ + log N(xᵢ | μₖ, Σₖ)], with r (from θₜ) summarised by ``stats``.

    Uses Σᵢ rᵢₖ (xᵢ−μₖ)ᵀPₖ(xᵢ−μₖ) = tr(Pₖ Sₖ), Sₖ the scatter about μₖ; no pass over the data.
    """
    scale = stats.column_scale()
    inv_chol, log_det = scaled_precision_cholesky(params.covariances, params.covariance_type, scale,
                                                  params.n_components)
    log_det = log_det + 2.0 * float(np.log(scale).sum())
    precisions = np.swapaxes(inv_chol, 1, 2) @ inv_chol
    scatter = _scatter_about(stats, (params.means - stats.origins) / scale)
    d = params.n_features
    if scatter.ndim == 3:
        mahalanobis = np.einsum("kij,kji->k", precisions, scatter)
    else:
        mahalanobis = np.einsum("kii,ki->k", precisions, scatter)
    per_component = stats.n_k * (np.log(params.weights) - 0.5 * (d * LOG_2PI + log_det)) - 0.5 * mahalanobis
    return float(per_component.sum())
