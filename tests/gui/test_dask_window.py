"""Data on a Dask cluster in the window (issue 18): a sample shown, EM over all rows on the cluster
with the command's numbers, Stop, Export parameters, one message for bad input, and nothing left
running when the window closes. One package-scoped cluster of 2 workers (tests/conftest.py) serves
every test but the last, which lets the window start (and close) its own."""

import json
import os
import sys
import threading

import numpy as np
import pytest

from tests.conftest import blobs
from tests.gui.conftest import sample, wait_outcome

pytest.importorskip("distributed")

from emstudio.cli import main  # noqa: E402
from emstudio.core.em import FitSettings, fit_mixture  # noqa: E402
from emstudio.gui.cluster_data import ClusterRequest  # noqa: E402

RTOL = 1e-10
SAMPLE_ROWS = 700


@pytest.fixture(scope="module")
def points():
    return blobs([1200, 900, 600], [[0, 0], [4, 1], [1, 4]], [1.0, 0.8, 1.2], seed=5)


@pytest.fixture(scope="module")
def files(points, tmp_path_factory):
    """The same rows as one .npy and as 3 CSV files (repr-exact text: the very same values)."""
    root = tmp_path_factory.mktemp("dask-window")
    np.save(root / "x.npy", points)
    for i, rows in enumerate(np.array_split(np.arange(len(points)), 3)):
        (root / f"part{i}.csv").write_text("a,b\n" + "".join(f"{float(x)!r},{float(y)!r}\n" for x, y in points[rows]))
    (root / "odd").mkdir()
    (root / "odd" / "p0.csv").write_text("a,b\n1,2\n3,4\n5,7\n")
    (root / "odd" / "p1.csv").write_text("a,c\n1,2\n3,4\n5,8\n")
    return {"npy": str(root / "x.npy"), "csv": str(root / "part*.csv"), "odd": str(root / "odd" / "*.csv")}


def _open(qtbot, window, request, ok=True):
    with qtbot.waitSignal(window.cluster_link.opening_finished, timeout=60000) as blocker:
        assert window.cluster_link.open(request)
    assert blocker.args == [ok], window.banner.label.text()


def _run(qtbot, window, k=3, **settings):
    window.controls.model_box.k.setValue(k)
    window.controller.set_settings(window.controls.settings())
    outcome = wait_outcome(qtbot, window, window.controller.run, timeout=60000)
    assert outcome.state in ("converged", "max-iter"), outcome.message
    return window.controller.current


def test_an_npy_on_a_cluster_shows_a_sample_and_fits_all_rows_as_the_command_and_in_memory(
        qtbot, window, dask_client, files, points, tmp_path):
    address = dask_client.scheduler.address
    _open(qtbot, window, ClusterRequest(files["npy"], scheduler=address, sample_rows=SAMPLE_ROWS))
    n = len(points)
    assert window.dataset.values.shape == (SAMPLE_ROWS, 2)
    # the sample is rows of the data, in data order
    assert np.isin(window.dataset.values[:, 0], points[:, 0]).all()
    banner = window.cluster_link.banner
    assert banner.isVisible()
    assert f"sample of {SAMPLE_ROWS:,} of {n:,} rows; EM runs over all {n:,} rows" in banner.text() and "(2 workers)" in banner.text()
    # what data on a cluster cannot do is off, saying why
    for name in ("export_labels", "select_models", "save_workspace"):
        assert not window.actions[name].isEnabled()
        assert window.actions[name].toolTip().startswith("Not with data on a Dask cluster")
    final = _run(qtbot, window)
    assert final.n_samples == n and final.component_sizes.sum() == pytest.approx(n)
    assert len(window.controller.history) > 2 and window.controller.history[-1].terms is not None

    command = tmp_path / "command.json"
    assert main(["fit", files["npy"], "--engine", "dask", "--scheduler", address, "--k", "3", "--seed", "0",
                 "--sample-rows", str(SAMPLE_ROWS), "--accelerate", "none", "--tol", "1e-6",
                 "--convergence", "change", "--out", str(command), "-q"]) == 0
    want = json.loads(command.read_text())
    assert final.log_likelihood == pytest.approx(want["log_likelihood"], rel=RTOL)
    assert final.iteration == want["n_iter"]
    start = window.controller.history[0].params
    memory = fit_mixture(points, FitSettings(k=3, init=start))
    assert final.log_likelihood == pytest.approx(memory.log_likelihood, rel=RTOL)
    np.testing.assert_allclose(final.params.means, memory.params.means, rtol=RTOL, atol=1e-12)

    # Ctrl+E: the command's result file, measured over all rows
    exported = tmp_path / "window.json"
    assert window.actions["export_params"].isEnabled()
    with qtbot.waitSignal(window.exporter.export_finished, timeout=30000) as blocker:
        window.exporter.export_params(str(exported))
    assert blocker.args == [True]
    got = json.loads(exported.read_text())
    assert set(got) == set(want) and got["settings"]["engine"] == "dask"
    assert got["data"]["n_samples"] == n
    assert got["log_likelihood"] == pytest.approx(want["log_likelihood"], rel=RTOL)


def test_a_csv_glob_fits_as_in_memory_and_stop_answers_at_once(qtbot, window, dask_client, files, points):
    _open(qtbot, window, ClusterRequest(files["csv"], scheduler=dask_client.scheduler.address,
                                        sample_rows=SAMPLE_ROWS))
    assert window.dataset.columns == ("a", "b")
    final = _run(qtbot, window, k=2)
    memory = fit_mixture(points, FitSettings(k=2, init=window.controller.history[0].params))
    assert final.log_likelihood == pytest.approx(memory.log_likelihood, rel=RTOL)

    # A run that would go on for ever: Stop ends it for the window at once, and the worker (its pass
    # in flight given up) answers the next request.
    window.controls.tol.set_value(0.0)
    window.controls.max_iter.setValue(1_000_000)
    window.controller.set_settings(window.controls.settings())
    window.controls.model_box.k.setValue(3)
    window.controller.set_settings(window.controls.settings())
    window.controller.run()
    qtbot.waitUntil(lambda: len(window.controller.history) >= 3, timeout=30000)
    window.controller.stop()
    assert window.controller.state == "idle"
    assert window.controller.last_outcome.state == "stopped"
    outcome = wait_outcome(qtbot, window, lambda: window.controller.step("EM"), timeout=30000)
    assert outcome.state == "done"
    assert window.controller.current.n_samples == len(points)

    # other data: the cluster's session closes, and all that was off comes back
    session = window.dataset.cluster
    window.cluster_link.ask_unexported = lambda: "discard"
    assert window.files.load_file(sample("overlapping.csv"))
    qtbot.waitUntil(lambda: session.engine is None, timeout=10000)
    assert not window.cluster_link.banner.isVisible() and window.tabs.isTabEnabled(1)
    assert window.controls.model_box.kind.model().item(1).isEnabled()
    assert window.actions["export_labels"].toolTip() and not window.actions["export_labels"].toolTip().startswith("Not")


def test_bad_input_is_one_message_and_the_data_on_screen_stay(qtbot, window, dask_client, files):
    assert window.files.load_file(sample("overlapping.csv"))
    shown = window.dataset
    _open(qtbot, window, ClusterRequest(files["npy"], scheduler="tcp://127.0.0.1:9", connect_timeout=1), ok=False)
    message = window.banner.label.text()
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in message and "\n" not in message
    assert window.dataset is shown and not window.cluster_link.banner.isVisible()
    _open(qtbot, window, ClusterRequest(files["odd"], scheduler=dask_client.scheduler.address), ok=False)
    assert "same columns" in window.banner.label.text()
    assert window.dataset is shown


def test_the_command_line_refuses_what_the_window_cannot_do_with_a_cluster(files, capsys):
    assert main(["gui", files["npy"], "--workers", "2"]) != 0
    assert "--workers is for --engine dask" in capsys.readouterr().err
    assert main(["gui", files["npy"], "--engine", "dask", "--scheduler", "tcp://h:1", "--workers", "2"]) != 0
    assert "--workers is for the local cluster" in capsys.readouterr().err
    assert main(["gui", files["npy"], "--engine", "dask", "--model", "fa"]) != 0
    assert "not available with --engine dask" in capsys.readouterr().err
    assert main(["gui", files["npy"], "--engine", "dask", "--columns", "x0,x7"]) != 0
    assert "no column 'x7': the array's columns are x0, x1" in capsys.readouterr().err
    assert main(["gui", files["npy"] + ".gone", "--engine", "dask"]) != 0
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["gui", os.path.dirname(files["npy"])]) != 0
    assert "is a folder, not a file; a Parquet folder or a Zarr array opens with --engine dask" in capsys.readouterr().err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="processes are followed in /proc")
def test_closing_the_window_closes_its_local_cluster(qtbot, make_window, files):
    from tests.cli.test_select_interrupt import _alive  # a process that runs (a zombie has ended)

    window = make_window()
    _open(qtbot, window, ClusterRequest(files["npy"], workers=2, sample_rows=SAMPLE_ROWS))
    session = window.dataset.cluster
    workers = list(session.engine.client.run(os.getpid).values())
    assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    window.close()
    assert not window.controller.thread.isRunning()
    assert session.engine is None
    qtbot.waitUntil(lambda: not any(_alive(pid) for pid in workers), timeout=10000)
    assert not [t for t in threading.enumerate() if t.name.startswith("emstudio-cluster")]


def test_the_command_line_opens_the_window_on_a_cluster(dask_client, files, points):
    """`emstudio gui DATA --engine dask --scheduler ADDRESS --check`: the command's whole way in."""
    import subprocess

    done = subprocess.run([sys.executable, "-m", "emstudio", "gui", files["npy"], "--engine", "dask", "--scheduler",
                           dask_client.scheduler.address, "--sample-rows", str(SAMPLE_ROWS), "--k", "3", "--check"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    assert f"on the Dask cluster ({SAMPLE_ROWS} rows shown) ({len(points)} rows, 2 columns)" in done.stdout


def test_a_fit_on_the_cluster_is_offered_for_export_before_it_is_closed(qtbot, window, dask_client, files, tmp_path):
    _open(qtbot, window, ClusterRequest(files["npy"], scheduler=dask_client.scheduler.address,
                                        sample_rows=SAMPLE_ROWS))
    assert window.workspace.confirm_discard()  # nothing fitted yet: nothing to lose
    window.controls.tol.set_value(0.0)  # a run that goes on until it is stopped
    window.controls.max_iter.setValue(1_000_000)
    window.controller.set_settings(window.controls.settings())
    window.controller.run()
    qtbot.waitUntil(lambda: len(window.controller.history) >= 3, timeout=30000)
    asked = []
    window.cluster_link.ask_unexported = lambda: asked.append(1) or "cancel"
    assert not window.workspace.confirm_discard() and asked
    assert window.controller.state == "running"  # Cancel leaves the run alone
    # Export Parameters…: the run stops and the state on screen is written, measured over all rows
    window.exporter._save_path = lambda *_: str(tmp_path / "kept.json")
    window.cluster_link.ask_unexported = lambda: "export"
    assert window.workspace.confirm_discard()
    assert window.controller.state == "idle"
    kept = json.loads((tmp_path / "kept.json").read_text())
    assert kept["settings"]["engine"] == "dask"
    assert kept["log_likelihood"] == pytest.approx(window.controller.current.log_likelihood, rel=RTOL)
    window.cluster_link.ask_unexported = lambda: pytest.fail("asked again after the export")
    assert window.workspace.confirm_discard()


def test_a_folder_dropped_or_opened_is_offered_to_a_cluster(window, files):
    asked = []
    window.cluster_link.ask_request = lambda data="": asked.append(data)  # the dialog, cancelled
    folder = os.path.dirname(files["npy"])
    assert not window.files.load_file(folder)
    assert asked == [folder] and window.dataset is None
    assert not window.banner.isVisible()  # a question, not an error


def test_data_on_a_cluster_are_never_autosaved(qtbot, window, dask_client, files, autosave_dir):
    assert window.files.load_file(sample("overlapping.csv"))
    assert window.workspace.dirty  # in-memory data: work the autosave keeps
    asked = []  # asked once, before it opens; not again at its end, as nothing changed meanwhile
    window.workspace.ask_unsaved = lambda: asked.append(1) or "discard"
    _open(qtbot, window, ClusterRequest(files["npy"], scheduler=dask_client.scheduler.address, sample_rows=300))
    assert asked == [1]
    assert not window.workspace.dirty and not window.workspace.autosave.timer.isActive()
    window.workspace.autosave.save_now()
    assert window.workspace.autosave.wait()
    saved = [f for f in os.listdir(autosave_dir) if f.endswith(".emstudio")] if os.path.isdir(autosave_dir) else []
    assert not saved


class HeldOpening:
    """ClusterSession whose opening waits (until ``release`` or until it is given up) before the
    real one: an opening still under way while the person goes on, however fast the cluster is."""

    def __init__(self, monkeypatch):
        from emstudio.gui import cluster_data, cluster_open

        self.release = threading.Event()
        self.sessions = []
        held = self

        class Held(cluster_data.ClusterSession):
            def open(self, status=lambda text: None):
                held.sessions.append(self)
                while not (held.release.is_set() or self._cancelled.wait(0.01)):
                    pass
                super().open(status)

        monkeypatch.setattr(cluster_open, "ClusterSession", Held)


def _openings_ended(qtbot):
    qtbot.waitUntil(lambda: not [t for t in threading.enumerate() if t.name.startswith("emstudio-cluster")],
                    timeout=30000)


def test_other_data_opened_meanwhile_give_up_the_opening_and_work_meanwhile_is_asked_about(
        qtbot, window, dask_client, files, monkeypatch):
    held = HeldOpening(monkeypatch)
    request = ClusterRequest(files["npy"], scheduler=dask_client.scheduler.address, sample_rows=SAMPLE_ROWS)
    ended = []
    window.cluster_link.opening_finished.connect(ended.append)
    said, status = [], window.report.status
    set_text = status.setText
    status.setText = lambda text: said.append(text) or set_text(text)  # (later lines replace it on screen)
    assert window.cluster_link.open(request, ask=False)
    # the person opens a file meanwhile: the opening is given up, never replaces it later
    assert window.files.load_file(sample("overlapping.csv"))
    qtbot.wait(10)
    assert ended == [False] and any("Gave up opening x.npy: overlapping.csv was opened meanwhile" in t for t in said)
    shown = window.dataset
    assert window.workspace.dirty and window.workspace.autosave.timer.isActive()  # its autosave is kept
    held.release.set()
    _openings_ended(qtbot)
    qtbot.wait(50)  # the given-up opening's end, were it delivered
    assert window.dataset is shown and window.workspace.dirty and held.sessions[0].engine is None
    assert not window.cluster_link.banner.isVisible()

    # work done on the data on screen while an opening runs is asked about; Cancel keeps it
    held.release.clear()
    asked = []
    window.workspace.ask_unsaved = lambda: asked.append(1) or "cancel"
    assert window.cluster_link.open(request, ask=False)
    window.controls.model_box.k.setValue(5)  # a change of the person's meanwhile
    with qtbot.waitSignal(window.cluster_link.opening_finished, timeout=30000) as blocker:
        held.release.set()
    assert blocker.args == [False] and asked and window.dataset is shown
    assert any("Kept the data on screen" in t for t in said)
    _openings_ended(qtbot)
    assert held.sessions[1].engine is None  # what it opened is closed again
    window.workspace.ask_unsaved = lambda: "discard"  # (the fixture closes the window)


def test_closing_the_window_while_an_opening_is_under_way_ends_it_and_closes_what_it_opened(
        qtbot, make_window, dask_client, files, monkeypatch):
    held = HeldOpening(monkeypatch)  # never released: only closing the window ends its wait
    window = make_window()
    assert window.cluster_link.open(ClusterRequest(files["npy"], scheduler=dask_client.scheduler.address), ask=False)
    qtbot.waitUntil(lambda: bool(held.sessions))
    window.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("emstudio-cluster")]
    session = held.sessions[0]
    assert session.engine is None and session._closed


def _hold_the_export_pass(window):
    """The export's pass waits until it is given up: the progress dialog's Cancel is seen at work."""
    from emstudio.distributed.engine import PassInterrupted

    engine = window.dataset.cluster.engine

    def run_pass(params):
        for _ in range(1000):  # (a broken test ends within seconds, never hangs)
            if engine.interrupt and engine.interrupt():
                break
            threading.Event().wait(0.01)
        raise PassInterrupted("the pass was stopped")

    engine.run_pass = run_pass


def test_export_before_closing_runs_off_the_window_thread_with_a_cancellable_progress_dialog(
        qtbot, window, dask_client, files, tmp_path):
    from PySide6 import QtCore, QtWidgets

    _open(qtbot, window, ClusterRequest(files["npy"], scheduler=dask_client.scheduler.address,
                                        sample_rows=SAMPLE_ROWS))
    window.controls.tol.set_value(0.0)  # a run that goes on until it is stopped
    window.controls.max_iter.setValue(1_000_000)
    window.controller.set_settings(window.controls.settings())
    window.controller.run()
    qtbot.waitUntil(lambda: len(window.controller.history) >= 3, timeout=30000)
    # Ctrl+E while the run holds the cluster: refused, saying why (never a silent wait)
    export = window.actions["export_params"]
    assert not export.isEnabled() and export.toolTip().startswith("Stop the run first")
    assert not window.exporter.export_params(str(tmp_path / "busy.json"))
    assert "Stop the run first" in window.banner.label.text() and not (tmp_path / "busy.json").exists()

    try:
        window.cluster_link.ask_unexported = lambda: "export"
        window.exporter._save_path = lambda *_: str(tmp_path / "kept.json")
        _hold_the_export_pass(window)
        seen = []

        def cancel_the_dialog():
            for dialog in window.findChildren(QtWidgets.QProgressDialog):
                seen.append((dialog.isVisible(), dialog.labelText()))
                dialog.findChild(QtWidgets.QPushButton).click()  # its Cancel button

        QtCore.QTimer.singleShot(200, cancel_the_dialog)  # the window's thread answers while the pass runs
        assert not window.workspace.confirm_discard()
        assert seen and seen[0][0] and "kept.json" in seen[0][1] and f"all {2700:,} rows" in seen[0][1]
        assert "Export cancelled" in window.banner.label.text() and not (tmp_path / "kept.json").exists()
        assert window.dataset.cluster is not None and window.cluster_link.unexported
        assert export.isEnabled()  # the run was stopped for the export

        # a failed export (a folder that does not exist) is said, and nothing is closed
        del window.dataset.cluster.engine.run_pass  # the real pass again
        window.exporter._save_path = lambda *_: str(tmp_path / "gone" / "kept.json")
        assert not window.workspace.confirm_discard()
        assert "Could not write the parameters" in window.banner.label.text()
        assert window.cluster_link.unexported
    finally:
        window.cluster_link.ask_unexported = lambda: "discard"  # (the fixture closes the window)
