"""Worker processes that stop when asked and never outlive the program that started them.

The model-selection grid runs its cells in worker processes. Three promises:

- **Ctrl+C belongs to the parent.** A terminal sends SIGINT to every process of the foreground
  group, workers included; a worker that took it as KeyboardInterrupt would print a traceback and
  break the pool. Workers ignore SIGINT: the parent decides, cancels the queued tasks and ends the
  workers (SIGTERM, then SIGKILL) before it returns. While the parent starts workers it holds
  SIGINT blocked, because a blocked signal stays blocked through fork and exec: a worker cannot be
  interrupted in the moment before it says it ignores SIGINT (the parent gets its Ctrl+C as soon
  as the workers are started).
- **Workers die with their parent**, even when the parent is killed with SIGKILL and runs no
  clean-up: on Linux the kernel sends each worker SIGKILL when its parent ends
  (``prctl(PR_SET_PDEATHSIG)``); everywhere, a watchdog thread in each worker waits on the
  parent's sentinel (a pipe whose other end only the parent holds) and exits when it closes.
- **The data are shared, not copied into every worker**: :func:`share_array` puts them in shared
  memory once (when there is room for them there), and every worker maps the same pages.

No printing here; the caller says what happened.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np


class Cancelled(Exception):
    """The caller's ``stop()`` answered True: queued tasks were dropped and the workers ended."""


class WorkerDied(Exception):
    """A worker process ended without finishing its task (killed, or out of memory)."""


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it, else all)."""
    if hasattr(os, "process_cpu_count"):  # Python ≥ 3.13: affinity-aware
        count = os.process_cpu_count()
    elif hasattr(os, "sched_getaffinity"):
        count = len(os.sched_getaffinity(0))
    else:
        count = os.cpu_count()
    return max(1, count or 1)


# ------------------------------------------------------------------ data shared with the workers
@dataclass(frozen=True)
class SharedArray:
    """A float64 array that workers can open: by the name of a shared-memory block, or (when
    shared memory has no room) carried along as the array itself. Small to pickle either way."""

    shape: tuple[int, ...]
    name: str | None = None
    array: np.ndarray | None = None

    def attach(self) -> np.ndarray:
        """The array, read-only (a view of the shared block, kept open while the worker lives)."""
        if self.array is not None:
            return self.array
        from multiprocessing import shared_memory

        try:  # Python ≥ 3.13: the parent alone tracks (and, if it is killed, frees) the block
            block = shared_memory.SharedMemory(name=self.name, track=False)
        except TypeError:
            block = shared_memory.SharedMemory(name=self.name)
        _ATTACHED.append(block)  # the view below must not outlive the mapping
        view = np.ndarray(self.shape, dtype=np.float64, buffer=block.buf)
        view.flags.writeable = False
        return view


_ATTACHED: list = []


def _shared_memory_has_room(nbytes: int) -> bool:
    """Whether a shared block of ``nbytes`` fits. On Linux the blocks live in /dev/shm, a tmpfs
    that is often small (64 MB in a container): a block larger than its free space is created
    without complaint and then kills the process (SIGBUS) when written, so look first."""
    if nbytes == 0:
        return False
    if sys.platform.startswith("linux"):
        try:
            info = os.statvfs("/dev/shm")
        except OSError:
            return False
        return info.f_bavail * info.f_frsize > nbytes + (16 << 20)
    return True


@contextmanager
def share_array(X: np.ndarray) -> Iterator[SharedArray]:
    """Put X (float64) where worker processes can open it without a copy each; freed on exit.

    Falls back to sending the array itself (one copy per worker) when shared memory has no room.
    If this process is killed, multiprocessing's resource tracker frees the block.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    block = None
    if _shared_memory_has_room(X.nbytes):
        from multiprocessing import shared_memory

        try:
            block = shared_memory.SharedMemory(create=True, size=X.nbytes)
        except OSError:
            block = None
    if block is None:
        yield SharedArray(X.shape, array=X)
        return
    try:
        np.ndarray(X.shape, dtype=np.float64, buffer=block.buf)[...] = X
        yield SharedArray(X.shape, name=block.name)
    finally:
        block.close()
        block.unlink()


# ------------------------------------------------------------------ tasks taken by whoever is free
class TaskBoard:
    """One flag per task, shared by this process and its workers: whoever takes a task first
    fits it (:meth:`take`), so the parent can work through the same queue as its workers instead
    of waiting for them (a worker started costs a whole interpreter and its imports)."""

    def __init__(self, n_tasks: int) -> None:
        import multiprocessing

        self.flags = multiprocessing.get_context("spawn").Array("b", max(n_tasks, 1))

    def take(self, index: int) -> bool:
        """True for the one caller that takes task ``index`` first. WorkerDied if the board stays
        locked (a process killed in the microseconds it held the lock never lets go of it)."""
        lock = self.flags.get_lock()
        if not lock.acquire(timeout=BOARD_PATIENCE_SECONDS):
            raise WorkerDied("a worker process ended while taking a task")
        try:
            if self.flags[index]:
                return False
            self.flags[index] = 1
            return True
        finally:
            lock.release()


BOARD_PATIENCE_SECONDS = 30.0
#: A task that another process took before this worker came to it.
TAKEN_ELSEWHERE = "taken elsewhere"


def taken_elsewhere(result: object) -> bool:
    """Whether a worker's result says another process had taken its task."""
    return isinstance(result, str) and result == TAKEN_ELSEWHERE


#: The board of the grid this worker serves (set when the worker starts).
_BOARD: list[TaskBoard] = []


def _start_with_board(board: TaskBoard, initializer: Callable | None, initargs: tuple) -> None:
    _BOARD[:] = [board]
    if initializer is not None:
        initializer(*initargs)


def _fit_if_free(function: Callable, index: int, task: tuple) -> object:
    return function(*task) if _BOARD[0].take(index) else TAKEN_ELSEWHERE


def board_pool(jobs: int, board: TaskBoard, initializer: Callable | None = None,
               initargs: tuple = ()) -> "WorkerPool":
    """A WorkerPool whose workers know ``board`` (the flags travel with each spawned worker)."""
    return WorkerPool(jobs, _start_with_board, (board, initializer, initargs))


def submit_from_board(pool: "WorkerPool", board: TaskBoard, function: Callable, tasks: Sequence[tuple]) -> dict:
    """Queue every task on ``pool``; a worker fits task i only if nobody took it first
    (its result is then TAKEN_ELSEWHERE)."""
    return pool.submit(_fit_if_free, [(function, index, tuple(task)) for index, task in enumerate(tasks)])


# ------------------------------------------------------------------ in the worker
def _worker_start(parent_pid: int, initializer: Callable | None, initargs: tuple) -> None:
    """First thing every worker runs: ignore Ctrl+C, die with the parent, then the caller's set-up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # the parent started us with SIGINT blocked
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    _die_with_parent(parent_pid)
    if initializer is not None:
        initializer(*initargs)


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1  # noqa: N806 - <sys/prctl.h>
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog below still ends us
    if os.getppid() != parent_pid:  # the parent ended before we could ask to follow it
        os._exit(1)
    import multiprocessing

    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None)
    threading.Thread(target=_watch_parent, args=(parent_pid, sentinel), name="emstudio-watch-parent",
                     daemon=True).start()


def _watch_parent(parent_pid: int, sentinel) -> None:
    """End this worker when its parent has gone (its sentinel closes; else its pid changes)."""
    if sentinel is not None:
        from multiprocessing.connection import wait

        try:
            wait([sentinel])
        except OSError:
            pass
        else:
            os._exit(1)
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(1)


# ------------------------------------------------------------------ in the parent
@contextmanager
def _interrupts_held():
    """Block SIGINT in this thread while workers are started (they inherit the mask, so they
    cannot be interrupted before they ignore SIGINT); a Ctrl+C meanwhile arrives afterwards."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextmanager
def interrupts_ignored():
    """Ignore SIGINT meanwhile (only the main thread may change what a signal does). Processes
    started meanwhile inherit the ignored signal through exec, and Python keeps it ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class WorkerPool:
    """``jobs`` worker processes (spawned: a fresh interpreter each, never a fork of a parent that
    may have threads). Use as a context manager: leaving it normally waits for the workers to
    finish; leaving it by an exception (Ctrl+C, a cancel, an error) drops the queued tasks and
    ends the workers at once, before the exception goes on."""

    def __init__(self, jobs: int, initializer: Callable | None = None, initargs: tuple = ()) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.jobs = jobs
        self._executor = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_worker_start,
                                             initargs=(os.getpid(), initializer, initargs))

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self._executor.shutdown(wait=True)
        else:
            self.end_now()

    def submit(self, function: Callable, tasks: Iterable[Sequence]) -> dict:
        """Queue function(*task) for every task now; {future: task}, for :meth:`results`."""
        tasks = [tuple(task) for task in tasks]
        with _interrupts_held():  # every worker is started by these submits (spawn starts them on demand)
            return {self._executor.submit(function, *task): task for task in tasks}

    def results(self, futures: dict, *, stop: Callable[[], bool] | None = None,
                poll_seconds: float = 0.05) -> Iterator[tuple[Sequence, object]]:
        """(task, result) of :meth:`submit`'s futures, in the order they finish. ``stop()`` is asked
        every ``poll_seconds`` while waiting; True raises Cancelled. A worker that dies raises WorkerDied."""
        from concurrent.futures import FIRST_COMPLETED, wait

        pending = set(futures)
        while pending:
            if stop is not None and stop():
                raise Cancelled
            done, pending = wait(pending, timeout=poll_seconds if stop is not None else None,
                                 return_when=FIRST_COMPLETED)
            for future in done:
                yield futures[future], self.result_of(future)

    @staticmethod
    def result_of(future) -> object:
        """A finished future's result (its worker's exception raised again); WorkerDied when a
        worker process ended without finishing."""
        from concurrent.futures.process import BrokenProcessPool

        try:
            return future.result()
        except BrokenProcessPool:
            raise WorkerDied("a worker process ended unexpectedly (killed, or out of memory)") from None

    def end_now(self, grace_seconds: float = 0.5) -> None:
        """Drop the queued tasks and end every worker now: SIGTERM, then SIGKILL after
        ``grace_seconds``; returns once they are gone (reaped, so no zombie is left)."""
        with interrupts_ignored():  # a second Ctrl+C must not leave workers half ended
            self._end_workers(grace_seconds)

    def _end_workers(self, grace_seconds: float) -> None:
        executor = self._executor
        # Python < 3.14 has no public way to end a worker in the middle of a task.
        processes = list((getattr(executor, "_processes", None) or {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            try:
                process.terminate()
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + grace_seconds
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join(grace_seconds)
        # The executor's own thread notices the dead workers and reaps them too; when it wins the
        # race for a worker's exit status, our join() returns before that worker is marked ended
        # (waitpid answers ECHILD here). Let that thread finish, so every worker is marked ended
        # when we return and none is reported as still running.
        manager = getattr(executor, "_executor_manager_thread", None)
        if manager is not None and manager is not threading.current_thread():
            manager.join(max(grace_seconds, 2.0))
        deadline = time.monotonic() + max(grace_seconds, 5.0)  # a killed worker is gone at once unless the machine is swamped
        while any(process.exitcode is None for process in processes) and time.monotonic() < deadline:
            time.sleep(0.01)
