"""`emstudio plot`, `emstudio gui` and the bare command, in subprocesses (offscreen)."""

import os
import subprocess
import sys
import tempfile
import textwrap
import xml.etree.ElementTree as ET

from tests.gui.conftest import sample


def _env():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("DISPLAY", None)
    # The window's autosave goes to the data folder: a private one, never the user's.
    env["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="emstudio-test-data-")
    return env


def _emstudio(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "emstudio", *args], capture_output=True, text=True,
                          timeout=timeout, env=_env())


def test_plot_writes_png_and_svg(tmp_path):
    png, svg = tmp_path / "fit.png", tmp_path / "fit.svg"
    done = _emstudio("plot", sample("overlapping.csv"), "--k", "3", "--out", str(png))
    assert done.returncode == 0, done.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    done = _emstudio("plot", sample("four_d.csv"), "--k", "3", "--axes", "b,d", "--out", str(svg))
    assert done.returncode == 0, done.stderr
    assert ET.parse(svg).getroot().tag.endswith("svg")


def test_plot_errors_are_one_line(tmp_path):
    done = _emstudio("plot", sample("separated.csv"), "--out", str(tmp_path / "x.gif"))
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and ".png or .svg" in done.stderr
    done = _emstudio("plot", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "x.png"))
    assert done.returncode == 1 and done.stderr.count("\n") == 1


def test_fit_never_imports_qt():
    code = textwrap.dedent(f"""
        import sys
        from emstudio.cli import main
        assert main(["fit", {sample("separated.csv")!r}, "--k", "3", "-q"]) == 0
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6")))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_gui_opens_with_data_and_settings_and_closes_mid_run_cleanly(tmp_path):
    """`emstudio gui DATA --k 4 ...` loads and applies; closing mid-run stops the thread (no
    "QThread: Destroyed while thread is still running", which aborts the process)."""
    code = textwrap.dedent(f"""
        import sys
        from PySide6 import QtCore, QtWidgets
        import emstudio.gui.window as window_module

        def drive():
            window = [w for w in QtWidgets.QApplication.topLevelWidgets()
                      if isinstance(w, window_module.MainWindow)][0]
            assert window.dataset is not None and window.dataset.values.shape == (500, 2)
            assert window.controls.k.value() == 4 and window.controls.covariance.currentData() == "diag"
            assert window.controls.seed.value() == 7
            window.controls.pace.setCurrentIndex(2)
            window.requests.run()
            def close_when_running():
                if len(window.controller.history) >= 2:
                    print("closing mid-run at", window.controller.history[-1].iteration, flush=True)
                    window.workspace.ask_unsaved = lambda: "discard"  # closing unsaved work asks
                    window.close()
                    QtWidgets.QApplication.quit()
                else:
                    QtCore.QTimer.singleShot(10, close_when_running)
            close_when_running()

        QtCore.QTimer.singleShot(0, drive)
        from emstudio.cli import main
        sys.exit(main(["gui", {sample("overlapping.csv")!r}, "--k", "4", "--covariance", "diag", "--seed", "7"]))
    """)
    env = _env()
    env["XDG_CONFIG_HOME"] = str(tmp_path)  # the window's remembered layout goes here
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert "closing mid-run" in done.stdout
    assert "QThread" not in done.stderr and "Traceback" not in done.stderr


def test_gui_opens_a_factor_model_from_the_command_line(tmp_path):
    """`emstudio gui DATA --model mfa --k 2 --factors 2 --psi per-component` chooses that model."""
    code = textwrap.dedent(f"""
        import sys
        from PySide6 import QtCore, QtWidgets
        import emstudio.gui.window as window_module

        def drive():
            window = [w for w in QtWidgets.QApplication.topLevelWidgets()
                      if isinstance(w, window_module.MainWindow)][0]
            if window.dataset is None:
                QtCore.QTimer.singleShot(20, drive)
                return
            factor = window.controller.factor
            print("model", factor.model, factor.k, factor.n_factors, factor.psi, flush=True)
            window.workspace.ask_unsaved = lambda: "discard"  # closing unsaved work asks
            window.close()
            QtWidgets.QApplication.quit()

        QtCore.QTimer.singleShot(0, drive)
        from emstudio.cli import main
        sys.exit(main(["gui", {sample("four_d.csv")!r}, "--model", "mfa", "--k", "2", "--factors", "2",
                       "--psi", "per-component"]))
    """)
    env = _env()
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert "model mfa 2 2 per-component" in done.stdout


def test_gui_with_a_missing_file_is_one_line():
    done = _emstudio("gui", "/nonexistent/data.csv")
    assert done.returncode == 1 and done.stderr.strip().endswith("no such file")


def test_without_a_display_the_window_says_so():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    bare = subprocess.run([sys.executable, "-m", "emstudio"], capture_output=True, text=True, timeout=60, env=env)
    # The bare command says what works without a window, and is still an error: no window opened.
    assert bare.returncode == 1 and "no display" in bare.stderr and "emstudio plot" in bare.stderr
    assert "xvfb-run -s" in bare.stderr and "Traceback" not in bare.stderr
    gui = subprocess.run([sys.executable, "-m", "emstudio", "gui", sample("separated.csv")], capture_output=True,
                         text=True, timeout=60, env=env)
    assert gui.returncode == 1 and gui.stderr.count("\n") == 1 and "no display" in gui.stderr
