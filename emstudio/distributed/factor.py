"""`emstudio fit DATA --model fa|mfa --engine dask`: factor analysis and mixtures of factor
analysers over a Dask cluster's blocks, by core.factor's own fit (core.factor.fit_factor_on).

Every pass of the factor model reduces to sums over rows: factor analysis (K = 1) needs only the
data's mean and scatter (found once, in one pass over the blocks), a mixture the per-component
sums of core.factor_model.mixture_sums, which each worker computes on its block and the client
adds in block order. The fit works, as in memory, on the columns divided by their standard
deviations; the starts are made from a uniform sample of rows (every row when there are no more
than the sample's size, so that a small data set starts as in memory) or a start file.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from emstudio.core.factor import PSI_FLOOR, FactorFit, FactorSettings, check_factor_data, fit_factor_on
from emstudio.core.factor_model import FactorParams, FactorStats, mixture_sums, posterior_parts, single_pass
from emstudio.distributed import tasks


def factor_block_sums(units: np.ndarray, frame: tasks.UnitFrame, slope: np.ndarray, offset: np.ndarray,
                      params: FactorParams, post) -> tuple:
    """The block's part of a mixture's pass (core.factor_model.mixture_sums) on its rows in the
    fit's units, x / scales = u · slope + offset from the block's column units u (on a worker)."""
    block = tasks.column_units(units, frame).T * slope
    block += offset
    return mixture_sums(block, params, post)


class ClusterFactorData:
    """The data of a ClusterEngine (not standardised) divided by its columns' standard deviations,
    as core.factor_model.FactorData is in memory: ``n``, ``d`` and ``run_pass(θ)``."""

    def __init__(self, engine):
        self.engine = engine
        n, mean, scatter = engine.data_moments()
        self.n, self.d = n, engine.n_features
        self.variances = np.diagonal(scatter) / n                 # X.var(axis=0)
        sd = np.sqrt(self.variances)
        self.scales = np.where(sd > 0, sd, 1.0)                    # core.factor.column_scales
        self.mean = mean / self.scales
        self.scatter = scatter / np.outer(self.scales, self.scales)
        self.psi_floor = PSI_FLOOR * self.variances / self.scales ** 2
        # x = u · scale + centre exactly (column units: pre and post are powers of two)
        self._slope = engine.scale / self.scales
        self._offset = engine.centre / self.scales

    def run_pass(self, params: FactorParams) -> FactorStats:
        started = time.perf_counter()
        post = posterior_parts(params)
        if params.n_components == 1:
            stats = single_pass(self.n, self.mean, self.scatter, params, post)
        else:
            engine = self.engine
            engine._keys += 1
            key = f"emstudio-factor-{engine.run}-{engine._keys}"
            parts = [engine.client.submit(factor_block_sums, units, engine.frame, self._slope, self._offset, params,
                                          post, key=f"{key}-{b}") for b, units in enumerate(engine._units)]
            engine.track(parts)
            sums = engine.client.gather(parts)
            engine.track([])
            total = list(sums[0])
            for part in sums[1:]:  # block order: the same numbers on any number of workers
                total = [a + b for a, b in zip(total, part)]
            stats = FactorStats(*total, params.means.copy(), post, self.n)
            # Only a pass over the blocks counts ("N passes at X rows/s"): one analyser's passes
            # use the data's moments alone, with no work on the cluster.
            self.engine.passes += 1
            self.engine.pass_seconds += time.perf_counter() - started
        return stats


def fit_factor_on_cluster(engine, settings: FactorSettings, *, sample_rows: int,
                          on_snapshot: Callable[[int, object], None] | None = None) -> FactorFit:
    """Fit ``settings``' factor model over ``engine``'s data (a ClusterEngine made without
    standardize: a factor model is equivariant to units), as core.factor.fit_factor fits X."""
    data = ClusterFactorData(engine)
    check_factor_data(data.n, data.variances, settings, list(engine.columns))
    start_rows = None
    if not isinstance(settings.init, FactorParams):
        start_rows = engine.sample(sample_rows, settings.seed) / data.scales
        engine.release_read_blocks()
    return fit_factor_on(data, start_rows, settings, data.variances, data.scales, data.psi_floor,
                         on_snapshot=on_snapshot)


def select_factor_on_cluster(engine, ks_of: Callable[[np.ndarray, int], list[int]], factors, base: FactorSettings,
                             *, sample_rows: int, criterion: str = "bic", model: str | None = None,
                             on_cell: Callable[[object, int, int], None] | None = None):
    """core.factor_selection.select_factor_models over ``engine``'s data: every (K, q) cell fitted
    in turn on the cluster (each pass is the cluster's work), the data's moments found once and
    one uniform sample of rows for every cell's starts (made with the grid's seed, as each cell of
    the in-memory grid starts from its rows with that seed). ``ks_of(sample, n)``: the K to try,
    bounded by the sample's distinct rows."""
    import dataclasses

    from emstudio.core.factor_selection import FactorCell, FactorSelection, best_factor_cell
    from emstudio.core.selection import check_criterion
    from emstudio.errors import EmstudioError

    check_criterion(criterion)
    data = ClusterFactorData(engine)
    base.validate(data.n, data.d)
    sample = engine.sample(sample_rows, base.seed)
    engine.release_read_blocks()
    ks = ks_of(sample, data.n)
    start_rows = sample / data.scales
    grid = [(k, q) for k in ks for q in factors]
    cells = []
    for k, q in grid:
        settings = dataclasses.replace(base, k=k, n_factors=q)
        try:
            check_factor_data(data.n, data.variances, settings, list(engine.columns))
            result = fit_factor_on(data, start_rows, settings, data.variances, data.scales, data.psi_floor)
            cell = FactorCell(k, q, result, len(result.restart_heywood), sum(result.restart_heywood))
        except EmstudioError as exc:
            cell = FactorCell(k, q, None, 0, 0, str(exc))
        cells.append(cell)
        if on_cell is not None:
            on_cell(cell, len(cells), len(grid))
    model = model or ("fa" if list(ks) == [1] else "mfa")
    return FactorSelection(model, base.psi, criterion, tuple(cells), best_factor_cell(cells, criterion)), ks
