"""Make the pictures of README.md and docs/ from the sample data (offscreen, no display needed).

    .venv/bin/python tools/screenshots.py            # writes docs/*.png

Each picture is a real window driven as a person would: load a sample, set the controls, run or
step, then grab the window.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SIZE = (1400, 860)


def _window(store_path: Path):
    from PySide6 import QtCore

    from emstudio.gui.window import MainWindow

    store = QtCore.QSettings(str(store_path), QtCore.QSettings.Format.IniFormat)
    store.clear()
    window = MainWindow(store)
    window.resize(*SIZE)
    window.controls.pace.setCurrentIndex(0)
    window.show()
    return window


def _wait(window, action) -> None:
    """Do ``action()`` and wait for its outcome (a run or a step)."""
    from PySide6 import QtCore

    loop = QtCore.QEventLoop()
    window.controller.outcome.connect(loop.quit)
    action()
    if window.controller.state != "idle":
        loop.exec()
    window.controller.outcome.disconnect(loop.quit)
    _settle()


def _settle() -> None:
    from PySide6 import QtWidgets

    for _ in range(30):
        QtWidgets.QApplication.processEvents()


def _load(window, name: str, k: int, init: str = "kmeans") -> None:
    assert window.files.load_file(str(ROOT / "assets" / name))
    window.controls.k.setValue(k)
    window.controls.init.setCurrentIndex(window.controls.init.findData(init))


def main(out: Path = DOCS) -> int:
    from emstudio.gui.app import application

    application()
    store = out / ".screenshots.ini"
    out.mkdir(exist_ok=True)
    try:
        # The main picture: overlapping clusters mid-fit.
        window = _window(store)
        _load(window, "overlapping.csv", 3)
        window.controls.max_iter.setValue(12)
        _wait(window, window.requests.run)
        window.grab().save(str(out / "screenshot.png"))
        window.close()

        # The bound view: five half-steps from the first seed's step 0, every half-step drawn (the
        # first M-step's gap is the widest), then the same after more steps at the default zoom.
        window = _window(store)
        _load(window, "overlapping.csv", 3, "seed-step0")
        window.bound_view.all_box.setChecked(True)
        for kind in ("E", "M", "E", "M", "E"):
            _wait(window, lambda kind=kind: window.requests.step(kind))
        window.grab().save(str(out / "bound-view.png"))
        window.bound_view.all_box.setChecked(False)
        for kind in ("M", "E", "M", "E", "M", "E", "M"):
            _wait(window, lambda kind=kind: window.requests.step(kind))
        window.bound_view.grab().save(str(out / "bound-view-later.png"))
        window.close()

        # One dimension: histogram, component densities, mixture.
        window = _window(store)
        _load(window, "one_d.csv", 3)
        _wait(window, window.requests.run)
        window.grab().save(str(out / "one-d.png"))
        window.close()

        # Hands on: a fitted component selected (its handles shown), another frozen.
        window = _window(store)
        _load(window, "separated.csv", 3)
        _wait(window, window.requests.run)
        _wait(window, lambda: window.edits.toggle_freeze(2))
        window.editor.select(0)
        _settle()
        window.grab().save(str(out / "editing.png"))
        window.close()
    finally:
        store.unlink(missing_ok=True)
    for name in ("screenshot.png", "bound-view.png", "bound-view-later.png", "one-d.png", "editing.png"):
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
