"""Choosing K and the covariance model: the right model is found, a collapsed one never wins."""

import numpy as np
import pytest

from emstudio.core import FitSettings
from emstudio.core.selection import (
    Cancelled,
    available_cores,
    k_allowed_by_data,
    k_range_parts,
    largest_k,
    parse_covariance_types,
    parse_k_range,
    select_models,
    worker_count,
)
from emstudio.errors import FitError


def _clusters(n=200, seed=0):
    rng = np.random.default_rng(seed)
    # Three well-separated clusters sharing one elongated covariance: the tied model fits best.
    shape = np.array([[1.5, 0.0], [1.2, 0.4]])
    parts = [rng.normal(size=(n, 2)) @ shape + c for c in ([0, 0], [9, 0], [0, 9])]
    return np.vstack(parts)


def test_recovers_the_number_and_structure_of_components():
    selection = select_models(_clusters(), range(1, 6), ["full", "tied", "diag", "spherical"],
                              FitSettings(restarts=3), jobs=1)
    assert (selection.best.k, selection.best.covariance_type) == (3, "tied")
    assert len(selection.cells) == 20


def test_same_result_on_any_number_of_processes():
    X = _clusters(120, seed=1)
    one = select_models(X, [1, 2, 3], ["full", "diag"], FitSettings(restarts=2, seed=4), jobs=1)
    two = select_models(X, [1, 2, 3], ["full", "diag"], FitSettings(restarts=2, seed=4), jobs=2)
    assert [c.result.log_likelihood for c in one.cells] == [c.result.log_likelihood for c in two.cells]
    assert (one.best.k, one.best.covariance_type) == (two.best.k, two.best.covariance_type)


def test_heavy_ties_a_collapsed_model_is_never_chosen():
    """Measurements rounded to whole numbers: diag components collapse onto the tied values and
    their raw BIC soars far below the honest models'."""
    rng = np.random.default_rng(3)
    X = np.column_stack([np.round(rng.normal(size=600)), rng.normal(size=600)])
    selection = select_models(X, range(1, 7), ["diag"], FitSettings(restarts=4), jobs=1)
    collapsed = [c for c in selection.cells if c.degenerate]
    assert collapsed and all(c.n_collapsed == c.n_restarts for c in collapsed)
    assert min(c.criterion("bic") for c in collapsed) < selection.best.criterion("bic")  # raw BIC would pick them
    assert not selection.best.degenerate and not selection.best.result.degenerate
    assert selection.best.k == 1


def test_impossible_cells_are_listed_not_fatal():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]] * 10)
    selection = select_models(X, [1, 2, 3, 4], ["full"], FitSettings(), jobs=1)
    assert selection.cells[3].result is None and "distinct" in selection.cells[3].error
    assert selection.best is not None


@pytest.mark.parametrize("text, expected", [("1-6", [1, 2, 3, 4, 5, 6]), ("2,4,8", [2, 4, 8]), ("3", [3]),
                                            ("1-3,5", [1, 2, 3, 5])])
def test_k_ranges(text, expected):
    assert parse_k_range(text) == expected


@pytest.mark.parametrize("text", ["", "a-b", "0-3", "3-x"])
def test_bad_k_ranges(text):
    with pytest.raises(FitError):
        parse_k_range(text)


def test_covariance_lists():
    assert parse_covariance_types("full, diag") == ["full", "diag"]
    with pytest.raises(FitError, match="choose from"):
        parse_covariance_types("full,round")


def test_a_reversed_range_says_so():
    with pytest.raises(FitError, match="reversed; write 1-5"):
        parse_k_range("5-1")
    with pytest.raises(FitError, match="at least 1"):
        parse_k_range("0-3")


def test_a_huge_range_is_never_listed():
    """--k 1-100000000 once made a set of 1e8 numbers (7 GB) before any fit."""
    assert k_range_parts("1-100000000") == [(1, 100_000_000)]
    assert largest_k("2,1-100000000") == 100_000_000
    assert parse_k_range("1-100000000", at_most=4) == [1, 2, 3, 4]
    assert parse_k_range("2,7,9-100000000", at_most=8) == [2, 7]
    with pytest.raises(FitError, match="at most"):
        parse_k_range("1-100000000")  # nothing bounds it: refused, not listed
    with pytest.raises(FitError, match="up to 3"):
        parse_k_range("5-9", at_most=3)


def test_k_is_bounded_by_the_distinct_rows():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]] * 1000)
    assert k_allowed_by_data(X, 100_000_000) == 3
    assert k_allowed_by_data(X, 2) == 2
    assert k_allowed_by_data(_clusters(), 6) == 6


def test_processes_are_bounded_by_the_cores_and_the_cells():
    cores = available_cores()
    assert worker_count(64 * cores, 1000) == cores
    assert worker_count(None, 1000) == cores
    assert worker_count(8, 1) == 1
    assert worker_count(1, 1000) == 1


def _stop_after(calls):
    """A stop() that answers True from its ``calls``-th question on."""
    asked = []

    def stop():
        asked.append(1)
        return len(asked) >= calls
    return stop


@pytest.mark.parametrize("jobs", [1, 2])
def test_stop_cancels_the_grid_under_way(jobs, monkeypatch):
    """stop() ends the grid in the middle of a cell (one process: it is asked every EM iteration)
    or while the workers fit; no cell is reported after it, and no worker is left running."""
    import multiprocessing

    monkeypatch.setattr("emstudio.core.grid.available_cores", lambda: 2)  # two workers even on one core
    X = _clusters(300, seed=2)
    seen = []
    slow = FitSettings(restarts=30, tol=0.0, max_iter=100_000)  # minutes per cell unless stopped
    with pytest.raises(Cancelled):
        select_models(X, [1, 2, 3, 4, 5, 6], ["full", "diag"], slow, jobs=jobs,
                      on_cell=lambda cell, done, total: seen.append(cell), stop=_stop_after(50))
    assert seen == []
    assert multiprocessing.active_children() == []


def test_workers_read_one_shared_copy_of_the_data():
    """The same grid on two processes with the data in shared memory, and without (the fallback
    when shared memory has no room), gives the one-process answer."""
    from emstudio.core import processes

    X = _clusters(100, seed=5)
    one = select_models(X, [1, 2], ["full"], FitSettings(restarts=2), jobs=1)
    with processes.share_array(X) as shared:
        assert shared.name is not None and shared.array is None  # only the block's name travels
        assert np.array_equal(shared.attach(), X) and not shared.attach().flags.writeable
    two = select_models(X, [1, 2], ["full"], FitSettings(restarts=2), jobs=2)
    assert [c.result.log_likelihood for c in one.cells] == [c.result.log_likelihood for c in two.cells]


def test_without_room_in_shared_memory_the_array_travels(monkeypatch):
    from emstudio.core import processes

    monkeypatch.setattr(processes, "_shared_memory_has_room", lambda nbytes: False)
    X = _clusters(50)
    with processes.share_array(X) as shared:
        assert shared.name is None and np.array_equal(shared.attach(), X)


def _no_set_up(shared):
    pass


def _fit_in_a_worker(index):
    import os
    import time

    time.sleep(0.05)
    return ("worker", os.getpid(), index)


def test_this_process_fits_cells_beside_its_workers(monkeypatch):
    """With jobs = 2 the command works through the queue itself beside one worker: every cell is
    fitted exactly once, by whoever took it first, and reported once."""
    import os

    from emstudio.core.grid import run_grid

    monkeypatch.setattr("emstudio.core.grid.available_cores", lambda: 2)
    reported = []
    cells = run_grid(np.zeros((4, 2)), [(i,) for i in range(8)], lambda i: None,
                     worker=(_no_set_up, (), _fit_in_a_worker), size=lambda key: 1.0, jobs=2,
                     fit_beside_workers=lambda i, stop: ("here", os.getpid(), i),
                     on_cell=lambda cell, done, total: reported.append((cell, done, total)), stop=None)
    assert sorted(cells) == [(i,) for i in range(8)]
    assert all(cell[2] == key[0] for key, cell in cells.items())
    by = {cell[0] for cell in cells.values()}
    assert "here" in by  # this process did not sit waiting
    assert all(cell[1] != os.getpid() for cell in cells.values() if cell[0] == "worker")
    assert [done for _, done, _ in reported] == list(range(1, 9)) and {t for *_, t in reported} == {8}


def test_a_task_is_taken_once():
    from emstudio.core.processes import TaskBoard

    board = TaskBoard(3)
    assert board.take(1) and not board.take(1)
    assert board.take(0) and board.take(2) and not board.take(0)


def _die_in_a_worker(index):
    import os

    os._exit(1)  # as a worker killed by the system (out of memory) ends: no exception, no result


def test_a_dead_worker_ends_the_grid_while_this_process_still_fits(monkeypatch):
    """The command notices a worker that died during its own (long) cell, not after it has fitted
    the rest of the grid alone: its cell's stop() is where the workers are looked at."""
    import time

    from emstudio.core.grid import run_grid

    monkeypatch.setattr("emstudio.core.grid.available_cores", lambda: 2)
    asked = []

    def long_cell(i, stop):
        for _ in range(12_000):  # two minutes unless stopped
            asked.append(i)
            if stop():
                return ("stopped", i)
            time.sleep(0.01)
        return ("finished", i)

    with pytest.raises(FitError, match="ended unexpectedly"):
        run_grid(np.zeros((4, 2)), [(i,) for i in range(3)], lambda i: None,
                 worker=(_no_set_up, (), _die_in_a_worker), size=lambda key: 1.0, jobs=2, on_cell=None,
                 stop=None, fit_beside_workers=long_cell)
    assert len(asked) < 12_000


def test_the_workers_cells_are_reported_while_this_process_fits(monkeypatch):
    from emstudio.core.grid import run_grid

    monkeypatch.setattr("emstudio.core.grid.available_cores", lambda: 2)
    reported_during = []
    state = {"inside": False}

    def long_first_cell(i, stop):
        state["inside"] = True
        import time

        # the biggest cell, taken by this process: the worker meanwhile fits the small ones
        deadline = time.monotonic() + (60.0 if i == 0 else 0.0)
        while time.monotonic() < deadline and len(reported_during) < 2:
            stop()
            time.sleep(0.01)
        state["inside"] = False
        return ("here", 0, i)

    def on_cell(cell, done, total):
        if cell[0] == "worker":
            reported_during.append(state["inside"])

    cells = run_grid(np.zeros((4, 2)), [(i,) for i in range(3)], lambda i: None,
                     worker=(_no_set_up, (), _fit_in_a_worker), size=lambda key: 3.0 - key[0], jobs=2,
                     on_cell=on_cell, stop=None, fit_beside_workers=long_first_cell)
    assert sorted(cells) == [(0,), (1,), (2,)] and cells[(0,)][0] == "here"
    assert reported_during[:2] == [True, True]  # both came while this process was still in its cell
