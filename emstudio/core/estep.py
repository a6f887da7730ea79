"""The E-step and the bound terms, written plainly (the reference the fast engine is checked against).

log N(x | μ, Σ) = −½ (d log 2π + log|Σ| + (x−μ)ᵀΣ⁻¹(x−μ)), with log|Σ| from the Cholesky factor's
diagonal and the Mahalanobis term from (x−μ) multiplied by the inverse factor; responsibilities in
log space with a log-sum-exp over components.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emstudio.core.mstep import LOG_2PI
from emstudio.core.params import MixtureParams, precision_cholesky


def log_gaussian_prob(X: np.ndarray, params: MixtureParams) -> np.ndarray:
    """log N(xᵢ | μₖ, Σₖ) for X (n, d): returns (n, K)."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    inv_chol, log_det = precision_cholesky(params)
    mahalanobis = np.empty((n, params.n_components))
    for j in range(params.n_components):
        y = (X - params.means[j]) @ inv_chol[j].T
        mahalanobis[:, j] = np.einsum("ij,ij->i", y, y)
    return -0.5 * (d * LOG_2PI + log_det[None, :] + mahalanobis)


def _logsumexp_rows(a: np.ndarray) -> np.ndarray:
    """log Σⱼ exp(a[i, j]) for a (n, K): returns (n,)."""
    top = a.max(axis=1)
    return top + np.log(np.exp(a - top[:, None]).sum(axis=1))


def e_step(X: np.ndarray, params: MixtureParams) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample log-likelihood (n,) and log responsibilities log rᵢₖ (n, K) under ``params``."""
    weighted = log_gaussian_prob(X, params) + np.log(params.weights)[None, :]
    log_norm = _logsumexp_rows(weighted)
    return log_norm, weighted - log_norm[:, None]


def log_likelihood(X: np.ndarray, params: MixtureParams) -> float:
    """log L(θ) = Σᵢ log Σₖ πₖ N(xᵢ | μₖ, Σₖ)."""
    return float(e_step(X, params)[0].sum())


@dataclass(frozen=True)
class BoundTerms:
    """The terms of log L(θ) = F(q, θ) + KL(q ‖ p(z | x, θ)) for one pair (q, θ).

    ``expected_complete`` is Q(θ | θₜ) for the θₜ that made q; ``entropy`` is Ent(q) = −Σ q log q.
    """

    log_likelihood: float
    expected_complete: float
    entropy: float

    @property
    def lower_bound(self) -> float:
        """F(q, θ) = Q(θ | θₜ) + Ent(q)."""
        return self.expected_complete + self.entropy

    @property
    def kl(self) -> float:
        """KL(q ‖ p(z | x, θ)) = log L(θ) − F(q, θ) ≥ 0; zero right after an E-step."""
        return self.log_likelihood - self.lower_bound

    @property
    def h(self) -> float:
        """H(θ | θₜ) = log L(θ) − Q(θ | θₜ) = Ent(q) + KL: the first seed's second term."""
        return self.log_likelihood - self.expected_complete


def bound_terms(X: np.ndarray, log_resp_q: np.ndarray, params: MixtureParams) -> BoundTerms:
    """Bound terms for q given as log responsibilities (n, K) and parameters θ, computed directly."""
    resp = np.exp(log_resp_q)
    # 0·log 0 = 0: q may have exact zeros only where log q = −inf.
    entropy = -float(np.sum(np.where(resp > 0, resp * log_resp_q, 0.0)))
    weighted = log_gaussian_prob(X, params) + np.log(params.weights)[None, :]
    q_value = float(np.sum(resp * weighted))
    return BoundTerms(log_likelihood(X, params), q_value, entropy)
