"""`emstudio select` stops when told, and its workers never outlive it (issue 10, item 5).

Each test starts a grid that would run for many minutes, waits until its worker processes exist,
then signals it as a terminal (Ctrl+C reaches the whole process group) or a process manager would.
The processes are found by pid in /proc and followed after the parent has gone. The bounds on
waiting are generous: a grid that was not stopped would outlast them by minutes.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="processes are followed in /proc")

PATIENCE = 30.0  # seconds; the grid below takes far longer than this unless it is stopped


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _descendants(root: int) -> set[int]:
    """Every living process below ``root`` (children, their children, ...)."""
    parents = {int(name): _parent_of(int(name)) for name in os.listdir("/proc") if name.isdigit()}
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier and pid not in found}
        found |= frontier
    return {pid for pid in found if _alive(pid)}


def _alive(pid: int) -> bool:
    """Running (a zombie has ended; only its exit status waits to be collected)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_until(condition, patience=PATIENCE, step=0.05) -> bool:
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def _is_worker(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return b"multiprocessing.spawn" in cmdline.read()  # not the resource tracker
    except OSError:
        return False


@pytest.fixture
def long_grid(tmp_path):
    """A grid that runs for minutes: EM without a tolerance, many restarts, many cells."""
    rng = np.random.default_rng(0)
    data = tmp_path / "points.npy"
    np.save(data, rng.normal(size=(4000, 3)))
    out = tmp_path / "selection.json"
    args = [sys.executable, "-m", "emstudio", "select", str(data), "--k", "1-12", "--restarts", "50",
            "--tol", "0", "--max-iter", "100000", "--jobs", "2", "--out", str(out)]
    return args, out


def _start(args):
    # A session of its own, so that the test can signal its group as a terminal's Ctrl+C does.
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    workers = set()

    def working():
        workers.update(pid for pid in _descendants(process.pid) if _is_worker(pid))
        # --jobs 2: the command fits cells itself beside one worker process
        return len(workers) >= 1 or process.poll() is not None

    started = _wait_until(working, patience=120)
    if not started or process.poll() is not None:
        if process.poll() is None:  # never leave a grid of minutes running behind a failed test
            os.killpg(process.pid, signal.SIGKILL)
        assert started, "the workers never started"
        assert False, process.communicate()
    time.sleep(0.5)  # let them get into their first cells
    return process, workers


def _stderr_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def test_ctrl_c_stops_the_grid_and_ends_every_worker(long_grid):
    args, out = long_grid
    process, workers = _start(args)
    family = _descendants(process.pid)
    os.killpg(process.pid, signal.SIGINT)  # as a terminal does: parent and workers alike
    try:
        _, stderr = process.communicate(timeout=PATIENCE)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130
    lines = _stderr_lines(stderr)
    assert len(lines) == 1, stderr  # no traceback from any worker
    assert "interrupted after" in lines[0] and f"{out} not written" in lines[0]
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert not out.exists()
    # every process it started (its workers, multiprocessing's resource tracker) ends with it
    assert _wait_until(lambda: not any(_alive(pid) for pid in family | workers)), \
        [pid for pid in family | workers if _alive(pid)]


def test_sigterm_stops_the_grid_and_ends_every_worker(long_grid):
    args, out = long_grid
    process, workers = _start(args)
    process.terminate()  # the parent only, as a process manager does
    try:
        _, stderr = process.communicate(timeout=PATIENCE)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 143
    lines = _stderr_lines(stderr)
    assert len(lines) == 1 and "terminated after" in lines[0], stderr
    assert _wait_until(lambda: not any(_alive(pid) for pid in workers))


def test_workers_die_with_a_killed_parent(long_grid):
    """SIGKILL runs no clean-up in the parent: the workers must notice by themselves."""
    args, _ = long_grid
    process, workers = _start(args)
    process.kill()
    process.communicate(timeout=PATIENCE)
    try:
        assert _wait_until(lambda: not any(_alive(pid) for pid in workers)), \
            [pid for pid in workers if _alive(pid)]
    finally:
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
