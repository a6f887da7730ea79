"""Factor analysis and mixtures of factor analysers by EM (the second seed's other example).

Model (Ghahramani & Hinton 1996): component k has πₖ, μₖ, a loading matrix Λₖ (d, q) and a
diagonal Ψₖ (shared by all components, or one per component); x | k ~ N(μₖ, ΛₖΛₖᵀ + Ψₖ) with
the continuous latent z ~ N(0, I_q), x = μₖ + Λₖz + ε. Factor analysis is K = 1.

E-step: rᵢₖ as for any Gaussian mixture, and q(zᵢ | k) = N(mᵢₖ, Vₖ) with
Vₖ = (I + ΛₖᵀΨₖ⁻¹Λₖ)⁻¹ and mᵢₖ = βₖ(xᵢ − μₖ), βₖ = VₖΛₖᵀΨₖ⁻¹.
M-step: [Λₖ μₖ] jointly from the augmented latent z̃ = [z; 1], then Ψ from the residual.
Every quantity the M-step and the bound need is a function of the weighted moments of the data
about the old means (Nₖ, Σᵢ rᵢₖ yᵢ, Σᵢ rᵢₖ yᵢyᵢᵀ with yᵢ = xᵢ − μₖ), so for K = 1 an iteration
costs O(d³) whatever n is.

Bound (the same bookkeeping as the mixture, with integrals over z):
F(q, θ) = Q(θ | q) + Ent(q), Q = Σᵢₖ rᵢₖ E_q(z|k)[log πₖ + log N(xᵢ | μₖ + Λₖz, Ψₖ) + log N(z | 0, I)],
Ent(q) = −Σ rᵢₖ log rᵢₖ + Σₖ Nₖ · ½ log|2πe Vₖ|, and log L(θ) = F(q, θ) + KL(q ‖ p(k, z | x, θ)).

The model, its one pass over the data, its M-step and its EM loop; starts, settings and the
whole fit are in core.factor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from emstudio.core.estep import BoundTerms
from emstudio.core.iterations import Snapshot
from emstudio.core.mstep import LOG_2PI
from emstudio.errors import FitError, ParameterError

# Ψⱼ never falls below this fraction of column j's variance (EM would otherwise drive a Heywood
# variable's uniqueness to 0 and its log-density to +inf).
PSI_FLOOR = 1e-6
_ROW_CHUNK = 32768


@dataclass(frozen=True, eq=False)
class FactorParams:
    """θ of a mixture of K factor analysers with q factors in d dimensions (read-only arrays).

    weights (K,); means (K, d); loadings (K, d, q); psi (K, d) — with ``psi_shared`` every row is
    the same Ψ. Factor analysis is K = 1.
    """

    weights: np.ndarray
    means: np.ndarray
    loadings: np.ndarray
    psi: np.ndarray
    psi_shared: bool = True

    def __post_init__(self) -> None:
        for name in ("weights", "means", "loadings", "psi"):
            array = np.array(getattr(self, name), dtype=np.float64, copy=True)
            array.setflags(write=False)
            object.__setattr__(self, name, array)
        k = self.weights.shape[0] if self.weights.ndim == 1 else -1
        if k < 1 or self.means.ndim != 2 or self.means.shape[0] != k:
            raise ParameterError("a factor model needs K weights and K means")
        d = self.means.shape[1]
        if self.loadings.ndim != 3 or self.loadings.shape[:2] != (k, d):
            raise ParameterError(f"loadings must be K × d × q = {k} × {d} × q, got shape {self.loadings.shape}")
        if self.psi.shape != (k, d):
            raise ParameterError(f"psi must be K × d = {k} × {d}, got shape {self.psi.shape}")
        for name in ("weights", "means", "loadings", "psi"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise ParameterError(f"the factor model's {name} are not all finite")
        if np.any(self.psi <= 0):
            raise ParameterError("every uniqueness Ψⱼ must be positive")
        if np.any(self.weights < 0) or abs(self.weights.sum() - 1.0) > 1e-6:
            raise ParameterError("the weights must be non-negative and sum to 1")
        if self.psi_shared and k > 1 and not np.allclose(self.psi, self.psi[:1], rtol=1e-12, atol=0):
            raise ParameterError("a shared Ψ must be the same for every component")

    @property
    def n_components(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.means.shape[1])

    @property
    def n_factors(self) -> int:
        return int(self.loadings.shape[2])

    @property
    def covariance_type(self) -> str:
        """What the views read: every component's covariance ΛΛᵀ + Ψ is a full d × d matrix."""
        return "full"

    @property
    def covariances(self) -> np.ndarray:
        """ΛₖΛₖᵀ + Ψₖ (K, d, d): the marginal covariance of x under each component."""
        cov = np.einsum("kiq,kjq->kij", self.loadings, self.loadings)
        idx = np.arange(self.n_features)
        cov[:, idx, idx] += self.psi
        return cov

    def communalities(self) -> np.ndarray:
        """(K, d): the variance of each column explained by the factors, Σ_q Λⱼq²."""
        return np.einsum("kjq,kjq->kj", self.loadings, self.loadings)

    def to_mixture(self):
        """The same distribution as a full-covariance Gaussian mixture (for views and predictions)."""
        from emstudio.core.params import MixtureParams

        return MixtureParams(self.weights, self.means, self.covariances, "full")


def n_free_parameters(k: int, d: int, q: int, psi_shared: bool) -> int:
    """Free parameters of K factor analysers: Λ counts d q − q(q − 1)/2 (rotation is not identified)."""
    loadings = d * q - q * (q - 1) // 2
    psi = d if psi_shared else k * d
    return k * (loadings + d) + psi + (k - 1)


@dataclass(frozen=True)
class _Posterior:
    """q(z | k)'s parts for θ: V (K, q, q), β (K, q, d), M = V⁻¹ (K, q, q), log|Cₖ| (K,)."""

    v: np.ndarray
    beta: np.ndarray
    m_matrix: np.ndarray
    log_det_cov: np.ndarray
    log_det_v: np.ndarray


def posterior_parts(params: FactorParams) -> _Posterior:
    """Vₖ = (I + ΛₖᵀΨₖ⁻¹Λₖ)⁻¹, βₖ = VₖΛₖᵀΨₖ⁻¹ and log|ΛₖΛₖᵀ + Ψₖ| = log|Ψₖ| + log|I + ΛₖᵀΨₖ⁻¹Λₖ|."""
    k, d, q = params.loadings.shape
    scaled = params.loadings / params.psi[:, :, None]            # Ψ⁻¹Λ (K, d, q)
    m_matrix = np.eye(q)[None] + np.einsum("kdq,kdr->kqr", params.loadings, scaled)
    chol = np.linalg.cholesky(m_matrix) if q else m_matrix
    log_det_m = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1) if q else np.zeros(k)
    v = np.linalg.inv(m_matrix) if q else m_matrix
    v = 0.5 * (v + np.swapaxes(v, 1, 2))
    beta = np.einsum("kqr,kdr->kqd", v, scaled)
    log_det_cov = np.log(params.psi).sum(axis=1) + log_det_m
    return _Posterior(v, beta, m_matrix, log_det_cov, -log_det_m)


@dataclass(frozen=True, eq=False)
class FactorStats:
    """What one pass over the data under θ yields (sums over samples; components about θ's means).

    n_k (K,), first (K, d) = Σᵢ rᵢₖ yᵢₖ, second (K, d, d) = Σᵢ rᵢₖ yᵢₖyᵢₖᵀ with yᵢₖ = xᵢ − μₖ;
    log_likelihood: log L(θ); assignment_entropy: −Σ rᵢₖ log rᵢₖ; sum_log_max_resp: Σᵢ log maxₖ rᵢₖ.
    ``centres`` are θ's means, ``posterior`` θ's q(z | k).
    """

    n_k: np.ndarray
    first: np.ndarray
    second: np.ndarray
    log_likelihood: float
    assignment_entropy: float
    sum_log_max_resp: float
    centres: np.ndarray
    posterior: _Posterior
    n_samples: int

    def entropy(self) -> float:
        """Ent(q) = −Σ r log r + Σₖ Nₖ ½ log|2πe Vₖ|."""
        q = self.posterior.v.shape[1]
        gaussian = 0.5 * (q * (LOG_2PI + 1.0) + self.posterior.log_det_v)
        return float(self.assignment_entropy + np.dot(self.n_k, gaussian))


class FactorData:
    """Fixed data X (n, d) for factor passes; K = 1 passes use the data's moments only."""

    def __init__(self, X: np.ndarray):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        self.X = X
        self.n, self.d = X.shape
        self.mean = X.mean(axis=0)
        centred = X - self.mean
        self.scatter = centred.T @ centred                    # Σᵢ (xᵢ − x̄)(xᵢ − x̄)ᵀ (d, d)

    def run_pass(self, params: FactorParams) -> FactorStats:
        """The E-step under θ: log L(θ), q = p(k, z | x, θ) and the moments the M-step needs."""
        post = posterior_parts(params)
        if params.n_components == 1:
            return self._single_pass(params, post)
        return self._mixture_pass(params, post)

    def _single_pass(self, params: FactorParams, post: _Posterior) -> FactorStats:
        return single_pass(self.n, self.mean, self.scatter, params, post)

    def _mixture_pass(self, params: FactorParams, post: _Posterior) -> FactorStats:
        return FactorStats(*mixture_sums(self.X, params, post), params.means.copy(), post, self.n)


def single_pass(n: int, mean: np.ndarray, scatter: np.ndarray, params: FactorParams, post: _Posterior) -> FactorStats:
    """The pass of factor analysis (K = 1) from the data's n rows, mean (d,) and scatter about it
    Σᵢ (xᵢ − x̄)(xᵢ − x̄)ᵀ (d, d): all it needs of the data (found in memory or block by block)."""
    d = mean.shape[0]
    shift = mean - params.means[0]
    first = n * shift
    second = scatter + n * np.outer(shift, shift)
    # tr(C⁻¹ S) with C⁻¹ = Ψ⁻¹ − Ψ⁻¹Λ V ΛᵀΨ⁻¹ (Woodbury): d × d work only.
    psi_inv = 1.0 / params.psi[0]
    scaled = params.loadings[0] * psi_inv[:, None]
    trace = float(psi_inv @ np.diagonal(second)) - float(np.sum((scaled.T @ second @ scaled) * post.v[0]))
    log_l = -0.5 * (n * (d * LOG_2PI + post.log_det_cov[0]) + trace)
    return FactorStats(np.array([float(n)]), first[None], second[None], log_l, 0.0, 0.0,
                       params.means.copy(), post, n)


def mixture_sums(X: np.ndarray, params: FactorParams, post: _Posterior) -> tuple:
    """The sums a mixture's pass adds over the rows of X (m, d), chunk by chunk: (n_k (K,),
    first (K, d), second (K, d, d), log L, −Σ r log r, Σ log max r) (see FactorStats). Rows of
    several blocks add up to the pass over all of them (a cluster's blocks, added in block order)."""
    k, d = params.n_components, X.shape[1]
    n_k, first, second = np.zeros(k), np.zeros((k, d)), np.zeros((k, d, d))
    log_l = entropy = max_resp = 0.0
    log_w = np.log(np.maximum(params.weights, 1e-300))
    for a in range(0, X.shape[0], _ROW_CHUNK):
        block = X[a:a + _ROW_CHUNK]
        log_p = np.empty((block.shape[0], k))
        for j in range(k):
            y = block - params.means[j]
            m = y @ post.beta[j].T                                     # (rows, q)
            maha = (y * y) @ (1.0 / params.psi[j]) - np.einsum("iq,qr,ir->i", m, post.m_matrix[j], m)
            log_p[:, j] = log_w[j] - 0.5 * (d * LOG_2PI + post.log_det_cov[j] + maha)
        top = log_p.max(axis=1)
        norm = top + np.log(np.exp(log_p - top[:, None]).sum(axis=1))
        log_r = log_p - norm[:, None]
        resp = np.exp(log_r)
        log_l += float(norm.sum())
        entropy -= float(np.sum(np.where(resp > 0, resp * log_r, 0.0)))
        max_resp += float(log_r.max(axis=1).sum())
        n_k += resp.sum(axis=0)
        for j in range(k):
            y = block - params.means[j]
            weighted = y * resp[:, j:j + 1]
            first[j] += weighted.sum(axis=0)
            second[j] += weighted.T @ y
    return n_k, first, second, log_l, entropy, max_resp


def _augmented(stats: FactorStats, j: int) -> tuple[np.ndarray, np.ndarray]:
    """G = Σᵢ rᵢⱼ E[z̃] yᵀ ((q+1), d) and H = Σᵢ rᵢⱼ E[z̃z̃ᵀ] ((q+1), (q+1)) for z̃ = [z; 1].

    Cached on the stats: the M-step and both half-steps' Q read the same pair.
    """
    cache = stats.__dict__.setdefault("_augmented_cache", {})
    if j in cache:
        return cache[j]
    beta, v = stats.posterior.beta[j], stats.posterior.v[j]
    s1, s2, n = stats.first[j], stats.second[j], stats.n_k[j]
    q = v.shape[0]
    g = np.empty((q + 1, s1.shape[0]))
    g[:q] = beta @ s2
    g[q] = s1
    h = np.empty((q + 1, q + 1))
    h_zz = n * v + g[:q] @ beta.T
    h[:q, :q] = 0.5 * (h_zz + h_zz.T)
    h[:q, q] = h[q, :q] = beta @ s1
    h[q, q] = n
    cache[j] = (g, h)
    return g, h


def m_step(stats: FactorStats, psi_shared: bool, psi_floor: np.ndarray | float = PSI_FLOOR) -> FactorParams:
    """θ = argmax Q(θ | q): [Λₖ μₖ] by the augmented-latent normal equations, then Ψ from the residual.

    ``psi_floor`` (d,) or scalar: the smallest Ψⱼ allowed (see :data:`PSI_FLOOR`). A component with
    (almost) no responsibility keeps its loadings and mean.
    """
    k, d = stats.first.shape
    q = stats.posterior.v.shape[1]
    n = float(stats.n_samples)
    loadings = np.empty((k, d, q))
    means = np.empty((k, d))
    residual = np.empty((k, d))
    for j in range(k):
        g, h = _augmented(stats, j)
        try:
            w = np.linalg.solve(h, g).T                             # W = Gᵀ H⁻¹ (d, q+1)
        except np.linalg.LinAlgError:
            w = np.linalg.lstsq(h, g, rcond=None)[0].T
        loadings[j] = w[:, :q]
        means[j] = stats.centres[j] + w[:, q]
        # diag(Σ rᵢ yᵢyᵢᵀ − W Σ rᵢ E[z̃] yᵢᵀ): the expected squared residual of each column.
        residual[j] = np.diagonal(stats.second[j]) - np.einsum("dq,qd->d", w, g)
    weights = stats.n_k / n
    floor = np.broadcast_to(np.asarray(psi_floor, dtype=np.float64), (d,))
    if psi_shared:
        psi = np.broadcast_to(np.maximum(residual.sum(axis=0) / n, floor), (k, d))
    else:
        safe = np.maximum(stats.n_k, 1e-300)[:, None]
        psi = np.maximum(residual / safe, floor[None])
    weights = np.maximum(weights, 0.0)
    return FactorParams(weights / weights.sum(), means, loadings, psi, psi_shared)


def expected_complete(stats: FactorStats, params: FactorParams) -> float:
    """Q(θ | q) for q made by the pass ``stats`` (its θ's posterior) and any θ = ``params``."""
    k, d = stats.first.shape
    q = stats.posterior.v.shape[1]
    total = 0.0
    for j in range(k):
        n = stats.n_k[j]
        if n <= 0:
            continue
        g, h = _augmented(stats, j)
        w = np.hstack([params.loadings[j], (params.means[j] - stats.centres[j])[:, None]])
        psi_inv = 1.0 / params.psi[j]
        quad = (float(psi_inv @ np.diagonal(stats.second[j]))
                - 2.0 * float(np.einsum("d,dq,qd->", psi_inv, w, g))
                + float(np.einsum("d,dq,qr,dr->", psi_inv, w, h, w)))
        zz = float(np.trace(h[:q, :q]))
        total += (n * np.log(max(params.weights[j], 1e-300))
                  - 0.5 * (n * (d * LOG_2PI + np.log(params.psi[j]).sum()) + quad)
                  - 0.5 * (n * q * LOG_2PI + zz))
    return float(total)


def checked_pass(stats: FactorStats) -> FactorStats:
    """The pass, or a FitError when its log L overflowed (the data's scale is beyond float64)."""
    if not np.isfinite(stats.log_likelihood):
        raise FitError("the factor model's log-likelihood is not finite: the data's scale overflows float64")
    return stats


def iterate_factor_em(data: FactorData, params: FactorParams, *, max_iter: int, tol: float,
                      psi_floor: np.ndarray | float = PSI_FLOOR) -> Iterator[Snapshot]:
    """Snapshot 0 (the start), then one per EM iteration, with both half-steps' bound terms.

    Stops after ``max_iter`` iterations or once the mean per-sample log L rose by less than ``tol``.
    """
    current = checked_pass(data.run_pass(params))
    yield Snapshot(0, params, current.log_likelihood, data.n, current.n_k, current.sum_log_max_resp)
    for iteration in range(1, max_iter + 1):
        new = m_step(current, params.psi_shared, psi_floor)
        entropy = current.entropy()
        after_e = BoundTerms(current.log_likelihood, expected_complete(current, params), entropy)
        following = checked_pass(data.run_pass(new))
        after_m = BoundTerms(following.log_likelihood, expected_complete(current, new), entropy)
        change = (following.log_likelihood - current.log_likelihood) / data.n
        converged = tol > 0 and change < tol
        yield Snapshot(iteration, new, following.log_likelihood, data.n, following.n_k,
                             following.sum_log_max_resp, after_e, after_m, converged)
        if converged:
            return
        params, current = new, following
