"""Result files of factor analysis and mixtures of factor analysers (docs/factor-analysis.md).

``emstudio.factor-analysis`` (K = 1) and ``emstudio.factor-mixture`` follow the Gaussian-mixture
result file (version, log_likelihood, bic, aic, n_iter, converged, data, settings, history) and add
``n_factors``, ``means`` (K × d), ``loadings`` (K × d × q), ``psi`` (d when shared, K × d per
component) and ``weights``. They also carry ``covariances`` (each ΛΛᵀ + Ψ), so a factor result is a
valid ``--init`` both for its own model and for a Gaussian mixture.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emstudio.core.factor import FactorFit, FactorParams
from emstudio.errors import ParameterError

FACTOR_ANALYSIS_FORMAT = "emstudio.factor-analysis"
FACTOR_MIXTURE_FORMAT = "emstudio.factor-mixture"
FACTOR_FORMATS = (FACTOR_ANALYSIS_FORMAT, FACTOR_MIXTURE_FORMAT)
FACTOR_VERSION = 1


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def factor_result_to_dict(fit: FactorFit, *, source: str, columns: Sequence[str], n_dropped: int = 0) -> dict:
    """The result file's content for a factor fit."""
    params, settings = fit.params, fit.settings
    mixture = params.n_components > 1
    psi = params.psi[0] if params.psi_shared else params.psi
    out = {
        "format": FACTOR_MIXTURE_FORMAT if mixture else FACTOR_ANALYSIS_FORMAT,
        "version": FACTOR_VERSION,
        "n_factors": params.n_factors,
        "psi_type": "shared" if params.psi_shared else "per-component",
        "weights": params.weights.tolist(),
        "means": params.means.tolist(),
        "loadings": params.loadings.tolist(),
        "psi": psi.tolist(),
        "covariances": params.covariances.tolist(),
        "communalities": params.communalities().tolist(),
        "log_likelihood": _finite(fit.log_likelihood),
        "bic": _finite(fit.bic),
        "aic": _finite(fit.aic),
        "n_parameters": int(fit.n_parameters),
        "n_iter": int(fit.n_iter),
        "converged": bool(fit.converged),
        "heywood": [{"component": int(k), "column": int(j)} for k, j in fit.heywood],
        "data": {"source": source, "columns": list(columns), "n_samples": int(fit.n_samples),
                 "n_dropped": int(n_dropped)},
        "settings": {
            "model": settings.model, "k": int(settings.k), "factors": int(settings.n_factors),
            "psi": settings.psi, "init": settings.init if isinstance(settings.init, str) else "file",
            "seed": int(settings.seed), "tol": float(settings.tol), "max_iter": int(settings.max_iter),
            "restarts": int(settings.restarts),
        },
        "history": [{"iteration": int(i), "log_likelihood": _finite(ll)} for i, ll in fit.history],
    }
    if mixture:
        out["icl"] = _finite(fit.icl)
    return out


def is_factor_document(content: dict) -> bool:
    return content.get("format") in FACTOR_FORMATS


def factor_params_from_dict(content: dict, *, name: str = "start file") -> FactorParams:
    """A factor model's θ from a result document (``means``, ``loadings``, ``psi``; ``weights`` if K > 1)."""
    missing = [key for key in ("means", "loadings", "psi") if key not in content]
    if missing:
        raise ParameterError(f"{name}: not a factor-analysis result: missing {', '.join(missing)}")
    try:
        means = np.asarray(content["means"], dtype=np.float64)
        loadings = np.asarray(content["loadings"], dtype=np.float64)
        psi = np.asarray(content["psi"], dtype=np.float64)
        weights = np.asarray(content.get("weights", [1.0]), dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ParameterError(f"{name}: means, loadings, psi and weights must be numbers") from None
    if means.ndim != 2 or loadings.ndim != 3 or weights.ndim != 1:
        raise ParameterError(f"{name}: means must be K × d, loadings K × d × q and weights K numbers")
    shared = psi.ndim == 1
    if shared:
        psi = np.broadcast_to(psi, means.shape)
    try:
        return FactorParams(weights, means, loadings, psi, psi_shared=shared)
    except ParameterError as exc:
        raise ParameterError(f"{name}: {exc}") from None


def read_factor_start(path: str | os.PathLike) -> FactorParams:
    """A factor start from a factor result file, or a selection file whose best model is one (any
    other file says what it is instead)."""
    from emstudio.io.results import SELECTION_FORMAT, read_json_file

    content = read_json_file(path)
    if content.get("format") == SELECTION_FORMAT:
        if not isinstance(content.get("best"), dict):
            raise ParameterError(f"{Path(path).name}: the selection file has no best model")
        content = content["best"]
    fmt = content.get("format")
    if not is_factor_document(content):
        what = f"a {fmt} file" if isinstance(fmt, str) else "not a factor-analysis result"
        raise ParameterError(f"{Path(path).name}: {what}; a factor model starts from "
                             f"{' or '.join(FACTOR_FORMATS)} results")
    return factor_params_from_dict(content, name=Path(path).name)


def factor_selection_to_dict(selection, *, source: str, columns: Sequence[str], n_dropped: int = 0) -> dict:
    """The selection file of a factor grid (docs/formats.md, "Selection file"): the mixtures'
    ``emstudio.model-selection`` with ``model``, ``psi_type`` and one entry per (K, q); ``best`` is
    the chosen cell's whole factor result file."""
    models = []
    for cell in selection.cells:
        entry = {"k": int(cell.k), "factors": int(cell.n_factors)}
        if cell.result is None:
            entry.update(error=cell.error, heywood=False, converged=False)
        else:
            r = cell.result
            entry.update(log_likelihood=_finite(r.log_likelihood), bic=_finite(r.bic), aic=_finite(r.aic),
                         icl=_finite(r.icl), n_parameters=int(r.n_parameters), heywood=cell.heywood,
                         converged=bool(r.converged), n_restarts=int(cell.n_restarts),
                         n_heywood=int(cell.n_heywood))
        models.append(entry)
    best = None
    if selection.best is not None:
        best = factor_result_to_dict(selection.best.result, source=source, columns=columns, n_dropped=n_dropped)
    from emstudio.io.results import SELECTION_FORMAT

    return {"format": SELECTION_FORMAT, "version": 1, "model": selection.model, "psi_type": selection.psi,
            "criterion": selection.criterion, "models": models, "best": best}
