"""Ctrl+C or SIGTERM during `emstudio fit --engine dask` cancels the cluster's work and leaves nothing running."""

import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

from tests.cli.test_select_interrupt import PATIENCE, _alive, _descendants, _wait_until

pytest.importorskip("distributed")
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="processes are followed in /proc")


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_ends_the_fit_and_every_process_of_its_cluster(tmp_path, how):
    data = tmp_path / "points.npy"
    np.save(data, np.random.default_rng(0).normal(size=(20000, 2)))
    out = tmp_path / "result.json"
    # Without a tolerance the fit would run for hours; a session of its own, so that the test can
    # signal its whole group as a terminal's Ctrl+C does.
    process = subprocess.Popen([sys.executable, "-m", "emstudio", "fit", str(data), "--engine", "dask", "--k", "3",
                                "--tol", "0", "--max-iter", "10000000", "--block-rows", "5000", "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()
    try:
        # The first progress line comes with the start's pass: the cluster runs (a Ctrl+C while
        # it starts is not seen; cluster.py says why).
        assert _wait_until(lambda: any("iteration" in line for line in lines) or process.poll() is not None,
                           patience=120), "the fit never started"
        assert process.poll() is None, lines
        family = _descendants(process.pid)
        assert len(family) >= 2  # the local cluster's worker processes
        if how == "ctrl-c":
            os.killpg(process.pid, signal.SIGINT)  # as a terminal does: the whole group
        else:
            process.terminate()  # as a process manager does: the command alone
        process.wait(timeout=PATIENCE)
        reader.join(timeout=PATIENCE)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    stderr = "".join(lines)
    assert process.returncode == (130 if how == "ctrl-c" else 143), stderr
    said = [line for line in stderr.splitlines() if line.strip() and not line.startswith("emstudio: iteration")]
    assert said == ["emstudio: interrupted" if how == "ctrl-c" else "emstudio: terminated"], stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert not out.exists()
    assert _wait_until(lambda: not any(_alive(pid) for pid in family)), [pid for pid in family if _alive(pid)]
