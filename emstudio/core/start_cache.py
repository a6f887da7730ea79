"""Starts shared by the covariance models of a model-selection grid.

A grid fits every (covariance model, K). The partitions its starts come from — the hc tree cut at
K, k-means from a seed — do not depend on the covariance model: only the one M-step that turns a
partition into θ₀ does (core.init.params_from_labels). mclust likewise agglomerates once for its
whole grid. A StartCache, made once per process for one data array, keeps those partitions, so
that the second, third and fourth model's rows of K cut the same tree and reuse each k-means run
instead of making them again (a quarter of a 20,000 × 3 grid's time went to k-means).

Exactly the same numbers with or without the cache, on any number of processes:
- k-means is keyed by its space, K and the random generator's whole state when it starts, and
  the generator is left in the state the run left it in. Its centres are kept (K × r, small), not
  its n labels: the labels are the rows' nearest centres, found again by the same function.
- the hc start is keyed by K and the subset's seed (which alone decides its rows), and keeps its
  labels in the smallest integer type that holds K.
- a run that the window's Stop cut short is not kept (its result depends on when Stop came).
- X's column units (core.scaling.ColumnFrame) are found once for every start's M-step: the
  frame label_statistics would make is the same.
"""

from __future__ import annotations

import numpy as np

from emstudio.core.init import RowSpace, _nearest, _row_norms, lloyd
from emstudio.core.mstep import CHUNK_BYTES
from emstudio.core.scaling import ColumnFrame


class StartCache:
    """The partitions of starts already made on one data array X (n, d) (see the module doc)."""

    def __init__(self, X: np.ndarray):
        self.X = X
        self._spaces: dict[str, RowSpace] = {}
        self._frame: ColumnFrame | None = None
        self._kmeans: dict[tuple, tuple[np.ndarray, dict]] = {}
        self._hc: dict[tuple, np.ndarray] = {}

    def serves(self, X: np.ndarray) -> bool:
        """Whether X is the array this cache was made for (the same object, not equal values)."""
        return X is self.X

    def frame(self) -> ColumnFrame:
        """X's column units (core.scaling.ColumnFrame), for every start's M-step."""
        if self._frame is None:
            self._frame = ColumnFrame(self.X, chunk_rows=max(256, CHUNK_BYTES // (8 * self.X.shape[1])))
        return self._frame

    def space(self, kind: str) -> RowSpace:
        rows = self._spaces.get(kind)
        if rows is None:
            rows = self._spaces[kind] = RowSpace(self.X, kind)
        return rows

    def kmeans_labels(self, k: int, rng: np.random.Generator, kind: str, should_stop=None) -> np.ndarray:
        """core.init.kmeans's labels (n,) for X in space ``kind``, as a run from ``rng`` gives them;
        ``rng`` ends in the state that run leaves it in."""
        key = (kind, k, repr(rng.bit_generator.state))
        rows = self.space(kind)
        kept = self._kmeans.get(key)
        if kept is not None:
            centres, state_after = kept
            rng.bit_generator.state = state_after
            return _nearest(rows, centres, _row_norms(rows))[0]
        stopped = []

        def asked() -> bool:
            answer = should_stop is not None and bool(should_stop())
            if answer:
                stopped.append(True)
            return answer

        centres, labels, _ = lloyd(rows, k, rng, should_stop=asked)
        if not stopped:
            self._kmeans[key] = (centres, rng.bit_generator.state)
        return labels

    def hc_labels(self, k: int, rng: np.random.Generator, subset_seed: int) -> np.ndarray:
        """core.hierarchical.hc_labels(X, k, rng, subset_seed=subset_seed) (``rng`` is not used
        when the subset has its own seed)."""
        from emstudio.core.hierarchical import hc_labels

        key = (k, subset_seed)
        labels = self._hc.get(key)
        if labels is None:
            labels = hc_labels(self.X, k, rng, subset_seed=subset_seed)
            labels = self._hc[key] = labels.astype(np.min_scalar_type(max(k - 1, 0)))
        return labels.astype(np.intp)
