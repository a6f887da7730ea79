"""``--prior conjugate``: MAP-EM under mclust's conjugate prior (Fraley & Raftery 2007).

The prior, with mclust's ``priorControl()`` defaults (its ``defaultPrior``), for K components of
data X (n, d):

- each mean μₖ | Σₖ ~ N(μₚ, Σₖ/κ): shrinkage κ = 0.01, μₚ the data's mean;
- the covariances: for the ellipsoidal models an inverse Wishart with ν = d + 2 degrees of
  freedom and scale Λ = var(X) / K^(2/d) (var with the n − 1 divisor; its diagonal when n ≤ d);
  for the diagonal and spherical ones inverse gammas IG(ν/2, ς²/2) on each variance, with
  ς² = Σⱼ var(xⱼ) / (d K^(2/d)); in one dimension ν = 3 and ς² = var(x) / K².

With Nₖ, the weighted means x̄ₖ and scatters Wₖ of the E-step, and
Sₖ = Wₖ + Nₖκ/(Nₖ + κ) (x̄ₖ − μₚ)(x̄ₖ − μₚ)ᵀ, the M-step maximises Q + log prior in closed form:
μₖ = (Nₖ x̄ₖ + κ μₚ)/(Nₖ + κ) for every model, and (δ = 1 when κ > 0)

=====  =====================================================================
VVV    Σₖ = (Λ + Sₖ) / (ν + Nₖ + d + 1 + δ)
EEE    Σ = (Λ + Σₖ Sₖ) / (ν + n + d + 1 + δK)
VII    σₖ² = (ς² + tr Sₖ) / (ν + Nₖ d + 2 + δd)
EII    σ² = (ς² + Σₖ tr Sₖ) / (ν + n d + 2 + δKd)
VVI    σₖⱼ² = (ς² + (Sₖ)ⱼⱼ) / (ν + Nₖ + 2 + δ)
EEI    σⱼ² = (ς² + Σₖ (Sₖ)ⱼⱼ) / (ν + n + 2 + δK)
EVI    Σₖ = λ Aₖ: Aₖ ∝ Bₖ = diag(Sₖ) + ς², det Aₖ = 1; λ = Σₖ |Bₖ|^(1/d) / (ν + n + 2 + δK)
=====  =====================================================================

(mclust's own M-steps with a prior, ``mstep``'s Fortran ``ms…p``; in one dimension E and V are
EII and VII with d = 1, the same as EEE and VVV there.) mclust has a prior for VEI and VEV too
(by inner iterations) and for EEV (whose mclust step sets the shrinkage to 0, so it fits another
prior than the one asked); those, and VEE, EVE, VVE, EVV (which mclust has no prior for), are refused.
The log posterior log L + log p(θ) never falls under these M-steps (reg_covar = 0; with reg_covar
the same small departure as without a prior). mclust's BIC under the prior is −2 log L(θ̂) + p ln n
at the MAP θ̂: the likelihood, not the posterior, with the same p.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emstudio.errors import FitError

PRIORS = ("none", "conjugate")
#: The models whose MAP M-step is written here (mclust names; 1-D: E and V).
PRIOR_MODELS = ("EII", "VII", "EEI", "EVI", "VVI", "EEE", "VVV", "E", "V")
_ELLIPSOIDAL = ("EEE", "VVV")


@dataclass(frozen=True, eq=False)
class ConjugatePrior:
    """mclust's conjugate prior: shrinkage κ, mean μₚ (d,), dof ν, scale: Λ (d, d) for the
    ellipsoidal models, ς² (a number) for the others; ``model``: the mclust name it is for."""

    shrinkage: float
    mean: np.ndarray
    dof: float
    scale: np.ndarray | float
    model: str


def prior_model(covariance_type: str, d: int) -> str:
    """The mclust name of ``covariance_type`` in d dimensions, or FitError (one line) when the
    conjugate prior is not available for it."""
    from emstudio.core.models import ALIASES, model_for_dimension

    model = model_for_dimension(ALIASES.get(covariance_type, covariance_type), d)
    if model not in PRIOR_MODELS:
        raise FitError(f"--prior conjugate is not available for the {model} model; use one of "
                       f"{', '.join(m for m in PRIOR_MODELS if len(m) == 3)} (full, tied, diag, spherical), "
                       "or no prior")
    return model


def default_prior(X: np.ndarray, k: int, covariance_type: str) -> ConjugatePrior:
    """mclust's ``defaultPrior`` for data X (n, d), K components and the model (see the module doc).

    The data's mean and covariance are found by row chunks (core.mstep.sufficient_statistics).
    """
    from emstudio.core.mstep import sufficient_statistics

    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    prior_model(covariance_type, d)
    stats = sufficient_statistics(X, np.ones((n, 1)), "full")
    scale = stats.column_scale()
    centred = stats.sum_x[0] / n
    mean = stats.origins[0] + centred * scale
    cov = (stats.sum_xx[0] / n - np.outer(centred, centred)) * np.outer(scale, scale) * (n / max(n - 1, 1))
    return prior_of_moments(n, mean, cov, k, covariance_type)


def prior_of_moments(n: int, mean: np.ndarray, cov: np.ndarray, k: int, covariance_type: str) -> ConjugatePrior:
    """mclust's ``defaultPrior`` from the data's n rows, mean (d,) and covariance (d, d) with the
    n − 1 divisor (found in memory by :func:`default_prior`, or block by block on a cluster)."""
    d = mean.shape[0]
    model = prior_model(covariance_type, d)
    cov = 0.5 * (cov + cov.T)
    if d == 1:
        return ConjugatePrior(0.01, mean, 3.0, float(cov[0, 0]) / k ** 2, model)
    factor = (1.0 / k) ** (2.0 / d)
    if model in _ELLIPSOIDAL:
        lam = factor * (cov if n > d else np.diag(np.diagonal(cov)))
        return ConjugatePrior(0.01, mean, d + 2.0, lam, model)
    return ConjugatePrior(0.01, mean, d + 2.0, factor * float(np.trace(cov)) / d, model)


def map_covariances(prior: ConjugatePrior, n_k: np.ndarray, means_x: np.ndarray, scatter: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The MAP means (K, d) and covariances (K, d, d), in the data's units.

    ``n_k`` (K,) the effective sizes, ``means_x`` (K, d) the weighted means x̄ₖ, ``scatter``
    (K, d, d) the Wₖ about them (only the diagonals are used by the diagonal and spherical models).
    """
    k, d = means_x.shape
    kappa, mu_p, nu = prior.shrinkage, prior.mean, prior.dof
    delta = 1.0 if kappa > 0 else 0.0
    gap = means_x - mu_p
    weight = n_k * kappa / (n_k + kappa)
    s = scatter + weight[:, None, None] * np.einsum("ki,kj->kij", gap, gap)       # Sₖ
    means = (n_k[:, None] * means_x + kappa * mu_p[None, :]) / (n_k + kappa)[:, None]
    n = float(n_k.sum())
    eye = np.eye(d)
    diag = np.diagonal(s, axis1=1, axis2=2)                                        # (K, d)
    model = prior.model if d > 1 else prior.model
    if d == 1:
        model = "EII" if model in ("E", "EII", "EEI", "EEE", "EVI") else "VII"
    if model == "VVV":
        cov = (prior.scale[None] + s) / (nu + n_k + d + 1 + delta)[:, None, None]
    elif model == "EEE":
        cov = np.broadcast_to((prior.scale + s.sum(axis=0)) / (nu + n + d + 1 + delta * k), (k, d, d)).copy()
    elif model == "VII":
        var = (prior.scale + diag.sum(axis=1)) / (nu + n_k * d + 2 + delta * d)
        cov = var[:, None, None] * eye[None]
    elif model == "EII":
        var = (prior.scale + diag.sum()) / (nu + n * d + 2 + delta * k * d)
        cov = np.broadcast_to(var * eye, (k, d, d)).copy()
    elif model == "VVI":
        var = (prior.scale + diag) / (nu + n_k + 2 + delta)[:, None]
        cov = np.stack([np.diag(v) for v in var])
    elif model == "EEI":
        var = (prior.scale + diag.sum(axis=0)) / (nu + n + 2 + delta * k)
        cov = np.broadcast_to(np.diag(var), (k, d, d)).copy()
    elif model == "EVI":
        b = prior.scale + diag                                                    # (K, d)
        geometric = np.exp(np.mean(np.log(b), axis=1))                            # |Bₖ|^(1/d)
        lam = geometric.sum() / (nu + n + 2 + delta * k)
        cov = np.stack([np.diag(lam * bk / g) for bk, g in zip(b, geometric)])
    else:  # pragma: no cover - prior_model refuses the others
        raise FitError(f"--prior conjugate is not available for the {model} model")
    return means, cov


def log_prior(params, prior: ConjugatePrior) -> float:
    """log p(θ) up to a constant that does not depend on θ (the M-step's objective's prior part)."""
    cov = params.full_covariances()
    d = params.n_features
    kappa, nu = prior.shrinkage, prior.dof
    sign, logdet = np.linalg.slogdet(cov)                                         # (K,)
    inverse = np.linalg.inv(cov)
    gap = params.means - prior.mean
    total = 0.0
    if kappa > 0:
        total += float(np.sum(-0.5 * logdet - 0.5 * kappa * np.einsum("ki,kij,kj->k", gap, inverse, gap)))
    model = prior.model
    if d == 1:
        model = "EII" if model in ("E", "EII", "EEI", "EEE", "EVI") else "VII"
    if model == "VVV":
        total += float(np.sum(-0.5 * (nu + d + 1) * logdet - 0.5 * np.einsum("kij,ji->k", inverse, prior.scale)))
    elif model == "EEE":
        total += float(-0.5 * (nu + d + 1) * logdet[0] - 0.5 * np.trace(inverse[0] @ prior.scale))
    elif model in ("VII", "EII"):
        variances = cov[:, 0, 0] if model == "VII" else cov[:1, 0, 0]
        total += float(np.sum(-(nu / 2 + 1) * np.log(variances) - 0.5 * prior.scale / variances))
    elif model in ("VVI", "EEI"):
        variances = np.diagonal(cov, axis1=1, axis2=2)
        if model == "EEI":
            variances = variances[:1]
        total += float(np.sum(-(nu / 2 + 1) * np.log(variances) - 0.5 * prior.scale / variances))
    elif model == "EVI":
        lam = float(np.exp(logdet[0] / d))
        total += float(-0.5 * (nu + 2) * d * np.log(lam)
                       - 0.5 * prior.scale * np.sum(1.0 / np.diagonal(cov, axis1=1, axis2=2)))
    return total
