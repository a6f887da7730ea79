"""Column units: each column measured in a power of two near its own spread.

Columns whose scales differ by 1e8 or more (an income beside a rate) break every scalar threshold
of EM in float64: the eigenvalue lift relative to the largest eigenvalue, the rounding-noise floor
of the largest value, the collapse tests, the quadratic features' cancellation bound. The engine
therefore works on u = (x − c) / s per column, with s a power of two near the column's spread:
multiplying and dividing by a power of two is exact in floating point, so nothing is lost going
there and back, and every floor acts on each column in that column's own unit. Results are given
back in the data's units.
"""

from __future__ import annotations

import numpy as np

from emstudio.core.params import storage_type

#: A variance below this many rounding units of a column's largest magnitude is noise.
NOISE_ROUNDING_UNITS = 64.0
_TINY = float(np.finfo(np.float64).tiny)


def power_of_two_near(values: np.ndarray, *, floor: bool = False) -> np.ndarray:
    """2^round(log2 v) (or 2^floor(log2 v)) per element of ``values`` (d,); 1 where v is 0, NaN or inf."""
    values = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(values) & (values > 0)
    safe = np.where(ok, values, 1.0)
    mantissa, exponent = np.frexp(safe)  # safe = mantissa · 2^exponent, mantissa in [0.5, 1)
    exponent = exponent - 1  # safe = (2·mantissa) · 2^(exponent−1), 2·mantissa in [1, 2)
    if not floor:
        exponent = exponent + (2.0 * mantissa >= np.sqrt(2.0))
    return np.where(ok, np.ldexp(1.0, exponent), 1.0)


def scaled_columns(X: np.ndarray, centre: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The data in column units, transposed: (data_t (d, n), centre (d,), scale (d,), magnitude (d,)).

    data_t = (X − centre)ᵀ / scale, C-contiguous (a new array); centre is the column means unless
    given; scale a power of two within √2 of each column's root-mean-square deviation (1 for a
    constant column); magnitude = max |x| per column (NaN or inf when the column holds one).
    The columns are first divided by a power of two near their magnitude, so that neither the mean
    nor the squares overflow even for values near float64's largest.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    n, d = X.shape
    data_t = np.array(X.T, order="C", copy=True)
    if n == 0:
        return data_t, np.zeros(d) if centre is None else np.asarray(centre, float), np.ones(d), np.zeros(d)
    magnitude = np.maximum(data_t.max(axis=1), -data_t.min(axis=1))
    pre = power_of_two_near(magnitude, floor=True)
    data_t /= pre[:, None]
    if centre is None:
        centre_pre = data_t.mean(axis=1)
    else:
        centre = np.asarray(centre, dtype=np.float64)
        centre_pre = centre / pre
    data_t -= centre_pre[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        rms = np.sqrt(np.einsum("ij,ij->i", data_t, data_t) / n)
    post = power_of_two_near(rms)
    data_t /= post[:, None]
    if centre is None:
        centre = centre_pre * pre
    return data_t, centre, pre * post, magnitude


class ColumnFrame:
    """The column units of :func:`scaled_columns`, found by row chunks without a copy of X.

    ``units(block)`` gives rows of X in column units, (rows, d), with the same arithmetic as
    scaled_columns (divide by pre, subtract the centre, divide by post: pre and post are powers
    of two, so each step is exact but the subtraction). For passes over data too large to copy
    (the starts' M-step and data covariance; README's memory budget).
    """

    def __init__(self, X: np.ndarray, centre: np.ndarray | None = None, chunk_rows: int = 65536):
        n, d = X.shape
        self.magnitude = np.maximum(X.max(axis=0), -X.min(axis=0)) if n else np.zeros(d)
        self.pre = power_of_two_near(self.magnitude, floor=True)
        if centre is None:
            total = np.zeros(d)
            for a in range(0, n, chunk_rows):
                total += (X[a:a + chunk_rows] / self.pre).sum(axis=0)
            self.centre_pre = total / max(n, 1)
            self.centre = self.centre_pre * self.pre
        else:
            self.centre = np.asarray(centre, dtype=np.float64)
            self.centre_pre = self.centre / self.pre
        squares = np.zeros(d)
        with np.errstate(over="ignore", invalid="ignore"):
            for a in range(0, n, chunk_rows):
                block = X[a:a + chunk_rows] / self.pre
                block -= self.centre_pre
                squares += np.einsum("ij,ij->j", block, block)
            self.post = power_of_two_near(np.sqrt(squares / max(n, 1)))
        self.scale = self.pre * self.post

    def units(self, block: np.ndarray) -> np.ndarray:
        """Rows (rows, d) of X in column units (a new array)."""
        out = block / self.pre
        out -= self.centre_pre
        out /= self.post
        return out

    def noise(self) -> np.ndarray:
        return noise_variance(self.magnitude, self.scale)


def noise_variance(magnitude: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(d,) the rounding noise of each column's values, as a variance in column units.

    Values of magnitude m are known to about eps·m; a variance below (64 eps m / s)² in the unit s is
    noise (a component that collapsed with reg_covar = 0), and the M-step lifts it there.
    """
    magnitude = np.where(np.isfinite(magnitude), magnitude, 0.0)
    relative = NOISE_ROUNDING_UNITS * np.finfo(np.float64).eps * magnitude / scale
    return np.maximum(relative * relative, _TINY)


def column_units(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scale (d,), noise (d,)) of data X (n, d): see :func:`scaled_columns` and :func:`noise_variance`."""
    _, _, scale, magnitude = scaled_columns(X)
    return scale, noise_variance(magnitude, scale)


def scaled_covariances(covariances: np.ndarray, covariance_type: str, scale: np.ndarray) -> np.ndarray:
    """Covariances in column units: full (K, d, d) and tied (d, d) divided by s sᵀ; diag (K, d) and
    spherical (K,) become per-column variances (K, d) divided by s² (a sphere is not one in column
    units). Exact: s is a power of two."""
    cov = np.asarray(covariances, dtype=np.float64)
    if storage_type(covariance_type) in ("full", "tied"):
        return cov / (scale[:, None] * scale)  # np.outer's values, without its overhead
    if covariance_type == "spherical":
        cov = np.repeat(cov[:, None], scale.shape[0], axis=1)
    return cov / (scale * scale)


def scaled_precision_cholesky(covariances: np.ndarray, covariance_type: str, scale: np.ndarray, k: int
                              ) -> tuple[np.ndarray, np.ndarray]:
    """Inverse Cholesky factors (K, d, d) and log-determinants (K,) of K components' covariances in
    column units (tied: the one matrix for every component).

    log|Σₖ| in the data's units is the returned value + 2 Σⱼ log sⱼ. Raises numpy's LinAlgError when
    a covariance is not positive definite.
    """
    cov = scaled_covariances(covariances, covariance_type, scale)
    d = scale.shape[0]
    if covariance_type in ("diag", "spherical"):
        inv_chol = np.zeros((k, d, d))
        inv_chol[:, np.arange(d), np.arange(d)] = 1.0 / np.sqrt(cov)
        return inv_chol, np.log(cov).sum(axis=1)
    if covariance_type == "tied":
        cov = np.broadcast_to(cov, (k, d, d))
    chol = np.linalg.cholesky(cov)
    log_det = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    return np.linalg.inv(chol), log_det
