"""The fast E-step: one fused pass over the data per EM iteration.

A pass takes parameters θ and returns, without keeping any n × K array, everything EM and the
bound view need: log L(θ), Ent(q) and Q(θ | θ) for q = p(z | x, θ), the sufficient statistics the
M-step turns into θₜ₊₁, and Σᵢ log maxₖ rᵢₖ for ICL.

How (each choice measured, see DESIGN.md and benchmarks/bench_fit.py):
- the data is centred once and stored transposed, (d, n), so every row operation is contiguous;
- for full and tied covariances up to ``FEATURE_MAX_D`` dimensions, the log-densities of all
  components are ONE matrix product: features z = [1, x, xᵢxⱼ (i ≤ j)] times a (p, K) weight matrix
  built from each component's precision; the statistics are one more product, Z·R. Diagonal and
  spherical models need only the squares. Above that d, per-component whitened products;
- rows go in chunks sized to stay in cache, split over Python threads with BLAS held to one thread
  each (OpenBLAS's own threads make these thin products slower);
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
from emstudio.core.params import MixtureParams, check_covariance_type

FEATURE_MAX_D = 15
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


def default_thread_count() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


class _Buffers:
    """One worker thread's reusable scratch arrays (flat, reshaped per chunk so they stay contiguous)."""

    def __init__(self, rows: int, n_features: int, k: int, d: int):
        self.features = np.empty(n_features * rows)
        self.log_prob = np.empty(k * rows)
        self.resp = np.empty(k * rows)
        self.row_max = np.empty(rows)
        self.row_sum = np.empty(rows)
        self.whitened = np.empty(d * rows)


class MixtureEngine:
    """Passes over fixed data X (n, d) for one covariance type.

    ``n_threads`` Python threads share the chunks; ``blas_threads`` is the BLAS thread count during a
    pass (None leaves BLAS as it is). Use as a context manager or call :meth:`close`.
    """

    def __init__(self, X: np.ndarray, covariance_type: str, *, n_threads: int | None = None,
                 blas_threads: int | None = 1, chunk_rows: int | None = None):
        check_covariance_type(covariance_type)
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        self.n_samples, self.n_features = X.shape
        self.covariance_type = covariance_type
        # (d, n): each feature's values contiguous, centred so quadratic features keep precision.
        # (Reductions over the rows of this copy are ~20× faster than over X's columns.)
        self.data_t = np.array(X.T, order="C", copy=True)  # never a view: it is centred in place
        self.centre = self.data_t.mean(axis=1)
        self.data_t -= self.centre[:, None]
        d = self.n_features
        self.quadratic = covariance_type in ("full", "tied")
        self.use_features = (not self.quadratic) or d <= FEATURE_MAX_D
        if self.quadratic:
            self.pairs = [(i, j) for i in range(d) for j in range(i, d)]
        else:
            self.pairs = [(i, i) for i in range(d)]
        self.n_basis = 1 + d + len(self.pairs)
        self.n_threads = n_threads or default_thread_count()
        self.blas_threads = blas_threads
        self._chunk_rows_request = chunk_rows
        self._buffers: dict[tuple[int, int], _Buffers] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._controller = None
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- set-up and tear-down
    def chunk_rows(self, k: int) -> int:
        if self._chunk_rows_request:
            return int(self._chunk_rows_request)
        width = (self.n_basis if self.use_features else 2 * self.n_features) + 2 * k + 2
        return int(min(MAX_CHUNK_ROWS, max(MIN_CHUNK_ROWS, CHUNK_BYTES // (8 * width))))

    def _chunks(self, k: int) -> list[tuple[int, int]]:
        rows = self.chunk_rows(k)
        return [(a, min(a + rows, self.n_samples)) for a in range(0, self.n_samples, rows)]

    def _buffers_for(self, worker: int, k: int) -> _Buffers:
        key = (worker, k)
        buffers = self._buffers.get(key)
        if buffers is None:
            buffers = _Buffers(self.chunk_rows(k), self.n_basis, k, self.n_features)
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

    def _blas_limit(self, n_workers: int):
        """Hold BLAS to ``blas_threads`` per Python worker; a lone worker may use every core."""
        if self.blas_threads is None:
            return contextlib.nullcontext()
        limit = self.blas_threads if n_workers > 1 else max(self.blas_threads, self.n_threads)
        if self._controller is None:
            from threadpoolctl import ThreadpoolController
            self._controller = ThreadpoolController()
        return self._controller.limit(limits=limit, user_api="blas")

    # ----------------------------------------------------------------- parameters → weights
    def _component_terms(self, params: MixtureParams):
        """Centred means (K, d), inverse Cholesky factors (K, d, d) and log πₖ − ½(d log 2π + log|Σₖ|)."""
        if params.n_features != self.n_features:
            raise ValueError(f"parameters have d={params.n_features}, the data d={self.n_features}")
        d = self.n_features
        means_c = params.means - self.centre
        cov_type = params.covariance_type
        if cov_type in ("diag", "spherical"):
            variances = params.covariances if cov_type == "diag" else np.repeat(params.covariances[:, None], d, 1)
            inv_chol = None
            log_det = np.log(variances).sum(axis=1)
            precision_diag = 1.0 / variances
        else:
            chol = np.linalg.cholesky(params.full_covariances())
            inv_chol = np.linalg.inv(chol)
            log_det = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
            precision_diag = None
        constant = np.log(params.weights) - 0.5 * (d * LOG_2PI + log_det)
        return means_c, inv_chol, precision_diag, constant

    def feature_weights(self, params: MixtureParams) -> np.ndarray:
        """(K, p) weights w with z(x)·wₖ = log πₖ + log N(x | μₖ, Σₖ) for z = [1, x, xᵢxⱼ]."""
        means_c, inv_chol, precision_diag, constant = self._component_terms(params)
        k, d = means_c.shape
        if inv_chol is None:
            precisions = precision_diag[:, :, None] * np.eye(d)[None]
        else:
            precisions = np.swapaxes(inv_chol, 1, 2) @ inv_chol
        linear = np.einsum("kij,kj->ki", precisions, means_c)
        weights = np.empty((k, self.n_basis))
        weights[:, 0] = constant - 0.5 * np.einsum("ki,ki->k", linear, means_c)
        weights[:, 1:1 + d] = linear
        for column, (i, j) in enumerate(self.pairs, start=1 + d):
            weights[:, column] = -0.5 * precisions[:, i, i] if i == j else -precisions[:, i, j]
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
        k = params.n_components
        if self.use_features:
            weights = self.feature_weights(params)
            component = None
        else:
            weights = None
            component = self._component_terms(params)
        chunks = self._chunks(k)
        n_workers = max(1, min(self.n_threads, len(chunks)))
        with self._lock, self._blas_limit(n_workers):
            if n_workers == 1:
                partials = [self._work(0, chunks, k, weights, component, resp_out)]
            else:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(max_workers=self.n_threads, thread_name_prefix="em-pass")
                futures = [
                    self._executor.submit(self._work, w, chunks[w::n_workers], k, weights, component, resp_out)
                    for w in range(n_workers)
                ]
                partials = [f.result() for f in futures]
        return self._combine(partials, k)

    def _work(self, worker, chunks, k, weights, component, resp_out):
        """Sums over ``chunks``: (sums (3,), statistics (p, K) or (1 + d, K), Σ r x xᵀ (K, d, d) or None)."""
        buffers = self._buffers_for(worker, k)
        sums = np.zeros(3)  # Σ max log p, Σ log s, Σ r·(log p − max)
        d = self.n_features
        if self.use_features:
            stats = np.zeros((self.n_basis, k))
            sum_xx = None
        else:
            stats = np.zeros((1 + d, k))
            sum_xx = np.zeros((k, d, d))
        for a, b in chunks:
            m = b - a
            x_t = self.data_t[:, a:b]
            log_prob = buffers.log_prob[: k * m].reshape(k, m)
            if self.use_features:
                z = buffers.features[: self.n_basis * m].reshape(self.n_basis, m)
                z[0] = 1.0
                z[1:1 + d] = x_t
                self._quadratic_features(x_t, z[1 + d:])
                np.dot(weights, z, out=log_prob)
            else:
                self._whitened_log_prob(x_t, component, buffers, log_prob)
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
            sums[0] += row_max.sum()
            sums[1] -= row_sum.sum()
            sums[2] += np.vdot(resp, log_prob)
            if self.use_features:
                # np.dot, not matmul: measured to scale better over two Python threads.
                stats += np.dot(z, resp.T)
            else:
                stats[0] += resp.sum(axis=1)
                stats[1:] += x_t @ resp.T
                for j in range(k):
                    np.multiply(x_t, resp[j], out=buffers.whitened[: d * m].reshape(d, m))
                    sum_xx[j] += buffers.whitened[: d * m].reshape(d, m) @ x_t.T
            if resp_out is not None:
                resp_out[a:b] = resp.T
        return sums, stats, sum_xx

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

    def _whitened_log_prob(self, x_t, component, buffers, log_prob) -> None:
        """log πₖ + log N for d > FEATURE_MAX_D: per-component |Lₖ⁻¹(x − μₖ)|² products."""
        means_c, inv_chol, _, constant = component
        d, m = x_t.shape
        y = buffers.whitened[: d * m].reshape(d, m)
        for j in range(means_c.shape[0]):
            np.matmul(inv_chol[j], x_t, out=y)
            y -= (inv_chol[j] @ means_c[j])[:, None]
            np.square(y, out=y)
            np.sum(y, axis=0, out=log_prob[j])
        log_prob *= -0.5
        log_prob += constant[:, None]

    def _combine(self, partials, k: int) -> PassResult:
        d = self.n_features
        sums = sum(p[0] for p in partials)
        stats = sum(p[1] for p in partials)
        n_k = stats[0].copy()
        sum_x = stats[1:1 + d].T.copy()
        if self.use_features:
            if self.quadratic:
                sum_xx = np.empty((k, d, d))
                for row, (i, j) in enumerate(self.pairs, start=1 + d):
                    sum_xx[:, i, j] = stats[row]
                    sum_xx[:, j, i] = stats[row]
            else:
                sum_xx = stats[1 + d:].T.copy()
        else:
            sum_xx = sum(p[2] for p in partials)
            sum_xx = 0.5 * (sum_xx + np.swapaxes(sum_xx, 1, 2))
        log_likelihood = sums[0] + sums[1]
        expected_complete = sums[2] + sums[0]
        return PassResult(
            log_likelihood=float(log_likelihood),
            entropy=float(sums[1] - sums[2]),
            expected_complete=float(expected_complete),
            sum_log_max_resp=float(-sums[1]),
            stats=SufficientStats(n_k, sum_x, sum_xx, self.centre, self.n_samples),
        )

