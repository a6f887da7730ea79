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
from emstudio.core.params import MixtureParams, check_covariance_type, n_free_parameters, storage_type
from emstudio.core.scaling import scaled_covariances
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


#: How a run decides it has converged (FitSettings.convergence; docs/formats.md, "Result file").
#: ``change``: the last iteration raised the mean per-sample log L by less than ``tol``.
#: ``aitken``: Aitken's asymptotic estimate of the final log L (Böhning et al. 1994; McNicholas
#: et al. 2010) lies less than ``tol`` per sample above the log L before the last iteration.
CONVERGENCE_RULES = ("change", "aitken")
#: How EM is run (FitSettings.accelerate): ``none`` is plain EM, one E-step and one M-step per
#: iteration; ``squarem`` is SQUAREM (Varadhan & Roland 2008) with its monotone safeguard.
ACCELERATIONS = ("none", "squarem")
#: Below this relative change of log L the Aitken ratio is rounding noise: the rule stops there.
AITKEN_NOISE = 1e-13


class ConvergenceTest:
    """The stopping test applied to each new log L of a run (sums over the n samples).

    ``change``: converged when (ℓₜ − ℓₜ₋₁)/n < tol. ``aitken``: with Δₜ = ℓₜ − ℓₜ₋₁ and the rate
    aₜ = Δₜ/Δₜ₋₁, EM's linear convergence puts the limit at ℓ∞ = ℓₜ₋₁ + Δₜ/(1 − aₜ); converged
    when (ℓ∞ − ℓₜ₋₁)/n < tol. So a slow creep (aₜ near 1: much still to gain) goes on where the
    change rule would stop, and a run whose remaining gain is below tol stops at once. A rate
    of 1 or more (still speeding up) never stops it; a step that did not raise log L, or raised
    it by rounding noise only, ends it. ``tol`` = 0 never stops a run; the first ``settle``
    iterations never count as converged.
    """

    def __init__(self, rule: str, tol: float, n_samples: int, settle: int = 0):
        if rule not in CONVERGENCE_RULES:
            raise FitError(f"unknown convergence rule {rule!r}; choose one of {', '.join(CONVERGENCE_RULES)}")
        self.rule, self.tol, self.n, self.settle = rule, tol, max(n_samples, 1), settle
        self._last_gain: float | None = None

    def update(self, iteration: int, previous: float, current: float) -> bool:
        """Whether the run has converged now that log L went from ``previous`` to ``current``."""
        gain = current - previous
        last, self._last_gain = self._last_gain, gain
        if self.tol <= 0 or iteration <= self.settle:
            return False
        if self.rule == "change":
            return gain / self.n < self.tol
        if gain <= AITKEN_NOISE * max(abs(current), 1.0):
            return True
        if last is None or last <= 0:
            return False
        rate = gain / last
        if rate >= 1.0:
            return False
        return gain / (1.0 - rate) / self.n < self.tol


def iterate_em(engine: MixtureEngine, params: MixtureParams, *, max_iter: int, tol: float,
               reg_covar: float, frozen: np.ndarray | None = None, settle: int = 0,
               prior=None, convergence: str = "change", bound_terms: bool = True) -> Iterator[Snapshot]:
    """Yield snapshot 0 (the start) and then one snapshot per EM iteration.

    Stops after ``max_iter`` iterations, or once ``convergence`` (see :class:`ConvergenceTest`)
    says so for ``tol`` (``tol`` = 0 never stops early). The caller may stop consuming at any time.
    ``frozen`` (K,) bool keeps those components as they are in every M-step (see mstep.m_step).
    The first ``settle`` iterations never count as converged: after a change of reg_covar or of
    the covariance model, the first step's change measures the new model, not EM's progress.
    ``prior`` (core.prior.ConjugatePrior): MAP-EM; the M-step maximises Q + log p(θ), every
    snapshot carries log p(θ), and convergence is judged on the log posterior log L + log p(θ).
    ``bound_terms`` False leaves the snapshots' after_e and after_m out (they cost one evaluation
    of Q per iteration, which only the bound view needs).
    """
    from emstudio.core.prior import log_prior

    def prior_of(theta):
        return None if prior is None else log_prior(theta, prior)

    current = _check_finite(engine.run_pass(params))
    n = engine.n_samples
    test = ConvergenceTest(convergence, tol, n, settle)
    current_prior = prior_of(params)
    yield Snapshot(0, params, current.log_likelihood, n, current.stats.n_k, current.sum_log_max_resp,
                   log_prior=current_prior)
    for iteration in range(1, max_iter + 1):
        new_params = m_step(current.stats, engine.covariance_type, reg_covar, previous=params, frozen=frozen,
                            prior=prior)
        following = _check_finite(engine.run_pass(new_params))
        after_e = after_m = None
        if bound_terms:
            after_e = BoundTerms(current.log_likelihood, current.expected_complete, current.entropy)
            q_new = expected_complete_log_likelihood(current.stats, new_params)
            after_m = BoundTerms(following.log_likelihood, q_new, current.entropy)
        new_prior = prior_of(new_params)
        # Under a prior, convergence is judged on the log posterior log L + log p(θ).
        converged = test.update(iteration, current.log_likelihood + (current_prior or 0.0),
                                following.log_likelihood + (new_prior or 0.0))
        yield Snapshot(iteration, new_params, following.log_likelihood, n, following.stats.n_k,
                       following.sum_log_max_resp, after_e, after_m, converged, new_prior)
        if converged:
            return
        params, current, current_prior = new_params, following, new_prior


class UnconstrainedParams:
    """θ as one unconstrained vector, for extrapolating between EM iterates (SQUAREM).

    log πₖ; μₖ in column units (μ/s); covariances in column units as log-Cholesky factors (the
    logs of the factor's diagonal and its entries below it) for the full-matrix models, log
    variances for diag and spherical. Every vector of finite numbers maps back to valid
    parameters (weights on the simplex, positive-definite covariances) — though, for mclust's
    constrained models, not necessarily to parameters of the model: the M-step that follows an
    extrapolation (SQUAREM's stabilising step) puts them back in it.
    """

    def __init__(self, template: MixtureParams, scale: np.ndarray):
        self.covariance_type = template.covariance_type
        self.k, self.d = template.n_components, template.n_features
        self.scale = np.asarray(scale, dtype=np.float64)
        self.storage = storage_type(self.covariance_type)
        self.lower = np.tril_indices(self.d, -1)
        self.n_factors = 1 if self.storage == "tied" else self.k

    def vector(self, params: MixtureParams) -> np.ndarray:
        """The vector of ``params`` (LinAlgError if a covariance is not positive definite)."""
        parts = [np.log(params.weights), (params.means / self.scale).ravel()]
        if self.storage in ("full", "tied"):
            cov = scaled_covariances(params.covariances, self.covariance_type, self.scale)
            chol = np.linalg.cholesky(cov.reshape(self.n_factors, self.d, self.d))
            parts.append(np.log(np.diagonal(chol, axis1=1, axis2=2)).ravel())
            parts.append(chol[:, self.lower[0], self.lower[1]].ravel())
        elif self.storage == "diag":
            parts.append(np.log(params.covariances / (self.scale * self.scale)).ravel())
        else:
            parts.append(np.log(params.covariances))
        with np.errstate(divide="ignore"):
            return np.concatenate(parts)

    def params(self, vector: np.ndarray) -> MixtureParams | None:
        """Parameters of ``vector``, or None when they are not usable (a weight or a variance
        beyond float64's range)."""
        if not np.all(np.isfinite(vector)):
            return None
        k, d = self.k, self.d
        logits = vector[:k]
        weights = np.exp(logits - logits.max())
        weights /= weights.sum()
        means = vector[k:k + k * d].reshape(k, d) * self.scale
        rest = vector[k + k * d:]
        with np.errstate(over="ignore", under="ignore"):
            if self.storage in ("full", "tied"):
                m = self.n_factors
                chol = np.zeros((m, d, d))
                chol[:, np.arange(d), np.arange(d)] = np.exp(rest[:m * d].reshape(m, d))
                chol[:, self.lower[0], self.lower[1]] = rest[m * d:].reshape(m, -1)
                cov = (chol @ np.swapaxes(chol, 1, 2)) * np.outer(self.scale, self.scale)
                if self.storage == "tied":
                    cov = cov[0]
            elif self.storage == "diag":
                cov = np.exp(rest.reshape(k, d)) * (self.scale * self.scale)
            else:
                cov = np.exp(rest)
        if not (np.all(weights > 0) and np.all(np.isfinite(cov)) and np.all(np.isfinite(means))):
            return None
        if self.storage in ("diag", "spherical") and not np.all(cov > 0):
            return None
        return MixtureParams(weights, means, cov, self.covariance_type)


def _try_pass(engine: MixtureEngine, params: MixtureParams | None) -> PassResult | None:
    """A pass under parameters that EM did not make (an extrapolation): None when they cannot be
    used (not positive definite in float64, or a log L that is not finite)."""
    if params is None:
        return None
    try:
        result = engine.run_pass(params)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):
        return None
    return result if np.isfinite(result.log_likelihood) else None


#: SQUAREM's step-length bounds (Varadhan & Roland 2008; the R package's squarem defaults):
#: α starts at most 1 (the plain double EM step) and the bound grows ×4 each time α reaches it.
SQUAREM_STEP_FACTOR = 4.0


def iterate_squarem(engine: MixtureEngine, params: MixtureParams, *, max_iter: int, tol: float,
                    reg_covar: float, settle: int = 0, convergence: str = "change") -> Iterator[Snapshot]:
    """Yield snapshot 0 (the start) and then one snapshot per SQUAREM cycle (SqS3 steps, Varadhan &
    Roland 2008), whose log L never falls below the one before.

    A cycle makes two EM steps θ₁ = M(θ₀), θ₂ = M(θ₁), extrapolates θ′ = θ₀ + 2α r + α² v
    (r = θ₁ − θ₀, v = θ₂ − 2θ₁ + θ₀, α = ‖r‖/‖v‖ within [1, a bound that grows while it is
    reached], in :class:`UnconstrainedParams`), and takes one more EM step from θ′: that step
    puts the parameters back in the covariance model. The safeguard: if its log L is below
    log L(θ₀), or θ′ is not usable, the cycle keeps θ₂ (the plain double EM step) instead — or θ₁,
    or θ₀ itself when EM's own step did not raise log L (reg_covar and the variance floors can
    make a plain step lower it by rounding amounts): then the run has converged.

    A snapshot's ``iteration`` counts the M-steps made so far (2 or 3 per cycle, 4 when the
    safeguard measured θ₂ too), so ``max_iter`` bounds the work as it does for plain EM. The
    snapshots carry no bound terms (a cycle is not an E-step and an M-step).
    """
    n = engine.n_samples
    covariance_type = engine.covariance_type
    current = _check_finite(engine.run_pass(params))
    test = ConvergenceTest(convergence, tol, n, settle)
    yield Snapshot(0, params, current.log_likelihood, n, current.stats.n_k, current.sum_log_max_resp)
    shape = UnconstrainedParams(params, engine.scale)
    steps = 0
    step_max = 1.0
    while steps < max_iter:
        start_ll = current.log_likelihood
        p1 = m_step(current.stats, covariance_type, reg_covar, previous=params)
        pass1 = _check_finite(engine.run_pass(p1))
        steps += 1
        chosen: tuple[MixtureParams, PassResult] | None = None
        p2 = pass2 = None
        if steps < max_iter:
            p2 = m_step(pass1.stats, covariance_type, reg_covar, previous=p1)
            steps += 1
            alpha = 1.0
            try:
                v0, v1, v2 = shape.vector(params), shape.vector(p1), shape.vector(p2)
            except np.linalg.LinAlgError:
                v0 = None
            if v0 is not None and np.all(np.isfinite(v0)) and np.all(np.isfinite(v1)) and np.all(np.isfinite(v2)):
                r = v1 - v0
                v = v2 - v1 - r
                rr, vv = float(r @ r), float(v @ v)
                if rr > 0 and vv > 0:
                    alpha = min(max(float(np.sqrt(rr / vv)), 1.0), step_max)
                if alpha > 1.01 and steps < max_iter:
                    prime = shape.params(v0 + 2.0 * alpha * r + alpha * alpha * v)
                    prime_pass = _try_pass(engine, prime)
                    if prime_pass is not None:
                        extrapolated = m_step(prime_pass.stats, covariance_type, reg_covar, previous=prime)
                        steps += 1
                        landed = _try_pass(engine, extrapolated)
                        if landed is not None and landed.log_likelihood >= start_ll:
                            chosen = (extrapolated, landed)
                if chosen is None:
                    if alpha == step_max:
                        step_max = max(1.0, step_max / SQUAREM_STEP_FACTOR)
                    alpha = 1.0
                if alpha == step_max:
                    step_max *= SQUAREM_STEP_FACTOR
        if chosen is None and p2 is not None:
            pass2 = _check_finite(engine.run_pass(p2))
            if pass2.log_likelihood >= start_ll:
                chosen = (p2, pass2)
        if chosen is None and pass1.log_likelihood >= start_ll:
            chosen = (p1, pass1)
        if chosen is None:  # EM's own step lowers log L here: nothing is left to gain
            yield Snapshot(steps, params, start_ll, n, current.stats.n_k, current.sum_log_max_resp,
                           converged=tol > 0)
            return
        params, current = chosen
        converged = test.update(steps, start_ll, current.log_likelihood)
        yield Snapshot(steps, params, current.log_likelihood, n, current.stats.n_k, current.sum_log_max_resp,
                       converged=converged)
        if converged:
            return


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
    """What a fit was asked to do. ``init`` is a method name or starting parameters.

    ``convergence`` and ``tol``: when a run stops (:class:`ConvergenceTest`); ``accelerate``: plain
    EM or SQUAREM (:func:`iterate_squarem`). ``short_iter`` > 0 with more ``restarts`` than
    ``long_runs`` makes the restarts em-EM (Biernacki, Celeux & Govaert 2003): every start runs
    ``short_iter`` EM steps, then only the ``long_runs`` best go on to convergence. The defaults
    are plain EM as the window runs it; the command line chooses its own (cli.py).
    """

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
    convergence: str = "change"
    accelerate: str = "none"
    short_iter: int = 0
    long_runs: int = 1

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
        if self.convergence not in CONVERGENCE_RULES:
            raise FitError(f"--convergence {self.convergence!r}: choose one of {', '.join(CONVERGENCE_RULES)}")
        if self.accelerate not in ACCELERATIONS:
            raise FitError(f"--accelerate {self.accelerate!r}: choose one of {', '.join(ACCELERATIONS)}")
        if self.short_iter < 0:
            raise FitError(f"--short-iter must be 0 or more, got {self.short_iter}")
        if self.long_runs < 1:
            raise FitError(f"--long-runs must be at least 1, got {self.long_runs}")

    @property
    def uses_short_runs(self) -> bool:
        """Whether the restarts are em-EM: short runs of every start, then the best few go on."""
        return self.short_iter > 0 and self.restarts > self.long_runs


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
    #: per start: whether it ran to its end (converged or max_iter); False for an em-EM short run
    #: that was not among the best few
    restart_finished: tuple[bool, ...] = ()
    #: EM steps (M-steps) made over all starts
    total_iterations: int = 0

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
                frozen: np.ndarray | None = None, settle: int = 0,
                bound_terms: bool | None = None) -> FitResult:
    """Fit a Gaussian mixture to X (n, d) by EM, ``settings.restarts`` times, keeping the best.

    The best restart is the one with the highest final log L among those with no degenerate
    component (among all, if every restart collapsed). ``stop()`` is asked before every iteration;
    when it answers True the fit ends early with ``stopped`` set. ``on_snapshot(restart, snapshot)``
    sees every snapshot as it is made. ``frozen`` (K,) bool, with starting parameters as
    ``settings.init``: those components stay as they are in every M-step (see mstep.m_step), and
    EM runs plain (an extrapolation would move them). ``settle``: see :func:`iterate_em`.
    ``bound_terms``: whether plain EM's snapshots carry the bound terms (default: when someone
    looks at the snapshots, i.e. ``on_snapshot`` or ``keep_snapshots``).

    With ``settings.uses_short_runs`` (em-EM), every start first runs ``short_iter`` EM steps;
    then the ``long_runs`` best of them (healthy ones first, by log L) go on to their end. If
    each of those collapsed, the best healthy short run left goes on too, one at a time.
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
    if bound_terms is None:
        bound_terms = keep_snapshots or on_snapshot is not None
    # Plain EM where SQUAREM does not apply: frozen components (an extrapolation would move them),
    # and --tol 0, which asks for exactly max_iter EM iterations (SQUAREM stops at a fixed point).
    accelerate = (settings.accelerate == "squarem" and not (frozen is not None and frozen.any())
                  and settings.tol > 0)
    short = settings.short_iter if settings.uses_short_runs and restarts > settings.long_runs else 0
    seeds = np.random.SeedSequence(settings.seed).spawn(restarts)
    prior = None
    if settings.prior == "conjugate":
        from emstudio.core.prior import prior_model

        if frozen is not None:
            raise FitError("frozen components cannot be fitted under a prior")
        prior_model(settings.covariance_type, X.shape[1])  # refused in one line before any work
        accelerate = False  # SQUAREM extrapolates the likelihood's EM map: MAP-EM runs plain
    runs: list[_Run] = []
    stopped = False
    with MixtureEngine(X, settings.covariance_type, **(engine_options or {})) as engine, engine.blas_held():
        summary = ColumnSummary.of_centred(engine.data_t, engine.centre, engine.scale)
        check_fit_data(X, settings.k, column_names, summary)
        if settings.prior == "conjugate":
            from emstudio.core.prior import default_prior

            prior = default_prior(X, settings.k, settings.covariance_type)

        def advance(index: int, run: _Run, limit: int | None) -> bool:
            """Run ``run`` until its iterator ends or its iteration reaches ``limit``; False if stopped."""
            for snapshot in run.snapshots:
                run.last = snapshot
                run.history.append(snapshot if keep_snapshots else (snapshot.iteration, snapshot.log_likelihood))
                if on_snapshot is not None:
                    on_snapshot(index, snapshot)
                if stop is not None and stop():
                    run.finished = True
                    return False
                if limit is not None and snapshot.iteration >= limit:
                    return True
            run.finished = True
            return True

        for index, seed in enumerate(seeds):
            if index > 0 and stop is not None and stop():
                stopped = True
                break
            start = _start(X, settings, np.random.default_rng(seed), stop, index)
            if accelerate:
                iterator = iterate_squarem(engine, start, max_iter=settings.max_iter, tol=settings.tol,
                                           reg_covar=settings.reg_covar, settle=settle,
                                           convergence=settings.convergence)
            else:
                iterator = iterate_em(engine, start, max_iter=settings.max_iter, tol=settings.tol,
                                      reg_covar=settings.reg_covar, frozen=frozen, settle=settle, prior=prior,
                                      convergence=settings.convergence, bound_terms=bound_terms)
            run = _Run(iterator)
            runs.append(run)
            if not advance(index, run, short or None):
                stopped = True
                break
            run.degenerate = _degenerate(run.last, settings, engine)
        if short and not stopped:
            # em-EM: the best short runs (healthy first, then by log L) go on to their end.
            ranked = sorted(range(len(runs)), key=lambda i: (bool(runs[i].degenerate), -_objective(runs[i].last)))
            chosen = ranked[:settings.long_runs]
            waiting = ranked[settings.long_runs:]
            while chosen and not stopped:
                for index in chosen:
                    if not runs[index].finished:
                        if not advance(index, runs[index], None):
                            stopped = True
                            break
                        runs[index].degenerate = _degenerate(runs[index].last, settings, engine)
                healthy_done = any(r.finished and not r.degenerate for r in runs)
                chosen = [] if healthy_done else [i for i in waiting if not runs[i].degenerate][:1]
                waiting = [i for i in waiting if i not in chosen]
        for run in runs:
            if run.degenerate is None:
                run.degenerate = _degenerate(run.last, settings, engine)
    finished = [i for i, run in enumerate(runs) if run.finished] or list(range(len(runs)))
    healthy = [i for i in finished if not runs[i].degenerate] or finished
    # Under a prior the restarts are compared by their log posterior.
    best = max(healthy, key=lambda i: _objective(runs[i].last))
    kept = runs[best]
    last = kept.last

    def history_of(items):
        return tuple((s.iteration, s.log_likelihood) if isinstance(s, Snapshot) else s for s in items)

    return FitResult(
        params=last.params,
        log_likelihood=last.log_likelihood,
        n_samples=X.shape[0],
        n_iter=last.iteration,
        converged=last.converged,
        history=history_of(kept.history),
        component_sizes=last.component_sizes,
        sum_log_max_resp=last.sum_log_max_resp,
        degenerate=tuple(kept.degenerate),
        # What ran: a start file is tried once; plain EM where SQUAREM did not apply.
        settings=dataclasses.replace(settings, restarts=restarts,
                                     accelerate=settings.accelerate if accelerate else "none"),
        restart_log_likelihoods=tuple(run.last.log_likelihood for run in runs),
        restart_histories=tuple(history_of(run.history) for run in runs),
        restart_degenerate=tuple(bool(run.degenerate) for run in runs),
        best_restart=best,
        stopped=stopped,
        snapshots=tuple(kept.history) if keep_snapshots else (),
        identical=tuple(identical_components(last.params)),
        log_prior=last.log_prior,
        restart_finished=tuple(run.finished for run in runs),
        total_iterations=sum(run.last.iteration for run in runs),
    )


def _objective(snapshot: Snapshot) -> float:
    """What restarts are compared by: log L, or the log posterior under a prior."""
    return snapshot.log_likelihood + (snapshot.log_prior or 0.0)


class _Run:
    """One start of a fit: its iterator (suspended between em-EM's phases) and what it yielded."""

    def __init__(self, snapshots: Iterator[Snapshot]):
        self.snapshots = snapshots
        self.last: Snapshot | None = None
        self.history: list = []
        self.finished = False
        self.degenerate: list | None = None


def _degenerate(snapshot: Snapshot, settings: FitSettings, engine: MixtureEngine) -> list:
    return degenerate_components(snapshot.params, snapshot.component_sizes, settings.reg_covar,
                                 engine.variance_floor, engine.scale)


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
