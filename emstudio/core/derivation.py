"""The numbers of the seeds' argument, for one state of a fit (the window's Derivation view).

Pure and direct (dense n × K arrays, the reference E-step of core.estep): it is computed for the
state a person is looking at, not inside EM's loop. For a state θ with responsibilities q made by
θₜ (θₜ = θ right after an E-step; the state before for an M-step or a run's iteration):

1. log L(θ) and F(uniform q, θ): any q gives a lower bound, the uniform one a poor one.
2. F(q, θ) = Q(θ | θₜ) + Ent(q) and KL(q ‖ p(z | x, θ)) with log L = F + KL; the n log₁₀ K digits of
   the number of label assignments the sums over i and k replace.
3. KL ≥ 0, zero only at q = p(z | x, θ) (the E-step): the KL of the state and of the uniform q.
4. The M-step's stationarity equations for this q: Nⱼ/πⱼ = λ (= n when πⱼ = Nⱼ/n), μⱼ = Σᵢ qᵢⱼ xᵢ/Nⱼ,
   Σⱼ = Σᵢ qᵢⱼ (xᵢ − μⱼ)(xᵢ − μⱼ)ᵀ/Nⱼ (+ reg_covar·I): θ beside the M-step's θ for the same q.
5. log L(θ) − log L(θₜ) ≥ Q(θ | θₜ) − Q(θₜ | θₜ): any θ that raises Q raises log L.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emstudio.core.estep import BoundTerms, e_step, log_gaussian_prob
from emstudio.core.mstep import expected_complete_log_likelihood, m_step, sufficient_statistics
from emstudio.core.params import MixtureParams

__all__ = ["Derivation", "derive", "uniform_bound"]


def uniform_bound(X: np.ndarray, params: MixtureParams) -> float:
    """F(q, θ) for the uniform q (qᵢₖ = 1/K): Σᵢ (1/K) Σₖ log(πₖ N(xᵢ | μₖ, Σₖ)) + n log K.

    The first seed's first try: a lower bound on log L(θ) like any F, but far below it."""
    weighted = log_gaussian_prob(X, params) + np.log(params.weights)[None, :]
    k = params.n_components
    return float(weighted.mean(axis=1).sum() + X.shape[0] * np.log(k))


@dataclass(frozen=True)
class Derivation:
    """The numbers of the argument at one state (sums over the n samples).

    terms: (q, θ)'s log L, Q, Ent (None at a start: no q yet); q_made_by_previous: Q(θₜ | θₜ),
    None when q was made by θ itself (then θₜ = θ); previous_log_likelihood: log L(θₜ);
    component_sizes: Nₖ (K,) under q; m_step: the M-step's θ for this q (the stationary point of
    F(q, ·)); reg_covar: what the M-step adds to each covariance.
    """

    n_samples: int
    log_likelihood: float
    uniform_bound: float
    terms: BoundTerms | None
    previous_log_likelihood: float | None
    q_made_by_previous: float | None
    component_sizes: np.ndarray | None
    m_step: MixtureParams | None
    params: MixtureParams
    reg_covar: float = 0.0

    @property
    def log10_assignments(self) -> float:
        """log₁₀ Kⁿ: the digits of the number of ways to label every point."""
        return self.n_samples * float(np.log10(self.params.n_components))

    @property
    def uniform_gap(self) -> float:
        """KL(uniform q ‖ p(z | x, θ)) = log L(θ) − F(uniform q, θ) ≥ 0."""
        return self.log_likelihood - self.uniform_bound

    @property
    def lagrange(self) -> np.ndarray | None:
        """Nⱼ/πⱼ (K,): at the M-step's πⱼ = Nⱼ/n every one equals the multiplier λ = n."""
        if self.component_sizes is None:
            return None
        return self.component_sizes / self.params.weights

    @property
    def q_rise(self) -> float | None:
        """Q(θ | θₜ) − Q(θₜ | θₜ) (0 when θ = θₜ)."""
        if self.terms is None:
            return None
        before = self.terms.expected_complete if self.q_made_by_previous is None else self.q_made_by_previous
        return self.terms.expected_complete - before

    @property
    def log_likelihood_rise(self) -> float | None:
        """log L(θ) − log L(θₜ) (0 when θ = θₜ)."""
        if self.previous_log_likelihood is None:
            return None
        return self.log_likelihood - self.previous_log_likelihood


def derive(X: np.ndarray, params: MixtureParams, q_params: MixtureParams | None, reg_covar: float = 0.0,
           frozen: np.ndarray | None = None) -> Derivation:
    """The argument's numbers at θ = ``params`` with q = p(z | x, θₜ), θₜ = ``q_params`` (None: no q
    yet, a start; ``params`` itself: right after an E-step). ``frozen`` (K,) bool: components the
    M-step keeps (a generalised EM step), as the window's M-step does."""
    X = np.asarray(X, dtype=np.float64)
    log_norm, log_resp = e_step(X, params)
    log_l = float(log_norm.sum())
    uniform = uniform_bound(X, params)
    if q_params is None:
        return Derivation(X.shape[0], log_l, uniform, None, None, None, None, None, params, reg_covar)
    same = q_params is params
    if same:
        log_q, log_l_q = log_resp, log_l
    else:
        log_norm_q, log_q = e_step(X, q_params)
        log_l_q = float(log_norm_q.sum())
    q = np.exp(log_q)
    entropy = -float(np.sum(np.where(q > 0, q * log_q, 0.0)))
    stats = sufficient_statistics(X, q, params.covariance_type)
    q_value = expected_complete_log_likelihood(stats, params)
    q_previous = None if same else expected_complete_log_likelihood(stats, q_params)
    stationary = m_step(stats, params.covariance_type, reg_covar, previous=q_params,
                        frozen=frozen if frozen is not None and np.any(frozen) else None)
    return Derivation(X.shape[0], log_l, uniform, BoundTerms(log_l, q_value, entropy), log_l_q,
                      q_previous, stats.n_k, stationary, params, reg_covar)
