"""Checks before and after a fit: can this data hold K components, and did any component collapse?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from emstudio.core.params import MixtureParams
from emstudio.errors import DataError, FitError

# A component is degenerate when the part of its covariance the data gave it (Σₖ − reg_covar·I)
# is flat — smallest eigenvalue below DEGENERATE_FLATNESS of its largest (axes beyond 1:10⁴) — or
# has a direction that fell to reg_covar (below DEGENERATE_REG_FRACTION of it) or to the data's
# rounding noise; or when its effective size Nₖ < d + 1. Each component is judged on its own, so
# tight clusters far apart are not mistaken for collapsed ones.
DEGENERATE_FLATNESS = 1e-8
DEGENERATE_REG_FRACTION = 1e-3
# Squared values above this overflow the covariance sums in float64.
LARGEST_SAFE_VALUE = 1e150
# Variances below this lose all precision (squares of values under ~1e-140 underflow).
SMALLEST_SAFE_VARIANCE = 1e-280


def _column_name(index: int, names: Sequence[str] | None) -> str:
    return repr(names[index]) if names is not None and index < len(names) else f"{index}"


def count_distinct_rows(X: np.ndarray, at_least: int) -> int:
    """Number of distinct rows of X (n, d), or any number ≥ ``at_least`` once that many are found.

    Looks at a prefix first, so data with plenty of distinct points costs almost nothing.
    """
    prefix = X[: max(1000, 50 * at_least)]
    found = np.unique(prefix, axis=0).shape[0]
    if found >= at_least or prefix.shape[0] == X.shape[0]:
        return found
    return np.unique(X, axis=0).shape[0]


@dataclass(frozen=True, eq=False)
class ColumnSummary:
    """Per-column facts (d,) of the data: largest and smallest value and variance (NaN if any NaN)."""

    top: np.ndarray
    bottom: np.ndarray
    variances: np.ndarray

    @classmethod
    def of_centred(cls, data_t: np.ndarray, centre: np.ndarray) -> "ColumnSummary":
        """From data stored transposed and centred, (d, n): contiguous rows make this ~1 ms per 1e6."""
        n = data_t.shape[1]
        variances = np.einsum("ij,ij->i", data_t, data_t) / max(n, 1)
        return cls(data_t.max(axis=1) + centre, data_t.min(axis=1) + centre, variances)

    @classmethod
    def of(cls, X: np.ndarray) -> "ColumnSummary":
        centre = X.mean(axis=0)
        return cls.of_centred(np.ascontiguousarray((X - centre).T), centre)


def check_fit_data(X: np.ndarray, k: int, column_names: Sequence[str] | None = None,
                   summary: ColumnSummary | None = None) -> None:
    """Raise DataError / FitError with one clear line if X (n, d) cannot hold K components.

    ``summary`` (from the engine's copy of the data) saves passes over a large X.
    """
    if X.ndim != 2 or X.shape[1] == 0:
        raise DataError("no data columns to fit")
    n, d = X.shape
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise FitError(f"K must be a whole number ≥ 1, got {k}")
    if n == 0:
        raise DataError("no usable samples (every row was dropped or the file has none)")
    summary = summary or ColumnSummary.of(X)
    # A NaN makes max NaN; ±inf shows in max or min.
    if not (np.all(np.isfinite(summary.top)) and np.all(np.isfinite(summary.bottom))):
        raise DataError("the data contains NaN or infinite values")
    if max(np.abs(summary.top).max(), np.abs(summary.bottom).max()) > LARGEST_SAFE_VALUE:
        raise DataError("values are too large for the covariance to be computed in float64; "
                        "standardise the data (--standardize)")
    if k > n:
        raise FitError(f"K={k} components, but there are only {n} usable samples")
    # Values so small that their squares underflow: distances and variances become 0.
    tiny = np.flatnonzero((summary.top != summary.bottom) & (summary.variances < SMALLEST_SAFE_VARIANCE))
    if n > 1 and len(tiny):
        names = ", ".join(_column_name(int(i), column_names) for i in tiny)
        raise DataError(f"values of column {names} are too small for float64 variances; "
                        "standardise the data (--standardize)")
    constant = np.flatnonzero(summary.top == summary.bottom) if n > 1 else []
    if len(constant):
        names = ", ".join(_column_name(int(i), column_names) for i in constant)
        raise DataError(f"column {names} is constant, so no covariance can be estimated; "
                        "leave it out with --columns")
    distinct = count_distinct_rows(X, k)
    if distinct < k:
        raise FitError(f"K={k} components, but the data has only {distinct} distinct point"
                       f"{'s' * (distinct != 1)}")


def data_variances(X: np.ndarray | None = None, summary: ColumnSummary | None = None) -> np.ndarray:
    """Per-column variances (d,) used as the yardstick for collapse; zero columns count as 1."""
    variances = summary.variances if summary is not None else X.var(axis=0)
    return np.where(variances > 0, variances, 1.0)


def empirical_eigenvalues(params: MixtureParams, reg_covar: float) -> np.ndarray:
    """(K, d) ascending eigenvalues of each Σₖ − reg_covar·I (the part the data gave)."""
    full = params.full_covariances() - reg_covar * np.eye(params.n_features)[None]
    return np.linalg.eigvalsh(full)


def degenerate_components(params: MixtureParams, component_sizes: np.ndarray, reg_covar: float,
                          variance_floor: float = 0.0) -> list[int]:
    """Indices of components that collapsed: a flat or vanished covariance, or Nₖ < d + 1.

    ``variance_floor`` is the data's rounding noise for variances (MixtureEngine.variance_floor).
    """
    values = empirical_eigenvalues(params, reg_covar)
    smallest, largest = values[:, 0], values[:, -1]
    vanished = max(DEGENERATE_REG_FRACTION * reg_covar, 4.0 * variance_floor)
    collapsed = (smallest <= vanished) | (smallest <= DEGENERATE_FLATNESS * largest)
    few = np.asarray(component_sizes) < params.n_features + 1
    return [int(i) for i in np.flatnonzero(collapsed | few)]


def reg_covar_warning(variances: np.ndarray, reg_covar: float, column_names: Sequence[str] | None = None) -> str | None:
    """A warning when reg_covar is not small against a column's variance, else None.

    Adding reg_covar·I after the M-step is not the maximiser of Q, so when reg_covar is comparable
    to the data's variances the log-likelihood can fall slightly from one iteration to the next.
    """
    ratio = reg_covar / np.asarray(variances)
    worst = int(np.argmax(ratio))
    if ratio[worst] <= 1e-3:
        return None
    return (f"--reg-covar {reg_covar:g} is large against the variance of column {_column_name(worst, column_names)} "
            f"({variances[worst]:.3g}); EM's log-likelihood may fall slightly. Consider --standardize "
            "or a smaller --reg-covar")


def reg_covar_binds(params: MixtureParams, reg_covar: float, component_sizes: np.ndarray) -> bool:
    """Whether adding reg_covar·I is far from Q's maximiser for some component of θ.

    True when a component's own covariance (Σₖ − reg_covar·I) has a direction within
    1000·reg_covar of zero, or it has fewer than d + 1 points (Σₖ is then reg_covar·I in some
    direction). Only there can EM's log-likelihood fall (docs/results.md); such a component is
    also one the program flags as collapsing. component_sizes: (K,) the Nₖ.
    """
    return bool(np.any(empirical_eigenvalues(params, reg_covar)[:, 0] < 1e3 * reg_covar)
                or np.any(np.asarray(component_sizes) < params.n_features + 1))


#: A fall of log L smaller than this fraction of |log L| is float rounding of the n-term sum.
FALL_TOLERANCE = 1e-9


class Fall(NamedTuple):
    """log L fell from entry ``index`` − 1 to entry ``index`` by ``drop`` > 0 (total, not per sample);
    ``explained``: reg_covar bound at that entry (documented, expected), else a real fault."""

    index: int
    drop: float
    explained: bool


def likelihood_falls(log_likelihoods, reg_binds, breaks) -> list[Fall]:
    """Where a sequence of EM states lost log-likelihood, beyond rounding.

    log_likelihoods (m,) of consecutive states; reg_binds (m,) bool: reg_covar bound in that state
    (:func:`reg_covar_binds`); breaks (m,) bool: the state was not reached by EM from the one before
    (a start or a hand edit), so no rise was promised there. Each full EM iteration must not lower
    log L (a partial M-step with frozen components included); a fall where reg_covar binds is the
    documented reg_covar effect.
    """
    values = np.asarray(log_likelihoods, dtype=np.float64)
    falls = []
    for i in range(1, values.size):
        if breaks[i]:
            continue
        drop = values[i - 1] - values[i]
        if drop > FALL_TOLERANCE * max(abs(values[i]), 1.0):
            falls.append(Fall(i, float(drop), bool(reg_binds[i])))
    return falls
