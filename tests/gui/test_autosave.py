"""Never lose work (issue 15): the autosave follows every change and the end of each run, off the
window's thread; each window owns its autosave (a second window neither writes over it nor offers
it); a window killed with SIGKILL leaves an autosave that the next start offers and restores; a
clean close removes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from emstudio.gui.workspace_codec import decode
from emstudio.io.workspace import read_workspace
from tests.gui.conftest import sample, wait_outcome
from tests.gui.test_workspace import fit_state

ROOT = Path(__file__).resolve().parents[2]


def quick(window, delay_ms=50):
    window.workspace.autosave.timer.setInterval(delay_ms)
    return window.workspace.autosave


def test_a_change_is_autosaved_and_a_clean_close_removes_it(make_window, qtbot, autosave_dir):
    window = make_window()
    autosave = quick(window)
    assert autosave.path.startswith(autosave_dir)
    with qtbot.waitSignal(autosave.written, timeout=10000) as blocker:
        window.files.load_file(sample("separated.csv"))
    assert blocker.args == [""] and os.path.exists(autosave.path)
    with qtbot.waitSignal(autosave.written, timeout=20000):  # at the end of the run
        wait_outcome(qtbot, window, window.requests.run)
    autosave.wait()
    saved = decode(read_workspace(autosave.path))
    assert len(saved.state.history) == len(window.controller.history) > 1
    lock = autosave.path.replace(".emstudio", ".lock")
    assert os.path.exists(lock)
    path = autosave.path
    window.close()
    assert not os.path.exists(path) and not os.path.exists(lock)


def test_saving_the_workspace_removes_the_autosave(make_window, qtbot, tmp_path):
    window = make_window()
    autosave = quick(window)
    with qtbot.waitSignal(autosave.written, timeout=10000):
        window.files.load_file(sample("separated.csv"))
    assert window.workspace.save_to(str(tmp_path / "w.emstudio"))
    assert not os.path.exists(autosave.path)


def test_two_windows_do_not_trample_each_other(make_window, qtbot):
    first, second = make_window(), make_window()
    a, b = quick(first), quick(second)
    assert a.path != b.path
    with qtbot.waitSignal(a.written, timeout=10000):
        first.files.load_file(sample("separated.csv"))
    assert second.workspace.autosave.orphans() == []  # the first window lives: its autosave is not offered
    second.workspace.ask_restore = lambda when: (_ for _ in ()).throw(AssertionError("asked"))
    assert not second.workspace.offer_restore()
    with qtbot.waitSignal(b.written, timeout=10000):
        second.files.load_file(sample("overlapping.csv"))
    first_path = a.path
    assert os.path.exists(first_path) and os.path.exists(b.path)
    assert decode(read_workspace(first_path)).data.path.endswith("separated.csv")
    first.close()
    assert not os.path.exists(first_path) and os.path.exists(b.path)


KILLED_WINDOW = textwrap.dedent("""
    import sys
    from PySide6 import QtCore
    from emstudio.gui.app import application
    from emstudio.gui.autosave import default_folder
    from emstudio.gui.window import MainWindow

    app = application()
    window = MainWindow(QtCore.QSettings(sys.argv[2], QtCore.QSettings.Format.IniFormat),
                        autosave_dir=default_folder())
    window.workspace.autosave.timer.setInterval(100)
    window.show()
    window.files.load_file(sys.argv[1])
    window.controls.k.setValue(4)
    window.controls.pace.setCurrentIndex(2)  # 20 iterations / s: still running when killed
    print("folder", default_folder(), flush=True)

    def written(error):
        from emstudio.gui.workspace_codec import decode
        from emstudio.io.workspace import read_workspace

        saved = len(decode(read_workspace(window.workspace.autosave.path)).state.history)
        if saved >= 4 and window.controller.state == "running":
            print("autosaved", saved, error, flush=True)

    window.workspace.autosave.written.connect(written)
    window.requests.run()
    app.exec()
""")


def test_a_killed_window_leaves_an_autosave_the_next_start_restores(make_window, qtbot, tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_DATA_HOME=str(tmp_path / "share"),
               HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    env.pop("DISPLAY", None)
    process = subprocess.Popen([sys.executable, "-c", KILLED_WINDOW, sample("overlapping.csv"),
                                str(tmp_path / "killed.ini")], stdout=subprocess.PIPE, text=True, env=env)
    watchdog = threading.Timer(120, process.kill)  # a window that never autosaves fails the test, never hangs it
    watchdog.start()
    try:
        folder = process.stdout.readline().split(" ", 1)[1].strip()
        line = process.stdout.readline()
        assert line.startswith("autosaved"), line
        saved_entries = int(line.split()[1])
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        watchdog.cancel()
    assert folder.startswith(str(tmp_path / "share"))
    left = sorted(Path(folder).glob("*.emstudio"))
    assert len(left) == 1

    window = make_window(autosave=folder)
    asked = []
    window.workspace.ask_restore = lambda when: asked.append(when) or "restore"
    assert window.workspace.offer_restore()
    assert asked and asked[0].isValid()
    c = window.controller
    assert len(c.history) >= saved_entries and c.state == "idle"
    assert window.dataset.source.endswith("overlapping.csv") and window.isWindowModified()
    assert not left[0].exists()  # restored: now this window's own autosave holds it
    window.workspace.autosave.wait()
    assert Path(window.workspace.autosave.path).exists()
    # The restored fit goes on from where it was (as fast as possible: the pace was restored too).
    assert window.controls.pace.currentIndex() == 2
    window.controls.pace.setCurrentIndex(0)
    wait_outcome(qtbot, window, window.requests.run)
    assert len(c.history) > saved_entries


def test_an_orphan_can_be_discarded(make_window, qtbot, tmp_path):
    folder = str(tmp_path / "orphans")
    first = make_window(autosave=folder)
    with qtbot.waitSignal(quick(first).written, timeout=10000):
        first.files.load_file(sample("separated.csv"))
    left = first.workspace.autosave.path
    first.workspace.autosave._lock.unlock()  # as if its window had died
    first.workspace.autosave._lock = None
    first.workspace.autosave.path = None  # (and write no more)
    second = make_window(autosave=folder)
    second.workspace.ask_restore = lambda when: "discard"
    assert not second.workspace.offer_restore()
    assert not os.path.exists(left) and second.dataset is None
    before = fit_state(first)
    assert before["columns"]  # the first window itself is untouched


def test_no_autosave_folder_is_said_and_the_window_works(make_window, qtbot, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the autosave folder should be")
    window = make_window(autosave=str(blocker / "autosave"))
    assert not window.workspace.autosave.enabled
    qtbot.waitUntil(lambda: "Autosave is off" in window.banner.label.text())
    assert "cannot make the autosave folder" in window.banner.label.text()
    window.files.load_file(sample("overlapping.csv"))
    qtbot.waitUntil(lambda: window.dataset is not None)
    wait_outcome(qtbot, window, window.requests.run)  # fits; nothing tries to write an autosave
    assert window.controller.current is not None
