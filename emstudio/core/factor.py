"""Factor analysis and mixtures of factor analysers by EM: starts, settings and the whole fit.

The model (θ = π, μ, Λ, Ψ), its pass over the data, its M-step and its EM loop are in
core.factor_model; their names are imported here too, so that core.factor is the factor
models' one entry point.

Units: factor models are equivariant to rescaling columns (Ψ is diagonal), so :func:`fit_factor`
works on the data divided by each column's standard deviation and returns parameters in the
data's units; the floor on Ψ is then relative to each column's variance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from emstudio.core.estep import BoundTerms
from emstudio.core.factor_model import (  # noqa: F401 - re-exported: core.factor is the entry point
    PSI_FLOOR,
    FactorData,
    FactorParams,
    FactorStats,
    expected_complete,
    iterate_factor_em,
    m_step,
    n_free_parameters,
    posterior_parts,
)
from emstudio.core.iterations import Snapshot
from emstudio.errors import FitError

# A uniqueness below this fraction of the column's variance is reported as a Heywood case
# (R's factanal bounds uniquenesses at 0.005 in correlation units for the same reason).
HEYWOOD_LIMIT = 0.005
FACTOR_STARTS = ("pca", "random", "kmeans")
PSI_CHOICES = ("shared", "per-component")


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
    snapshots: tuple[Snapshot, ...] = field(default=(), repr=False)

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


def _rescaled_snapshot(snapshot: Snapshot, scales: np.ndarray, log_jacobian: float) -> Snapshot:
    """A snapshot fitted on X / scales, in the units of X (log-densities shift by −n Σ log s)."""
    def shift(terms):
        if terms is None:
            return None
        return BoundTerms(terms.log_likelihood + log_jacobian, terms.expected_complete + log_jacobian, terms.entropy)
    return Snapshot(snapshot.iteration, scale_params(snapshot.params, scales),
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
               on_snapshot: Callable[[int, Snapshot], None] | None = None,
               keep_snapshots: bool = False) -> FactorFit:
    """Fit factor analysis (K = 1) or a mixture of factor analysers by EM, keeping the best restart."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] < 2:
        raise FitError("a factor model needs at least 2 rows of data")
    if not np.all(np.isfinite(X)):
        raise FitError("the data has NaN or infinite values")
    n = X.shape[0]
    variances = X.var(axis=0)
    check_factor_data(n, variances, settings, column_names)
    scales = column_scales(X)
    data = FactorData(X / scales)
    return fit_factor_on(data, data.X, settings, variances, scales, PSI_FLOOR * data.X.var(axis=0), stop=stop,
                         on_snapshot=on_snapshot, keep_snapshots=keep_snapshots)


def check_factor_data(n: int, variances: np.ndarray, settings: FactorSettings, column_names=None) -> None:
    """FitError (one line) when the settings do not fit data of n rows and these column
    variances (d,), or a column is constant."""
    settings.validate(n, variances.shape[0])
    if np.any(variances <= 0):
        j = int(np.flatnonzero(variances <= 0)[0])
        name = column_names[j] if column_names is not None else f"column {j + 1}"
        raise FitError(f"{name} is constant: a factor model needs every column to vary")


def fit_factor_on(data, start_rows: np.ndarray, settings: FactorSettings, variances: np.ndarray,
                  scales: np.ndarray, psi_floor: np.ndarray, *, stop: Callable[[], bool] | None = None,
                  on_snapshot: Callable[[int, Snapshot], None] | None = None,
                  keep_snapshots: bool = False) -> FactorFit:
    """The restarts of :func:`fit_factor` on data already checked and divided by ``scales`` (d,):
    ``data`` has ``n`` and ``run_pass(θ) → FactorStats`` (a FactorData, or a cluster's data in
    emstudio.distributed.factor); ``start_rows`` (m, d): the rows (divided by ``scales``) the
    starts are made from; ``variances`` (d,): the columns' variances in the data's units (Heywood
    cases); ``psi_floor`` (d,): Ψ's floor in the fit's units."""
    n = data.n
    log_jacobian = -n * float(np.log(scales).sum())
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
            start = start_params(start_rows, settings.k, settings.n_factors, method,
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
    history = tuple((s.iteration, s.log_likelihood) if isinstance(s, Snapshot) else s for s in snapshots)
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
