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
# rounding noise; or when it holds too few points for what its model estimates for it alone (see
# degenerate_components). Each component is judged on its own, so tight clusters far apart are
# not mistaken for collapsed ones.
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
    """Per-column facts (d,) of the data: largest and smallest value, and the variance in column
    units with the column scales (variance = scaled_variances · scale², which may overflow or
    underflow float64: see :meth:`log10_variances`). NaN where a column holds a NaN."""

    top: np.ndarray
    bottom: np.ndarray
    scaled_variances: np.ndarray
    scale: np.ndarray

    @property
    def variances(self) -> np.ndarray:
        with np.errstate(over="ignore", under="ignore"):
            return self.scaled_variances * self.scale * self.scale

    def log10_variances(self) -> np.ndarray:
        """log₁₀ of each variance, exact where the variance itself over- or underflows."""
        with np.errstate(divide="ignore"):
            return np.log10(self.scaled_variances) + 2.0 * np.log10(self.scale)

    @classmethod
    def of_centred(cls, data_t: np.ndarray, centre: np.ndarray, scale: np.ndarray | None = None) -> "ColumnSummary":
        """From data stored transposed, centred and in column units (d, n) (core.scaling): contiguous
        rows make this ~1 ms per 1e6."""
        n = data_t.shape[1]
        scale = np.ones(data_t.shape[0]) if scale is None else np.asarray(scale, dtype=np.float64)
        variances = np.einsum("ij,ij->i", data_t, data_t) / max(n, 1)
        return cls(data_t.max(axis=1) * scale + centre, data_t.min(axis=1) * scale + centre, variances, scale)

    @classmethod
    def of(cls, X: np.ndarray) -> "ColumnSummary":
        from emstudio.core.scaling import scaled_columns

        data_t, centre, scale, _ = scaled_columns(X)
        return cls.of_centred(data_t, centre, scale)


def _power_of_ten(log10_value: float) -> str:
    return f"1e{int(round(log10_value)):+d}"


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
    # A NaN makes max NaN; ±inf shows in max or min. (Finite values never overflow here: the
    # summary is computed in column units.)
    if not (np.all(np.isfinite(summary.top)) and np.all(np.isfinite(summary.bottom))):
        raise DataError("the data contains NaN or infinite values")
    magnitude = np.maximum(np.abs(summary.top), np.abs(summary.bottom))
    huge = np.flatnonzero(magnitude > LARGEST_SAFE_VALUE)
    if len(huge):
        names = ", ".join(_column_name(int(i), column_names) for i in huge)
        largest = float(magnitude[huge].max())
        # Dividing by this brings the largest value near 1e3.
        divide = _power_of_ten(np.log10(largest) - 3)
        spread_fits = bool(np.all(summary.log10_variances()[huge] < 290))
        advice = (f"divide {'it' if len(huge) == 1 else 'them'} by a power of ten (e.g. {divide}) before fitting"
                  + (", or use --standardize" if spread_fits else ""))
        raise DataError(f"values of column {names} reach {largest:.3g}: beyond {LARGEST_SAFE_VALUE:.0e} their "
                        f"squares overflow float64 (largest {np.finfo(np.float64).max:.3g}); {advice}")
    if k > n:
        raise FitError(f"K={k} components, but there are only {n} usable samples")
    # Values so small that their variance underflows or has no precision left.
    log_variances = summary.log10_variances()
    tiny = np.flatnonzero((summary.top != summary.bottom) & (log_variances < np.log10(SMALLEST_SAFE_VARIANCE)))
    if n > 1 and len(tiny):
        names = ", ".join(_column_name(int(i), column_names) for i in tiny)
        smallest = float(log_variances[tiny].min())
        # Multiplying by this brings the standard deviation near 1; --standardize cannot help: the
        # covariances in the data's own units would underflow all the same.
        multiply = _power_of_ten(-smallest / 2.0)
        raise DataError(f"values of column {names} are too small: the variance (about {_power_of_ten(smallest)}) "
                        f"is below what float64 holds with precision ({SMALLEST_SAFE_VARIANCE:.0e}); multiply "
                        f"{'it' if len(tiny) == 1 else 'them'} by a power of ten (e.g. {multiply}) before fitting")
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
    """(K, d) ascending eigenvalues of each Σₖ − reg_covar·I (the part the data gave), data's units."""
    full = params.full_covariances() - reg_covar * np.eye(params.n_features)[None]
    return np.linalg.eigvalsh(full)


def _column_unit_eigen(params: MixtureParams, reg_covar: float, scale: np.ndarray | None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigenvalues (K, d) and unit eigenvectors (K, d, d) of each (Σₖ − reg_covar·I)/(s sᵀ), and
    reg_covar per column in those units (d,). In column units a variance of 1e-16 beside one of
    1e16 keeps its precision; in the data's units the small one is lost in the large one's rounding."""
    d = params.n_features
    scale = np.ones(d) if scale is None else np.asarray(scale, dtype=np.float64)
    outer = np.outer(scale, scale)
    with np.errstate(over="ignore"):
        reg = np.minimum(reg_covar / (scale * scale), 1e300)
    full = params.full_covariances() / outer - np.diag(reg)[None]
    values, vectors = np.linalg.eigh(full)
    return values, vectors, reg


def _direction_weights(vectors: np.ndarray, per_column: np.ndarray) -> np.ndarray:
    """(K, d) Σⱼ vⱼ² cⱼ for each eigenvector v (columns of vectors (K, d, d)) and per-column c (d,)."""
    return np.einsum("kji,j->ki", vectors * vectors, per_column)


def degenerate_components(params: MixtureParams, component_sizes: np.ndarray, reg_covar: float,
                          variance_floor: float | np.ndarray = 0.0, scale: np.ndarray | None = None) -> list[int]:
    """Indices of components whose own estimate under their model is singular (mclust's test).

    What a model estimates for one component alone (core.models.own_estimate) decides the test:
    a volume only (EII, VII, E, V) collapsed when it fell to reg_covar or to the rounding noise; a
    diagonal or full matrix when, in column units (``scale`` (d,), the data's column scales,
    MixtureEngine.scale; None means the data's own units), a direction is flat (below
    DEGENERATE_FLATNESS of the component's largest) or fell to the reg_covar or the noise it got.
    And a component is collapsed when it holds no more effective points than give that estimate
    singular (core.models.singular_sizes: d for a full covariance of its own, 1 for a volume or a
    shape of its own, 0 — empty — when all it has alone is its mean). ``variance_floor``: the
    data's rounding noise for variances in column units, per column (d,) or one number
    (MixtureEngine.variance_floor).
    """
    from emstudio.core.mstep import EMPTY_COMPONENT_SIZE
    from emstudio.core.models import singular_size, spherical_model

    d = params.n_features
    noise = np.broadcast_to(np.asarray(variance_floor, dtype=np.float64), (d,))
    sizes = np.asarray(component_sizes, dtype=np.float64)
    too_few = singular_size(params.covariance_type, d)
    few = sizes <= too_few if too_few > 0 else sizes < EMPTY_COMPONENT_SIZE
    if spherical_model(params.covariance_type, d):
        # A sphere is round in the data's units (never flat there), though not in column units:
        # it collapsed only when its variance fell to reg_covar or to the noisiest column's noise.
        unit = np.ones(d) if scale is None else np.asarray(scale, dtype=np.float64)
        vanished = max(DEGENERATE_REG_FRACTION * reg_covar, 4.0 * float((noise * unit * unit).max()))
        variances = params.full_covariances()[:, 0, 0]
        collapsed = variances - reg_covar <= vanished
        return [int(i) for i in np.flatnonzero(collapsed | few)]
    values, vectors, reg = _column_unit_eigen(params, reg_covar, scale)
    vanished = np.maximum(DEGENERATE_REG_FRACTION * _direction_weights(vectors, reg),
                          4.0 * _direction_weights(vectors, noise))
    largest = values[:, -1:]
    collapsed = np.any((values <= vanished) | (values <= DEGENERATE_FLATNESS * largest), axis=1)
    return [int(i) for i in np.flatnonzero(collapsed | few)]


#: Two components whose means differ by less than this many of their standard deviations, and
#: whose covariances agree to this relative tolerance, are one component counted twice.
IDENTICAL_TOLERANCE = 1e-8


def identical_components(params: MixtureParams) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, of components with the same mean and covariance (to IDENTICAL_TOLERANCE).

    EM cannot separate such a pair: both get the same responsibilities up to their weights, and the
    M-step gives them the same mean and covariance again, forever. Compared in each component's
    own standard deviations, so any scale of the data is judged alike.
    """
    full = params.full_covariances()
    sd = np.sqrt(np.abs(np.diagonal(full, axis1=1, axis2=2)))  # (K, d)
    sd = np.where(sd > 0, sd, 1.0)
    unit = np.maximum(sd[:, None, :], sd[None, :, :])  # (K, K, d): the larger spread of each pair
    gap = np.abs(params.means[:, None, :] - params.means[None, :, :])
    close = np.all(gap <= IDENTICAL_TOLERANCE * unit, axis=2)  # means together: few pairs, if any
    pairs = []
    for i, j in zip(*np.nonzero(np.triu(close, k=1))):
        u = unit[i, j]
        if np.all(np.abs(full[i] - full[j]) <= IDENTICAL_TOLERANCE * np.outer(u, u)):
            pairs.append((int(i), int(j)))
    return pairs


def identical_warning(pairs: Sequence[tuple[int, int]], short: bool = False) -> str | None:
    """One line naming the identical pairs (from :func:`identical_components`), or None.
    ``short``: without the advice (the window's status line, where space is scarce)."""
    if not pairs:
        return None
    text = "; ".join(f"{i + 1} and {j + 1}" for i, j in pairs)  # numbered 1 … K, as people read them
    head = f"component{'s' if len(pairs) == 1 else ' pairs'} {text} are identical"
    if short:
        return head + ": EM cannot separate them"
    return head + " (the same mean and covariance): EM cannot separate them; try another start or --seed, or a smaller K"


def collapse_advice(variances: np.ndarray, reg_covar: float, column_names: Sequence[str] | None = None) -> str:
    """What may help when components collapsed, given the data's column variances (d,) and reg_covar.

    A larger reg_covar helps only while it is small against the data; when it already rivals a
    column's variance it is itself what flattens the components (every Σₖ becomes ≈ reg_covar·I),
    and when the columns' scales differ by many orders a single reg_covar cannot suit all of them.
    """
    variances = np.asarray(variances, dtype=np.float64)
    positive = variances[variances > 0]
    ratio = reg_covar / variances
    worst = int(np.argmax(ratio)) if variances.size else 0
    if variances.size and ratio[worst] > 1e-3:
        return (f"--reg-covar {reg_covar:g} swamps the variance of column {_column_name(worst, column_names)} "
                f"({variances[worst]:.3g}), so every covariance is about reg_covar·I; use a smaller --reg-covar "
                f"(e.g. {1e-6 * float(variances.min()):.0e}, 1e-6 × the smallest variance)"
                + (" or --standardize" if _standardising_helps(reg_covar) else ""))
    if positive.size and positive.max() > 1e8 * positive.min():
        return ("the columns' variances differ by a factor of "
                f"{positive.max() / positive.min():.1g}, so no one --reg-covar suits them all; use --standardize, "
                "or try a smaller K or another start")
    return "try a smaller K, another start or a larger --reg-covar"


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
            f"({variances[worst]:.3g}); EM's log-likelihood may fall slightly. Consider "
            + ("--standardize or a smaller --reg-covar" if _standardising_helps(reg_covar) else "a smaller --reg-covar"))


def _standardising_helps(reg_covar: float) -> bool:
    """Whether --standardize makes reg_covar small against every column (all variances become 1)."""
    return reg_covar <= 1e-3


def reg_covar_binds(params: MixtureParams, reg_covar: float, component_sizes: np.ndarray,
                    scale: np.ndarray | None = None) -> bool:
    """Whether reg_covar is large against some component's own covariance in θ.

    True when a component's own covariance (Σₖ − reg_covar·I) has a direction within
    1000·reg_covar of zero, or it has fewer than d + 1 points (Σₖ is then reg_covar·I in some
    direction). With reg_covar > 0 the M-step maximises Q − (reg/2) Σₖ Nₖ tr Σₖ⁻¹, not Q, so F and
    log L may fall a little anywhere (bounded by :func:`reg_covar_allowance`); the penalty is large
    only where this is True, which includes every collapsing component. component_sizes: (K,) the
    Nₖ; ``scale`` (d,): judge in column units (MixtureEngine.scale), as :func:`degenerate_components` does.
    """
    values, vectors, reg = _column_unit_eigen(params, reg_covar, scale)
    return bool(np.any(values < 1e3 * _direction_weights(vectors, reg))
                or np.any(np.asarray(component_sizes) < params.n_features + 1))


def reg_covar_allowance(before: MixtureParams, after: MixtureParams, component_sizes: np.ndarray,
                        reg_covar: float) -> float:
    """The most an M-step with reg_covar may lower F(q, ·), and so log L, from θ ``before`` to θ
    ``after`` (a sum over the samples, ≥ 0).

    Adding reg_covar·I to each covariance makes the M-step the maximiser of
    Q(θ) − (reg/2) Σₖ Nₖ tr Σₖ⁻¹ (Nₖ under the E-step's q: ``component_sizes`` (K,)), not of Q;
    so Q(after) − Q(before) ≥ (reg/2) Σₖ Nₖ (tr Σₖ⁻¹(after) − tr Σₖ⁻¹(before)): F and log L can
    fall by at most (reg/2) Σₖ Nₖ (tr Σₖ⁻¹(before) − tr Σₖ⁻¹(after)), when the covariances grew. 0 when reg_covar is 0 or the states are not one M-step apart.
    """
    if not reg_covar > 0 or before.n_components != after.n_components or before.n_features != after.n_features:
        return 0.0

    def inverse_traces(params: MixtureParams) -> np.ndarray:
        covariances = params.full_covariances()
        with np.errstate(all="ignore"):
            try:
                return np.array([np.trace(np.linalg.inv(c)) for c in covariances])
            except np.linalg.LinAlgError:
                return np.full(covariances.shape[0], np.inf)

    change = inverse_traces(before) - inverse_traces(after)
    with np.errstate(invalid="ignore", over="ignore"):
        allowance = 0.5 * reg_covar * float(np.dot(np.asarray(component_sizes, dtype=np.float64), change))
    if np.isnan(allowance):
        return float("inf")  # a singular covariance: nothing bounds the fall
    return max(0.0, allowance)


#: A fall of log L smaller than this fraction of |log L| is float rounding of the n-term sum.
FALL_TOLERANCE = 1e-9


class Fall(NamedTuple):
    """log L fell from entry ``index`` − 1 to entry ``index`` by ``drop`` > 0 (total, not per sample);
    ``explained``: reg_covar bound at that entry (documented, expected), else a real fault."""

    index: int
    drop: float
    explained: bool


def likelihood_falls(log_likelihoods, reg_binds, breaks, allowances=None) -> list[Fall]:
    """Where a sequence of EM states lost log-likelihood, beyond rounding.

    log_likelihoods (m,) of consecutive states; reg_binds (m,) bool: reg_covar bound in that state
    (:func:`reg_covar_binds`); breaks (m,) bool: the state was not reached by EM from the one before
    (a start or a hand edit), so no rise was promised there; allowances (m,) or None: the most
    reg_covar lets each step lower log L (:func:`reg_covar_allowance`). Each full EM iteration
    must not lower log L (a partial M-step with frozen components included); a fall within the
    allowance, or where reg_covar binds, is the documented reg_covar effect.
    """
    values = np.asarray(log_likelihoods, dtype=np.float64)
    falls = []
    for i in range(1, values.size):
        if breaks[i]:
            continue
        drop = values[i - 1] - values[i]
        if drop > FALL_TOLERANCE * max(abs(values[i]), 1.0):
            within = allowances is not None and drop <= allowances[i] * (1 + 1e-6) + FALL_TOLERANCE * abs(values[i])
            falls.append(Fall(i, float(drop), bool(reg_binds[i]) or bool(within)))
    return falls
