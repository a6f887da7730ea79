"""What the window's factor views show, as pure functions of a factor model's θ (no Qt).

A rotation R (q, q) orthogonal turns Λ into ΛR and the latent z into Rᵀz: ΛRRᵀΛᵀ = ΛΛᵀ, so the
model's covariance ΛΛᵀ + Ψ and its likelihood are the same (factor analysis identifies Λ only up
to rotation). Varimax picks the R that makes each factor load on few columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emstudio.core.factor import FactorParams, posterior_parts, varimax


def rotations(params: FactorParams, rotate: bool) -> np.ndarray:
    """R (K, q, q) of every component: varimax's when ``rotate``, else the identity."""
    k, _, q = params.loadings.shape
    out = np.broadcast_to(np.eye(q), (k, q, q)).copy()
    if rotate and q > 1:
        for j in range(k):
            out[j] = varimax(params.loadings[j])[1]
    return out


def shown_loadings(params: FactorParams, rotation: np.ndarray) -> np.ndarray:
    """ΛₖRₖ (K, d, q): the loadings as the views show them."""
    return np.einsum("kdq,kqr->kdr", params.loadings, rotation)


@dataclass(frozen=True)
class LoadingRows:
    """One component's loadings table: loadings (d, q) as shown, uniquenesses Ψ (d,), communalities
    h² = Σ_f Λ² (d,) and the share of each column's model variance the factors explain h² / (h² + Ψ)."""

    loadings: np.ndarray
    psi: np.ndarray
    communality: np.ndarray
    explained: np.ndarray


def loading_rows(params: FactorParams, component: int, rotation: np.ndarray) -> LoadingRows:
    loadings = params.loadings[component] @ rotation[component]
    communality = (loadings ** 2).sum(axis=1)
    psi = params.psi[component]
    return LoadingRows(loadings, psi.copy(), communality, communality / (communality + psi))


def latent_means(X: np.ndarray, params: FactorParams, component: int,
                 rotation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """E[z | x, k] (n, q) of the rows of X (n, d) under component k, and the posterior covariance
    Vₖ (q, q), both in the rotated factors (Rᵀz: means mR, covariance RᵀVR)."""
    post = posterior_parts(params)
    r = rotation[component]
    means = (np.asarray(X, dtype=np.float64) - params.means[component]) @ post.beta[component].T @ r
    return means, r.T @ post.v[component] @ r


def arrow_segments(params: FactorParams, axes: tuple[int, int], rotation: np.ndarray) -> np.ndarray:
    """(K, q, 2, 2): each component's factor f as a segment from μₖ to μₖ + (ΛₖRₖ)[:, f] on the two
    columns ``axes`` (the loading's marginal on them)."""
    i, j = axes
    loadings = shown_loadings(params, rotation)[:, [i, j], :]          # (K, 2, q)
    start = params.means[:, [i, j]][:, None, :]                        # (K, 1, 2)
    tips = start + np.swapaxes(loadings, 1, 2)                         # (K, q, 2)
    return np.stack([np.broadcast_to(start, tips.shape), tips], axis=2)
