"""Choosing K and q for factor models: a grid of (K, q) cells of factor analysis (K = 1) or a
mixture of factor analysers, run by the same machinery as the mixtures' grid (core/selection.py:
worker processes, shared data, stop and Ctrl+C).

A cell is :func:`emstudio.core.factor.fit_factor` with the grid's settings and K, q: its restarts,
the kept one the best with no Heywood case. Every cell uses the grid's own seed, so a cell's
numbers are exactly those of ``emstudio fit --model fa|mfa`` with the same options, K, q and seed.
A cell whose every restart ended in a Heywood case (a uniqueness Ψⱼ at its floor: the factors
explain column j entirely) is marked and never chosen, as a mixture's collapsed cell is not: its
likelihood sits on the boundary of the parameter space, where BIC's approximation does not hold.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from emstudio.core.factor import FactorFit, FactorSettings, fit_factor
from emstudio.core.grid import run_grid
from emstudio.core.selection import Cancelled, check_criterion, k_range_parts
from emstudio.errors import EmstudioError, FitError

__all__ = ["FactorCell", "FactorSelection", "best_factor_cell", "parse_factor_range", "select_factor_models"]


@dataclass(frozen=True, eq=False)
class FactorCell:
    """One (K, q) of the grid: the kept fit, or why there is none."""

    k: int
    n_factors: int
    result: FactorFit | None
    n_restarts: int
    n_heywood: int
    error: str | None = None

    @property
    def heywood(self) -> bool:
        """Every restart ended in a Heywood case (the kept fit then has one)."""
        return self.result is not None and bool(self.result.heywood)

    def criterion(self, name: str) -> float:
        return float(getattr(self.result, name)) if self.result is not None else float("inf")


@dataclass(frozen=True, eq=False)
class FactorSelection:
    """All cells, K rising and q rising within each K, and the chosen one."""

    model: str  # "fa" or "mfa"
    psi: str
    criterion: str
    cells: tuple[FactorCell, ...]
    best: FactorCell | None


def parse_factor_range(text: str, n_columns: int) -> list[int]:
    """--factors "1-4" / "0,2" → the q to try, sorted, each once. Every q is at least 0 and fewer
    than the data's ``n_columns`` (a q ≥ d model has more loadings than the data can identify);
    anything else is one FitError line, before anything is fitted (nothing is listed first)."""
    parts = k_range_parts(text, option="--factors", name="q", least=0)
    largest = max(high for _, high in parts)
    if largest >= n_columns and not (n_columns == 1 and largest == 0):
        most = n_columns - 1
        raise FitError(f"--factors {text!r}: the data have {n_columns} column{'s' * (n_columns != 1)}, so q goes "
                       f"up to {most} (factors must be fewer than columns)")
    return sorted({q for low, high in parts for q in range(low, high + 1)})


def fit_factor_cell(X: np.ndarray, base: FactorSettings, k: int, q: int, column_names=None,
                    stop: Callable[[], bool] | None = None) -> FactorCell:
    """Fit one cell (its restarts, with the grid's seed). ``stop()`` as in fit_factor; when it
    stopped the fit, Cancelled is raised."""
    settings = dataclasses.replace(base, k=k, n_factors=q)
    try:
        result = fit_factor(X, settings, column_names=column_names, stop=stop)
    except EmstudioError as exc:
        return FactorCell(k, q, None, 0, 0, str(exc))
    if result.stopped:
        raise Cancelled
    return FactorCell(k, q, result, len(result.restart_heywood), sum(result.restart_heywood))


# ------------------------------------------------------------------ worker processes
_SHARED: dict = {}


def _init_worker(data, base, column_names) -> None:
    # The cells are what run side by side: one BLAS thread per worker (as the mixtures' workers
    # run one engine thread), so that workers do not take turns on the same cores.
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    _SHARED.update(X=data.attach(), base=base, column_names=column_names)


def _fit_shared(k: int, q: int) -> FactorCell:
    return fit_factor_cell(_SHARED["X"], _SHARED["base"], k, q, _SHARED["column_names"])


def best_factor_cell(cells: Sequence[FactorCell], criterion: str) -> FactorCell | None:
    """The lowest ``criterion`` among fitted cells with no Heywood case (ties: the smaller K, then
    the smaller q); None when there is none."""
    candidates = [c for c in cells if c.result is not None and not c.heywood]
    return min(candidates, key=lambda c: (c.criterion(criterion), c.k, c.n_factors)) if candidates else None


def select_factor_models(X: np.ndarray, ks: Sequence[int], factors: Sequence[int], base: FactorSettings, *,
                         criterion: str = "bic", jobs: int | None = None, column_names=None,
                         on_cell: Callable[[FactorCell, int, int], None] | None = None,
                         stop: Callable[[], bool] | None = None, model: str | None = None) -> FactorSelection:
    """Fit every (K, q) cell with ``base``'s settings (its init, seed, restarts, tol, max_iter, psi),
    over ``jobs`` processes as :func:`emstudio.core.selection.select_models` does, and choose one.

    ``model`` ("fa" or "mfa") is what the selection says it chose among (default: "fa" when ``ks``
    is [1]); a K = 1 cell of either is factor analysis. ``stop()`` is asked between EM iterations in this process and
    every 50 ms while workers fit; True raises Cancelled after the workers have ended.
    """
    check_criterion(criterion)
    if not ks or not factors:
        raise FitError("the grid has no cell (no K or no q to try)")
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    grid = [(k, q) for k in ks for q in factors]

    def fit_beside_workers(k: int, q: int, stop: Callable[[], bool] | None) -> FactorCell:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):  # one BLAS thread, as each worker (see _init_worker)
            return fit_factor_cell(X, base, k, q, column_names, stop)

    cells = run_grid(X, grid, lambda k, q: fit_factor_cell(X, base, k, q, column_names, stop),
                     worker=(_init_worker, (base, column_names), _fit_shared),
                     size=lambda key: key[0] * (key[1] + 1), jobs=jobs, on_cell=on_cell, stop=stop,
                     fit_beside_workers=fit_beside_workers)
    ordered = tuple(cells[key] for key in grid)
    model = model or ("fa" if list(ks) == [1] else "mfa")
    return FactorSelection(model, base.psi, criterion, ordered, best_factor_cell(ordered, criterion))
