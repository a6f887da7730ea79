"""The EM loop: snapshots per iteration, convergence, restarts, and the fitted result.

Iteration t is one E-step (q_t = p(z | x, θₜ₋₁)) then one M-step (θₜ = argmax Q(θ | θₜ₋₁)).
Snapshot t carries θₜ with its own log L(θₜ) and the bound terms of both half-steps, so a view
can show log L = F + KL touching after the E-step and separating after the M-step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from emstudio.core.checks import ColumnSummary, check_fit_data, degenerate_components, identical_components
from emstudio.core.engine import MixtureEngine, PassResult
from emstudio.core.estep import BoundTerms
from emstudio.core.init import DEFAULT_INIT, INIT_METHODS, initial_params, params_for_type
from emstudio.core.mstep import expected_complete_log_likelihood, m_step
from emstudio.core.params import MixtureParams, check_covariance_type, n_free_parameters
from emstudio.errors import FitError


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The state after iteration ``iteration`` (0 is the start). K-sized; immutable.

    log_likelihood: log L(θₜ) over all n samples; component_sizes: Nₖ (K,) under θₜ's own
    responsibilities; sum_log_max_resp: Σᵢ log maxₖ rᵢₖ under θₜ (for ICL); after_e: the bound
    terms of (q_t, θₜ₋₁), after_m: of (q_t, θₜ); both None at iteration 0.
    """

    iteration: int
    params: MixtureParams
    log_likelihood: float
    n_samples: int
    component_sizes: np.ndarray
    sum_log_max_resp: float
    after_e: BoundTerms | None = None
    after_m: BoundTerms | None = None
    converged: bool = False
    #: log p(θₜ) under the prior (core.prior), up to a constant; None without a prior
    log_prior: float | None = None

    @property
    def mean_log_likelihood(self) -> float:
        return self.log_likelihood / self.n_samples


def _check_finite(result: PassResult) -> PassResult:
    if not np.isfinite(result.log_likelihood):
        raise FitError("the log-likelihood is not finite: the data's scale overflows float64; "
                       "standardise the data (--standardize)")
    return result


def iterate_em(engine: MixtureEngine, params: MixtureParams, *, max_iter: int, tol: float,
               reg_covar: float, frozen: np.ndarray | None = None, settle: int = 0,
               prior=None) -> Iterator[Snapshot]:
    """Yield snapshot 0 (the start) and then one snapshot per EM iteration.

    Stops after ``max_iter`` iterations, or once the mean per-sample log-likelihood rose by less
    than ``tol`` (``tol`` = 0 never stops early). The caller may stop consuming at any time.
    ``frozen`` (K,) bool keeps those components as they are in every M-step (see mstep.m_step).
    The first ``settle`` iterations never count as converged: after a change of reg_covar or of
    the covariance model, the first step's change measures the new model, not EM's progress.
    ``prior`` (core.prior.ConjugatePrior): MAP-EM; the M-step maximises Q + log p(θ), every
    snapshot carries log p(θ), and convergence is judged on the log posterior log L + log p(θ).
    """
    from emstudio.core.prior import log_prior

    def prior_of(theta):
        return None if prior is None else log_prior(theta, prior)

    current = _check_finite(engine.run_pass(params))
    n = engine.n_samples
    current_prior = prior_of(params)
    yield Snapshot(0, params, current.log_likelihood, n, current.stats.n_k, current.sum_log_max_resp,
                   log_prior=current_prior)
    for iteration in range(1, max_iter + 1):
        new_params = m_step(current.stats, engine.covariance_type, reg_covar, previous=params, frozen=frozen,
                            prior=prior)
        after_e = BoundTerms(current.log_likelihood, current.expected_complete, current.entropy)
        q_new = expected_complete_log_likelihood(current.stats, new_params)
        following = _check_finite(engine.run_pass(new_params))
        after_m = BoundTerms(following.log_likelihood, q_new, current.entropy)
        new_prior = prior_of(new_params)
        change = (following.log_likelihood - current.log_likelihood) / n
        if prior is not None:
            change += (new_prior - current_prior) / n
        converged = tol > 0 and change < tol and iteration > settle
        yield Snapshot(iteration, new_params, following.log_likelihood, n, following.stats.n_k,
                       following.sum_log_max_resp, after_e, after_m, converged, new_prior)
        if converged:
            return
        params, current, current_prior = new_params, following, new_prior


def bic(log_likelihood: float, n_parameters: int, n_samples: int) -> float:
    """BIC = −2 log L + p ln n (lower is better)."""
    return -2.0 * log_likelihood + n_parameters * float(np.log(n_samples))


def aic(log_likelihood: float, n_parameters: int) -> float:
    """AIC = −2 log L + 2p (lower is better)."""
    return -2.0 * log_likelihood + 2.0 * n_parameters


def icl(bic_value: float, sum_log_max_resp: float) -> float:
    """ICL = BIC − 2 Σᵢ log maxₖ rᵢₖ (mclust's definition, lower is better)."""
    return bic_value - 2.0 * sum_log_max_resp


@dataclass(frozen=True)
class FitSettings:
    """What a fit was asked to do. ``init`` is a method name or starting parameters."""

    k: int = 2
    covariance_type: str = "full"
    init: str | MixtureParams = DEFAULT_INIT
    seed: int = 0
    restarts: int = 1
    max_iter: int = 500
    tol: float = 1e-6
    reg_covar: float = 1e-6
    #: "none", or "conjugate": MAP-EM under mclust's default conjugate prior (core.prior)
    prior: str = "none"

    def validate(self) -> None:
        check_covariance_type(self.covariance_type)
        from emstudio.core.prior import PRIORS

        if self.prior not in PRIORS:
            raise FitError(f"unknown prior {self.prior!r}; choose one of {', '.join(PRIORS)}")
        if isinstance(self.init, str) and self.init not in INIT_METHODS:
            raise FitError(f"unknown start {self.init!r}; choose one of {', '.join(INIT_METHODS)} or a parameter file")
        if isinstance(self.init, MixtureParams) and self.init.n_components != self.k:
            raise FitError(f"the start has {self.init.n_components} components but K={self.k}")
        if self.restarts < 1:
            raise FitError(f"--restarts must be at least 1, got {self.restarts}")
        if self.max_iter < 0:
            raise FitError(f"--max-iter must be 0 or more, got {self.max_iter}")
        if not (self.tol >= 0):
            raise FitError(f"--tol must be 0 or more, got {self.tol}")
        if not (self.reg_covar >= 0):
            raise FitError(f"--reg-covar must be 0 or more, got {self.reg_covar}")


@dataclass(frozen=True, eq=False)
class FitResult:
    """A finished fit: the kept restart's final parameters and what was measured of them."""

    params: MixtureParams
    log_likelihood: float
    n_samples: int
    n_iter: int
    converged: bool
    history: tuple[tuple[int, float], ...]
    component_sizes: np.ndarray
    sum_log_max_resp: float
    degenerate: tuple[int, ...]
    settings: FitSettings
    restart_log_likelihoods: tuple[float, ...] = ()
    restart_histories: tuple[tuple[tuple[int, float], ...], ...] = ()
    restart_degenerate: tuple[bool, ...] = ()
    best_restart: int = 0
    stopped: bool = False
    snapshots: tuple[Snapshot, ...] = field(default=(), repr=False)
    #: pairs (i, j) of components with the same mean and covariance (checks.identical_components)
    identical: tuple[tuple[int, int], ...] = ()
    #: log p(θ̂) under the prior, up to a constant (None without one): the log posterior is
    #: log_likelihood + log_prior. BIC, AIC and ICL use the log-likelihood at θ̂, as mclust does.
    log_prior: float | None = None

    @property
    def n_parameters(self) -> int:
        # From the settings: parameters reported in other units may be held in another native type.
        return n_free_parameters(self.settings.covariance_type, self.params.n_components, self.params.n_features)

    @property
    def bic(self) -> float:
        return bic(self.log_likelihood, self.n_parameters, self.n_samples)

    @property
    def aic(self) -> float:
        return aic(self.log_likelihood, self.n_parameters)

    @property
    def icl(self) -> float:
        return icl(self.bic, self.sum_log_max_resp)


def _start(X, settings: FitSettings, rng: np.random.Generator, stop=None, restart: int = 0) -> MixtureParams:
    if isinstance(settings.init, MixtureParams):
        start = params_for_type(settings.init, settings.covariance_type)
        if start.n_features != X.shape[1]:
            raise FitError(f"the start has d={start.n_features} dimensions but the data has {X.shape[1]}")
        return start
    return initial_params(X, settings.k, settings.covariance_type, settings.init, rng, settings.reg_covar, stop,
                          restart)


def fit_mixture(X: np.ndarray, settings: FitSettings, *, column_names=None,
                stop: Callable[[], bool] | None = None,
                on_snapshot: Callable[[int, Snapshot], None] | None = None,
                keep_snapshots: bool = False,
                engine_options: dict | None = None,
                frozen: np.ndarray | None = None, settle: int = 0) -> FitResult:
    """Fit a Gaussian mixture to X (n, d) by EM, ``settings.restarts`` times, keeping the best.

    The best restart is the one with the highest final log L among those with no degenerate
    component (among all, if every restart collapsed). ``stop()`` is asked before every iteration;
    when it answers True the fit ends early with ``stopped`` set. ``on_snapshot(restart, snapshot)``
    sees every snapshot as it is made. ``frozen`` (K,) bool, with starting parameters as
    ``settings.init``: those components stay as they are in every M-step (see mstep.m_step).
    ``settle``: see :func:`iterate_em`.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    settings.validate()
    if X.ndim != 2 or X.shape[0] == 0:
        check_fit_data(X, settings.k, column_names)  # raises the right one-line error
    restarts = 1 if isinstance(settings.init, MixtureParams) else settings.restarts
    if frozen is not None:
        frozen = np.asarray(frozen, dtype=bool)
        if not isinstance(settings.init, MixtureParams) or frozen.shape != (settings.init.n_components,):
            raise FitError("frozen components need starting parameters with one flag per component")
    seeds = np.random.SeedSequence(settings.seed).spawn(restarts)
    prior = None
    if settings.prior == "conjugate":
        from emstudio.core.prior import prior_model

        if frozen is not None:
            raise FitError("frozen components cannot be fitted under a prior")
        prior_model(settings.covariance_type, X.shape[1])  # refused in one line before any work
    runs = []
    stopped = False
    with MixtureEngine(X, settings.covariance_type, **(engine_options or {})) as engine:
        summary = ColumnSummary.of_centred(engine.data_t, engine.centre, engine.scale)
        check_fit_data(X, settings.k, column_names, summary)
        if settings.prior == "conjugate":
            from emstudio.core.prior import default_prior

            prior = default_prior(X, settings.k, settings.covariance_type)
        for index, seed in enumerate(seeds):
            if index > 0 and stop is not None and stop():
                stopped = True
                break
            start = _start(X, settings, np.random.default_rng(seed), stop, index)
            snapshots = []
            last = None
            for snapshot in iterate_em(engine, start, max_iter=settings.max_iter, tol=settings.tol,
                                       reg_covar=settings.reg_covar, frozen=frozen, settle=settle,
                                       prior=prior):
                last = snapshot
                if keep_snapshots:
                    snapshots.append(snapshot)
                else:
                    snapshots.append((snapshot.iteration, snapshot.log_likelihood))
                if on_snapshot is not None:
                    on_snapshot(index, snapshot)
                if stop is not None and stop():
                    stopped = True
                    break
            degenerate = degenerate_components(last.params, last.component_sizes, settings.reg_covar,
                                               engine.variance_floor, engine.scale)
            runs.append((last, snapshots, degenerate))
            if stopped:
                break
    healthy = [i for i, run in enumerate(runs) if not run[2]] or list(range(len(runs)))
    # Under a prior the restarts are compared by their log posterior.
    best = max(healthy, key=lambda i: runs[i][0].log_likelihood + (runs[i][0].log_prior or 0.0))
    last, snapshots, degenerate = runs[best]

    def history_of(items):
        return tuple((s.iteration, s.log_likelihood) if isinstance(s, Snapshot) else s for s in items)

    return FitResult(
        params=last.params,
        log_likelihood=last.log_likelihood,
        n_samples=X.shape[0],
        n_iter=last.iteration,
        converged=last.converged,
        history=history_of(snapshots),
        component_sizes=last.component_sizes,
        sum_log_max_resp=last.sum_log_max_resp,
        degenerate=tuple(degenerate),
        settings=dataclasses.replace(settings, restarts=restarts),  # a start file is tried once
        restart_log_likelihoods=tuple(run[0].log_likelihood for run in runs),
        restart_histories=tuple(history_of(run[1]) for run in runs),
        restart_degenerate=tuple(bool(run[2]) for run in runs),
        best_restart=best,
        stopped=stopped,
        snapshots=tuple(snapshots) if keep_snapshots else (),
        identical=tuple(identical_components(last.params)),
        log_prior=last.log_prior,
    )


def responsibilities(X: np.ndarray, params: MixtureParams) -> np.ndarray:
    """rᵢₖ (n, K) of data X (n, d) under ``params``."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    with MixtureEngine(X, params.covariance_type) as engine:
        resp, _ = engine.responsibilities(params)
    return resp


def predict(X: np.ndarray, params: MixtureParams) -> np.ndarray:
    """Most responsible component (n,) of each sample."""
    return responsibilities(X, params).argmax(axis=1)


@dataclass(frozen=True, eq=False)
class HalfStep:
    """The state after one half-step of step-by-step EM (K-sized; immutable).

    kind: "start", "E" or "M"; iteration: full iterations completed (an E-step belongs to the
    iteration it starts); params: θ now; terms: log L(θ), Q, Ent, F, KL of the current (q, θ), or
    None at the start (no q yet); component_sizes: Nₖ under q (after E) or under θ's own
    responsibilities (start and after M).
    """

    kind: str
    iteration: int
    params: MixtureParams
    log_likelihood: float
    n_samples: int
    component_sizes: np.ndarray
    terms: BoundTerms | None


class Stepper:
    """EM one half-step at a time, for the step-by-step window.

    ``e_step()`` sets q = p(z | x, θ) (the bound touches: KL = 0); ``m_step()`` sets
    θ = argmax Q(θ | θₜ) for that q (F rises, KL opens). Each returns a :class:`HalfStep`. Both are
    idempotent when repeated; an M-step with no E-step before it makes one first. The pass that
    measures log L(θ) after an M-step is kept and reused by the next E-step, so stepping costs one
    pass per iteration, as running does.
    """

    def __init__(self, engine: MixtureEngine, params: MixtureParams, reg_covar: float, iteration: int = 0,
                 frozen: np.ndarray | None = None):
        self.engine = engine
        self.frozen = frozen  # (K,) bool: components the M-step keeps as they are
        self.reg_covar = reg_covar
        self.params = params
        self.iteration = iteration
        self._pass = _check_finite(engine.run_pass(params))  # under the current θ
        self._q: PassResult | None = None  # the pass whose responsibilities are q
        self._q_source: MixtureParams | None = None  # the θ that made q
        self._last_m: HalfStep | None = None

    def _half_step(self, kind: str, result: PassResult, sizes: np.ndarray, terms: BoundTerms | None) -> HalfStep:
        return HalfStep(kind, self.iteration, self.params, result.log_likelihood, self.engine.n_samples, sizes, terms)

    def start(self) -> HalfStep:
        """The current state before any half-step."""
        return self._half_step("start", self._pass, self._pass.stats.n_k, None)

    def e_step(self) -> HalfStep:
        """q = p(z | x, θ): F(q, θ) = log L(θ), KL = 0."""
        if self._q_source is not self.params:
            self._q, self._q_source = self._pass, self.params
            self._last_m = None
            self.iteration += 1
        return self._half_step("E", self._q, self._q.stats.n_k, self.terms_after_e())

    def terms_after_e(self) -> BoundTerms | None:
        """The bound terms of (q, θₜ) right after the current q's E-step (KL = 0); None before any."""
        q = self._q
        return None if q is None else BoundTerms(q.log_likelihood, q.expected_complete, q.entropy)

    def m_step(self) -> HalfStep:
        """θ = argmax Q(θ | θₜ) for the current q: F rises, log L(θ) ≥ F."""
        if self._q is None:
            self.e_step()
        if self._last_m is not None:  # already made from this q
            return self._last_m
        q = self._q
        self.params = m_step(q.stats, self.engine.covariance_type, self.reg_covar, previous=self._q_source,
                             frozen=self.frozen)
        self._pass = _check_finite(self.engine.run_pass(self.params))
        terms = BoundTerms(self._pass.log_likelihood, expected_complete_log_likelihood(q.stats, self.params),
                           q.entropy)
        self._last_m = self._half_step("M", self._pass, self._pass.stats.n_k, terms)
        return self._last_m
