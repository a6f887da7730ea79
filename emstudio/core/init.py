"""Starting parameters θ₀ for EM.

``kmeans``      k-means++ seeding, Lloyd iterations, responsibilities from the hard labels, one M-step.
``kmeans++``    means from k-means++ seeding only; πₖ = 1/K; every Σₖ = the data's covariance.
``random``      random responsibilities (uniform, rows normalised), one M-step.
``random-data`` K distinct data points as means; πₖ = 1/K; every Σₖ = the data's covariance.
``seed-step0``  the first seed's step 0: means from K-means, πₖ = 1/K, Σₖ = I.
``hc``          mclust's start: hierarchical agglomeration of the scaled data (core.hierarchical),
                then one M-step from its partition; does not depend on the columns' units.
A parameter file is read by ``emstudio.io``; :func:`params_for_type` adapts its covariances.
"""

from __future__ import annotations

import numpy as np

from emstudio.core.mstep import make_positive_definite, m_step, sufficient_statistics
from emstudio.core.params import MixtureParams, from_full_covariances
from emstudio.core.scaling import noise_variance, scaled_columns
from emstudio.errors import FitError

INIT_METHODS = ("kmeans", "kmeans++", "random", "random-data", "seed-step0", "hc")
_DISTANCE_CHUNK = 65536


def _squared_distances(X: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """‖xᵢ − cⱼ‖² for X (n, d) and centres (m, d): returns (n, m), never negative."""
    out = (X * X).sum(axis=1)[:, None] - 2.0 * (X @ centres.T) + (centres * centres).sum(axis=1)[None, :]
    return np.maximum(out, 0.0, out=out)


def _nearest(X: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index (n,) of the nearest centre and the squared distance (n,) to it, in row chunks."""
    labels = np.empty(X.shape[0], dtype=np.intp)
    distances = np.empty(X.shape[0])
    for a in range(0, X.shape[0], _DISTANCE_CHUNK):
        block = _squared_distances(X[a:a + _DISTANCE_CHUNK], centres)
        labels[a:a + _DISTANCE_CHUNK] = block.argmin(axis=1)
        distances[a:a + _DISTANCE_CHUNK] = block[np.arange(block.shape[0]), labels[a:a + _DISTANCE_CHUNK]]
    return labels, distances


def kmeans_plus_plus(X: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeds (K, d) from X (n, d) (greedy: 2 + ⌊ln K⌋ candidates per seed, as scikit-learn).

    Raises FitError when X has fewer than K distinct points.
    """
    n = X.shape[0]
    trials = 2 + int(np.log(k))
    centres = np.empty((k, X.shape[1]))
    centres[0] = X[rng.integers(n)]
    closest = _squared_distances(X, centres[:1])[:, 0]
    for c in range(1, k):
        potential = closest.sum()
        if not potential > 0:
            raise FitError(f"K={k} components, but the data has only {c} distinct point{'s' * (c != 1)}")
        candidates = np.searchsorted(np.cumsum(closest), rng.random(trials) * potential)
        candidates = np.minimum(candidates, n - 1)
        candidate_distances = np.minimum(closest[:, None], _squared_distances(X, X[candidates]))
        best = int(candidate_distances.sum(axis=0).argmin())
        centres[c] = X[candidates[best]]
        closest = candidate_distances[:, best]
    return centres


def kmeans(X: np.ndarray, k: int, rng: np.random.Generator, max_iter: int = 300,
           tol: float = 1e-4, should_stop=None) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's K-means from k-means++ seeds: centres (K, d) and labels (n,).

    Stops when the centres move less (squared) than ``tol`` × the mean feature variance, or early
    when ``should_stop()`` says so (the window's Stop). An empty cluster is moved to the point
    farthest from its centre.
    """
    centres = kmeans_plus_plus(X, k, rng)
    threshold = tol * float(np.mean(X.var(axis=0)))
    labels, distances = _nearest(X, centres)
    for _ in range(max_iter):
        counts = np.bincount(labels, minlength=k)
        sums = np.zeros_like(centres)
        for j in range(X.shape[1]):
            sums[:, j] = np.bincount(labels, weights=X[:, j], minlength=k)
        new_centres = centres.copy()
        filled = counts > 0
        new_centres[filled] = sums[filled] / counts[filled, None]
        for j in np.flatnonzero(~filled):
            far = int(distances.argmax())
            new_centres[j] = X[far]
            distances[far] = 0.0
        shift = float(((new_centres - centres) ** 2).sum())
        centres = new_centres
        labels, distances = _nearest(X, centres)
        if shift <= threshold or (should_stop is not None and should_stop()):
            break
    return centres, labels


def data_covariance(X: np.ndarray, covariance_type: str, k: int, reg_covar: float) -> np.ndarray:
    """The whole data's covariance (+ reg_covar) for every component, in the type's native shape.

    Computed in column units (core.scaling), so that a column of variance 1e-16 beside one of 1e16
    keeps its variance and the lift below acts per column in that column's unit.
    """
    n, d = X.shape
    data_t, _, scale, magnitude = scaled_columns(X)
    with np.errstate(over="ignore"):
        reg = np.minimum(reg_covar / (scale * scale), 1e300)
    cov = data_t @ data_t.T / max(n, 1) + np.diag(reg)
    # Collinear columns with reg_covar = 0 give a singular matrix: lift it to the data's rounding.
    floor = max(float(reg.min()), float(noise_variance(magnitude, scale).max()), np.finfo(np.float64).tiny)
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


def params_from_labels(X: np.ndarray, labels: np.ndarray, k: int, covariance_type: str,
                       reg_covar: float) -> MixtureParams:
    """One M-step from hard labels (n,) in 0…K−1."""
    resp = np.zeros((X.shape[0], k))
    resp[np.arange(X.shape[0]), labels] = 1.0
    return m_step(sufficient_statistics(X, resp, covariance_type), covariance_type, reg_covar)


def initial_params(X: np.ndarray, k: int, covariance_type: str, method: str, rng: np.random.Generator,
                   reg_covar: float = 1e-6, should_stop=None) -> MixtureParams:
    """θ₀ for data X (n, d) by ``method`` (one of INIT_METHODS); K-means ends early on ``should_stop()``."""
    n, d = X.shape
    if method == "kmeans":
        _, labels = kmeans(X, k, rng, should_stop=should_stop)
        return params_from_labels(X, labels, k, covariance_type, reg_covar)
    if method == "kmeans++":
        means = kmeans_plus_plus(X, k, rng)
        return MixtureParams(np.full(k, 1.0 / k), means, data_covariance(X, covariance_type, k, reg_covar),
                             covariance_type)
    if method == "random":
        resp = rng.random((n, k))
        resp /= resp.sum(axis=1, keepdims=True)
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

        return params_from_labels(X, hc_labels(X, k, rng), k, covariance_type, reg_covar)
    raise FitError(f"unknown start {method!r}; choose one of {', '.join(INIT_METHODS)} or a parameter file")


def params_for_type(params: MixtureParams, covariance_type: str) -> MixtureParams:
    """The same start expressed in another covariance type (tied: weight-averaged; diag: diagonals)."""
    if params.covariance_type == covariance_type:
        return params
    full = params.full_covariances()
    return MixtureParams(params.weights, params.means,
                         from_full_covariances(full, covariance_type, params.weights), covariance_type)
