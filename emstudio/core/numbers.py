"""Numbers as a person reads them: 4–5 significant digits, plain notation for ordinary
magnitudes (23170, never 2.317e+04), rounding noise shown as 0 (never -8.32e-302), and a
covariance told as standard deviations and correlations.

Pure functions, no Qt; the window's table, hover box, pictures and summaries use them.
"""

from __future__ import annotations

import math

import numpy as np

#: Plain notation from here …
PLAIN_LOW = 1e-4
#: … up to (not including) here; outside, a power of ten.
PLAIN_HIGH = 1e6
#: A value this small against its context (relative) is rounding noise: shown as 0.
NOISE = 1e-12
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def is_noise(value: float, scale: float | None = None, rel: float = NOISE) -> bool:
    """True when ``value`` is zero up to rounding: |value| ≤ rel · scale (scale: the size of the
    numbers it was computed from, e.g. a matrix's largest entry), or subnormal-small (< 1e-300)
    with no scale."""
    value = float(value)
    if value == 0.0:
        return True
    if not math.isfinite(value):
        return False
    if scale is not None and math.isfinite(scale) and scale > 0:
        return abs(value) <= rel * scale
    return abs(value) < 1e-300


def format_number(value: float, digits: int = 4, scale: float | None = None) -> str:
    """``value`` to ``digits`` significant digits (4 by default; 5 is the most a table needs).

    Plain notation for 1e-4 ≤ |value| < 1e6 (23170, 0.0123, 1.5 — no trailing zeros, no
    exponent); a power of ten outside (1.234×10⁷, 3.1×10⁻⁶); 0 for rounding noise against
    ``scale`` (see :func:`is_noise`) and for −0; "nan", "∞", "−∞" spelled out. Minus signs are
    U+2212 so columns of numbers line up."""
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if is_noise(value, scale):
        return "0"
    digits = max(1, int(digits))
    rounded = float(f"{value:.{digits}g}")  # rounding may carry into the next power (9.99995 → 10)
    magnitude = abs(rounded)
    if PLAIN_LOW <= magnitude < PLAIN_HIGH:
        exponent = math.floor(math.log10(magnitude))
        decimals = max(0, digits - 1 - exponent)
        text = f"{rounded:.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    else:
        mantissa, exponent_text = f"{rounded:.{digits - 1}e}".split("e")
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        text = f"{mantissa}×10{str(int(exponent_text)).translate(_SUPERSCRIPT)}"
    if text.startswith("-"):
        text = "−" + text[1:]
    return "0" if text in ("0", "−0") else text


def format_share(value: float) -> str:
    """A proportion in [0, 1] (a weight πₖ or a responsibility): three decimals, tiny non-zero
    ones as a power of ten so they are not mistaken for exactly 0."""
    value = float(value)
    if 0 < abs(value) < 5e-4:
        return format_number(value, 2)
    text = f"{value:.3f}"
    return "0" if text in ("0.000", "-0.000") else text.replace("-", "−")


def format_vector(values, digits: int = 4) -> str:
    """"(a, b, …)" of a vector (d,), each :func:`format_number`, noise judged against the largest."""
    values = np.asarray(values, dtype=np.float64).ravel()
    scale = float(np.max(np.abs(values))) if values.size else None
    return "(" + ", ".join(format_number(v, digits, scale) for v in values) + ")"


def clean_symmetric(matrix: np.ndarray, rel: float = NOISE) -> np.ndarray:
    """A symmetric matrix (d, d) with rounding noise (|entry| ≤ rel · largest |entry|) set to 0
    and the two triangles made equal."""
    matrix = np.asarray(matrix, dtype=np.float64)
    matrix = 0.5 * (matrix + matrix.T)
    scale = float(np.max(np.abs(matrix))) if matrix.size else 0.0
    cleaned = matrix.copy()
    cleaned[np.abs(cleaned) <= rel * scale] = 0.0
    return cleaned


def std_and_correlation(covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A covariance (d, d) as standard deviations (d,) and a correlation matrix (d, d).

    Rounding noise is 0, correlations are clipped to [−1, 1] and the diagonal is exactly 1 (0 for
    a coordinate with no spread, whose correlations are undefined and shown as 0)."""
    cov = clean_symmetric(covariance)
    variances = np.clip(np.diag(cov), 0.0, None)
    std = np.sqrt(variances)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(std, std)
    corr = np.where(np.isfinite(corr), corr, 0.0)
    corr = np.clip(corr, -1.0, 1.0)
    corr[np.abs(corr) <= 1e-9] = 0.0  # a correlation of ±1e-17 is rounding: 0
    np.fill_diagonal(corr, np.where(std > 0, 1.0, 0.0))
    return std, corr


def smallest_eigenvalue(covariance: np.ndarray, rel: float = 1e-10) -> float:
    """The smallest eigenvalue of a covariance (d, d) as a person should read it: never negative
    (a covariance has none; a negative one is rounding), 0 when it is noise against the largest."""
    cov = 0.5 * (np.asarray(covariance, dtype=np.float64) + np.asarray(covariance, dtype=np.float64).T)
    eigenvalues = np.linalg.eigvalsh(cov)
    top = float(np.max(np.abs(eigenvalues))) if eigenvalues.size else 0.0
    low = float(eigenvalues.min()) if eigenvalues.size else 0.0
    if low <= rel * top:
        return 0.0 if low <= 0 or is_noise(low, top, rel) else low
    return low


def display_eigenvalue(value: float, scale: float | None = None) -> str:
    """An eigenvalue already computed elsewhere (e.g. λmin of Σₖ − reg_covar·I), never shown
    negative: a negative or noise value is 0."""
    value = float(value)
    if not math.isfinite(value):
        return format_number(value)
    if value <= 0 or is_noise(value, scale, 1e-10):
        return "0"
    return format_number(value)
