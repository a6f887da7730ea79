"""pytest-qt on the offscreen platform; every window gets its own settings file."""

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt is imported
os.environ.pop("DISPLAY", None)
os.environ.pop("WAYLAND_DISPLAY", None)

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6 import QtCore  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[2] / "emstudio" / "samples"
TEST_SCREEN = (1600, 1000)


@pytest.fixture(scope="package", autouse=True)
def garbage_collected_on_the_window_thread():
    """The window's tests collect garbage as the program does (gui/main_thread_gc.py: the first
    MainWindow installs it); the tests after them get Python's own collector back."""
    yield
    from emstudio.gui import main_thread_gc

    main_thread_gc.uninstall()


@pytest.fixture
def settings_file(tmp_path):
    return str(tmp_path / "emstudio.ini")


@pytest.fixture
def autosave_dir(tmp_path):
    return str(tmp_path / "autosave")


@pytest.fixture
def make_window(qtbot, settings_file, autosave_dir):
    """make_window() → a shown MainWindow with a private settings file and autosave folder, closed
    after the test (unsaved work discarded: closing never asks)."""
    from emstudio.gui.app import application
    from emstudio.gui.window import MainWindow

    application()
    windows = []

    def make(pace_index=0, autosave=None):
        store = QtCore.QSettings(settings_file, QtCore.QSettings.Format.IniFormat)
        window = MainWindow(store, autosave_dir=autosave or autosave_dir)
        window.workspace.ask_unsaved = lambda: "discard"
        window.cluster_link.ask_unexported = lambda: "discard"  # a fit on a Dask cluster, not exported
        if not store.contains("window/geometry"):
            # As on a common desktop screen (the offscreen platform's own is 800 × 800).
            window.docks.fit_screen(QtCore.QRect(0, 0, *TEST_SCREEN))
        qtbot.addWidget(window)
        window.controls.pace.setCurrentIndex(pace_index)  # as fast as possible unless asked
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        assert not window.controller.thread.isRunning()


@pytest.fixture
def window(make_window):
    return make_window()


def wait_outcome(qtbot, window, action, timeout=20000):
    """Do ``action()`` and wait for the controller's outcome signal; returns the outcome."""
    with qtbot.waitSignal(window.controller.outcome, timeout=timeout) as blocker:
        action()
    return blocker.args[0]


def sample(name):
    return str(SAMPLES / name)


def blob_data(n, seed=0, d=2, k=5):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=6, size=(k, d))
    labels = rng.integers(0, k, size=n)
    return centres[labels] + rng.normal(size=(n, d))
