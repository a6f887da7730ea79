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

Units: factor models are equivariant to rescaling columns (Ψ is diagonal), so :func:`fit_factor`
works on the data divided by each column's standard deviation and returns parameters in the
data's units; the floor on Ψ is then relative to each column's variance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from emstudio.core.estep import BoundTerms
from emstudio.core.mstep import LOG_2PI
from emstudio.errors import FitError, ParameterError

# Ψⱼ never falls below this fraction of column j's variance (EM would otherwise drive a Heywood
# variable's uniqueness to 0 and its log-density to +inf).
PSI_FLOOR = 1e-6
# A uniqueness below this fraction of the column's variance is reported as a Heywood case
# (R's factanal bounds uniquenesses at 0.005 in correlation units for the same reason).
HEYWOOD_LIMIT = 0.005
FACTOR_STARTS = ("pca", "random", "kmeans")
PSI_CHOICES = ("shared", "per-component")
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
        shift = self.mean - params.means[0]
        first = self.n * shift
        second = self.scatter + self.n * np.outer(shift, shift)
        # tr(C⁻¹ S) with C⁻¹ = Ψ⁻¹ − Ψ⁻¹Λ V ΛᵀΨ⁻¹ (Woodbury): d × d work only.
        psi_inv = 1.0 / params.psi[0]
        scaled = params.loadings[0] * psi_inv[:, None]
        trace = float(psi_inv @ np.diagonal(second)) - float(np.sum((scaled.T @ second @ scaled) * post.v[0]))
        log_l = -0.5 * (self.n * (self.d * LOG_2PI + post.log_det_cov[0]) + trace)
        return FactorStats(np.array([float(self.n)]), first[None], second[None], log_l, 0.0, 0.0,
                           params.means.copy(), post, self.n)

    def _mixture_pass(self, params: FactorParams, post: _Posterior) -> FactorStats:
        k, d = params.n_components, self.d
        n_k, first, second = np.zeros(k), np.zeros((k, d)), np.zeros((k, d, d))
        log_l = entropy = max_resp = 0.0
        log_w = np.log(np.maximum(params.weights, 1e-300))
        for a in range(0, self.n, _ROW_CHUNK):
            block = self.X[a:a + _ROW_CHUNK]
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
        return FactorStats(n_k, first, second, log_l, entropy, max_resp, params.means.copy(), post, self.n)


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


@dataclass(frozen=True, eq=False)
class FactorSnapshot:
    """The state after iteration ``iteration`` (0 is the start); the same fields as em.Snapshot."""

    iteration: int
    params: FactorParams
    log_likelihood: float
    n_samples: int
    component_sizes: np.ndarray
    sum_log_max_resp: float
    after_e: BoundTerms | None = None
    after_m: BoundTerms | None = None
    converged: bool = False

    @property
    def mean_log_likelihood(self) -> float:
        return self.log_likelihood / self.n_samples


def _checked(stats: FactorStats) -> FactorStats:
    if not np.isfinite(stats.log_likelihood):
        raise FitError("the factor model's log-likelihood is not finite: the data's scale overflows float64")
    return stats


def iterate_factor_em(data: FactorData, params: FactorParams, *, max_iter: int, tol: float,
                      psi_floor: np.ndarray | float = PSI_FLOOR) -> Iterator[FactorSnapshot]:
    """Snapshot 0 (the start), then one per EM iteration, with both half-steps' bound terms.

    Stops after ``max_iter`` iterations or once the mean per-sample log L rose by less than ``tol``.
    """
    current = _checked(data.run_pass(params))
    yield FactorSnapshot(0, params, current.log_likelihood, data.n, current.n_k, current.sum_log_max_resp)
    for iteration in range(1, max_iter + 1):
        new = m_step(current, params.psi_shared, psi_floor)
        entropy = current.entropy()
        after_e = BoundTerms(current.log_likelihood, expected_complete(current, params), entropy)
        following = _checked(data.run_pass(new))
        after_m = BoundTerms(following.log_likelihood, expected_complete(current, new), entropy)
        change = (following.log_likelihood - current.log_likelihood) / data.n
        converged = tol > 0 and change < tol
        yield FactorSnapshot(iteration, new, following.log_likelihood, data.n, following.n_k,
                             following.sum_log_max_resp, after_e, after_m, converged)
        if converged:
            return
        params, current = new, following


# --------------------------------------------------------------------------------------- starts

def _pca_loadings(cov: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
    """Λ (d, q) and Ψ (d,) from the principal components of ``cov`` (probabilistic PCA's solution)."""
    d = cov.shape[0]
    values, vectors = np.linalg.eigh(0.5 * (cov + cov.T))
    values, vectors = values[::-1], vectors[:, ::-1]
    rest = values[q:].mean() if q < d else 0.0
    loadings = vectors[:, :q] * np.sqrt(np.maximum(values[:q] - rest, 0.0))[None, :]
    diag = np.diagonal(cov)
    psi = np.maximum(diag - (loadings ** 2).sum(axis=1), 0.1 * np.maximum(diag, 1e-12))
    return loadings, psi


def start_params(X: np.ndarray, k: int, q: int, method: str, rng: np.random.Generator,
                 psi_shared: bool = True) -> FactorParams:
    """θ₀ for K factor analysers with q factors.

    ``pca`` (K = 1): the principal components of the sample covariance; ``random``: random
    loadings of the columns' scale, Ψ = the columns' variances, means at random data points
    (the sample mean for K = 1); ``kmeans`` (K > 1): a k-means partition, then each part's
    principal components.
    """
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    if method not in FACTOR_STARTS:
        raise FitError(f"unknown start {method!r} for a factor model; choose one of {', '.join(FACTOR_STARTS)}")
    variances = np.maximum(X.var(axis=0), 1e-300)
    if method == "random":
        loadings = rng.normal(scale=0.5, size=(k, d, q)) * np.sqrt(variances)[None, :, None]
        means = X.mean(axis=0)[None] if k == 1 else X[rng.choice(n, size=k, replace=False)]
        psi = np.broadcast_to(variances, (k, d))
        return FactorParams(np.full(k, 1.0 / k), means, loadings, psi, psi_shared)
    if k == 1 or method == "pca":
        if k != 1:
            raise FitError("the pca start is for factor analysis (K = 1); a mixture starts from kmeans")
        loadings, psi = _pca_loadings(np.cov(X, rowvar=False, bias=True).reshape(d, d), q)
        return FactorParams(np.ones(1), X.mean(axis=0)[None], loadings[None], psi[None], psi_shared)
    from emstudio.core.init import kmeans

    labels = kmeans(X, k, rng)[1]
    weights, means = np.empty(k), np.empty((k, d))
    loadings, psi = np.empty((k, d, q)), np.empty((k, d))
    for j in range(k):
        part = X[labels == j]
        weights[j] = max(part.shape[0], 1) / n
        means[j] = part.mean(axis=0) if part.shape[0] else X[rng.integers(n)]
        cov = (np.cov(part, rowvar=False, bias=True).reshape(d, d) if part.shape[0] > 1
               else np.diag(variances))
        cov = cov + 1e-6 * np.diag(variances)
        loadings[j], psi[j] = _pca_loadings(cov, q)
    if psi_shared:
        psi = np.broadcast_to((weights[:, None] * psi).sum(axis=0) / weights.sum(), (k, d))
    return FactorParams(weights / weights.sum(), means, loadings, psi, psi_shared)


# ------------------------------------------------------------------------------------ the fit

@dataclass(frozen=True)
class FactorSettings:
    """What a factor fit was asked to do. ``init`` is a start name or starting parameters."""

    k: int = 1
    n_factors: int = 1
    psi: str = "shared"
    init: str | FactorParams = "pca"
    seed: int = 0
    restarts: int = 1
    max_iter: int = 1000
    tol: float = 1e-8

    @property
    def model(self) -> str:
        return "fa" if self.k == 1 else "mfa"

    def validate(self, n: int, d: int) -> None:
        if self.k < 1:
            raise FitError(f"K must be at least 1, got {self.k}")
        if self.n_factors < 0:
            raise FitError(f"--factors must be 0 or more, got {self.n_factors}")
        if self.n_factors >= d and not (d == 1 and self.n_factors == 0):
            raise FitError(f"--factors {self.n_factors} needs more than {self.n_factors} columns; "
                           f"the data has {d} (factors must be fewer than columns)")
        if self.psi not in PSI_CHOICES:
            raise FitError(f"--psi must be one of {', '.join(PSI_CHOICES)}, got {self.psi!r}")
        if self.k > n:
            raise FitError(f"K={self.k} components, but the data has only {n} rows")
        if isinstance(self.init, str) and self.init not in FACTOR_STARTS:
            raise FitError(f"unknown start {self.init!r}; choose one of {', '.join(FACTOR_STARTS)} or a result file")
        if isinstance(self.init, FactorParams):
            p = self.init
            if (p.n_components, p.n_features, p.n_factors) != (self.k, d, self.n_factors):
                raise FitError(f"the start has K={p.n_components}, d={p.n_features}, q={p.n_factors}; "
                               f"the fit asks for K={self.k}, d={d}, q={self.n_factors}")
        if self.restarts < 1:
            raise FitError(f"--restarts must be at least 1, got {self.restarts}")
        if self.max_iter < 0:
            raise FitError(f"--max-iter must be 0 or more, got {self.max_iter}")
        if not self.tol >= 0:
            raise FitError(f"--tol must be 0 or more, got {self.tol}")


@dataclass(frozen=True, eq=False)
class FactorFit:
    """A finished factor fit in the data's units, with what was measured of it."""

    params: FactorParams
    log_likelihood: float
    n_samples: int
    n_iter: int
    converged: bool
    history: tuple[tuple[int, float], ...]
    component_sizes: np.ndarray
    sum_log_max_resp: float
    heywood: tuple[tuple[int, int], ...]
    settings: FactorSettings
    restart_log_likelihoods: tuple[float, ...] = ()
    restart_heywood: tuple[bool, ...] = ()
    best_restart: int = 0
    stopped: bool = False
    snapshots: tuple[FactorSnapshot, ...] = field(default=(), repr=False)

    @property
    def n_parameters(self) -> int:
        p = self.params
        return n_free_parameters(p.n_components, p.n_features, p.n_factors, p.psi_shared)

    @property
    def bic(self) -> float:
        return -2.0 * self.log_likelihood + self.n_parameters * float(np.log(self.n_samples))

    @property
    def aic(self) -> float:
        return -2.0 * self.log_likelihood + 2.0 * self.n_parameters

    @property
    def icl(self) -> float:
        return self.bic - 2.0 * self.sum_log_max_resp


def heywood_cases(params: FactorParams, variances: np.ndarray) -> tuple[tuple[int, int], ...]:
    """(component, column) pairs whose uniqueness Ψⱼ fell below HEYWOOD_LIMIT of the column's variance."""
    ratio = params.psi / np.maximum(np.asarray(variances, dtype=np.float64), 1e-300)[None, :]
    rows = range(1) if params.psi_shared else range(params.n_components)
    return tuple((k, int(j)) for k in rows for j in np.flatnonzero(ratio[k] < HEYWOOD_LIMIT))


def heywood_message(cases, column_names=None) -> str | None:
    """One line naming the Heywood variables (1-based components), or None."""
    if not cases:
        return None
    def name(j):
        return column_names[j] if column_names is not None and j < len(column_names) else f"column {j + 1}"
    shown = ", ".join(sorted({name(j) for _, j in cases}))
    return (f"Heywood case: the uniqueness Ψ of {shown} fell to the floor (the factors explain it "
            f"entirely); try fewer factors or more data")


def scale_params(params: FactorParams, scales: np.ndarray) -> FactorParams:
    """θ for the data with column j multiplied by scales[j] (μ, Λ rows scale by s, Ψ by s²)."""
    s = np.asarray(scales, dtype=np.float64)
    return FactorParams(params.weights, params.means * s, params.loadings * s[None, :, None],
                        params.psi * s ** 2, params.psi_shared)


def _rescaled_snapshot(snapshot: FactorSnapshot, scales: np.ndarray, log_jacobian: float) -> FactorSnapshot:
    """A snapshot fitted on X / scales, in the units of X (log-densities shift by −n Σ log s)."""
    def shift(terms):
        if terms is None:
            return None
        return BoundTerms(terms.log_likelihood + log_jacobian, terms.expected_complete + log_jacobian, terms.entropy)
    return FactorSnapshot(snapshot.iteration, scale_params(snapshot.params, scales),
                          snapshot.log_likelihood + log_jacobian, snapshot.n_samples, snapshot.component_sizes,
                          snapshot.sum_log_max_resp, shift(snapshot.after_e), shift(snapshot.after_m),
                          snapshot.converged)


def column_scales(X: np.ndarray) -> np.ndarray:
    """Each column's standard deviation (1 for a constant column): the units the fit works in.

    Dividing by the standard deviation itself (not a rounded power of two) makes the k-means and
    random starts see the same standardised data whatever units the columns came in, so the whole
    fit, not only EM, is equivariant to rescaling a column.
    """
    sd = np.asarray(X, dtype=np.float64).std(axis=0)
    return np.where(sd > 0, sd, 1.0)


def fit_factor(X: np.ndarray, settings: FactorSettings, *, column_names=None,
               stop: Callable[[], bool] | None = None,
               on_snapshot: Callable[[int, FactorSnapshot], None] | None = None,
               keep_snapshots: bool = False) -> FactorFit:
    """Fit factor analysis (K = 1) or a mixture of factor analysers by EM, keeping the best restart."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] < 2:
        raise FitError("a factor model needs at least 2 rows of data")
    if not np.all(np.isfinite(X)):
        raise FitError("the data has NaN or infinite values")
    n, d = X.shape
    settings.validate(n, d)
    variances = X.var(axis=0)
    if np.any(variances <= 0):
        j = int(np.flatnonzero(variances <= 0)[0])
        name = column_names[j] if column_names is not None else f"column {j + 1}"
        raise FitError(f"{name} is constant: a factor model needs every column to vary")
    scales = column_scales(X)
    log_jacobian = -n * float(np.log(scales).sum())
    data = FactorData(X / scales)
    psi_floor = PSI_FLOOR * data.X.var(axis=0)
    psi_shared = settings.psi == "shared"
    fixed_start = isinstance(settings.init, FactorParams)
    restarts = 1 if fixed_start else settings.restarts
    runs = []
    stopped = False
    for index, seed in enumerate(np.random.SeedSequence(settings.seed).spawn(restarts)):
        if index > 0 and stop is not None and stop():
            stopped = True
            break
        if fixed_start:
            start = scale_params(settings.init, 1.0 / scales)
        else:
            # PCA is one start, whatever the seed (k-means for one component is PCA too): the
            # restarts after it start at random.
            deterministic = settings.init == "pca" or (settings.init == "kmeans" and settings.k == 1)
            method = "random" if deterministic and index > 0 else settings.init
            start = start_params(data.X, settings.k, settings.n_factors, method,
                                 np.random.default_rng(seed), psi_shared)
        snapshots, last = [], None
        for snapshot in iterate_factor_em(data, start, max_iter=settings.max_iter, tol=settings.tol,
                                          psi_floor=psi_floor):
            last = _rescaled_snapshot(snapshot, scales, log_jacobian)
            snapshots.append(last if keep_snapshots else (last.iteration, last.log_likelihood))
            if on_snapshot is not None:
                on_snapshot(index, last)
            if stop is not None and stop():
                stopped = True
                break
        runs.append((last, snapshots, heywood_cases(last.params, variances)))
        if stopped:
            break
    # As collapsed starts lose to healthy ones in a mixture, a start that ended in a Heywood case
    # loses to one that did not; among the rest the highest log L wins.
    best = max(range(len(runs)), key=lambda i: (not runs[i][2], runs[i][0].log_likelihood))
    last, snapshots, heywood = runs[best]
    history = tuple((s.iteration, s.log_likelihood) if isinstance(s, FactorSnapshot) else s for s in snapshots)
    return FactorFit(
        params=last.params, log_likelihood=last.log_likelihood, n_samples=n, n_iter=last.iteration,
        converged=last.converged, history=history, component_sizes=last.component_sizes,
        sum_log_max_resp=last.sum_log_max_resp, heywood=heywood,
        settings=settings, restart_log_likelihoods=tuple(r[0].log_likelihood for r in runs),
        restart_heywood=tuple(bool(r[2]) for r in runs), best_restart=best, stopped=stopped,
        snapshots=tuple(snapshots) if keep_snapshots else ())


# ------------------------------------------------------------------------------ what views read

def posterior_means(X: np.ndarray, params: FactorParams, component: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """E[z | x, k] (n, q) for one component k and its posterior covariance Vₖ (q, q)."""
    X = np.asarray(X, dtype=np.float64)
    post = posterior_parts(params)
    return (X - params.means[component]) @ post.beta[component].T, post.v[component]


def varimax(loadings: np.ndarray, max_iter: int = 500, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Kaiser's varimax rotation of Λ (d, q) (unnormalised, as R's ``varimax(normalize=FALSE)``).

    Returns (ΛR, R) with R (q, q) orthogonal: ΛRRᵀΛᵀ = ΛΛᵀ, so the likelihood does not change.
    """
    L = np.asarray(loadings, dtype=np.float64)
    d, q = L.shape
    rotation = np.eye(q)
    if q < 2:
        return L.copy(), rotation
    objective = 0.0
    for _ in range(max_iter):
        rotated = L @ rotation
        u, s, vt = np.linalg.svd(L.T @ (rotated ** 3 - rotated @ np.diag((rotated ** 2).sum(axis=0)) / d))
        rotation = u @ vt
        new_objective = s.sum()
        if new_objective < objective * (1 + tol):
            break
        objective = new_objective
    return L @ rotation, rotation
