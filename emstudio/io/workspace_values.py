"""The core's values in a workspace document and back: mixture and factor parameters, the fit
settings, and the model-selection grid. Arrays go to an :class:`ArrayPacker` (the document keeps
references); reading checks every value and raises WorkspaceError (one line) for a damaged one.
"""

from __future__ import annotations


from emstudio.core.em import FitResult, FitSettings
from emstudio.core.factor import FactorParams, FactorSettings
from emstudio.core.params import ALL_COVARIANCE_TYPES, MixtureParams, to_full_covariances
from emstudio.core.selection import Cell, Selection
from emstudio.errors import EmstudioError, WorkspaceError
from emstudio.io.workspace import ArrayPacker, ArrayUnpacker


def damaged(what: str) -> WorkspaceError:
    return WorkspaceError(f"the workspace is damaged: {what}")


def number(value, what: str, *, allow_none: bool = False) -> float | None:
    """A float of the document (JSON's NaN and ±Infinity included)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise damaged(f"{what} is {value!r}, not a number")
    return float(value)


def whole(value, what: str, least: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or (least is not None and value < least):
        raise damaged(f"{what} is {value!r}, not a whole number" + (f" ≥ {least}" if least is not None else ""))
    return value


def text(value, what: str) -> str:
    if not isinstance(value, str):
        raise damaged(f"{what} is {value!r}, not text")
    return value


# ---------------------------------------------------------------------- parameters
def encode_params(params: MixtureParams, pack: ArrayPacker) -> dict:
    return {"covariance_type": params.covariance_type, "weights": pack.add(params.weights),
            "means": pack.add(params.means), "covariances": pack.add(params.covariances)}


def decode_params(entry, unpack: ArrayUnpacker, d: int | None = None) -> MixtureParams:
    if not isinstance(entry, dict):
        raise damaged("a mixture's parameters are missing")
    covariance_type = text(entry.get("covariance_type"), "a covariance type")
    if covariance_type not in ALL_COVARIANCE_TYPES:
        raise damaged(f"unknown covariance type {covariance_type!r}")
    weights = unpack.get(entry.get("weights"), 1)
    means = unpack.get(entry.get("means"), 2)
    covariances = unpack.get(entry.get("covariances"))
    if weights is None or means is None or covariances is None:
        raise damaged("a mixture's parameters are missing")
    k = weights.shape[0]
    if k < 1 or means.shape[0] != k or (d is not None and means.shape[1] != d):
        raise damaged(f"a mixture's means have shape {means.shape} for K = {k}" +
                      (f", d = {d}" if d is not None else ""))
    try:
        to_full_covariances(covariances, covariance_type, k, means.shape[1])
    except (ValueError, EmstudioError):
        raise damaged(f"a mixture's covariances have shape {covariances.shape} for {covariance_type}") from None
    return MixtureParams(weights, means, covariances, covariance_type)


def encode_factor(params: FactorParams | None, pack: ArrayPacker) -> dict | None:
    if params is None:
        return None
    return {"weights": pack.add(params.weights), "means": pack.add(params.means),
            "loadings": pack.add(params.loadings), "psi": pack.add(params.psi), "psi_shared": params.psi_shared}


def decode_factor(entry, unpack: ArrayUnpacker) -> FactorParams | None:
    if entry is None:
        return None
    if not isinstance(entry, dict):
        raise damaged("a factor model's parameters are not a mapping")
    try:
        return FactorParams(unpack.get(entry.get("weights"), 1), unpack.get(entry.get("means"), 2),
                            unpack.get(entry.get("loadings"), 3), unpack.get(entry.get("psi"), 2),
                            bool(entry.get("psi_shared", True)))
    except (EmstudioError, TypeError, ValueError, AttributeError) as exc:
        raise damaged(f"a factor model's parameters: {exc}") from None


# ---------------------------------------------------------------------- settings
_FIT_FIELDS = ("k", "covariance_type", "seed", "restarts", "max_iter", "tol", "reg_covar", "prior", "convergence",
               "accelerate", "short_iter", "long_runs")
_FACTOR_FIELDS = ("k", "n_factors", "psi", "seed", "restarts", "max_iter", "tol")


def encode_settings(settings: FitSettings, pack: ArrayPacker) -> dict:
    entry = {name: getattr(settings, name) for name in _FIT_FIELDS}
    entry["init"] = settings.init if isinstance(settings.init, str) else {"params": encode_params(settings.init, pack)}
    return entry


def decode_settings(entry, unpack: ArrayUnpacker) -> FitSettings:
    if not isinstance(entry, dict):
        raise damaged("the fit settings are missing")
    values = {name: entry[name] for name in _FIT_FIELDS if name in entry}
    init = entry.get("init", "kmeans")
    values["init"] = decode_params(init.get("params"), unpack) if isinstance(init, dict) else init
    try:
        settings = FitSettings(**values)
        for name in ("k", "seed", "restarts", "max_iter", "short_iter", "long_runs"):
            whole(getattr(settings, name), f"the setting {name}")
        settings.validate()
    except (EmstudioError, TypeError) as exc:
        raise damaged(f"its fit settings: {exc}") from None
    return settings


def encode_factor_settings(settings: FactorSettings | None, pack: ArrayPacker) -> dict | None:
    if settings is None:
        return None
    entry = {name: getattr(settings, name) for name in _FACTOR_FIELDS}
    entry["init"] = settings.init if isinstance(settings.init, str) else {"params": encode_factor(settings.init, pack)}
    return entry


def decode_factor_settings(entry, unpack: ArrayUnpacker) -> FactorSettings | None:
    if entry is None:
        return None
    if not isinstance(entry, dict):
        raise damaged("the factor settings are not a mapping")
    values = {name: entry[name] for name in _FACTOR_FIELDS if name in entry}
    init = entry.get("init", "pca")
    values["init"] = decode_factor(init.get("params"), unpack) if isinstance(init, dict) else init
    try:
        settings = FactorSettings(**values)
        for name in ("k", "n_factors", "seed", "restarts", "max_iter"):
            whole(getattr(settings, name), f"the factor setting {name}")
    except TypeError as exc:
        raise damaged(f"its factor settings: {exc}") from None
    return settings


# ---------------------------------------------------------------------- the selection grid
def encode_result(result: FitResult | None, pack: ArrayPacker) -> dict | None:
    """A grid cell's fit: what its plot, its hover text and loading it use (not its snapshots)."""
    if result is None:
        return None
    return {"params": encode_params(result.params, pack), "log_likelihood": result.log_likelihood,
            "n_samples": result.n_samples, "n_iter": result.n_iter, "converged": bool(result.converged),
            "history": [[int(i), float(v)] for i, v in result.history],
            "component_sizes": pack.add(result.component_sizes), "sum_log_max_resp": result.sum_log_max_resp,
            "degenerate": [int(k) for k in result.degenerate], "settings": encode_settings(result.settings, pack),
            "restart_log_likelihoods": [float(v) for v in result.restart_log_likelihoods],
            "restart_degenerate": [bool(v) for v in result.restart_degenerate],
            "best_restart": result.best_restart, "stopped": bool(result.stopped),
            "identical": [list(pair) for pair in result.identical], "log_prior": result.log_prior,
            "restart_finished": [bool(v) for v in result.restart_finished],
            "total_iterations": result.total_iterations}


def decode_result(entry, unpack: ArrayUnpacker, d: int) -> FitResult | None:
    if entry is None:
        return None
    if not isinstance(entry, dict):
        raise damaged("a grid cell's fit is not a mapping")
    try:
        return FitResult(
            params=decode_params(entry.get("params"), unpack, d),
            log_likelihood=number(entry.get("log_likelihood"), "a cell's log-likelihood"),
            n_samples=whole(entry.get("n_samples"), "a cell's sample count", 1),
            n_iter=whole(entry.get("n_iter"), "a cell's iterations", 0),
            converged=bool(entry.get("converged")),
            history=tuple((int(i), float(v)) for i, v in entry.get("history", [])),
            component_sizes=unpack.get(entry.get("component_sizes"), 1),
            sum_log_max_resp=number(entry.get("sum_log_max_resp"), "a cell's ICL term"),
            degenerate=tuple(int(k) for k in entry.get("degenerate", [])),
            settings=decode_settings(entry.get("settings"), unpack),
            restart_log_likelihoods=tuple(float(v) for v in entry.get("restart_log_likelihoods", [])),
            restart_degenerate=tuple(bool(v) for v in entry.get("restart_degenerate", [])),
            best_restart=int(entry.get("best_restart", 0)),
            stopped=bool(entry.get("stopped", False)),
            identical=tuple((int(i), int(j)) for i, j in entry.get("identical", [])),
            log_prior=number(entry.get("log_prior"), "a cell's log prior", allow_none=True),
            restart_finished=tuple(bool(v) for v in entry.get("restart_finished", [])),
            total_iterations=int(entry.get("total_iterations", 0)))
    except (TypeError, ValueError) as exc:
        raise damaged(f"a grid cell's fit: {exc}") from None


def encode_selection(cells, selection: Selection | None, pack: ArrayPacker) -> dict:
    """The grid's cells (those of a finished grid, or those done before it was cancelled) and,
    for a finished grid, its criterion, chosen cell and same-model notes."""
    cells = list(cells)
    entry = {"cells": [{"covariance_type": c.covariance_type, "k": c.k, "result": encode_result(c.result, pack),
                        "n_restarts": c.n_restarts, "n_collapsed": c.n_collapsed, "error": c.error}
                       for c in cells]}
    if selection is not None:
        ids = {id(c): i for i, c in enumerate(cells)}
        entry["selection"] = {"criterion": selection.criterion,
                              "best": None if selection.best is None else ids.get(id(selection.best)),
                              "same_models": dict(selection.same_models)}
    return entry


def decode_selection(entry, unpack: ArrayUnpacker, d: int) -> tuple[list[Cell], Selection | None]:
    if entry is None:
        return [], None
    if not isinstance(entry, dict) or not isinstance(entry.get("cells", []), list):
        raise damaged("the model-selection grid is not a mapping with a list of cells")
    cells = []
    for item in entry.get("cells", []):
        if not isinstance(item, dict):
            raise damaged("a grid cell is not a mapping")
        covariance_type = text(item.get("covariance_type"), "a cell's covariance type")
        if covariance_type not in ALL_COVARIANCE_TYPES:
            raise damaged(f"a cell's covariance type {covariance_type!r} is unknown")
        error = item.get("error")
        cells.append(Cell(covariance_type, whole(item.get("k"), "a cell's K", 1),
                          decode_result(item.get("result"), unpack, d),
                          whole(item.get("n_restarts"), "a cell's restarts", 0),
                          whole(item.get("n_collapsed"), "a cell's collapsed restarts", 0),
                          None if error is None else text(error, "a cell's error")))
    chosen = entry.get("selection")
    if chosen is None:
        return cells, None
    if not isinstance(chosen, dict):
        raise damaged("the grid's choice is not a mapping")
    best = chosen.get("best")
    if best is not None and not (isinstance(best, int) and 0 <= best < len(cells)):
        raise damaged(f"the grid's chosen cell {best!r} is not one of its {len(cells)} cells")
    same = chosen.get("same_models", {})
    if not isinstance(same, dict):
        raise damaged("the grid's same-model notes are not a mapping")
    criterion = text(chosen.get("criterion"), "the grid's criterion")
    return cells, Selection(criterion, tuple(cells), None if best is None else cells[best],
                            {str(a): str(b) for a, b in same.items()})

