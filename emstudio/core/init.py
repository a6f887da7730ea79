"""Starting parameters θ₀ for EM.

``auto``        the default: the first restart from ``hc``, every further restart from
                ``kmeans-std`` with its own seed (``hc`` below 2,000 rows has no randomness, so
                restarts from it would all be one); ``kmeans-std`` also when hc cannot cut K clusters.
``kmeans``      k-means++ seeding, Lloyd iterations on the raw data, responsibilities from the hard
                labels, one M-step (fooled when columns differ in scale by ~10× or more).
``kmeans-std``  the same on standardised columns (every column's spread 1), then one M-step in
                the data's units from its partition; does not depend on the columns' units.
``kmeans-svd``  the same on mclust's SVD-scaled data (standardised columns on their principal
                axes, each scaled by the fourth root of its eigenvalue).
``kmeans++``    means from k-means++ seeding only; πₖ = 1/K; every Σₖ = the data's covariance.
``random``      random responsibilities (uniform, tilted along random directions so that the
                components start apart: :func:`random_responsibilities`), one M-step.
``random-data`` K distinct data points as means; πₖ = 1/K; every Σₖ = the data's covariance.
``seed-step0``  the first seed's step 0: means from K-means, πₖ = 1/K, Σₖ = I.
``hc``          mclust's start: hierarchical agglomeration of the scaled data (core.hierarchical),
                then one M-step from its partition; does not depend on the columns' units.
A parameter file is read by ``emstudio.io``; :func:`params_for_type` adapts its covariances.
"""

from __future__ import annotations

import numpy as np

from emstudio.core.mstep import CHUNK_BYTES, label_statistics, make_positive_definite, m_step, sufficient_statistics
from emstudio.core.params import MixtureParams, from_full_covariances
from emstudio.errors import FitError

INIT_METHODS = ("auto", "hc", "kmeans", "kmeans-std", "kmeans-svd", "kmeans++", "random", "random-data",
                "seed-step0")
#: The start used when none is named (chosen by benchmarks/bench_starts.py: see README, Benchmarks).
DEFAULT_INIT = "auto"
#: k-means starts and the space their distances are measured in (RowSpace).
_KMEANS_STARTS = {"kmeans": "raw", "kmeans-std": "standard", "kmeans-svd": "svd"}

# Every pass over X below goes by row chunks of about CHUNK_BYTES: k-means of a 2e6 × 50 array
# made three temporaries the size of X (X * X, X − mean, the einsum of the M-step), which broke
# README's memory budget; now its temporaries are chunk-sized and n-sized vectors.


def _chunk_rows(d: int, m: int) -> int:
    """Rows per chunk for distances of d-dimensional rows to m centres."""
    return max(256, CHUNK_BYTES // (8 * max(d, m, 1)))


#: How k-means sees the rows: as they are, with standardised columns, or after mclust's "SVD"
#: transformation (standardised columns rotated to their principal axes, each axis scaled by the
#: fourth root of its eigenvalue of the correlation matrix: the rows of U·diag(√s) up to one factor).
KMEANS_SPACES = ("raw", "standard", "svd")


class RowSpace:
    """The rows of X (n, d) seen through an affine map z = ((x − c)/s) B, (n, r), chunk by chunk.

    ``raw``: z = x (chunks are views of X: no copy). ``standard``: B = diag(1/sd) in column units,
    every column's spread 1. ``svd``: B = diag(1/sd) V Λ^(−1/4) (corr = V Λ Vᵀ, directions of
    eigenvalue below rounding dropped): distances do not depend on the columns' units in either.
    Nothing the size of X is made: the map is applied to one chunk of rows at a time.
    """

    def __init__(self, X: np.ndarray, kind: str = "raw"):
        if kind not in KMEANS_SPACES:
            raise ValueError(f"unknown k-means space {kind!r}")
        self.X = X
        self.n = X.shape[0]
        self.kind = kind
        self.frame = None
        self.B = None
        self.dim = X.shape[1]
        self._mapped = None
        if kind == "raw":
            return
        from emstudio.core.scaling import ColumnFrame

        step = _chunk_rows(X.shape[1], X.shape[1])
        self.frame = ColumnFrame(X, chunk_rows=step)
        d = X.shape[1]
        cov = np.zeros((d, d))
        for a in range(0, self.n, step):
            u = self.frame.units(X[a:a + step])
            cov += u.T @ u
        cov /= max(self.n, 1)
        sd = np.sqrt(np.diagonal(cov).copy())
        inv_sd = np.where(sd > 0, 1.0 / np.where(sd > 0, sd, 1.0), 0.0)
        if kind == "standard":
            self.B = np.diag(inv_sd)
        else:
            values, vectors = np.linalg.eigh(cov * np.outer(inv_sd, inv_sd))
            keep = values > max(float(values[-1]), 0.0) * (max(self.n, d) * np.finfo(np.float64).eps) ** 2
            keep &= values > 0
            self.B = (inv_sd[:, None] * vectors[:, keep]) * values[keep] ** -0.25
            if self.B.shape[1] == 0:
                self.B = np.zeros((d, 1))
        self.dim = self.B.shape[1]
        # Rows that fit in one chunk's memory are mapped once, not again in every Lloyd iteration
        # (a model-selection grid runs k-means hundreds of times on the same 20,000 rows).
        if self.n * self.dim * 8 <= CHUNK_BYTES:
            self._mapped = self.map(X)

    def map(self, points: np.ndarray) -> np.ndarray:
        """Points (m, d) in the data's units → (m, r) in this space (raw: the same array)."""
        if self.B is None:
            return points
        return self.frame.units(np.atleast_2d(points)) @ self.B

    def chunk(self, a: int, b: int) -> np.ndarray:
        return self._mapped[a:b] if self._mapped is not None else self.map(self.X[a:b])

    def take(self, index) -> np.ndarray:
        return self._mapped[index] if self._mapped is not None else self.map(self.X[index])


def _as_space(X) -> RowSpace:
    return X if isinstance(X, RowSpace) else RowSpace(np.asarray(X, dtype=np.float64))


def _row_norms(space: RowSpace) -> np.ndarray:
    """‖zᵢ‖² (n,) of the rows, by chunks."""
    out = np.empty(space.n)
    step = _chunk_rows(space.dim, 1)
    for a in range(0, space.n, step):
        block = space.chunk(a, a + step)
        out[a:a + step] = np.einsum("ij,ij->i", block, block)
    return out


def _squared_distances(X: np.ndarray, centres: np.ndarray, x_norms: np.ndarray | None = None) -> np.ndarray:
    """‖xᵢ − cⱼ‖² for X (n, d) and centres (m, d): returns (n, m), never negative.

    ``x_norms`` (n,): the rows' ‖xᵢ‖² if known. Callers pass chunks of rows.
    """
    if x_norms is None:
        x_norms = np.einsum("ij,ij->i", X, X)
    out = X @ centres.T
    out *= -2.0
    out += x_norms[:, None]
    out += np.einsum("ij,ij->i", centres, centres)[None, :]
    return np.maximum(out, 0.0, out=out)


def _distances_to(space: RowSpace, centres: np.ndarray, x_norms: np.ndarray) -> np.ndarray:
    """(n, m) squared distances of every row to each of a few centres (m small), by chunks."""
    out = np.empty((space.n, centres.shape[0]))
    step = _chunk_rows(space.dim, centres.shape[0])
    for a in range(0, space.n, step):
        out[a:a + step] = _squared_distances(space.chunk(a, a + step), centres, x_norms[a:a + step])
    return out


def _nearest(space: RowSpace, centres: np.ndarray, x_norms: np.ndarray | None = None,
             out: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Index (n,) of the nearest centre and the squared distance (n,) to it, in row chunks
    (written into ``out`` = (labels, distances) when given: no second pair beside the first)."""
    if out is None:
        out = np.empty(space.n, dtype=np.intp), np.empty(space.n)
    labels, distances = out
    step = _chunk_rows(space.dim, centres.shape[0])
    for a in range(0, space.n, step):
        norms = None if x_norms is None else x_norms[a:a + step]
        block = _squared_distances(space.chunk(a, a + step), centres, norms)
        nearest = block.argmin(axis=1)
        labels[a:a + step] = nearest
        distances[a:a + step] = block[np.arange(block.shape[0]), nearest]
    return labels, distances


def _weighted_picks(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Indices drawn with probability ∝ ``weights`` (n,) ≥ 0 for uniform ``u`` (m,) in [0, 1):
    searchsorted over the cumulative sum, by chunks (no n-sized cumulative array)."""
    step = 1 << 20
    totals = np.array([weights[a:a + step].sum() for a in range(0, weights.shape[0], step)])
    ends = np.cumsum(totals)
    targets = u * ends[-1]
    picks = np.empty(u.shape[0], dtype=np.intp)
    for i, target in enumerate(targets):
        block = min(int(np.searchsorted(ends, target, side="right")), totals.shape[0] - 1)
        before = ends[block - 1] if block else 0.0
        inside = np.cumsum(weights[block * step:(block + 1) * step])
        picks[i] = block * step + min(int(np.searchsorted(inside, target - before, side="right")), inside.shape[0] - 1)
    return np.minimum(picks, weights.shape[0] - 1)


def _sum_of_minimum(space: RowSpace, candidates: np.ndarray, x_norms: np.ndarray, closest: np.ndarray) -> np.ndarray:
    """Σᵢ min(closestᵢ, ‖zᵢ − cⱼ‖²) (m,) for each candidate cⱼ (m, r), by row chunks."""
    sums = np.zeros(candidates.shape[0])
    step = _chunk_rows(space.dim, candidates.shape[0])
    for a in range(0, space.n, step):
        block = _squared_distances(space.chunk(a, a + step), candidates, x_norms[a:a + step])
        sums += np.minimum(block, closest[a:a + step, None]).sum(axis=0)
    return sums


def _lower_to(space: RowSpace, centre: np.ndarray, x_norms: np.ndarray, closest: np.ndarray) -> None:
    """closest ← min(closest, ‖zᵢ − centre‖²), in place, by row chunks."""
    step = _chunk_rows(space.dim, 1)
    for a in range(0, space.n, step):
        block = _squared_distances(space.chunk(a, a + step), centre[None, :], x_norms[a:a + step])[:, 0]
        np.minimum(closest[a:a + step], block, out=closest[a:a + step])


def _column_sums_by_label(X: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Σ of X's rows per label (K, d), by row chunks (bincount on a column of X would copy it)."""
    sums = np.zeros((k, X.shape[1]))
    step = _chunk_rows(X.shape[1], 1)
    for a in range(0, X.shape[0], step):
        block, chunk_labels = X[a:a + step], labels[a:a + step]
        for j in range(X.shape[1]):
            sums[:, j] += np.bincount(chunk_labels, weights=block[:, j], minlength=k)
    return sums


def _mean_variance(space: RowSpace) -> float:
    """The mean of the columns' variances of the rows z (n, r), by chunks (np.var makes a copy)."""
    mean = np.zeros(space.dim)
    step = _chunk_rows(space.dim, 1)
    for a in range(0, space.n, step):
        mean += space.chunk(a, a + step).sum(axis=0)
    mean /= max(space.n, 1)
    total = 0.0
    for a in range(0, space.n, step):
        block = space.chunk(a, a + step) - mean
        total += float(np.einsum("ij,ij->", block, block))
    return total / max(space.n * space.dim, 1)


def kmeans_plus_plus(X, k: int, rng: np.random.Generator,
                     x_norms: np.ndarray | None = None) -> np.ndarray:
    """k-means++ seeds (K, r) from X (n, d) or a RowSpace (greedy: 2 + ⌊ln K⌋ candidates per seed,
    as scikit-learn), in that space's coordinates.

    Raises FitError when X has fewer than K distinct points. ``x_norms``: ‖zᵢ‖² (n,) if known.
    """
    space = _as_space(X)
    n = space.n
    x_norms = _row_norms(space) if x_norms is None else x_norms
    trials = 2 + int(np.log(k))
    centres = np.empty((k, space.dim))
    centres[0] = space.take(rng.integers(n))
    closest = _distances_to(space, centres[:1], x_norms)[:, 0]  # the one n-sized vector kept
    for c in range(1, k):
        potential = closest.sum()
        if not potential > 0:
            raise FitError(f"K={k} components, but the data has only {c} distinct point{'s' * (c != 1)}")
        candidates = _weighted_picks(closest, rng.random(trials))
        best = int(_sum_of_minimum(space, space.take(candidates), x_norms, closest).argmin())
        centres[c] = space.take(candidates[best])
        _lower_to(space, centres[c], x_norms, closest)
    return centres


def kmeans(X: np.ndarray, k: int, rng: np.random.Generator, max_iter: int = 300,
           tol: float = 1e-4, should_stop=None, space: str = "raw") -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's K-means from k-means++ seeds: centres (K, d) in the data's units and labels (n,).

    ``space`` (KMEANS_SPACES): the distances are measured there (see :class:`RowSpace`); the
    centres returned are the clusters' means in the data's units. Stops when the centres move less
    (squared) than ``tol`` × the mean feature variance, or early when ``should_stop()`` says so
    (the window's Stop). An empty cluster is moved to the point farthest from its centre. Memory:
    X plus a few n-sized vectors and chunk-sized temporaries.
    """
    X = np.asarray(X, dtype=np.float64)
    rows = RowSpace(X, space)
    centres, labels, means_x = lloyd(rows, k, rng, max_iter, tol, should_stop)
    if rows.kind == "raw":
        return centres, labels
    # The clusters' means in the data's units, for the labels returned.
    counts = np.bincount(labels, minlength=k)
    sums = _column_sums_by_label(X, labels, k)
    means_x[counts > 0] = sums[counts > 0] / counts[counts > 0, None]
    return means_x, labels


def lloyd(rows: RowSpace, k: int, rng: np.random.Generator, max_iter: int = 300, tol: float = 1e-4,
          should_stop=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`kmeans` in ``rows``' space: the final centres (K, r) in that space, the labels (n,)
    — the rows' nearest centres (:func:`_nearest` of those centres: the centres alone give the
    labels again) — and the last means (K, d) in the data's units that the centres came from."""
    X = rows.X
    x_norms = _row_norms(rows)
    centres = kmeans_plus_plus(rows, k, rng, x_norms)
    threshold = tol * _mean_variance(rows)
    labels, distances = _nearest(rows, centres, x_norms)
    means_x = np.zeros((k, X.shape[1]))
    for _ in range(max_iter):
        counts = np.bincount(labels, minlength=k)
        sums = _column_sums_by_label(X, labels, k)
        filled = counts > 0
        means_x[filled] = sums[filled] / counts[filled, None]
        new_centres = centres.copy()
        if np.any(filled):
            new_centres[filled] = rows.map(means_x[filled])
        for j in np.flatnonzero(~filled):
            far = int(distances.argmax())
            means_x[j] = X[far]
            new_centres[j] = rows.take(far)
            distances[far] = 0.0
        shift = float(((new_centres - centres) ** 2).sum())
        centres = new_centres
        _nearest(rows, centres, x_norms, out=(labels, distances))
        if shift <= threshold or (should_stop is not None and should_stop()):
            break
    return centres, labels, means_x


def data_covariance(X: np.ndarray, covariance_type: str, k: int, reg_covar: float) -> np.ndarray:
    """The whole data's covariance (+ reg_covar) for every component, in the type's native shape.

    Computed in column units (core.scaling), so that a column of variance 1e-16 beside one of 1e16
    keeps its variance and the lift below acts per column in that column's unit; by row chunks
    (sufficient_statistics), never a copy of X.
    """
    n, d = X.shape
    stats = sufficient_statistics(X, np.ones((n, 1)), "full")
    scale = stats.column_scale()
    with np.errstate(over="ignore"):
        reg = np.minimum(reg_covar / (scale * scale), 1e300)
    cov = stats.sum_xx[0] / max(n, 1) + np.diag(reg)
    # Collinear columns with reg_covar = 0 give a singular matrix: lift it to the data's rounding.
    floor = max(float(reg.min()), float(np.max(stats.variance_floor)), np.finfo(np.float64).tiny)
    cov = make_positive_definite(cov, floor) * np.outer(scale, scale)
    return from_full_covariances(np.broadcast_to(cov, (k, d, d)), covariance_type)


#: Up to this many rows, random-data draws from np.unique's distinct rows (cheap at this size);
#: above, it draws rows at random and keeps the first K distinct ones.
UNIQUE_ROWS_LIMIT = 200_000


def distinct_data_points(X: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """K distinct rows (K, d) of X (n, d), chosen at random; FitError when X has fewer than K.

    Above UNIQUE_ROWS_LIMIT rows: random rows, each kept unless equal to one already kept (a set
    of the rows' bytes: O(K) per draw, never O(n²)); if the draws keep hitting repeats (data with
    few distinct points), the distinct rows are found once by sorting (O(n log n)) and drawn from.
    """
    n = X.shape[0]
    if n <= UNIQUE_ROWS_LIMIT:
        distinct = np.unique(X, axis=0)
    else:
        chosen: list[np.ndarray] = []
        seen: set[bytes] = set()
        budget = 20 * k + 1000
        while budget > 0 and len(chosen) < k:
            for index in rng.integers(n, size=min(budget, 4 * (k - len(chosen)) + 16)):
                budget -= 1
                row = np.ascontiguousarray(X[index])
                key = row.tobytes()
                if key not in seen:
                    seen.add(key)
                    chosen.append(row)
                    if len(chosen) == k:
                        break
        if len(chosen) == k:
            return np.array(chosen)
        distinct = np.unique(X, axis=0)
    if distinct.shape[0] < k:
        raise FitError(f"K={k} components, but the data has only {distinct.shape[0]} distinct point"
                       f"{'s' * (distinct.shape[0] != 1)}")
    return distinct[rng.choice(distinct.shape[0], size=k, replace=False)]


def random_responsibilities(X: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Random responsibilities (n, K), rows summing to 1: rᵢₖ ∝ uᵢₖ · exp(wₖᵀzᵢ).

    uᵢₖ uniform on (0, 1); zᵢ the row with standardised columns; wₖ (d,) standard normal: a random
    soft partition of the space. Uniform responsibilities alone give every component the data's
    mean (to O(1/√n)), and a model whose components share one covariance (tied, VEE) never leaves
    that point: K identical components, log L stuck at the K = 1 value. The tilt puts the means
    apart from the start whatever the model, and whatever the columns' units.
    """
    rows = RowSpace(X, "standard")
    directions = rng.normal(size=(rows.dim, k))
    resp = rng.random((rows.n, k))
    step = _chunk_rows(rows.dim, k)
    for a in range(0, rows.n, step):
        logits = rows.chunk(a, a + step) @ directions
        logits -= logits.max(axis=1, keepdims=True)
        resp[a:a + step] *= np.exp(logits)
    resp /= resp.sum(axis=1, keepdims=True)
    return resp


def params_from_labels(X: np.ndarray, labels: np.ndarray, k: int, covariance_type: str,
                       reg_covar: float, frame=None) -> MixtureParams:
    """One M-step from hard labels (n,) in 0…K−1 (``frame``: X's ColumnFrame, when known)."""
    return m_step(label_statistics(X, labels, k, covariance_type, frame), covariance_type, reg_covar)


def initial_params(X: np.ndarray, k: int, covariance_type: str, method: str, rng: np.random.Generator,
                   reg_covar: float = 1e-6, should_stop=None, restart: int = 0,
                   hc_seed: int | None = None, cache=None) -> MixtureParams:
    """θ₀ for data X (n, d) by ``method`` (one of INIT_METHODS); K-means ends early on ``should_stop()``.

    ``restart``: which restart (0 the first) this start is for; only ``auto`` looks at it.
    ``hc_seed``: see core.hierarchical.hc_labels (``subset_seed``). ``cache``: a
    core.start_cache.StartCache the partitions are taken from and kept in when it serves X (the
    same numbers as without it).
    """
    if cache is not None and not cache.serves(X):
        cache = None
    n, d = X.shape
    if method == "auto":
        if restart == 0:
            try:
                return initial_params(X, k, covariance_type, "hc", rng, reg_covar, should_stop, hc_seed=hc_seed,
                                      cache=cache)
            except FitError:  # too few distinct rows in hc's subset, or ties leaving < K clusters
                pass
        method = "kmeans-std"
    if method in _KMEANS_STARTS:
        if cache is not None:
            labels = cache.kmeans_labels(k, rng, _KMEANS_STARTS[method], should_stop)
        else:
            _, labels = kmeans(X, k, rng, should_stop=should_stop, space=_KMEANS_STARTS[method])
        return params_from_labels(X, labels, k, covariance_type, reg_covar, None if cache is None else cache.frame())
    if method == "kmeans++":
        means = kmeans_plus_plus(X, k, rng)
        return MixtureParams(np.full(k, 1.0 / k), means, data_covariance(X, covariance_type, k, reg_covar),
                             covariance_type)
    if method == "random":
        resp = random_responsibilities(X, k, rng)
        return m_step(sufficient_statistics(X, resp, covariance_type), covariance_type, reg_covar)
    if method == "random-data":
        means = distinct_data_points(X, k, rng)
        return MixtureParams(np.full(k, 1.0 / k), means, data_covariance(X, covariance_type, k, reg_covar),
                             covariance_type)
    if method == "seed-step0":
        centres, _ = kmeans(X, k, rng, should_stop=should_stop)
        identity = from_full_covariances(np.broadcast_to(np.eye(d), (k, d, d)), covariance_type)
        return MixtureParams(np.full(k, 1.0 / k), centres, identity, covariance_type)
    if method == "hc":
        from emstudio.core.hierarchical import hc_labels

        if cache is not None and hc_seed is not None:
            labels = cache.hc_labels(k, rng, hc_seed)
        else:
            labels = hc_labels(X, k, rng, subset_seed=hc_seed)
        return params_from_labels(X, labels, k, covariance_type, reg_covar, None if cache is None else cache.frame())
    raise FitError(f"unknown start {method!r}; choose one of {', '.join(INIT_METHODS)} or a parameter file")


def params_for_type(params: MixtureParams, covariance_type: str) -> MixtureParams:
    """The same start expressed in another covariance type (tied: weight-averaged; diag: diagonals)."""
    if params.covariance_type == covariance_type:
        return params
    full = params.full_covariances()
    return MixtureParams(params.weights, params.means,
                         from_full_covariances(full, covariance_type, params.weights), covariance_type)
