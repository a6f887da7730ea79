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
from dataclasses import dataclass

import numpy as np

from emstudio.core.mstep import LOG_2PI, SufficientStats
from emstudio.core.params import MixtureParams, check_covariance_type, storage_type
from emstudio.core.scaling import noise_variance, scaled_columns, scaled_precision_cholesky

FEATURE_MAX_D = 15
# The features lose about eps · λmax(Pₖ) · max‖x − c‖² of log N to cancellation; above this the
# pass takes the whitened route instead (1e-10 nats per sample at the threshold, so log L over n
# samples stays exact to ~1e-10 relative; typical data sits near 1e-14).
FEATURE_MAX_CANCELLATION = 1e-10
EXP_CLIP = -700.0
# Bytes of working arrays per chunk: a chunk's features, log-densities and responsibilities.
CHUNK_BYTES = 1 << 22
MAX_CHUNK_ROWS = 65536
MIN_CHUNK_ROWS = 1024


@dataclass(frozen=True, eq=False)
class PassResult:
    """What one pass over the data under θ yields (all scalars are sums over samples).

    log_likelihood: log L(θ); entropy: Ent(q) of q = p(z | x, θ); expected_complete: Q(θ | θ);
    sum_log_max_resp: Σᵢ log maxₖ rᵢₖ; stats: sufficient statistics of q.
    """

    log_likelihood: float
    entropy: float
    expected_complete: float
    sum_log_max_resp: float
    stats: SufficientStats


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


class _Buffers:
    """One worker thread's reusable scratch arrays (flat, reshaped per chunk so they stay contiguous)."""

    def __init__(self, rows: int, k: int):
        self.rows = rows
        self.log_prob = np.empty(k * rows)
        self.resp = np.empty(k * rows)
        self.row_max = np.empty(rows)
        self.row_sum = np.empty(rows)
        self._scratch: dict[str, np.ndarray] = {}

    def scratch(self, name: str, size: int) -> np.ndarray:
        """A flat array of at least ``size`` floats, made on first use (features or whitened data)."""
        array = self._scratch.get(name)
        if array is None or array.size < size:
            array = self._scratch[name] = np.empty(size)
        return array


@dataclass(frozen=True, eq=False)
class _Plan:
    """How one pass computes log πₖ + log N: by features (weights (K, p)) or whitened per component."""

    k: int
    weights: np.ndarray | None = None
    means_c: np.ndarray | None = None      # (K, d) means relative to the data's centre, column units
    inv_chol: np.ndarray | None = None     # (K, d, d)
    constant: np.ndarray | None = None     # (K,) log πₖ − ½(d log 2π + log|Σₖ|)

    @property
    def uses_features(self) -> bool:
        return self.weights is not None


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
        self.log_scale_sum = float(np.log(self.scale).sum())
        # Rounding noise of each column's values as a variance in column units (the M-step's floor).
        self.variance_floor = noise_variance(magnitude, self.scale)
        d = self.n_features
        # max ‖u − c‖² in column units (bounded by the per-column extremes).
        if self.n_samples:
            extent = np.maximum(self.data_t.max(axis=1), -self.data_t.min(axis=1))
            with np.errstate(over="ignore", invalid="ignore"):  # inf/NaN data: checks reject it later
                self.radius_sq = float((extent ** 2).sum())
        else:
            self.radius_sq = 0.0
        self.quadratic = storage_type(covariance_type) in ("full", "tied")
        self.features_allowed = (not self.quadratic) or d <= FEATURE_MAX_D
        if self.quadratic:
            self.pairs = [(i, j) for i in range(d) for j in range(i, d)]
        else:
            self.pairs = [(i, i) for i in range(d)]
        self.n_basis = 1 + d + len(self.pairs)
        # The pairs as index arrays, and each one's factor in the features' weights (−½ Pᵢᵢ, −Pᵢⱼ):
        # one fancy-indexing call per plan instead of a Python loop over d(d + 1)/2 pairs.
        self._pair_i = np.array([i for i, _ in self.pairs], dtype=np.intp)
        self._pair_j = np.array([j for _, j in self.pairs], dtype=np.intp)
        self._pair_factor = np.where(self._pair_i == self._pair_j, -0.5, -1.0)
        self.n_threads = n_threads or default_thread_count()
        self.blas_threads = blas_threads
        self._chunk_rows_request = chunk_rows
        self._buffers: dict[tuple[int, int], _Buffers] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._held = False

    # ----------------------------------------------------------------- set-up and tear-down
    def chunk_rows(self, k: int) -> int:
        """Rows per chunk: a function of (d, K) only, so sums add up in the same order everywhere."""
        if self._chunk_rows_request:
            return int(self._chunk_rows_request)
        width = (self.n_basis if self.features_allowed else 2 * self.n_features) + 2 * k + 2
        return int(min(MAX_CHUNK_ROWS, max(MIN_CHUNK_ROWS, CHUNK_BYTES // (8 * width))))

    def _chunks(self, k: int) -> list[tuple[int, int]]:
        rows = self.chunk_rows(k)
        return [(a, min(a + rows, self.n_samples)) for a in range(0, self.n_samples, rows)]

    def _buffers_for(self, worker: int, k: int) -> _Buffers:
        key = (worker, k)
        buffers = self._buffers.get(key)
        if buffers is None:
            buffers = _Buffers(self.chunk_rows(k), k)
            self._buffers[key] = buffers
        return buffers

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self._buffers.clear()

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
    def plan(self, params: MixtureParams) -> _Plan:
        """Choose features or whitened products for θ and precompute what the chunks need."""
        if params.n_features != self.n_features:
            raise ValueError(f"parameters have d={params.n_features}, the data d={self.n_features}")
        d = self.n_features
        # Everything below is in column units: u = (x − c)/s, Σ/(s sᵀ); log N(x) = log N(u) − Σ log s.
        inv_chol, log_det = scaled_precision_cholesky(params.covariances, params.covariance_type, self.scale,
                                                      params.n_components)
        means_c = (params.means - self.centre) / self.scale
        constant = np.log(params.weights) - 0.5 * (d * LOG_2PI + log_det) - self.log_scale_sum
        precisions = np.swapaxes(inv_chol, 1, 2) @ inv_chol
        # λmax(Pₖ) ≤ ‖Lₖ⁻¹‖_F²; the features cancel on scale max(‖x − c‖², ‖μₖ − c‖²) · λmax(Pₖ).
        reach = np.maximum(self.radius_sq, (means_c ** 2).sum(axis=1))
        cancellation = np.finfo(np.float64).eps * reach * (inv_chol ** 2).sum(axis=(1, 2))
        if self.features_allowed and np.all(cancellation <= FEATURE_MAX_CANCELLATION):
            linear = np.einsum("kij,kj->ki", precisions, means_c)
            weights = np.empty((params.n_components, self.n_basis))
            weights[:, 0] = constant - 0.5 * np.einsum("ki,ki->k", linear, means_c)
            weights[:, 1:1 + d] = linear
            weights[:, 1 + d:] = precisions[:, self._pair_i, self._pair_j] * self._pair_factor
            return _Plan(params.n_components, weights=weights)
        return _Plan(params.n_components, means_c=means_c, inv_chol=inv_chol, constant=constant)

    def feature_weights(self, params: MixtureParams) -> np.ndarray:
        """(K, p) weights w with z(x)·wₖ = log πₖ + log N(x | μₖ, Σₖ) for z = [1, x, xᵢxⱼ]."""
        weights = self.plan(params).weights
        if weights is None:
            raise ValueError("these parameters take the whitened route")
        return weights

    # ----------------------------------------------------------------- the pass
    def run_pass(self, params: MixtureParams) -> PassResult:
        """One pass over the data under θ = ``params`` (see :class:`PassResult`)."""
        return self._run(params, resp_out=None)

    def responsibilities(self, params: MixtureParams) -> tuple[np.ndarray, PassResult]:
        """rᵢₖ (n, K) under ``params``, and the pass's sums."""
        resp = np.empty((self.n_samples, params.n_components))
        return resp, self._run(params, resp_out=resp)

    def _run(self, params: MixtureParams, resp_out: np.ndarray | None) -> PassResult:
        plan = self.plan(params)
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
        return self._combine([part[1:] for part in partials], plan, params)

    def _work(self, worker: int, chunks, plan: _Plan, resp_out):
        """Per chunk: (index, sums (3,) = [Σ max log p, Σ log s, Σ r·(log p − max)], statistics)."""
        buffers = self._buffers_for(worker, plan.k)
        k, d = plan.k, self.n_features
        out = []
        for index, (a, b) in chunks:
            m = b - a
            x_t = self.data_t[:, a:b]
            log_prob = buffers.log_prob[: k * m].reshape(k, m)
            if plan.uses_features:
                z = buffers.scratch("features", self.n_basis * buffers.rows)[: self.n_basis * m].reshape(self.n_basis, m)
                z[0] = 1.0
                z[1:1 + d] = x_t
                self._quadratic_features(x_t, z[1 + d:])
                np.dot(plan.weights, z, out=log_prob)
            else:
                self._whitened_log_prob(x_t, plan, buffers, log_prob)
            resp = buffers.resp[: k * m].reshape(k, m)
            row_max = buffers.row_max[:m]
            row_sum = buffers.row_sum[:m]
            np.max(log_prob, axis=0, out=row_max)
            log_prob -= row_max
            np.maximum(log_prob, EXP_CLIP, out=log_prob)
            np.exp(log_prob, out=resp)
            np.sum(resp, axis=0, out=row_sum)
            np.divide(1.0, row_sum, out=row_sum)
            resp *= row_sum
            # row_sum now holds 1/s, so log s = −log(1/s).
            np.log(row_sum, out=row_sum)
            sums = np.array([row_max.sum(), -row_sum.sum(), np.vdot(resp, log_prob)])
            if plan.uses_features:
                # np.dot, not matmul: measured to scale better over two Python threads.
                out.append((index, sums, np.dot(z, resp.T), None))
            else:
                out.append((index, sums) + self._whitened_stats(x_t, plan, buffers, resp))
            if resp_out is not None:
                resp_out[a:b] = resp.T
        return out

    def _quadratic_features(self, x_t: np.ndarray, out: np.ndarray) -> None:
        """Rows xᵢxⱼ (i ≤ j, in ``self.pairs`` order) of the features, from x_t (d, m)."""
        if not self.quadratic:
            np.square(x_t, out=out)
            return
        row = 0
        for i in range(self.n_features):
            width = self.n_features - i
            # One call per i: xᵢ times the rows xᵢ … x_d, all at once.
            np.multiply(x_t[i], x_t[i:], out=out[row:row + width])
            row += width

    def _centred_on(self, x_t, plan: _Plan, j: int, buffers: _Buffers) -> np.ndarray:
        """x − μⱼ for the chunk, (d, m): subtracted before any product, so nothing cancels."""
        d, m = x_t.shape
        diff = buffers.scratch("diff", d * buffers.rows)[: d * m].reshape(d, m)
        np.subtract(x_t, plan.means_c[j][:, None], out=diff)
        return diff

    def _whitened_log_prob(self, x_t, plan: _Plan, buffers: _Buffers, log_prob) -> None:
        """log πₖ + log N = constₖ − ½‖Lₖ⁻¹(x − μₖ)‖², one component at a time."""
        d, m = x_t.shape
        y = buffers.scratch("whitened", d * buffers.rows)[: d * m].reshape(d, m)
        for j in range(plan.k):
            np.matmul(plan.inv_chol[j], self._centred_on(x_t, plan, j, buffers), out=y)
            np.square(y, out=y)
            np.sum(y, axis=0, out=log_prob[j])
        log_prob *= -0.5
        log_prob += plan.constant[:, None]

    def _whitened_stats(self, x_t, plan: _Plan, buffers: _Buffers, resp):
        """Statistics measured from each component's own mean: (Nₖ + Σ r(x − μₖ) as (1 + d, K), Σ r(x−μₖ)(x−μₖ)ᵀ)."""
        d, m = x_t.shape
        stats = np.empty((1 + d, plan.k))
        sum_xx = np.empty((plan.k, d, d))
        weighted = buffers.scratch("whitened", d * buffers.rows)[: d * m].reshape(d, m)
        stats[0] = resp.sum(axis=1)
        for j in range(plan.k):
            diff = self._centred_on(x_t, plan, j, buffers)
            stats[1:, j] = diff @ resp[j]
            np.multiply(diff, resp[j], out=weighted)
            sum_xx[j] = weighted @ diff.T
        return stats, sum_xx

    def _combine(self, partials, plan: _Plan, params: MixtureParams) -> PassResult:
        k, d = plan.k, self.n_features
        sums = np.zeros(3)
        stats = None
        sum_xx = None
        for chunk_sums, chunk_stats, chunk_xx in partials:
            sums += chunk_sums
            stats = chunk_stats.copy() if stats is None else stats + chunk_stats
            if chunk_xx is not None:
                sum_xx = chunk_xx.copy() if sum_xx is None else sum_xx + chunk_xx
        n_k = stats[0].copy()
        sum_x = stats[1:1 + d].T.copy()
        if plan.uses_features:
            origins = np.broadcast_to(self.centre, (k, d)).copy()
            if self.quadratic:
                sum_xx = np.empty((k, d, d))
                sum_xx[:, self._pair_i, self._pair_j] = stats[1 + d:].T
                sum_xx[:, self._pair_j, self._pair_i] = stats[1 + d:].T
            else:
                sum_xx = stats[1 + d:].T.copy()
        else:
            origins = params.means.copy()
            sum_xx = 0.5 * (sum_xx + np.swapaxes(sum_xx, 1, 2))
            if not self.quadratic:
                sum_xx = np.diagonal(sum_xx, axis1=1, axis2=2).copy()
        return PassResult(
            log_likelihood=float(sums[0] + sums[1]),
            entropy=float(sums[1] - sums[2]),
            expected_complete=float(sums[2] + sums[0]),
            sum_log_max_resp=float(-sums[1]),
            stats=SufficientStats(n_k, sum_x, sum_xx, origins, self.n_samples, self.variance_floor, self.scale),
        )
