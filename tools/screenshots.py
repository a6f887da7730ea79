"""Make the pictures of README.md and docs/ from the sample data (offscreen, no display needed).

    .venv/bin/python tools/screenshots.py                              # writes docs/*.png
    .venv/bin/python tools/screenshots.py --screen 1024x700 --out /tmp/small

Each picture is a real window driven as a person would: load a sample, set the controls, run or
step, then grab the window. ``--screen WxH``: the window is laid out as it is when it first opens
on a screen of that size (the pictures show what a person with that screen sees).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: The screen the docs/ pictures are taken on (the window fills 85 % of it, as on a person's).
DOCS_SCREEN = (1600, 1000)
#: Pictures that are for checking the layout only, not for docs/.
EXTRA = ("converged.png", "four-d.png", "selection.png")


def _window(store_path: Path, screen: tuple[int, int]):
    from PySide6 import QtCore

    from emstudio.gui.window import MainWindow

    store = QtCore.QSettings(str(store_path), QtCore.QSettings.Format.IniFormat)
    store.clear()
    window = MainWindow(store)
    window.workspace.ask_unsaved = lambda: "discard"  # closing never asks here
    window.docks.fit_screen(QtCore.QRect(0, 0, *screen))
    window.controls.pace.setCurrentIndex(0)
    window.show()
    _settle()
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
    assert window.files.load_file(str(ROOT / "emstudio" / "samples" / name))
    window.docks.default_sizes()
    window.controls.k.setValue(k)
    window.controls.init.setCurrentIndex(window.controls.init.findData(init))
    _settle()


def _screen(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1366x768") from None
    if width < 640 or height < 480:
        raise argparse.ArgumentTypeError(f"{text}: the window needs at least 640x480")
    return width, height


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Make the window's pictures from the sample data.")
    parser.add_argument("--screen", type=_screen, default=DOCS_SCREEN, metavar="WxH",
                        help=f"the screen the window opens on (default {DOCS_SCREEN[0]}x{DOCS_SCREEN[1]})")
    parser.add_argument("--out", type=Path, default=DOCS, help="folder for the pictures (default docs/)")
    parser.add_argument("--all", action="store_true",
                        help="also the layout-checking pictures: " + ", ".join(EXTRA) + " (always with --out)")
    args = parser.parse_args(argv)
    out, screen = args.out, args.screen
    extra = args.all or out.resolve() != DOCS.resolve()

    from emstudio.gui.app import application

    application()
    out.mkdir(parents=True, exist_ok=True)
    store = out / ".screenshots.ini"
    written = []

    def save(widget, name: str) -> None:
        widget.grab().save(str(out / name))
        written.append(out / name)

    try:
        # The main picture: overlapping clusters mid-fit.
        window = _window(store, screen)
        _load(window, "overlapping.csv", 3)
        window.controls.max_iter.setValue(12)
        _wait(window, window.requests.run)
        save(window, "screenshot.png")
        if extra:  # the same fit converged
            window.controls.max_iter.setValue(500)
            _wait(window, window.requests.run)
            save(window, "converged.png")
        window.close()

        # The bound view: five half-steps from the first seed's step 0, every half-step drawn (the
        # first M-step's gap is the widest), then the same after more steps at the default zoom.
        window = _window(store, screen)
        _load(window, "overlapping.csv", 3, "seed-step0")
        window.bound_view.all_box.setChecked(True)
        for kind in ("E", "M", "E", "M", "E"):
            _wait(window, lambda kind=kind: window.requests.step(kind))
        save(window, "bound-view.png")
        window.bound_view.all_box.setChecked(False)
        for kind in ("M", "E", "M", "E", "M", "E", "M"):
            _wait(window, lambda kind=kind: window.requests.step(kind))
        save(window.bound_view, "bound-view-later.png")
        window.close()

        # The Derivation tab: each step of the seeds' argument with the numbers of the state on screen
        # (step 1 at the start, the others after E1, M1, E2, M2 from the first seed's step 0).
        window = _window(store, screen)
        _load(window, "overlapping.csv", 3, "seed-step0")
        window.tabs.setCurrentWidget(window.derivation)
        _wait(window, window.requests.reinitialise)
        panel = window.derivation

        def derivation_picture(step: int, name: str) -> None:
            import time

            deadline = time.monotonic() + 30
            while (panel._busy or panel.frame is not window.controller.current) and time.monotonic() < deadline:
                _settle()
                time.sleep(0.01)
            panel.steps.setCurrentRow(step)
            _settle()
            save(panel, name)

        derivation_picture(0, "derivation-1.png")
        for kind in ("E", "M", "E", "M"):
            _wait(window, lambda kind=kind: window.requests.step(kind))
        for step in range(1, 6):
            derivation_picture(step, f"derivation-{step + 1}.png")
        derivation_picture(6, "derivation-notation.png")
        window.close()

        # One dimension: histogram, component densities, mixture.
        window = _window(store, screen)
        _load(window, "one_d.csv", 3)
        _wait(window, window.requests.run)
        save(window, "one-d.png")
        window.close()

        # Hands on: a fitted component selected (its handles shown), another frozen.
        window = _window(store, screen)
        _load(window, "separated.csv", 3)
        _wait(window, window.requests.run)
        _wait(window, lambda: window.edits.toggle_freeze(2))
        window.editor.select(0)
        _settle()
        save(window, "editing.png")
        window.close()

        if extra:
            # d = 4: the axes chooser, ellipses as exact marginals.
            window = _window(store, screen)
            _load(window, "four_d.csv", 3)
            _wait(window, window.requests.run)
            save(window, "four-d.png")
            window.close()

        # Factor models: factor analysis (q = 2) with its loading arrows and the Factors panel; a
        # mixture of factor analysers' latent space; the covariance chooser's list.
        window = _window(store, screen)
        _load(window, "four_d.csv", 1)
        window.controls.set_kind("fa")
        window.controls.factors.setValue(2)
        _wait(window, window.requests.run)
        save(window, "factor-analysis.png")
        window.controls.set_kind("mfa")
        window.controls.k.setValue(3)
        window.controls.factors.setValue(1)
        _wait(window, window.requests.run)
        save(window, "factor-mixture.png")
        window.tabs.setCurrentWidget(window.factors.panel.latent_page)
        _settle()
        save(window.tabs, "factor-latent.png")
        window.controls.set_kind("mixture")
        window.controls.covariance.showPopup()
        _settle()
        save(window.controls.covariance.view().window(), "covariance-chooser.png")
        window.controls.covariance.hidePopup()
        window.close()

        # Choosing K and the model: the grid's criterion plot, a tab of its own.
        window = _window(store, screen)
        _load(window, "overlapping.csv", 3)
        panel = window.selection
        window.actions["select_models"].trigger()
        panel.k_range.setText("1-6")
        for name, box in panel.type_boxes.items():
            box.setChecked(True)
        from PySide6 import QtCore

        loop = QtCore.QEventLoop()
        panel.selection_ready.connect(loop.quit)
        panel.compute()
        loop.exec()
        _settle()
        save(window, "selection.png")
        window.close()
    finally:
        store.unlink(missing_ok=True)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
