"""The machinery every kind of grid (mixtures, factor models) shares: how many processes, and
fitting every cell on them — this process beside its workers, each taking the next cell nobody
has taken (core.processes.TaskBoard). What a cell is and how it is fitted is the caller's."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from emstudio.core.processes import Cancelled, WorkerDied, available_cores, share_array
from emstudio.errors import FitError

__all__ = ["run_grid", "worker_count"]


def worker_count(jobs: int | None, n_cells: int) -> int:
    """Processes for a grid of ``n_cells``: ``jobs`` (default every core), never more than the
    cores this process may use (more would only share them and hold more memory) or the cells."""
    cores = available_cores()
    return max(1, min(jobs or cores, cores, n_cells))


def run_grid(X: np.ndarray, grid: Sequence[tuple], fit_here: Callable[..., object], *,
             worker: tuple[Callable, tuple, Callable], size: Callable[[tuple], float],
             jobs: int | None, on_cell: Callable | None, stop: Callable[[], bool] | None,
             fit_beside_workers: Callable[..., object] | None = None, here_reports: bool = False) -> dict:
    """Fit every cell of ``grid`` (a list of keys) and return {key: cell}: the machinery that every
    kind of grid (mixtures, factor models) shares.

    One process: ``fit_here(*key)`` in turn, ``stop()`` asked between cells (and by ``fit_here``
    within them). Several (see :func:`worker_count`): X put once in shared memory and ``jobs`` − 1
    workers started, ``worker`` = (initializer, its arguments after the shared X, the module-level
    function fitting ``*key`` in a worker); this process works through the same queue meanwhile,
    taking whichever cell nobody has taken yet (core.processes.TaskBoard) — it has its imports and
    the data already, where a worker first starts an interpreter — with
    ``fit_beside_workers(*key, stop=...)`` (it should use one thread, as each worker does, and ask
    the ``stop`` given: that is where the workers' finished cells are taken in and a dead worker is
    noticed). The biggest cells by ``size(key)`` go first, so the last process is not left with the
    slowest one. ``on_cell(cell, done, total)`` after each cell (only for the workers' cells when
    ``here_reports``: ``fit_here`` then says itself how it is getting on). Cancelled, Ctrl+C or an
    error end the workers before going on; a worker that dies is a FitError.
    """
    jobs = worker_count(jobs, len(grid))
    cells: dict = {}
    if jobs == 1:
        for done, key in enumerate(grid, start=1):
            if stop is not None and stop():
                raise Cancelled
            cells[key] = fit_here(*key)
            if on_cell and not here_reports:
                on_cell(cells[key], done, len(grid))
        return cells
    from emstudio.core.processes import TaskBoard, board_pool, submit_from_board, taken_elsewhere

    initializer, initargs, fit_in_worker = worker
    order = sorted(grid, key=lambda key: -size(key))
    board = TaskBoard(len(order))
    fit_beside = fit_beside_workers or (lambda *key, stop: fit_here(*key))

    def finished(key, cell, by_worker: bool) -> None:
        cells[key] = cell
        if on_cell and (by_worker or not here_reports):
            on_cell(cell, len(cells), len(grid))

    with share_array(X) as shared, board_pool(jobs - 1, board, initializer, (shared, *initargs)) as pool:
        try:
            futures = submit_from_board(pool, board, fit_in_worker, order)
            collected: set = set()

            def collect() -> None:
                """Take in the cells the workers have finished (WorkerDied when one died)."""
                for future, task in futures.items():
                    if future not in collected and future.done():
                        collected.add(future)
                        cell = pool.result_of(future)
                        if not taken_elsewhere(cell):
                            finished(task[2], cell, True)

            def stop_here() -> bool:
                # Asked before every EM iteration of this process's cells: the workers' progress is
                # reported as it comes, and a dead worker ends the grid now, not after this
                # process has fitted the rest alone.
                collect()
                return stop is not None and stop()

            mine = set()
            for index, key in enumerate(order):
                if stop_here():
                    raise Cancelled
                if board.take(index):
                    mine.add(index)
                    finished(key, fit_beside(*key, stop=stop_here), False)
            # Every cell is taken now: wait only for the ones a worker is fitting (a worker that
            # has not even started has nothing left to do and is not waited for).
            theirs = {future: task for future, task in futures.items()
                      if task[1] not in mine and future not in collected}
            for task, cell in pool.results(theirs, stop=stop):
                if not taken_elsewhere(cell):
                    finished(task[2], cell, True)
            pool.end_now()
        except WorkerDied as exc:
            raise FitError(str(exc)) from None
    return cells
