"""Fitting on standardised data and reporting in the data's own units.

With z = (x − loc) / scale, a Gaussian N(z | m, S) is N(x | loc + scale·m, D S D) / Πⱼ scaleⱼ with
D = diag(scale), so log L in x's units is log L in z's units − n Σⱼ log scaleⱼ, and the criteria
shift by the same constant (the choice between models is unchanged).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from emstudio.core.em import FitResult
from emstudio.core.checks import SMALLEST_SAFE_VARIANCE
from emstudio.core.params import MixtureParams, make_params
from emstudio.errors import DataError, ParameterError

#: Above this a variance (10^this) leaves no room for the covariances' sums in float64.
LARGEST_SAFE_LOG10_VARIANCE = 300.0


@dataclass(frozen=True, eq=False)
class Standardisation:
    """z = (x − loc) / scale, per column: loc (d,), scale (d,) > 0."""

    loc: np.ndarray
    scale: np.ndarray

    @classmethod
    def of(cls, X: np.ndarray) -> "Standardisation":
        """Mean and standard deviation of each column of X (n, d); a constant column gets scale 1."""
        # Divide by the largest magnitude first, so that values near float64's limits (the very
        # data standardising is for) do not overflow when squared.
        magnitude = np.max(np.abs(X), axis=0)
        magnitude = np.where((magnitude > 0) & np.isfinite(magnitude), magnitude, 1.0)
        scaled = X / magnitude
        scale = scaled.std(axis=0) * magnitude
        return cls(scaled.mean(axis=0) * magnitude, np.where(scale > 0, scale, 1.0))

    def problem(self, column_names=None) -> str | None:
        """Why a fit on z cannot be given back in x's units, or None.

        A covariance in x's units is the one in z's units times scaleᵢ scaleⱼ: with scale ~1e-300 it
        underflows to 0 (a result file of zero covariances, no valid start), with scale ~1e160 it
        overflows. Standardising cannot help such data; rescaling it by a power of ten can.
        """
        log_variance = 2.0 * np.log10(self.scale)
        names = list(column_names) if column_names is not None else [str(i) for i in range(self.scale.size)]

        def which(mask):
            picked = [repr(names[i]) if column_names is not None else names[i] for i in np.flatnonzero(mask)]
            one = len(picked) == 1
            return ("column " if one else "columns ") + ", ".join(picked), ("it" if one else "them"), \
                ("its variance" if one else "their variance")

        small = log_variance < np.log10(SMALLEST_SAFE_VARIANCE)
        if np.any(small):
            columns, pronoun, variance = which(small)
            worst = float(log_variance[small].min())
            return (f"--standardize cannot help {columns}: {variance} (about 1e{worst:+.0f}) underflows "
                    f"float64, so the fitted covariances would be 0 in the data's own units; multiply {pronoun} "
                    f"by a power of ten (e.g. 1e{-worst / 2:+.0f}) before fitting")
        large = log_variance > LARGEST_SAFE_LOG10_VARIANCE
        if np.any(large):
            columns, pronoun, variance = which(large)
            worst = float(log_variance[large].max())
            return (f"--standardize cannot help {columns}: {variance} (about 1e{worst:+.0f}) overflows "
                    f"float64, so the fitted covariances would be infinite in the data's own units; divide "
                    f"{pronoun} by a power of ten (e.g. 1e{worst / 2:+.0f}) before fitting")
        return None

    def apply(self, X: np.ndarray) -> np.ndarray:
        """(X − loc) / scale, (n, d)."""
        return (X - self.loc) / self.scale

    def log_jacobian(self, n_samples: int) -> float:
        """What to add to a log-likelihood in z's units to get it in x's units."""
        return -n_samples * float(np.log(self.scale).sum())

    def params_to_original(self, params: MixtureParams) -> MixtureParams:
        """Parameters fitted on z expressed in x's units.

        A spherical covariance in z is diagonal in x when the scales differ: it is returned as diag.
        """
        means = params.means * self.scale + self.loc
        cov_type = params.covariance_type
        if cov_type in ("full", "tied") or cov_type not in ("diag", "spherical"):
            # mclust's models: volume, shape and orientation are not kept by rescaling columns; the
            # matrices are exact, and the next M-step in x's units restores the model's form.
            outer = np.outer(self.scale, self.scale)
            return MixtureParams(params.weights, means, params.covariances * outer, cov_type)
        variances = params.covariances if cov_type == "diag" else params.covariances[:, None] * np.ones_like(self.scale)
        return MixtureParams(params.weights, means, variances * self.scale ** 2, "diag")

    def params_to_standard(self, params: MixtureParams) -> MixtureParams:
        """Parameters in x's units expressed in z's units (e.g. a start file), keeping the type."""
        means = (params.means - self.loc) / self.scale
        full = params.full_covariances() / np.outer(self.scale, self.scale)
        from emstudio.core.params import from_full_covariances

        return MixtureParams(params.weights, means, from_full_covariances(full, params.covariance_type, params.weights),
                             params.covariance_type)

    def result_to_original(self, result: FitResult) -> FitResult:
        """A fit made on z reported in x's units: parameters, log L and its history."""
        shift = self.log_jacobian(result.n_samples)
        with np.errstate(over="ignore", invalid="ignore"):
            params = self.params_to_original(result.params)
        if not np.all(np.isfinite(params.covariances)):
            raise DataError("the fitted covariances overflow float64 in the data's own units; "
                            "rescale the data (e.g. divide by a power of ten) before fitting")
        try:  # any result must be a valid start: finite, positive definite, in the data's units
            make_params(params.weights, params.means, params.covariances, params.covariance_type)
        except ParameterError as exc:
            raise DataError(f"the fitted parameters cannot be expressed in the data's own units ({exc}); "
                            "rescale the data by a power of ten before fitting") from None
        return dataclasses.replace(
            result,
            params=params,
            log_likelihood=result.log_likelihood + shift,
            history=tuple((i, ll + shift) for i, ll in result.history),
            restart_log_likelihoods=tuple(ll + shift for ll in result.restart_log_likelihoods),
            restart_histories=tuple(tuple((i, ll + shift) for i, ll in h) for h in result.restart_histories),
            snapshots=(),
        )
