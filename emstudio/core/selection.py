"""Choosing K and the covariance model: a grid of fits, each cell its best healthy restart.

A cell (covariance type, K) is fitted with several restarts. Its value is the best restart with no
degenerate component; a cell where every restart collapsed is marked degenerate and never chosen
(a collapsed component's likelihood soars, so its raw BIC would look best). Each cell's seed is
derived from (seed, covariance type, K) alone, so the grid gives the same answer on any number of
processes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from emstudio.core.em import FitResult, FitSettings, fit_mixture
from emstudio.core.params import COVARIANCE_TYPES
from emstudio.errors import EmstudioError, FitError

CRITERIA = ("bic", "aic", "icl")


@dataclass(frozen=True, eq=False)
class Cell:
    """One (covariance type, K) of the grid: the kept fit, or why there is none."""

    covariance_type: str
    k: int
    result: FitResult | None
    n_restarts: int
    n_collapsed: int
    error: str | None = None

    @property
    def degenerate(self) -> bool:
        """Every restart collapsed (the kept fit then has degenerate components)."""
        return self.result is not None and bool(self.result.degenerate)

    def criterion(self, name: str) -> float:
        return float(getattr(self.result, name)) if self.result is not None else float("inf")


@dataclass(frozen=True, eq=False)
class Selection:
    """All cells in grid order, and the chosen one (lowest criterion among healthy cells)."""

    criterion: str
    cells: tuple[Cell, ...]
    best: Cell | None


def parse_k_range(text: str) -> list[int]:
    """"1-6" → [1..6]; "2,4,8" → [2, 4, 8]; "3" → [3]. Raises FitError for anything else."""
    ks: set[int] = set()
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                low, high = (int(v) for v in part.split("-", 1))
                ks.update(range(low, high + 1))
            else:
                ks.add(int(part))
    except ValueError:
        raise FitError(f"--k {text!r}: give a range like 1-6 or a list like 2,3,5") from None
    if not ks or min(ks) < 1:
        raise FitError(f"--k {text!r}: every K must be at least 1")
    return sorted(ks)


def parse_covariance_types(text: str) -> list[str]:
    types = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in types if t not in COVARIANCE_TYPES]
    if not types or unknown:
        raise FitError(f"--covariance {text!r}: choose from {', '.join(COVARIANCE_TYPES)}")
    return list(dict.fromkeys(types))


def cell_seed(seed: int, covariance_type: str, k: int) -> int:
    """A seed for one cell that depends on nothing but (seed, type, K)."""
    sequence = np.random.SeedSequence([seed, COVARIANCE_TYPES.index(covariance_type), k])
    return int(sequence.generate_state(1)[0])


def fit_cell(X: np.ndarray, base: FitSettings, covariance_type: str, k: int, column_names=None,
             engine_options: dict | None = None) -> Cell:
    """Fit one cell of the grid (its restarts, each seeded from the cell)."""
    settings = dataclasses.replace(base, k=k, covariance_type=covariance_type,
                                   seed=cell_seed(base.seed, covariance_type, k))
    try:
        result = fit_mixture(X, settings, column_names=column_names, engine_options=engine_options)
    except EmstudioError as exc:
        return Cell(covariance_type, k, None, 0, 0, str(exc))
    return Cell(covariance_type, k, result, len(result.restart_degenerate), sum(result.restart_degenerate))


# ------------------------------------------------------------------ worker processes
_SHARED: dict = {}


def _init_worker(X, base, column_names) -> None:
    _SHARED.update(X=X, base=base, column_names=column_names)


def _fit_shared(covariance_type: str, k: int) -> Cell:
    return fit_cell(_SHARED["X"], _SHARED["base"], covariance_type, k, _SHARED["column_names"],
                    engine_options={"n_threads": 1})


def best_cell(cells: Sequence[Cell], criterion: str) -> Cell | None:
    """The chosen cell: the lowest ``criterion`` among cells fitted with no collapsed component
    (ties: the smaller K); None when there is none."""
    candidates = [c for c in cells if c.result is not None and not c.degenerate]
    return min(candidates, key=lambda c: (c.criterion(criterion), c.k)) if candidates else None


def select_models(X: np.ndarray, ks: Sequence[int], covariance_types: Sequence[str], base: FitSettings, *,
                  criterion: str = "bic", jobs: int | None = None, column_names=None,
                  on_cell: Callable[[Cell, int, int], None] | None = None,
                  engine_options: dict | None = None) -> Selection:
    """Fit every (covariance type, K) cell, over ``jobs`` processes (default: every core).

    ``engine_options`` apply in this process (jobs = 1); worker processes use one thread each.
    """
    if criterion not in CRITERIA:
        raise FitError(f"unknown criterion {criterion!r}; choose one of {', '.join(CRITERIA)}")
    X = np.ascontiguousarray(X, dtype=np.float64)
    grid = [(t, k) for t in covariance_types for k in ks]
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(grid)))
    cells: dict[tuple[str, int], Cell] = {}
    if jobs == 1:
        for done, (t, k) in enumerate(grid, start=1):
            cells[(t, k)] = fit_cell(X, base, t, k, column_names, engine_options)
            if on_cell:
                on_cell(cells[(t, k)], done, len(grid))
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # "spawn": a forked child would inherit the parent's threads (BLAS, any engine) mid-state.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker,
                                 initargs=(X, base, column_names)) as pool:
            # Big cells first, so the last process is not left with the slowest one.
            order = sorted(grid, key=lambda cell: -cell[1])
            futures = {pool.submit(_fit_shared, t, k): (t, k) for t, k in order}
            for done, future in enumerate(as_completed(futures), start=1):
                cells[futures[future]] = future.result()
                if on_cell:
                    on_cell(cells[futures[future]], done, len(grid))
    ordered = tuple(cells[key] for key in grid)
    return Selection(criterion, ordered, best_cell(ordered, criterion))
