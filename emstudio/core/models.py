"""mclust's fourteen covariance models: Σₖ = λₖ Dₖ Aₖ Dₖᵀ and the M-step of each.

λ is the volume (a scalar), D the orientation (orthogonal), A the shape (diagonal, det 1); each
Equal or Variable across components, or I (Celeux & Govaert 1995; mclust's ``mclustModelNames``):

=====  ===========  ===================================
model  Σₖ           M-step
=====  ===========  ===================================
EII    λ I          closed form
VII    λₖ I         closed form
EEI    λ A          closed form
VEI    λₖ A         alternating λₖ | A (each exact)
EVI    λ Aₖ         closed form
VVI    λₖ Aₖ        closed form
EEE    λ D A Dᵀ     closed form
VEE    λₖ D A Dᵀ    alternating λₖ | C = DADᵀ
EVE    λ D Aₖ Dᵀ    alternating (λ, Aₖ) | D, D by a majorise-minimise step (Browne & McNicholas 2014)
VVE    λₖ D Aₖ Dᵀ   the same with λₖ
EEV    λ Dₖ A Dₖᵀ   closed form (eigen-decompositions)
VEV    λₖ Dₖ A Dₖᵀ  alternating λₖ | A, Dₖ the eigenvectors of Wₖ
EVV    λ Cₖ         closed form
VVV    λₖ Cₖ        closed form
=====  ===========  ===================================

Everything comes from Nₖ and the scatter matrices Wₖ = Σᵢ rᵢₖ (xᵢ − μₖ)(xᵢ − μₖ)ᵀ about the new
means (the means' M-step is the same for every model). The covariance part of Q is
−½ Σₖ [Nₖ log|Σₖ| + tr(Wₖ Σₖ⁻¹)]; every alternating step maximises it over one block with the
others fixed, starting from the previous θ's blocks when given, so the M-step never lowers Q
(a generalised M-step, which is all EM's monotonicity needs).
"""

from __future__ import annotations

import numpy as np

MCLUST_MODELS = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE",
                 "EEV", "VEV", "EVV", "VVV")
ONE_D_MODELS = ("E", "V")
#: scikit-learn's names for four of them.
ALIASES = {"spherical": "VII", "diag": "VVI", "tied": "EEE", "full": "VVV"}
DESCRIPTIONS = {
    "EII": "spherical, equal volume",
    "VII": "spherical, varying volume",
    "EEI": "diagonal, equal volume and shape",
    "VEI": "diagonal, varying volume, equal shape",
    "EVI": "diagonal, equal volume, varying shape",
    "VVI": "diagonal, varying volume and shape",
    "EEE": "ellipsoidal, equal volume, shape and orientation",
    "VEE": "ellipsoidal, varying volume, equal shape and orientation",
    "EVE": "ellipsoidal, equal volume and orientation, varying shape",
    "VVE": "ellipsoidal, equal orientation, varying volume and shape",
    "EEV": "ellipsoidal, equal volume and shape, varying orientation",
    "VEV": "ellipsoidal, equal shape, varying volume and orientation",
    "EVV": "ellipsoidal, equal volume, varying shape and orientation",
    "VVV": "ellipsoidal, varying volume, shape and orientation",
    "E": "one dimension, equal variance",
    "V": "one dimension, varying variance",
}
_INNER_MAX_ITER = 5000
_INNER_TOL = 1e-14


def canonical_model(name: str) -> str:
    """The mclust name of ``name`` (an mclust name, either case, or one of scikit-learn's four)."""
    text = name.strip()
    if text in ALIASES:
        return ALIASES[text]
    upper = text.upper()
    if upper in MCLUST_MODELS or upper in ONE_D_MODELS:
        return upper
    raise ValueError(f"unknown covariance model {name!r}; choose one of {', '.join(MCLUST_MODELS)} "
                     f"(or {', '.join(ALIASES)}; in 1-D E or V)")


def model_for_dimension(model: str, d: int) -> str:
    """In 1-D only E and V exist: every model is one of them (its volume letter)."""
    model = canonical_model(model)
    if d == 1:
        return model[0]
    if model in ONE_D_MODELS:
        raise ValueError(f"the covariance model {model} is for one-dimensional data; the data has d={d}")
    return model


def n_covariance_parameters(model: str, k: int, d: int) -> int:
    """Free parameters of the covariances (mclust's ``nVarParams``)."""
    model = model_for_dimension(model, d)
    if model == "E":
        return 1
    if model == "V":
        return k
    full = d * (d + 1) // 2
    rot = d * (d - 1) // 2
    return {
        "EII": 1, "VII": k, "EEI": d, "VEI": k + d - 1, "EVI": 1 + k * (d - 1), "VVI": k * d,
        "EEE": full, "VEE": k + full - 1, "EVE": 1 + k * (d - 1) + rot, "VVE": k + k * (d - 1) + rot,
        "EEV": 1 + (d - 1) + k * rot, "VEV": k + (d - 1) + k * rot, "EVV": 1 + k * (full - 1),
        "VVV": k * full,
    }[model]


def n_parameters(model: str, k: int, d: int) -> int:
    """All free parameters of a K-component mixture (mclust's ``nMclustParams``): Σ's, means, weights."""
    return n_covariance_parameters(model, k, d) + k * d + (k - 1)


#: What a model estimates for one component alone, beyond its mean (mclust's singularity cases):
#: ``full`` a covariance matrix of its own (VVV, EVV: Cₖ is Wₖ scaled), ``shape`` a volume or a
#: diagonal shape of its own, ``none`` nothing (its covariance is shared, or only its orientation
#: is its own: EEV's Dₖ A Dₖᵀ is never singular while the shared A is not).
OWN_ESTIMATE = {
    "EII": "none", "EEI": "none", "EEE": "none", "EEV": "none", "E": "none",
    "VII": "shape", "VEI": "shape", "EVI": "shape", "VVI": "shape", "VEE": "shape", "EVE": "shape",
    "VVE": "shape", "VEV": "shape", "V": "shape",
    "EVV": "full", "VVV": "full",
}


def _model_of(covariance_type: str, d: int) -> str:
    return model_for_dimension(ALIASES.get(covariance_type, covariance_type), d)


def singular_size(covariance_type: str, d: int) -> int:
    """The most effective points Nₖ on which a component's own estimate under the model is singular.

    d for a full covariance of its own (d points span a flat (d−1)-dimensional set), 1 for a volume
    or a diagonal shape (one point has no spread), 0 when it estimates nothing but its mean.
    ``covariance_type``: an mclust name or one of scikit-learn's four.
    """
    own = OWN_ESTIMATE[_model_of(covariance_type, d)]
    return {"full": d, "shape": 1, "none": 0}[own]


def spherical_model(covariance_type: str, d: int) -> bool:
    """Whether the model's covariances are λₖ I (EII, VII, and every 1-D model)."""
    return _model_of(covariance_type, d) in ("EII", "VII", "E", "V")


# ------------------------------------------------------------------------------- small pieces

def _unit_det(diagonal: np.ndarray) -> tuple[np.ndarray, float]:
    """(a / det(a)^{1/d}, det(a)^{1/d}) for a positive vector a (d,): a shape of determinant 1."""
    log_scale = float(np.mean(np.log(diagonal)))
    scale = float(np.exp(log_scale))
    return diagonal / scale, scale


def _unit_det_matrix(matrix: np.ndarray) -> tuple[np.ndarray, float]:
    """(M / |M|^{1/d}, |M|^{1/d}) for a symmetric positive-definite M."""
    sign, logdet = np.linalg.slogdet(matrix)
    scale = float(np.exp(logdet / matrix.shape[0]))
    return matrix / scale, scale


def _sym(m: np.ndarray) -> np.ndarray:
    return 0.5 * (m + np.swapaxes(m, -1, -2))


def _eigh_descending(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = np.linalg.eigh(_sym(w))
    return values[..., ::-1], vectors[..., ::-1]


def covariance_objective(n_k: np.ndarray, scatter: np.ndarray, covariances: np.ndarray) -> float:
    """Σₖ [Nₖ log|Σₖ| + tr(Wₖ Σₖ⁻¹)]: the M-step minimises it (−2 × the covariance part of Q)."""
    total = 0.0
    for n, w, cov in zip(n_k, scatter, covariances):
        sign, logdet = np.linalg.slogdet(cov)
        try:
            total += n * logdet + float(np.trace(np.linalg.solve(cov, w)))
        except np.linalg.LinAlgError:  # a singular iterate (a collapsing component): no better than any
            return float("inf")
    return total


def _shifted_scatter(scatter: np.ndarray) -> np.ndarray:
    """Wₖ − ωₖI (K, d, d), ωₖ the largest eigenvalue of Wₖ (K, d, d): fixed over the orientation steps."""
    omega = np.linalg.eigvalsh(_sym(scatter))[:, -1]
    return scatter - omega[:, None, None] * np.eye(scatter.shape[-1])[None]


def _orientation_step(shifted: np.ndarray, weights: np.ndarray, d_matrix: np.ndarray) -> np.ndarray:
    """One majorise-minimise step for D: lowers f(D) = Σₖ tr(Wₖ D Bₖ Dᵀ), Bₖ = diag(weights[k]).

    With ωₖ the largest eigenvalue of Wₖ, tr(ωₖ D Bₖ Dᵀ) is constant over orthogonal D, so
    f(D) = Σₖ tr((Wₖ − ωₖI) D Bₖ Dᵀ) + const, a concave function of D. Its tangent at the current D
    majorises it; the orthogonal D minimising the tangent is −U Vᵀ for G = U S Vᵀ, G = Σₖ (Wₖ − ωₖI) D Bₖ.
    ``shifted`` (K, d, d) is Wₖ − ωₖI from _shifted_scatter (computed once: a fit may take many steps).
    """
    g = (shifted @ d_matrix * weights[:, None, :]).sum(axis=0)
    u, _, vt = np.linalg.svd(g)
    return -u @ vt

# --------------------------------------------------------------------------------- the M-step

def m_step_covariances(model: str, n_k: np.ndarray, scatter: np.ndarray,
                       previous: np.ndarray | None = None) -> np.ndarray:
    """Σₖ (K, d, d) of ``model`` maximising Q's covariance part for sizes Nₖ (K,) and scatter Wₖ (K, d, d).

    ``previous`` (K, d, d): the covariances of the θ the responsibilities came from; the iterative
    models start from its volume, shape and orientation, so the result is never worse than it.
    Components with Nₖ = 0 contribute nothing to shared parts (their own parts come out as the
    shared ones, scaled by a zero-size volume guard of the caller's choosing).
    """
    n_k = np.asarray(n_k, dtype=np.float64)
    scatter = _sym(np.asarray(scatter, dtype=np.float64))
    k, d, _ = scatter.shape
    model = model_for_dimension(model, d)
    n = float(n_k.sum())
    safe_n = np.maximum(n_k, np.finfo(np.float64).tiny)
    eye = np.eye(d)
    diag = np.diagonal(scatter, axis1=1, axis2=2)                      # (K, d)
    total = scatter.sum(axis=0)

    if model in ("E", "EII"):
        lam = float(np.trace(total)) / (n * d)
        return np.broadcast_to(lam * eye, (k, d, d)).copy()
    if model in ("V", "VII"):
        lam = np.trace(scatter, axis1=1, axis2=2) / (safe_n * d)
        return lam[:, None, None] * eye[None]
    if model == "EEI":
        return np.broadcast_to(np.diag(np.diagonal(total) / n), (k, d, d)).copy()
    if model == "VVI":
        return np.stack([np.diag(diag[j] / safe_n[j]) for j in range(k)])
    if model == "EVI":
        shapes, scales = zip(*(_unit_det(np.maximum(diag[j], 1e-300)) for j in range(k)))
        lam = sum(scales) / n
        return np.stack([np.diag(lam * s) for s in shapes])
    if model == "EEE":
        return np.broadcast_to(total / n, (k, d, d)).copy()
    if model == "VVV":
        return scatter / safe_n[:, None, None]
    if model == "EVV":
        parts = [_unit_det_matrix(scatter[j]) for j in range(k)]
        lam = sum(scale for _, scale in parts) / n
        return np.stack([lam * c for c, _ in parts])
    if model == "EEV":
        values, vectors = _eigh_descending(scatter)                    # (K, d), (K, d, d)
        shape, scale = _unit_det(np.maximum(values.sum(axis=0), 1e-300))
        lam = scale / n
        return np.stack([vectors[j] @ np.diag(lam * shape) @ vectors[j].T for j in range(k)])
    return _iterative(model, n_k, safe_n, scatter, previous)


def _iterative(model, n_k, safe_n, scatter, previous):
    """VEI, VEE, EVE, VVE, VEV: alternate exact maximisations over blocks until Q stops rising."""
    k, d, _ = scatter.shape
    n = float(n_k.sum())
    eye = np.eye(d)
    start = previous if previous is not None else np.broadcast_to(scatter.sum(axis=0) / n + 0 * eye, (k, d, d))
    start = _sym(np.asarray(start, dtype=np.float64))
    best = None
    last = np.inf
    if model == "VEI":
        lam = np.array([_unit_det(np.maximum(np.diagonal(s), 1e-300))[1] for s in start])
        for _ in range(_INNER_MAX_ITER):
            shape, _ = _unit_det(np.maximum((np.diagonal(scatter, axis1=1, axis2=2) / lam[:, None]).sum(axis=0), 1e-300))
            lam = (np.diagonal(scatter, axis1=1, axis2=2) / shape[None, :]).sum(axis=1) / (safe_n * d)
            lam = np.maximum(lam, 1e-300)
            best = lam[:, None, None] * np.diag(shape)[None]
            value = covariance_objective(n_k, scatter, best)
            if last - value <= _INNER_TOL * abs(value):
                break
            last = value
        return best
    if model == "VEE":
        lam = np.array([_unit_det_matrix(s)[1] for s in start])
        for _ in range(_INNER_MAX_ITER):
            c, _ = _unit_det_matrix((scatter / lam[:, None, None]).sum(axis=0))
            c_inv = np.linalg.inv(c)
            lam = np.maximum(np.einsum("kij,ji->k", scatter, c_inv) / (safe_n * d), 1e-300)
            best = lam[:, None, None] * c[None]
            value = covariance_objective(n_k, scatter, best)
            if last - value <= _INNER_TOL * abs(value):
                break
            last = value
        return best
    if model == "VEV":
        values, vectors = _eigh_descending(scatter)
        values = np.maximum(values, 0.0)
        lam = np.array([_unit_det_matrix(s)[1] for s in start])
        for _ in range(_INNER_MAX_ITER):
            shape, _ = _unit_det(np.maximum((values / lam[:, None]).sum(axis=0), 1e-300))
            lam = np.maximum((values / shape[None, :]).sum(axis=1) / (safe_n * d), 1e-300)
            best = np.stack([lam[j] * vectors[j] @ np.diag(shape) @ vectors[j].T for j in range(k)])
            value = covariance_objective(n_k, scatter, best)
            if last - value <= _INNER_TOL * abs(value):
                break
            last = value
        return best
    # EVE, VVE: a common orientation D; shapes Aₖ and the volume(s) in closed form given D.
    _, d_matrix = _eigh_descending((start * n_k[:, None, None]).sum(axis=0) if previous is not None
                                   else scatter.sum(axis=0))
    variable_volume = model == "VVE"
    shifted = _shifted_scatter(scatter)
    for _ in range(_INNER_MAX_ITER):
        rotated = np.einsum("ij,kil,lm->kjm", d_matrix, scatter, d_matrix)   # Dᵀ Wₖ D
        rdiag = np.maximum(np.diagonal(rotated, axis1=1, axis2=2), 1e-300)
        shapes = np.empty((k, d))
        scales = np.empty(k)
        for j in range(k):
            shapes[j], scales[j] = _unit_det(rdiag[j])
        if variable_volume:
            lam = np.maximum(scales / safe_n, 1e-300)       # tr(DᵀWₖD Aₖ⁻¹)/(d Nₖ) = det(diag)^{1/d}/Nₖ
        else:
            lam = np.full(k, max(scales.sum() / n, 1e-300))
        best = np.stack([lam[j] * d_matrix @ np.diag(shapes[j]) @ d_matrix.T for j in range(k)])
        value = covariance_objective(n_k, scatter, best)
        if last - value <= _INNER_TOL * abs(value):
            break
        last = value
        for _ in range(50):  # D given the shapes and volumes, to near its (local) optimum
            moved = _orientation_step(shifted, 1.0 / (lam[:, None] * shapes), d_matrix)
            change = float(np.abs(moved - d_matrix).max())
            d_matrix = moved
            if change < 1e-13:
                break
    return best
