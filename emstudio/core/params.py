"""Gaussian-mixture parameters θ = (πₖ, μₖ, Σₖ) and their validation.

Covariances are stored in the native shape of the covariance type, as scikit-learn does:

=============  ==================
type           ``covariances``
=============  ==================
``full``       (K, d, d)
``tied``       (d, d)
``diag``       (K, d)
``spherical``  (K,)
=============  ==================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emstudio.errors import ParameterError

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
#: mclust's other ten models (core.models); scikit-learn's four are VVV, EEE, VVI and VII. They
#: store K full d × d matrices, like ``full``, and have their own M-steps.
MCLUST_EXTRA_TYPES = ("EII", "EEI", "VEI", "EVI", "VEE", "EVE", "VVE", "EEV", "VEV", "EVV")
ALL_COVARIANCE_TYPES = COVARIANCE_TYPES + MCLUST_EXTRA_TYPES
_MCLUST_ALIASES = {"VVV": "full", "EEE": "tied", "VVI": "diag", "VII": "spherical"}


def check_covariance_type(covariance_type: str) -> str:
    """Return ``covariance_type`` if known, else raise ParameterError naming the choices."""
    if covariance_type not in ALL_COVARIANCE_TYPES:
        raise ParameterError(
            f"unknown covariance type {covariance_type!r}; choose one of {', '.join(COVARIANCE_TYPES)} "
            f"or an mclust model ({', '.join(sorted(set(MCLUST_EXTRA_TYPES) | set(_MCLUST_ALIASES)))})"
        )
    return covariance_type


def resolve_covariance_name(text: str) -> str:
    """The covariance type named by ``text``: scikit-learn's four as they are, mclust's names in any
    case (VVV, EEE, VVI and VII are scikit-learn's full, tied, diag and spherical)."""
    name = text.strip()
    if name in COVARIANCE_TYPES:
        return name
    upper = name.upper()
    if upper in _MCLUST_ALIASES:
        return _MCLUST_ALIASES[upper]
    return check_covariance_type(upper)


def storage_type(covariance_type: str) -> str:
    """How a type's covariances are stored: its own name for scikit-learn's four, ``full`` (K, d, d)
    for mclust's other models."""
    return covariance_type if covariance_type in COVARIANCE_TYPES else "full"


@dataclass(frozen=True, eq=False)
class MixtureParams:
    """Parameters of a K-component Gaussian mixture in d dimensions (read-only arrays).

    weights: (K,) on the simplex; means: (K, d); covariances: native shape of ``covariance_type``.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    covariance_type: str

    def __post_init__(self) -> None:
        for name in ("weights", "means", "covariances"):
            array = np.array(getattr(self, name), dtype=np.float64, copy=True)
            array.setflags(write=False)
            object.__setattr__(self, name, array)

    @classmethod
    def owning(cls, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray,
               covariance_type: str) -> "MixtureParams":
        """Parameters that take over freshly made float64 arrays nobody else holds (the M-step's
        own results): made read-only in place, not copied. EM builds one θ per step, and on small
        data the three copies cost as much as the M-step's arithmetic."""
        params = object.__new__(cls)
        for name, array in (("weights", weights), ("means", means), ("covariances", covariances)):
            if not (isinstance(array, np.ndarray) and array.dtype == np.float64 and array.flags.owndata):
                array = np.array(array, dtype=np.float64, copy=True)
            array.setflags(write=False)
            object.__setattr__(params, name, array)
        object.__setattr__(params, "covariance_type", covariance_type)
        return params

    @property
    def n_components(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.means.shape[1])

    def full_covariances(self) -> np.ndarray:
        """(K, d, d): every component's covariance as a full matrix."""
        return to_full_covariances(self.covariances, self.covariance_type, self.n_components, self.n_features)

    def replace(self, **changes) -> "MixtureParams":
        """A copy with some fields replaced."""
        fields = dict(
            weights=self.weights, means=self.means, covariances=self.covariances,
            covariance_type=self.covariance_type,
        )
        fields.update(changes)
        return MixtureParams(**fields)


def to_full_covariances(covariances: np.ndarray, covariance_type: str, k: int, d: int) -> np.ndarray:
    """(K, d, d) full matrices from covariances in the native shape of ``covariance_type``."""
    cov = np.asarray(covariances, dtype=np.float64)
    if storage_type(covariance_type) == "full":
        return cov.copy()
    if covariance_type == "tied":
        return np.broadcast_to(cov, (k, d, d)).copy()
    if covariance_type == "diag":
        out = np.zeros((k, d, d))
        out[:, np.arange(d), np.arange(d)] = cov
        return out
    if covariance_type == "spherical":
        return cov[:, None, None] * np.eye(d)[None, :, :]
    raise ParameterError(f"unknown covariance type {covariance_type!r}")


def from_full_covariances(full: np.ndarray, covariance_type: str, weights: np.ndarray | None = None) -> np.ndarray:
    """Native-shape covariances from (K, d, d) full matrices.

    ``tied`` takes the weight-averaged matrix (exact when all K are equal, as in a tied result file);
    ``diag`` takes the diagonals; ``spherical`` the mean of each diagonal.
    """
    full = np.asarray(full, dtype=np.float64)
    if storage_type(covariance_type) == "full":
        return full.copy()
    if covariance_type == "tied":
        w = np.full(full.shape[0], 1.0 / full.shape[0]) if weights is None else np.asarray(weights, float)
        return np.einsum("k,kij->ij", w / w.sum(), full)
    diagonals = np.diagonal(full, axis1=1, axis2=2)
    if covariance_type == "diag":
        return diagonals.copy()
    if covariance_type == "spherical":
        return diagonals.mean(axis=1)
    raise ParameterError(f"unknown covariance type {covariance_type!r}")


def make_params(weights, means, covariances, covariance_type: str = "full") -> MixtureParams:
    """Build and validate parameters; raise ParameterError with one clear line if invalid.

    weights (K,), means (K, d), covariances in the native shape of ``covariance_type``.
    """
    check_covariance_type(covariance_type)
    try:
        weights = np.asarray(weights, dtype=np.float64)
        means = np.asarray(means, dtype=np.float64)
        covariances = np.asarray(covariances, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"parameters are not numeric arrays: {exc}") from None
    if means.ndim == 1:
        means = means[:, None]
    if weights.ndim != 1 or weights.size == 0:
        raise ParameterError(f"weights must be a non-empty list of K numbers, got shape {weights.shape}")
    k = weights.shape[0]
    if means.ndim != 2 or means.shape[0] != k or means.shape[1] == 0:
        raise ParameterError(f"means must be K×d = {k}×d, got shape {means.shape}")
    d = means.shape[1]
    expected = {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[storage_type(covariance_type)]
    if covariances.shape != expected:
        raise ParameterError(
            f"{covariance_type} covariances must have shape {expected} for K={k}, d={d}, got {covariances.shape}"
        )
    for name, array in (("weights", weights), ("means", means), ("covariances", covariances)):
        if not np.all(np.isfinite(array)):
            raise ParameterError(f"{name} contain NaN or infinite values")
    negative = np.flatnonzero(weights < 0)
    if negative.size:
        first = int(negative[0])
        raise ParameterError(f"weights must be non-negative: component {first + 1} has weight {weights[first]:.6g}"
                             + (f" ({negative.size} negative in all)" if negative.size > 1 else ""))
    if abs(weights.sum() - 1.0) > 1e-6:
        raise ParameterError(f"weights must sum to 1, they sum to {weights.sum():.6g}")
    weights = weights / weights.sum()
    full = to_full_covariances(covariances, covariance_type, k, d)
    if not np.allclose(full, np.swapaxes(full, 1, 2), rtol=1e-8, atol=1e-12 * np.abs(full).max()):
        raise ParameterError("covariance matrices must be symmetric")
    for index in range(k):
        if covariance_type == "tied" and index > 0:
            break
        try:
            np.linalg.cholesky(full[index])
        except np.linalg.LinAlgError:
            which = "the tied covariance" if covariance_type == "tied" else f"covariance of component {index + 1}"
            raise ParameterError(f"{which} is not positive-definite") from None
    return MixtureParams(weights, means, covariances, covariance_type)


def n_free_parameters(covariance_type: str, k: int, d: int) -> int:
    """Number of free parameters p of a K-component mixture (scikit-learn's count)."""
    if check_covariance_type(covariance_type) in MCLUST_EXTRA_TYPES:
        from emstudio.core.models import n_parameters

        return n_parameters(covariance_type, k, d)  # mclust's count (nMclustParams)
    covariance = {
        "full": k * d * (d + 1) // 2,
        "tied": d * (d + 1) // 2,
        "diag": k * d,
        "spherical": k,
    }[check_covariance_type(covariance_type)]
    return int(covariance + k * d + k - 1)


def precision_cholesky(params: MixtureParams) -> tuple[np.ndarray, np.ndarray]:
    """Inverse Cholesky factors Lₖ⁻¹ (K, d, d) with Σₖ = LₖLₖᵀ, and log|Σₖ| (K,).

    (x − μₖ)ᵀΣₖ⁻¹(x − μₖ) = ‖Lₖ⁻¹(x − μₖ)‖²; diag and spherical models give diagonal factors.
    """
    k, d = params.n_components, params.n_features
    if params.covariance_type in ("diag", "spherical"):
        variances = params.covariances if params.covariance_type == "diag" else np.repeat(params.covariances[:, None], d, 1)
        inv_chol = np.zeros((k, d, d))
        inv_chol[:, np.arange(d), np.arange(d)] = 1.0 / np.sqrt(variances)
        return inv_chol, np.log(variances).sum(axis=1)
    chol = np.linalg.cholesky(params.full_covariances())
    log_det = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    return np.linalg.inv(chol), log_det
