"""Choosing K and the covariance model: a grid of fits, each cell its best healthy restart.

A cell (covariance type, K) is fitted with several restarts. Its value is the best restart with no
degenerate component; a cell where every restart collapsed is marked degenerate and never chosen
(a collapsed component's likelihood soars, so its raw BIC would look best). Each cell's seed is
derived from (seed, K) alone — every covariance model at K starts from the same partitions, which
a StartCache makes once per process (core.start_cache) — so the grid gives the same answer on any
number of processes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from emstudio.core.checks import count_distinct_rows
from emstudio.core.em import FitResult, FitSettings, fit_mixture
from emstudio.core.params import (
    ALL_COVARIANCE_TYPES, COVARIANCE_TYPES, MCLUST_EXTRA_TYPES, resolve_covariance_name, storage_type,
)
from emstudio.core.grid import run_grid, worker_count
from emstudio.core.processes import Cancelled, SharedArray, available_cores
from emstudio.core.start_cache import StartCache
from emstudio.errors import EmstudioError, FitError, ParameterError

CRITERIA = ("bic", "aic", "icl")
__all__ = ["Cancelled", "Cell", "Selection", "available_cores", "best_cell", "check_criterion", "distinct_models",
           "k_allowed_by_data", "k_range_parts", "largest_k", "parse_covariance_types", "parse_k_range", "run_grid",
           "select_models"]


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
    #: types asked for but not fitted, each the same model as the fitted type it names (in 1-D:
    #: see :func:`distinct_models`); empty when every type asked was fitted.
    same_models: dict[str, str] = field(default_factory=dict)


#: The most values of K one grid lists when nothing smaller bounds it (the data bound it first:
#: K is at most the number of distinct rows).
MOST_KS = 10_000


def k_range_parts(text: str, *, option: str = "--k", name: str = "K", least: int = 1) -> list[tuple[int, int]]:
    """"1-6" → [(1, 6)]; "2,4,8" → [(2, 2), (4, 4), (8, 8)]; nothing is listed, so "1-100000000"
    costs nothing. Raises FitError (one line) for anything but whole numbers ≥ ``least`` and ranges
    that go up. ``option`` and ``name`` are what the message calls them (``--factors``, q)."""
    parts: list[tuple[int, int]] = []
    try:
        for part in text.split(","):
            low, dash, high = part.strip().partition("-")
            if dash and not low.strip() and high.strip():  # "-1": a negative number
                raise FitError(f"{option} {text!r}: every {name} must be at least {least}")
            parts.append((int(low), int(high) if dash else int(low)))
    except ValueError:
        raise FitError(f"{option} {text!r}: give a range like {least}-6 or a list like 2,3,5") from None
    for low, high in parts:
        if min(low, high) < least:
            raise FitError(f"{option} {text!r}: every {name} must be at least {least}")
        if high < low:
            raise FitError(f"{option} {text!r}: the range {low}-{high} is reversed; write {high}-{low}")
    return parts


def largest_k(text: str) -> int:
    """The largest K that ``text`` asks for (FitError if it is not a valid K range)."""
    return max(high for _, high in k_range_parts(text))


def parse_k_range(text: str, at_most: int | None = None) -> list[int]:
    """"1-6" → [1..6]; "2,4,8" → [2, 4, 8]; "3" → [3], sorted, each once. Raises FitError for
    anything else.

    ``at_most``: what the data allow (see :func:`k_allowed_by_data`); larger K are left out, and
    FitError says so when none is left. Without it, more than MOST_KS values are refused: the list
    is never made larger than that.
    """
    parts = k_range_parts(text)
    if at_most is None:
        count = sum(high - low + 1 for low, high in parts)
        if count > MOST_KS:
            raise FitError(f"--k {text!r}: {count} values of K; a grid tries at most {MOST_KS}")
        limit = max(high for _, high in parts)
    else:
        limit = at_most
    ks = sorted({k for low, high in parts for k in range(low, min(high, limit) + 1)})
    if not ks:
        raise FitError(f"--k {text!r}: the data allow K up to {at_most} only (K components need at least "
                       "K distinct points)")
    return ks


def k_allowed_by_data(X: np.ndarray, wanted: int) -> int:
    """The largest K up to ``wanted`` that X (n, d) can hold: K components need K distinct points.

    Cheap when the data have plenty of distinct rows (only a prefix is looked at).
    """
    return min(wanted, count_distinct_rows(np.asarray(X), wanted))


def parse_covariance_types(text: str) -> list[str]:
    """--covariance of select: a comma list of scikit-learn's or mclust's names, or ``all`` (all 14)."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    if [n.lower() for n in names] == ["all"]:
        return list(ALL_COVARIANCE_TYPES)
    types = []
    for name in names:
        try:
            types.append(resolve_covariance_name(name))
        except ParameterError:
            types = []
            break
    if not types:
        raise FitError(f"--covariance {text!r}: choose from {', '.join(COVARIANCE_TYPES)}, mclust's model names "
                       f"({', '.join(MCLUST_EXTRA_TYPES)}, VVV, EEE, VVI, VII) or all")
    return list(dict.fromkeys(types))


def distinct_models(covariance_types: Sequence[str], d: int) -> tuple[list[str], dict[str, str]]:
    """The types to fit, each distinct model once, and {type left out: the fitted type it equals}.

    In one dimension every model is E (one variance for all components: tied, EII, EEI, EEE, EVI,
    EEV, EVE, EVV) or V (a variance each: full, diag, spherical and mclust's V… names), so of the
    types asked only the first of each is fitted. In more dimensions all are distinct.
    """
    if d != 1:
        return list(covariance_types), {}
    from emstudio.core.models import ALIASES, model_for_dimension

    first: dict[str, str] = {}
    same: dict[str, str] = {}
    for name in covariance_types:
        model = model_for_dimension(ALIASES.get(name, name), 1)
        if model in first:
            same[name] = first[model]
        else:
            first[model] = name
    return list(first.values()), same


def cell_seed(seed: int, k: int) -> int:
    """The seed of every cell at K, whatever its covariance model: the same restarts' seeds, so
    that each model's cell starts from the same partitions (as mclust's one agglomeration serves
    every model), which a StartCache then makes once (core.start_cache)."""
    sequence = np.random.SeedSequence([seed, len(ALL_COVARIANCE_TYPES) + 1, k])
    return int(sequence.generate_state(1)[0])


def hc_subset_seed(seed: int) -> int:
    """One seed for the hc start's subset of rows in every cell of a grid (so that every cell cuts
    the same tree, as mclust's one agglomeration serves its whole grid)."""
    return int(np.random.SeedSequence([seed, len(ALL_COVARIANCE_TYPES)]).generate_state(1)[0])


def cell_settings(base: FitSettings, covariance_type: str, k: int) -> FitSettings:
    """One cell's settings: the grid's, with the cell's K, model and seed (see cell_seed)."""
    return dataclasses.replace(base, k=k, covariance_type=covariance_type,
                               seed=cell_seed(base.seed, k))


def warm_starts(previous: Cell | None, k: int, warm_start: bool = True) -> list:
    """The extra start of cell K in a row of K rising: the row's fit at K − 1 with one component
    split in two (core.warm), when that cell was fitted healthy; none otherwise."""
    if not (warm_start and previous is not None and previous.k == k - 1 and previous.result is not None
            and not previous.degenerate):
        return []
    from emstudio.core.warm import split_component

    return [split_component(previous.result.params)]


def fit_cell(X: np.ndarray, base: FitSettings, covariance_type: str, k: int, column_names=None,
             engine_options: dict | None = None, stop: Callable[[], bool] | None = None, *,
             engine=None, extra_starts=(), start_cache=None) -> Cell:
    """Fit one cell of the grid (its restarts, each seeded from the cell, and ``extra_starts``).

    ``stop()`` is asked before every EM iteration; when it answers True, Cancelled is raised.
    ``engine``: a MixtureEngine on X for ``covariance_type`` to reuse; ``start_cache``: a
    core.start_cache.StartCache on X (the partitions other models' cells made).
    """
    settings = cell_settings(base, covariance_type, k)
    try:
        result = fit_mixture(X, settings, column_names=column_names, engine_options=engine_options, stop=stop,
                             engine=engine, extra_starts=extra_starts, hc_seed=hc_subset_seed(base.seed),
                             start_cache=start_cache)
    except EmstudioError as exc:
        return Cell(covariance_type, k, None, 0, 0, str(exc))
    if result.stopped:
        raise Cancelled
    return Cell(covariance_type, k, result, len(result.restart_degenerate), sum(result.restart_degenerate))


def fit_row(X: np.ndarray, base: FitSettings, covariance_type: str, ks: Sequence[int], column_names=None,
            engine_options: dict | None = None, stop: Callable[[], bool] | None = None, *,
            warm_start: bool = True, on_cell: Callable[[Cell], None] | None = None,
            start_cache=None) -> list[Cell]:
    """The cells of one covariance type, K rising, on one engine. With ``warm_start``, each K whose
    K − 1 was fitted healthy gets one more start: that fit with one component split in two
    (core.warm), one more candidate of em-EM's short runs. The same answer in any process: the row
    depends on nothing but its arguments (``start_cache``, see fit_cell, changes no number)."""
    from emstudio.core.engine import MixtureEngine

    cells: list[Cell] = []
    with MixtureEngine(X, covariance_type, **(engine_options or {})) as engine:
        previous: Cell | None = None
        for k in ks:
            cell = fit_cell(X, base, covariance_type, k, column_names, engine_options, stop, engine=engine,
                            extra_starts=warm_starts(previous, k, warm_start), start_cache=start_cache)
            cells.append(cell)
            if on_cell is not None:
                on_cell(cell)
            previous = cell
    return cells


# ------------------------------------------------------------------ worker processes
# Each worker's own copy of the grid's constants, set once when it starts (the data themselves
# are a view of one shared-memory block, see processes.share_array).
_SHARED: dict = {}


def _init_row_worker(data: SharedArray, base, column_names, ks, warm_start) -> None:
    X = data.attach()
    _SHARED.update(X=X, base=base, column_names=column_names, ks=ks, warm_start=warm_start,
                   start_cache=StartCache(X))


def _fit_shared_row(covariance_type: str) -> list[Cell]:
    return fit_row(_SHARED["X"], _SHARED["base"], covariance_type, _SHARED["ks"], _SHARED["column_names"],
                   engine_options={"n_threads": 1}, warm_start=_SHARED["warm_start"],
                   start_cache=_SHARED["start_cache"])


def best_cell(cells: Sequence[Cell], criterion: str) -> Cell | None:
    """The chosen cell: the lowest ``criterion`` among cells fitted with no collapsed component
    (ties: the smaller K); None when there is none."""
    candidates = [c for c in cells if c.result is not None and not c.degenerate]
    return min(candidates, key=lambda c: (c.criterion(criterion), c.k)) if candidates else None


#: A rough cost model of one cell, to decide whether worker processes pay for themselves (a pool
#: of two, each starting a Python and importing numpy and emstudio, then answering a first task:
#: 0.6 s on a quiet core of this machine, 1.6–2 s while four other sessions shared its two cores).
#: An EM step costs about STEP_OVERHEAD (the Python of a pass and an M-step: 0.35–0.4 ms of CPU at
#: 272 × 2) plus STEP_PER_VALUE per entry of the n × K × features products of the pass (2–2.5e-9 s
#: at 20,000 × 3, 0.6–1e-9 at 2,000 × 10); a run to convergence takes about RUN_STEPS steps (the
#: long runs at 272 × 2 took 50–180 M-steps under SQUAREM).
WORKER_START_SECONDS = 0.6
STEP_OVERHEAD = 4e-4
STEP_PER_VALUE = 2e-9
RUN_STEPS = {"squarem": 80, "none": 200}


#: Rows' relative costs, to start the slowest first (full covariances cost most per step).
ROW_COST = {"full": 4.0, "tied": 3.0, "diag": 2.0, "spherical": 1.0}


def estimated_seconds(n: int, d: int, grid: Sequence[tuple[str, int]], base: FitSettings) -> float:
    """A rough estimate of the grid's time in one process (see STEP_OVERHEAD)."""
    run = RUN_STEPS.get(base.accelerate, RUN_STEPS["none"])
    starts = base.restarts + 1  # and the warm start from K − 1
    if base.short_iter > 0 and starts > base.long_runs:
        steps = starts * base.short_iter + base.long_runs * run
    else:
        steps = starts * run
    total = 0.0
    for covariance_type, k in grid:
        features = 1 + d + (d * (d + 1) // 2 if storage_type(covariance_type) in ("full", "tied") else d)
        total += steps * (STEP_OVERHEAD + STEP_PER_VALUE * n * k * features)
    return total


def processes_pay(n: int, d: int, grid: Sequence[tuple[str, int]], base: FitSettings, jobs: int) -> bool:
    """Whether ``jobs`` processes (this one and ``jobs`` − 1 workers) would finish the grid sooner
    than this process alone: the time they save must exceed what starting the workers costs (this
    process fits meanwhile, so a worker's start delays only the worker). Measured at 272 × 2 on a
    quiet machine: 1.39–1.49 s on two processes against 1.64–1.73 s on one. (The machine's load is
    not asked: measured while other sessions loaded both cores, two processes were as often faster
    as slower than one — the scheduler shares the cores by process.)"""
    if jobs <= 1:
        return False
    saved = estimated_seconds(n, d, grid, base) * (1.0 - 1.0 / jobs)
    return saved > WORKER_START_SECONDS * (jobs - 1)


def select_models(X: np.ndarray, ks: Sequence[int], covariance_types: Sequence[str], base: FitSettings, *,
                  criterion: str = "bic", jobs: int | None = None, column_names=None,
                  on_cell: Callable[[Cell, int, int], None] | None = None,
                  engine_options: dict | None = None, stop: Callable[[], bool] | None = None,
                  warm_start: bool = True) -> Selection:
    """Fit every (covariance type, K) cell, over ``jobs`` processes (see :func:`worker_count`; by
    default every core, or this process alone when the grid is too small for processes to pay,
    see :func:`processes_pay`).

    ``engine_options`` apply in this process (one process); worker processes use one thread each
    and share one copy of X. Each covariance type's row of K is one task (:func:`fit_row`: one
    engine, and warm starts from K − 1 when ``warm_start``). ``stop()`` is asked often (before
    every EM iteration in this process, every 50 ms while workers fit); when it answers True,
    Cancelled is raised. Cancelled, Ctrl+C (KeyboardInterrupt) or an error in ``on_cell`` end the
    worker processes before going on.
    """
    check_criterion(criterion)
    X = np.ascontiguousarray(X, dtype=np.float64)
    covariance_types, same_models = distinct_models(covariance_types, X.shape[1] if X.ndim == 2 else 1)
    grid = [(t, k) for t in covariance_types for k in ks]
    if jobs is None and not processes_pay(X.shape[0], X.shape[1], grid, base,
                                          worker_count(None, len(covariance_types))):
        jobs = 1  # small data: starting processes would cost more than they save
    jobs = worker_count(jobs, len(covariance_types))
    ks = sorted(ks)
    done = []
    start_cache = StartCache(X)  # this process's rows share their starts' partitions

    def cell_done(cell: Cell) -> None:
        done.append(cell)
        if on_cell is not None:
            on_cell(cell, len(done), len(grid))

    def row_done(row: list[Cell], _rows_done: int, _rows: int) -> None:
        for cell in row:
            cell_done(cell)

    def fit_here(t: str, options: dict | None = engine_options, asked=stop) -> list[Cell]:
        # This process's rows report cell by cell; the workers' rows come back whole.
        return fit_row(X, base, t, ks, column_names, options, asked, warm_start=warm_start,
                       on_cell=cell_done, start_cache=start_cache)

    rows = run_grid(X, [(t,) for t in covariance_types], fit_here,
                    worker=(_init_row_worker, (base, column_names, ks, warm_start), _fit_shared_row),
                    size=lambda row: ROW_COST.get(storage_type(row[0]), 1.0), jobs=jobs,
                    on_cell=row_done, stop=stop, here_reports=True,
                    # beside workers: one engine thread, as each of them
                    fit_beside_workers=lambda t, stop: fit_here(t, {"n_threads": 1}, stop))
    cells = {(cell.covariance_type, cell.k): cell for row in rows.values() for cell in row}
    ordered = tuple(cells[key] for key in grid)
    return Selection(criterion, ordered, best_cell(ordered, criterion), same_models)


def check_criterion(criterion: str) -> None:
    if criterion not in CRITERIA:
        raise FitError(f"unknown criterion {criterion!r}; choose one of {', '.join(CRITERIA)}")
