"""`emstudio select DATA --engine dask`: the grid of core.selection, every cell's fit on the cluster.

The cells run one after another on the client (each iteration's pass is the cluster's work, so
the cells need not run side by side to use it); the blocks are read once for the whole grid and
one uniform sample of rows serves every cell's data-driven starts. Each cell is the in-memory
cell's fit (core.selection.fit_row): its seed from (seed, K) alone, the hc start's subset
from the grid's seed, the warm start from K − 1. So the selection equals the in-memory one when
the sample holds every row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from emstudio.core.em import FitSettings
from emstudio.core.selection import (
    Cell, Selection, best_cell, cell_settings, check_criterion, distinct_models, hc_subset_seed, warm_starts,
)
from emstudio.distributed.fit import fit_on_cluster
from emstudio.errors import EmstudioError


def select_on_cluster(engine, sample: np.ndarray, ks: Sequence[int], covariance_types: Sequence[str],
                      base: FitSettings, *, criterion: str = "bic", warm_start: bool = True,
                      on_cell: Callable[[Cell, int, int], None] | None = None) -> Selection:
    """Fit every (covariance type, K) cell over ``engine``'s data (a ClusterEngine), its starts on
    ``sample`` (rows of the data, in data order); the Selection core.selection.select_models makes."""
    check_criterion(criterion)
    covariance_types, same_models = distinct_models(covariance_types, engine.n_features)
    ks = sorted(ks)
    grid = [(t, k) for t in covariance_types for k in ks]
    cells: dict[tuple[str, int], Cell] = {}
    for covariance_type in covariance_types:
        engine.use_covariance_type(covariance_type)
        previous: Cell | None = None
        for k in ks:
            settings = cell_settings(base, covariance_type, k)
            try:
                result = fit_on_cluster(engine, settings, sample=sample,
                                        extra_starts=warm_starts(previous, k, warm_start),
                                        hc_seed=hc_subset_seed(base.seed))
                cell = Cell(covariance_type, k, result, len(result.restart_degenerate),
                            sum(result.restart_degenerate))
            except EmstudioError as exc:
                cell = Cell(covariance_type, k, None, 0, 0, str(exc))
            cells[(covariance_type, k)] = previous = cell
            if on_cell is not None:
                on_cell(cell, len(cells), len(grid))
    ordered = tuple(cells[key] for key in grid)
    return Selection(criterion, ordered, best_cell(ordered, criterion), same_models)
