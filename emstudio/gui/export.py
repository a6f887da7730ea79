"""Exports of what is on screen: the result file, labels, and the picture (PNG or SVG)."""

from __future__ import annotations

import os

import numpy as np

from emstudio.core.checks import degenerate_components
from emstudio.core.em import FitResult, FitSettings, responsibilities
from emstudio.core.engine import MixtureEngine
from emstudio.core.params import MixtureParams

PICTURE_SUFFIXES = (".png", ".svg")


def result_of(values: np.ndarray, params: MixtureParams, settings: FitSettings, *, iteration: int,
              converged: bool, history) -> FitResult:
    """A FitResult for parameters on screen, measured on all the data (one pass)."""
    with MixtureEngine(values, params.covariance_type) as engine:
        return measured_result(engine, params, engine.run_pass(params), settings, iteration=iteration,
                               converged=converged, history=history)


def measured_result(engine, params: MixtureParams, measured, settings: FitSettings, *, iteration: int,
                    converged: bool, history) -> FitResult:
    """The FitResult of ``params`` from ``measured``, the engine's pass over all its rows at them
    (an in-memory engine or a cluster's); ``settings``: the window's, whose K and model become θ's."""
    degenerate = degenerate_components(params, measured.stats.n_k, settings.reg_covar, engine.variance_floor,
                                       engine.scale)
    settings = FitSettings(k=params.n_components, covariance_type=params.covariance_type, init=settings.init,
                           seed=settings.seed, restarts=settings.restarts, max_iter=settings.max_iter,
                           tol=settings.tol, reg_covar=settings.reg_covar)
    return FitResult(params=params, log_likelihood=measured.log_likelihood, n_samples=engine.n_samples,
                     n_iter=iteration, converged=converged, history=tuple(history),
                     component_sizes=measured.stats.n_k, sum_log_max_resp=measured.sum_log_max_resp,
                     degenerate=tuple(int(i) for i in degenerate), settings=settings)


def write_result_file(path, dataset, result: FitResult) -> None:
    from emstudio.io.results import result_to_dict, write_json

    write_json(path, result_to_dict(result, source=os.path.basename(dataset.source), columns=dataset.columns,
                                    n_dropped=dataset.n_dropped))


def factor_result_of(values: np.ndarray, params, settings, *, iteration: int, converged: bool, history):
    """A core.factor.FactorFit for a factor model's θ on screen, measured on all the data (one pass):
    log L, Nₖ, Σᵢ log maxₖ rᵢₖ (ICL) and the Heywood cases."""
    import dataclasses

    from emstudio.core.factor import FactorFit, FactorSettings, heywood_cases
    from emstudio.core.factor_steps import FactorProblem

    problem = FactorProblem(values)
    stats = problem.data.run_pass(problem.to_fit_units(params))
    settings = dataclasses.replace(settings if isinstance(settings, FactorSettings) else FactorSettings(),
                                   k=params.n_components, n_factors=params.n_factors,
                                   psi="shared" if params.psi_shared else "per-component")
    return FactorFit(params=params, log_likelihood=stats.log_likelihood + problem.log_jacobian,
                     n_samples=values.shape[0], n_iter=iteration, converged=converged, history=tuple(history),
                     component_sizes=stats.n_k, sum_log_max_resp=stats.sum_log_max_resp,
                     heywood=heywood_cases(params, problem.variances), settings=settings)


def write_factor_result_file(path, dataset, fit) -> None:
    """The factor model's own result file (io.factor_results: a valid --init for it and for a mixture)."""
    from emstudio.io.factor_results import factor_result_to_dict
    from emstudio.io.results import write_json

    write_json(path, factor_result_to_dict(fit, source=os.path.basename(dataset.source), columns=dataset.columns,
                                           n_dropped=dataset.n_dropped))


def write_labels_file(path, dataset, params: MixtureParams) -> None:
    from emstudio.io.results import write_labels

    write_labels(path, dataset.values, dataset.columns, responsibilities(dataset.values, params),
                 row_ids=dataset.row_ids, cell_text=dataset.cell_text)


def write_picture(path, plot_widget, scale: float = 2.0) -> None:
    """The plot widget's whole scene (title, axes, labels) as PNG (``scale`` × its size on
    screen, for print) or SVG, by the file's suffix."""
    import pyqtgraph.exporters as exporters

    suffix = os.path.splitext(str(path))[1].lower()
    scene = plot_widget.scene()
    if suffix == ".svg":
        exporter = exporters.SVGExporter(scene)
    elif suffix == ".png":
        exporter = exporters.ImageExporter(scene)
        exporter.parameters()["width"] = int(round(scale * plot_widget.width()))
        exporter.parameters()["antialias"] = True
    else:
        from emstudio.errors import EmstudioError

        raise EmstudioError(f"{os.path.basename(str(path))}: a picture is written as .png or .svg")
    # Made in memory, then written as every file is (atomically; a device is written in place,
    # never replaced).
    picture = exporter.export(toBytes=True)
    if suffix == ".png":
        from PySide6 import QtCore

        buffer = QtCore.QBuffer()
        buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
        if not picture.save(buffer, "PNG"):
            from emstudio.errors import EmstudioError

            raise EmstudioError(f"could not write {path}: the picture could not be encoded as PNG")
        picture = bytes(buffer.data())
    from emstudio.io.atomic import atomic_write_bytes

    atomic_write_bytes(path, picture)
