"""The fast E-step: one fused pass over the data per EM iteration.

A pass takes parameters θ and returns, without keeping any n × K array, everything EM and the
bound view need: log L(θ), Ent(q) and Q(θ | θ) for q = p(z | x, θ), the sufficient statistics the
M-step turns into θₜ₊₁, and Σᵢ log maxₖ rᵢₖ for ICL.

How (each choice measured, see docs/design.md and benchmarks/bench_fit.py):
- the data is centred once and stored transposed, (d, n), so every row operation is contiguous;
- for full and tied covariances up to ``FEATURE_MAX_D`` dimensions, the log-densities of all
  components are ONE matrix product: features z = [1, x, xᵢxⱼ (i ≤ j)] times a (p, K) weight matrix
  built from each component's precision; the statistics are one more product, Z·R. Diagonal and
  spherical models need only the squares. Above that d — or when some component is so narrow
  against the data's extent that the features would cancel (clusters far apart) — per-component
  products on (x − μₖ) whitened by Lₖ⁻¹, with the statistics measured from each μₖ;
- rows go in chunks sized to stay in cache, split over Python threads with BLAS held to one thread
  each (OpenBLAS's own threads make these thin products slower);
- the chunks are fixed by (d, K) alone and their partial sums added in chunk order, so the result is
  the same on any number of threads;
- (log p − max) is clipped at −700 before ``exp``: exp of arguments below about −708 is ~40× slower
  in numpy and contributes nothing (e⁻⁷⁰⁰ ≈ 1e−304).
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# The per-chunk mathematics lives in core.block_pass; these names stay importable from here.
from emstudio.core.block_pass import (  # noqa: F401
    CHUNK_BYTES,
    EXP_CLIP,
    FEATURE_MAX_CANCELLATION,
    FEATURE_MAX_D,
    MAX_CHUNK_ROWS,
    MIN_CHUNK_ROWS,
    BlockSums,
    ChunkBuffers,
    PassLayout,
    PassPlan,
    PassResult,
    add_block_sums,
    chunk_features,
    chunk_sums,
    finish_pass,
    plan_pass,
)
from emstudio.core.params import check_covariance_type
from emstudio.core.scaling import noise_variance, scaled_columns

_CONTROLLER = None
_CONTROLLER_LOCK = threading.Lock()


def _blas_controller():
    """One threadpoolctl controller for the process: making one scans the loaded libraries while
    holding the GIL (tens of ms, measured as window stalls), so it is done once, not per engine."""
    global _CONTROLLER
    with _CONTROLLER_LOCK:
        if _CONTROLLER is None:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER = ThreadpoolController()
        return _CONTROLLER


def default_thread_count() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


class MixtureEngine:
    """Passes over fixed data X (n, d) for one covariance type.

    Parameters come in and statistics go out in the data's units (SufficientStats carries the
    column scales); inside, the data is held in column units (core.scaling).

    ``n_threads`` Python threads share the chunks; ``blas_threads`` is the BLAS thread count per
    Python thread during a pass (None leaves BLAS as it is; the limit is process-wide while a pass
    runs). Use as a context manager or call :meth:`close`.
    """

    def __init__(self, X: np.ndarray, covariance_type: str, *, n_threads: int | None = None,
                 blas_threads: int | None = 1, chunk_rows: int | None = None):
        check_covariance_type(covariance_type)
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        self.n_samples, self.n_features = X.shape
        self.covariance_type = covariance_type
        # (d, n): each feature's values contiguous (reductions over the rows of this copy are ~20×
        # faster than over X's columns), centred so quadratic features keep precision, and in
        # column units — each column divided by a power of two near its spread (exact) — so that
        # every floor and threshold acts on each column in its own unit (see core.scaling).
        self.data_t, self.centre, self.scale, magnitude = scaled_columns(X)
        # Rounding noise of each column's values as a variance in column units (the M-step's floor).
        self.variance_floor = noise_variance(magnitude, self.scale)
        self.layout = PassLayout.of_column_units(covariance_type, self.data_t, self.centre, self.scale,
                                                 self.variance_floor)
        self.n_threads = n_threads or default_thread_count()
        self.blas_threads = blas_threads
        self._chunk_rows_request = chunk_rows
        self._buffers: dict[tuple[int, int], ChunkBuffers] = {}
        self._features: np.ndarray | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._held = False

    # ----------------------------------------------------------------- set-up and tear-down
    def chunk_rows(self, k: int) -> int:
        """Rows per chunk: a function of (d, K) only, so sums add up in the same order everywhere."""
        if self._chunk_rows_request:
            return int(self._chunk_rows_request)
        return self.layout.chunk_rows(k)

    def _chunks(self, k: int) -> list[tuple[int, int]]:
        rows = self.chunk_rows(k)
        return [(a, min(a + rows, self.n_samples)) for a in range(0, self.n_samples, rows)]

    def _buffers_for(self, worker: int, k: int) -> ChunkBuffers:
        key = (worker, k)
        buffers = self._buffers.get(key)
        if buffers is None:
            buffers = ChunkBuffers(self.chunk_rows(k), k)
            self._buffers[key] = buffers
        return buffers

    def _whole_features(self) -> np.ndarray:
        """The features (p, n) of data that fit in one chunk: made once, since they depend on the
        data alone (p·n floats, at most one chunk's worth: CHUNK_BYTES)."""
        if self._features is None:
            self._features = chunk_features(self.layout, self.data_t,
                                            np.empty((self.layout.n_basis, self.n_samples)))
        return self._features

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self._buffers.clear()
        self._features = None

    def __enter__(self) -> "MixtureEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _blas_limit(self):
        """Hold BLAS to ``blas_threads`` during a pass. (Letting a lone worker's BLAS use every core
        was measured: 1.3× faster at 1e4 × 10, K = 20, but 4× slower for many small 2-D fits.)"""
        if self.blas_threads is None or self._held:
            return contextlib.nullcontext()
        return _blas_controller().limit(limits=self.blas_threads, user_api="blas")

    @contextlib.contextmanager
    def blas_held(self):
        """Hold the BLAS limit of the passes from now until the block ends, instead of setting and
        restoring it around every pass: threadpoolctl's limit costs ~0.1 ms each time (it looks up
        the loaded libraries), as much as a whole pass over a few hundred rows (a fit's loop)."""
        if self.blas_threads is None or self._held:
            yield
            return
        with _blas_controller().limit(limits=self.blas_threads, user_api="blas"):
            self._held = True
            try:
                yield
            finally:
                self._held = False

    # ----------------------------------------------------------------- parameters → plan
    def plan(self, params) -> PassPlan:
        """Choose features or whitened products for θ and precompute what the chunks need."""
        return plan_pass(self.layout, params)

    def feature_weights(self, params) -> np.ndarray:
        """(K, p) weights w with z(x)·wₖ = log πₖ + log N(x | μₖ, Σₖ) for z = [1, x, xᵢxⱼ]."""
        weights = self.plan(params).weights
        if weights is None:
            raise ValueError("these parameters take the whitened route")
        return weights

    # ----------------------------------------------------------------- the pass
    def run_pass(self, params) -> PassResult:
        """One pass over the data under θ = ``params`` (see :class:`PassResult`)."""
        return self._run(params, resp_out=None)

    def responsibilities(self, params) -> tuple[np.ndarray, PassResult]:
        """rᵢₖ (n, K) under ``params``, and the pass's sums."""
        resp = np.empty((self.n_samples, params.n_components))
        return resp, self._run(params, resp_out=resp)

    def _run(self, params, resp_out: np.ndarray | None) -> PassResult:
        plan = self.plan(params)
        if self.n_samples <= self.chunk_rows(plan.k):
            # Data in one chunk (small data, a fit's loop of thousands of passes): no chunk list,
            # no pool, no adding up — the very same sums as the general path's one chunk.
            with self._lock, self._blas_limit():
                features = self._whole_features() if plan.uses_features else None
                total = chunk_sums(self.layout, plan, self.data_t, self._buffers_for(0, plan.k), resp_out,
                                   features)
            return finish_pass(self.layout, plan, params, total)
        chunks = list(enumerate(self._chunks(plan.k)))
        n_workers = max(1, min(self.n_threads, len(chunks)))
        with self._lock, self._blas_limit():
            if n_workers == 1:
                partials = self._work(0, chunks, plan, resp_out)
            else:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(max_workers=self.n_threads, thread_name_prefix="em-pass")
                futures = [self._executor.submit(self._work, w, chunks[w::n_workers], plan, resp_out)
                           for w in range(n_workers)]
                partials = [part for f in futures for part in f.result()]
        # Add the chunks' sums in chunk order: the same floating-point result on any thread count.
        partials.sort(key=lambda part: part[0])
        total = partials[0][1]
        for _, part in partials[1:]:
            total = add_block_sums(total, part)
        return finish_pass(self.layout, plan, params, total)

    def _work(self, worker: int, chunks, plan: PassPlan, resp_out):
        """Per chunk: (index, its BlockSums)."""
        buffers = self._buffers_for(worker, plan.k)
        return [(index, chunk_sums(self.layout, plan, self.data_t[:, a:b], buffers,
                                   None if resp_out is None else resp_out[a:b]))
                for index, (a, b) in chunks]
