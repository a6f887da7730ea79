"""One pass's mathematics per block of rows: pure functions that any driver runs and adds up.

A pass under θ reduces the data to K-sized sums (:class:`BlockSums`). Everything it needs to know
of the whole data set is fixed before the first pass and d-sized (:class:`PassLayout`: the centre,
the column scales, the extent); everything it needs of θ is K-sized (:class:`PassPlan`). So a
block's sums depend on its own rows, the layout and the plan only, and the sums of a pass are the
sum of its blocks' sums, in whatever fixed order a driver chooses. core.engine runs these over
threads on data in memory; emstudio.distributed runs the very same functions per block on a Dask
cluster. See core.engine's docstring for why the pass computes what it does the way it does.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from emstudio.core.mstep import LOG_2PI, SufficientStats
from emstudio.core.params import MixtureParams, check_covariance_type, storage_type
from emstudio.core.scaling import scaled_covariances, scaled_precision_cholesky

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
_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True, eq=False)
class PassLayout:
    """What a pass must know of the whole data set, all d-sized, fixed before the first pass.

    covariance_type: the model; n_samples: n; centre (d,) and scale (d,): column units
    u = (x − centre)/scale (core.scaling); variance_floor (d,): the rounding noise in column
    units; radius_sq: max ‖u‖² over the rows (bounded by the per-column extremes).

    Its derived properties are cached (cached_property: asked once per pass, they cost more than
    the arithmetic of a pass over a few hundred rows).
    """

    covariance_type: str
    n_samples: int
    centre: np.ndarray
    scale: np.ndarray
    variance_floor: np.ndarray
    radius_sq: float

    def __post_init__(self):
        check_covariance_type(self.covariance_type)

    @classmethod
    def of_column_units(cls, covariance_type: str, data_t: np.ndarray, centre: np.ndarray, scale: np.ndarray,
                        variance_floor: np.ndarray) -> "PassLayout":
        """The layout of data held in column units, transposed (d, n) (core.scaling.scaled_columns)."""
        n = data_t.shape[1]
        return cls(covariance_type, n, centre, scale, variance_floor,
                   radius_from_extremes(data_t.max(axis=1), data_t.min(axis=1)) if n else 0.0)

    @cached_property
    def n_features(self) -> int:
        return int(np.shape(self.centre)[0])

    @cached_property
    def quadratic(self) -> bool:
        """Whether the statistics hold whole matrices xxᵀ (full, tied) or their diagonals."""
        return storage_type(self.covariance_type) in ("full", "tied")

    @cached_property
    def features_allowed(self) -> bool:
        return (not self.quadratic) or self.n_features <= FEATURE_MAX_D

    @cached_property
    def n_basis(self) -> int:
        """Length p of the features z = [1, u, uᵢuⱼ]."""
        d = self.n_features
        return 1 + d + (d * (d + 1) // 2 if self.quadratic else d)

    @cached_property
    def log_scale_sum(self) -> float:
        return float(np.log(self.scale).sum())

    def chunk_rows(self, k: int) -> int:
        """Rows per chunk: a function of (d, K) only, so sums add up in the same order everywhere."""
        width = (self.n_basis if self.features_allowed else 2 * self.n_features) + 2 * k + 2
        return int(min(MAX_CHUNK_ROWS, max(MIN_CHUNK_ROWS, CHUNK_BYTES // (8 * width))))


def radius_from_extremes(top: np.ndarray, bottom: np.ndarray) -> float:
    """max ‖u‖² bounded from each column's largest and smallest value in column units (d,)."""
    extent = np.maximum(top, -bottom)
    with np.errstate(over="ignore", invalid="ignore"):  # inf/NaN data: checks reject it later
        return float((extent ** 2).sum())


@dataclass(frozen=True, eq=False)
class PassPlan:
    """How one pass computes log πₖ + log N: by features (weights (K, p)) or whitened per component."""

    k: int
    weights: np.ndarray | None = None
    means_c: np.ndarray | None = None      # (K, d) means relative to the data's centre, column units
    inv_chol: np.ndarray | None = None     # (K, d, d)
    constant: np.ndarray | None = None     # (K,) log πₖ − ½(d log 2π + log|Σₖ|)

    @property
    def uses_features(self) -> bool:
        return self.weights is not None


@dataclass(frozen=True, eq=False)
class BlockSums:
    """A block's part of a pass: sums (3,) = [Σ max log p, Σ log s, Σ r·(log p − max)]; stats
    ((p, K) with the features: Z·R; (1 + d, K) whitened: Nₖ and Σ r(u − μₖ)); sum_xx (K, d, d)
    Σ r(u − μₖ)(u − μₖ)ᵀ on the whitened route, else None. Add them with :func:`add_block_sums`."""

    sums: np.ndarray
    stats: np.ndarray
    sum_xx: np.ndarray | None


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


def add_block_sums(first: BlockSums, second: BlockSums) -> BlockSums:
    """first + second, elementwise (a new BlockSums)."""
    sum_xx = None if first.sum_xx is None else first.sum_xx + second.sum_xx
    return BlockSums(first.sums + second.sums, first.stats + second.stats, sum_xx)


def plan_pass(layout: PassLayout, params: MixtureParams) -> PassPlan:
    """Choose features or whitened products for θ and precompute what the chunks need."""
    if params.n_features != layout.n_features:
        raise ValueError(f"parameters have d={params.n_features}, the data d={layout.n_features}")
    if not layout.quadratic:
        return _plan_diagonal(layout, params)
    d = layout.n_features
    # Everything below is in column units: u = (x − c)/s, Σ/(s sᵀ); log N(x) = log N(u) − Σ log s.
    inv_chol, log_det = scaled_precision_cholesky(params.covariances, params.covariance_type, layout.scale,
                                                  params.n_components)
    means_c = (params.means - layout.centre) / layout.scale
    constant = np.log(params.weights) - 0.5 * (d * LOG_2PI + log_det) - layout.log_scale_sum
    # λmax(Pₖ) ≤ ‖Lₖ⁻¹‖_F²; the features cancel on scale max(‖x − c‖², ‖μₖ − c‖²) · λmax(Pₖ).
    reach = np.maximum(layout.radius_sq, (means_c ** 2).sum(axis=1))
    cancellation = _EPS * reach * (inv_chol ** 2).sum(axis=(1, 2))
    if layout.features_allowed and (cancellation <= FEATURE_MAX_CANCELLATION).all():
        precisions = np.swapaxes(inv_chol, 1, 2) @ inv_chol
        linear = np.einsum("kij,kj->ki", precisions, means_c)
        weights = np.empty((params.n_components, layout.n_basis))
        weights[:, 0] = constant - 0.5 * np.einsum("ki,ki->k", linear, means_c)
        weights[:, 1:1 + d] = linear
        pair_i, pair_j, factor = _pair_index(d, True)
        weights[:, 1 + d:] = precisions[:, pair_i, pair_j] * factor
        return PassPlan(params.n_components, weights=weights)
    return PassPlan(params.n_components, means_c=means_c, inv_chol=inv_chol, constant=constant)


def _plan_diagonal(layout: PassLayout, params: MixtureParams) -> PassPlan:
    """plan_pass for diag and spherical covariances, on their (K, d) variances: the same numbers as
    through (K, d, d) factors (their off-diagonal zeros add nothing), with no d × d arrays made
    unless the whitened route needs them (the batched d × d products cost more than the rest of a
    small pass's plan)."""
    k, d = params.n_components, layout.n_features
    variances = scaled_covariances(params.covariances, params.covariance_type, layout.scale)  # (K, d)
    inv_sd = 1.0 / np.sqrt(variances)
    log_det = np.log(variances).sum(axis=1)
    means_c = (params.means - layout.centre) / layout.scale
    constant = np.log(params.weights) - 0.5 * (d * LOG_2PI + log_det) - layout.log_scale_sum
    reach = np.maximum(layout.radius_sq, (means_c ** 2).sum(axis=1))
    precision = inv_sd * inv_sd  # Pₖ's diagonal, (K, d)
    cancellation = _EPS * reach * precision.sum(axis=1)
    if (cancellation <= FEATURE_MAX_CANCELLATION).all():
        linear = precision * means_c
        weights = np.empty((k, layout.n_basis))
        weights[:, 0] = constant - 0.5 * np.einsum("ki,ki->k", linear, means_c)
        weights[:, 1:1 + d] = linear
        weights[:, 1 + d:] = -0.5 * precision
        return PassPlan(k, weights=weights)
    inv_chol = np.zeros((k, d, d))
    inv_chol[:, np.arange(d), np.arange(d)] = inv_sd
    return PassPlan(k, means_c=means_c, inv_chol=inv_chol, constant=constant)


class ChunkBuffers:
    """One worker's reusable scratch arrays (flat, reshaped per chunk so they stay contiguous)."""

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


def chunk_features(layout: PassLayout, x_t: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The features z = [1, u, uᵢuⱼ] (p, m) of a chunk x_t (d, m), written into ``out`` (p, m)."""
    d = layout.n_features
    out[0] = 1.0
    out[1:1 + d] = x_t
    _quadratic_features(layout, x_t, out[1 + d:])
    return out


def chunk_sums(layout: PassLayout, plan: PassPlan, x_t: np.ndarray, buffers: ChunkBuffers,
               resp_out: np.ndarray | None = None, features: np.ndarray | None = None) -> BlockSums:
    """The sums of one chunk x_t (d, m) in column units, m ≤ buffers.rows; its responsibilities
    rᵢₖ are written to ``resp_out`` (m, K) when given. ``features``: the chunk's
    :func:`chunk_features` when a driver keeps them (they depend on the rows only)."""
    k = plan.k
    m = x_t.shape[1]
    log_prob = buffers.log_prob[: k * m].reshape(k, m)
    if plan.uses_features:
        z = features
        if z is None:
            p = layout.n_basis
            z = chunk_features(layout, x_t, buffers.scratch("features", p * buffers.rows)[: p * m].reshape(p, m))
        np.dot(plan.weights, z, out=log_prob)
    else:
        _whitened_log_prob(x_t, plan, buffers, log_prob)
    resp = buffers.resp[: k * m].reshape(k, m)
    row_max = buffers.row_max[:m]
    row_sum = buffers.row_sum[:m]
    # The ufuncs' reduce directly: np.max and np.sum are these same reductions behind a Python
    # wrapper that costs more than the arithmetic on a few hundred rows.
    np.maximum.reduce(log_prob, axis=0, out=row_max)
    log_prob -= row_max
    np.maximum(log_prob, EXP_CLIP, out=log_prob)
    np.exp(log_prob, out=resp)
    np.add.reduce(resp, axis=0, out=row_sum)
    np.divide(1.0, row_sum, out=row_sum)
    resp *= row_sum
    # row_sum now holds 1/s, so log s = −log(1/s).
    np.log(row_sum, out=row_sum)
    sums = np.array([np.add.reduce(row_max), -np.add.reduce(row_sum), np.vdot(resp, log_prob)])
    if resp_out is not None:
        resp_out[:] = resp.T
    if plan.uses_features:
        # np.dot, not matmul: measured to scale better over two Python threads.
        return BlockSums(sums, np.dot(z, resp.T), None)
    return BlockSums(sums, *_whitened_stats(x_t, plan, buffers, resp))


def block_sums(layout: PassLayout, plan: PassPlan, x_t: np.ndarray, resp_out: np.ndarray | None = None) -> BlockSums:
    """The sums of a block x_t (d, m) of any length: its chunks' sums added in chunk order (so a
    block of one chunk gives exactly that chunk's sums); its responsibilities written to
    ``resp_out`` (m, K) when given."""
    rows = layout.chunk_rows(plan.k)
    buffers = ChunkBuffers(min(rows, max(x_t.shape[1], 1)), plan.k)
    total = None
    for a in range(0, x_t.shape[1], rows):
        part = chunk_sums(layout, plan, x_t[:, a:a + rows], buffers,
                          None if resp_out is None else resp_out[a:a + rows])
        total = part if total is None else add_block_sums(total, part)
    if total is None:  # an empty block adds nothing
        d, k = layout.n_features, plan.k
        width = layout.n_basis if plan.uses_features else 1 + d
        return BlockSums(np.zeros(3), np.zeros((width, k)), None if plan.uses_features else np.zeros((k, d, d)))
    return total


@functools.lru_cache(maxsize=32)
def _pair_index(d: int, quadratic: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j) of the quadratic features uᵢuⱼ in their order — i ≤ j when ``quadratic`` (full, tied),
    i = j else — as index arrays, and each pair's factor in the features' weights (−½ Pᵢᵢ, −Pᵢⱼ):
    one fancy-indexing call per plan instead of a Python loop over d(d + 1)/2 pairs. Cached by d,
    not kept in the layout (a layout travels with every task of a cluster's pass)."""
    pairs = [(i, j) for i in range(d) for j in range(i, d)] if quadratic else [(i, i) for i in range(d)]
    pair_i = np.array([i for i, _ in pairs], dtype=np.intp)
    pair_j = np.array([j for _, j in pairs], dtype=np.intp)
    return pair_i, pair_j, np.where(pair_i == pair_j, -0.5, -1.0)


def _quadratic_features(layout: PassLayout, x_t: np.ndarray, out: np.ndarray) -> None:
    """Rows xᵢxⱼ (i ≤ j, in _pair_index's order) of the features, from x_t (d, m)."""
    if not layout.quadratic:
        np.square(x_t, out=out)
        return
    row = 0
    d = layout.n_features
    for i in range(d):
        width = d - i
        # One call per i: xᵢ times the rows xᵢ … x_d, all at once.
        np.multiply(x_t[i], x_t[i:], out=out[row:row + width])
        row += width


def _centred_on(x_t, plan: PassPlan, j: int, buffers: ChunkBuffers) -> np.ndarray:
    """x − μⱼ for the chunk, (d, m): subtracted before any product, so nothing cancels."""
    d, m = x_t.shape
    diff = buffers.scratch("diff", d * buffers.rows)[: d * m].reshape(d, m)
    np.subtract(x_t, plan.means_c[j][:, None], out=diff)
    return diff


def _whitened_log_prob(x_t, plan: PassPlan, buffers: ChunkBuffers, log_prob) -> None:
    """log πₖ + log N = constₖ − ½‖Lₖ⁻¹(x − μₖ)‖², one component at a time."""
    d, m = x_t.shape
    y = buffers.scratch("whitened", d * buffers.rows)[: d * m].reshape(d, m)
    for j in range(plan.k):
        np.matmul(plan.inv_chol[j], _centred_on(x_t, plan, j, buffers), out=y)
        np.square(y, out=y)
        np.sum(y, axis=0, out=log_prob[j])
    log_prob *= -0.5
    log_prob += plan.constant[:, None]


def _whitened_stats(x_t, plan: PassPlan, buffers: ChunkBuffers, resp):
    """Statistics measured from each component's own mean: (Nₖ + Σ r(x − μₖ) as (1 + d, K), Σ r(x−μₖ)(x−μₖ)ᵀ)."""
    d, m = x_t.shape
    stats = np.empty((1 + d, plan.k))
    sum_xx = np.empty((plan.k, d, d))
    weighted = buffers.scratch("whitened", d * buffers.rows)[: d * m].reshape(d, m)
    stats[0] = resp.sum(axis=1)
    for j in range(plan.k):
        diff = _centred_on(x_t, plan, j, buffers)
        stats[1:, j] = diff @ resp[j]
        np.multiply(diff, resp[j], out=weighted)
        sum_xx[j] = weighted @ diff.T
    return stats, sum_xx


def finish_pass(layout: PassLayout, plan: PassPlan, params: MixtureParams, total: BlockSums) -> PassResult:
    """The pass's result from the sum of all its blocks' sums (``params``: the θ of ``plan``)."""
    k, d = plan.k, layout.n_features
    sums, stats = total.sums, total.stats
    n_k = stats[0].copy()
    sum_x = stats[1:1 + d].T.copy()
    if plan.uses_features:
        origins = np.empty((k, d))
        origins[:] = layout.centre  # (broadcast_to(...).copy() costs ~10 µs, most of a small pass's finish)
        if layout.quadratic:
            sum_xx = np.empty((k, d, d))
            pair_i, pair_j, _ = _pair_index(d, True)
            sum_xx[:, pair_i, pair_j] = stats[1 + d:].T
            sum_xx[:, pair_j, pair_i] = stats[1 + d:].T
        else:
            sum_xx = stats[1 + d:].T.copy()
    else:
        origins = params.means.copy()
        sum_xx = 0.5 * (total.sum_xx + np.swapaxes(total.sum_xx, 1, 2))
        if not layout.quadratic:
            sum_xx = np.diagonal(sum_xx, axis1=1, axis2=2).copy()
    return PassResult(
        log_likelihood=float(sums[0] + sums[1]),
        entropy=float(sums[1] - sums[2]),
        expected_complete=float(sums[2] + sums[0]),
        sum_log_max_resp=float(-sums[1]),
        stats=SufficientStats(n_k, sum_x, sum_xx, origins, layout.n_samples, layout.variance_floor, layout.scale),
    )
