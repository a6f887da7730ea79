"""EM's iteration loops: snapshots per iteration, the stopping rules, plain EM and SQUAREM.

Iteration t is one E-step (q_t = p(z | x, θₜ₋₁)) then one M-step (θₜ = argmax Q(θ | θₜ₋₁)).
Snapshot t carries θₜ with its own log L(θₜ) and the bound terms of both half-steps, so a view
can show log L = F + KL touching after the E-step and separating after the M-step. SQUAREM
(Varadhan & Roland 2008) extrapolates between EM iterates with a monotone safeguard. The fit
around these loops (starts, restarts, the result) is core.em.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from emstudio.core.engine import MixtureEngine, PassResult
from emstudio.core.estep import BoundTerms
from emstudio.core.mstep import expected_complete_log_likelihood, m_step
from emstudio.core.params import MixtureParams, storage_type
from emstudio.core.scaling import scaled_covariances
from emstudio.errors import FitError

__all__ = ["ACCELERATIONS", "CONVERGENCE_RULES", "ConvergenceTest", "Snapshot", "UnconstrainedParams",
           "iterate_em", "iterate_squarem"]


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The state after iteration ``iteration`` (0 is the start). K-sized; immutable.

    params: a MixtureParams, or a core.factor_model.FactorParams in a factor model's run (whose
    loop makes the same snapshots; log_prior is then None).

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
    v2 = None
    current = _check_finite(engine.run_pass(params))
    test = ConvergenceTest(convergence, tol, n, settle)
    yield Snapshot(0, params, current.log_likelihood, n, current.stats.n_k, current.sum_log_max_resp)
    shape = UnconstrainedParams(params, engine.scale)
    # The vector of the θ a cycle ended on: the next cycle's θ₀ (one Cholesky per cycle fewer).
    known: tuple[MixtureParams, np.ndarray] | None = None
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
                v0 = known[1] if known is not None and known[0] is params else shape.vector(params)
                v1, v2 = shape.vector(p1), shape.vector(p2)
            except np.linalg.LinAlgError:
                v0 = v2 = None
            if v0 is not None and np.isfinite(v0).all() and np.isfinite(v1).all() and np.isfinite(v2).all():
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
        known = (p2, v2) if p2 is not None and params is p2 and v2 is not None else None
        converged = test.update(steps, start_ll, current.log_likelihood)
        yield Snapshot(steps, params, current.log_likelihood, n, current.stats.n_k, current.sum_log_max_resp,
                       converged=converged)
        if converged:
            return
