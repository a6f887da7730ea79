"""The ``hc`` start: agglomerative hierarchical clustering on scaled data, as mclust starts EM.

mclust starts from a hierarchical agglomeration of the data after its "SVD" transformation
(columns standardised, then the left singular vectors scaled by the square roots of the singular
values), on a random subset of at most 2,000 rows when the data is larger. Here the agglomeration
is Ward's criterion (scipy.cluster.hierarchy; Ward's merge cost is the classification-likelihood cost of
mclust's spherical EII model), the tree is cut at K clusters, the rows outside the subset
join the nearest cluster centre in the same scaled space, and one M-step turns the partition into θ₀.

Because the scaled space is the same whatever units the columns are in, the start does not depend
on the columns' units (k-means on raw data is fooled when columns differ in scale by ~10×).
"""

from __future__ import annotations

import numpy as np

from emstudio.errors import FitError

HC_MAX_ROWS = 2000
#: The last few trees made, by the rows agglomerated: a model-selection grid cuts one tree at
#: every K for every covariance model (as mclust does), instead of agglomerating once per cell.
_TREES: dict[tuple, np.ndarray] = {}
_TREES_KEPT = 4


def svd_scaled(X: np.ndarray) -> np.ndarray:
    """mclust's "SVD" transformation of X (n, d): standardised columns → U·diag(√s) (n, r), r = rank.

    A constant column carries no information and is dropped by the rank cut.
    """
    X = np.asarray(X, dtype=np.float64)
    centred = X - X.mean(axis=0)
    sd = centred.std(axis=0)
    standard = centred[:, sd > 0] / sd[sd > 0]
    if standard.shape[1] == 0:
        return np.zeros((X.shape[0], 1))
    u, s, _ = np.linalg.svd(standard, full_matrices=False)
    keep = s > s[0] * max(standard.shape) * np.finfo(np.float64).eps
    return u[:, keep] * np.sqrt(s[keep])[None, :]


def hc_labels(X: np.ndarray, k: int, rng: np.random.Generator, max_rows: int = HC_MAX_ROWS,
              subset_seed: int | None = None) -> np.ndarray:
    """Labels (n,) in 0…K−1 from Ward agglomeration of the SVD-scaled data (see the module doc).

    The scaled rows are made a chunk at a time (core.init.RowSpace, the same map as
    :func:`svd_scaled` up to one factor, which changes no merge): only the subset agglomerated is
    held whole, never a copy of X. Raises FitError when the rows agglomerated have fewer than K
    distinct points. ``subset_seed``: the subset is drawn from it instead of ``rng`` (a grid passes
    one seed for all its cells, so that they all cut the same tree).
    """
    from emstudio.core.init import RowSpace, _chunk_rows

    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    rows = RowSpace(X, "svd")
    subset_rng = rng if subset_seed is None else np.random.default_rng(subset_seed)
    subset = np.sort(subset_rng.choice(n, size=max_rows, replace=False)) if n > max_rows else np.arange(n)
    points = rows.take(subset)
    distinct = np.unique(points, axis=0).shape[0]
    if distinct < k:
        where = "the data has" if subset.size == n else f"a random subset of {subset.size} rows has"
        raise FitError(f"K={k} components, but {where} only {distinct} distinct point{'s' * (distinct != 1)}")
    if k == 1:
        return np.zeros(n, dtype=np.intp)
    from scipy.cluster.hierarchy import fcluster

    sub_labels = fcluster(_tree_of(points), t=k, criterion="maxclust") - 1
    if np.unique(sub_labels).size < k:  # ties in merge heights can leave fewer clusters
        raise FitError(f"the hierarchical start found fewer than K={k} clusters; try --init kmeans")
    if subset.size == n:
        return sub_labels.astype(np.intp)
    centres = np.stack([points[sub_labels == j].mean(axis=0) for j in range(k)])
    labels = np.empty(n, dtype=np.intp)
    step = _chunk_rows(rows.dim, k)
    for a in range(0, n, step):
        block = rows.chunk(a, a + step)
        distances = -2.0 * block @ centres.T + (centres * centres).sum(axis=1)[None, :]
        labels[a:a + step] = distances.argmin(axis=1)
    labels[subset] = sub_labels
    return labels


def _tree_of(points: np.ndarray) -> np.ndarray:
    """Ward's tree of ``points`` (scipy's linkage matrix), made once for the same rows (see _TREES)."""
    import hashlib

    from scipy.cluster.hierarchy import linkage

    key = (points.shape, hashlib.blake2b(np.ascontiguousarray(points).tobytes(), digest_size=16).digest())
    tree = _TREES.get(key)
    if tree is None:
        tree = linkage(points, method="ward")
        if len(_TREES) >= _TREES_KEPT:
            _TREES.pop(next(iter(_TREES)))
        _TREES[key] = tree
    return tree
