"""`emstudio gui DATA --check`: open the window, load DATA, run the fit to its end, draw the
window, print one line and exit: 0 when all of it worked, 1 (and one line saying what failed)
otherwise. It checks an installed copy or the PyInstaller bundle end to end, on any platform
(QT_QPA_PLATFORM=offscreen with no screen): packaging/build-bundle.sh runs it on the bundle.

The check keeps its window settings in a temporary file, so it adds no recent file and moves no
window of the person's own."""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

#: A fit of a sample takes well under a second; this only stops a check that hangs.
FIT_TIMEOUT_MS = 120_000


def _wait_for(signal, timeout_ms: int):
    """Run the event loop until ``signal`` fires (its arguments) or the time is up (None)."""
    loop = QtCore.QEventLoop()
    received = []
    signal.connect(lambda *args: (received.append(args), loop.quit()))
    QtCore.QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    return received[0] if received else None


def _distinct_colours(image: QtGui.QImage) -> int:
    """How many colours the window's picture holds (a blank or unpainted window has one or two)."""
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), dtype=np.uint32, count=image.width() * image.height())
    return len(np.unique(pixels[:: max(1, len(pixels) // 200_000)]))


def check_window(app: QtWidgets.QApplication, data: str, settings=None, columns=None, classes=None,
                 sheet=None, model=None, cluster=None) -> int:
    """``cluster``: a gui.cluster_data.ClusterRequest: DATA is opened on that Dask cluster."""
    from emstudio.gui.window import MainWindow, apply_settings

    def fail(what: str) -> int:
        sys.stderr.write(f"emstudio: check failed: {what}\n")
        return 1

    with tempfile.TemporaryDirectory(prefix="emstudio-check-") as folder:
        store = QtCore.QSettings(os.path.join(folder, "emstudio.ini"), QtCore.QSettings.Format.IniFormat)
        window = MainWindow(store)
        try:
            if settings is not None:
                apply_settings(window, settings)
            if model is not None:
                window.controls.set_factor_model(*model)
            window.controls.pace.setCurrentIndex(0)  # the fastest pace: the check waits for the end
            window.files.ask_sheet = lambda *_: None  # no question (nobody to answer it): a plain failure
            window.workspace.ask_unsaved = lambda: "discard"  # the check's fit is not the person's work
            window.cluster_link.ask_unexported = lambda: "discard"
            window.show()
            if cluster is not None:  # the cluster is started or reached on a background thread
                started = window.cluster_link.open(cluster, ask=False)
                started = started and bool((_wait_for(window.cluster_link.opening_finished, FIT_TIMEOUT_MS)
                                            or (False,))[0])
            else:
                started = window.files.load_file(data, columns=columns, classes=classes, sheet=sheet)
            if started and window.dataset is None:  # a large file is read on a background thread
                started = bool((_wait_for(window.files.loading_finished, FIT_TIMEOUT_MS) or (False,))[0])
            if not started or window.dataset is None:
                return fail(f"{data} was not loaded: {window.banner.label.text() or 'no data'}")
            run = lambda: window.requests.run()  # noqa: E731 - after the wait is connected
            QtCore.QTimer.singleShot(0, run)
            outcome = _wait_for(window.controller.outcome, FIT_TIMEOUT_MS)
            if outcome is None:
                return fail(f"the fit did not end within {FIT_TIMEOUT_MS // 1000} s")
            outcome = outcome[0]
            if outcome.state == "failed" or window.controller.current is None:
                return fail(f"the fit failed: {outcome.message or window.banner.label.text()}")
            app.processEvents()
            picture = window.grab().toImage()
            if picture.isNull() or _distinct_colours(picture) < 16:
                return fail("the window drew nothing")
            frame = window.controller.current
            n, d = window.dataset.values.shape
            where = ""
            if cluster is not None:
                n, where = frame.n_samples, f" on the Dask cluster ({n} rows shown)"
            print(f"emstudio: check passed: {os.path.basename(data)} loaded{where} ({n} rows, {d} columns), "
                  f"K = {len(frame.params.weights)} fitted ({outcome.state} after {frame.iteration} iterations, "
                  f"log L = {frame.log_likelihood:.6g}), window drawn {picture.width()}×{picture.height()}")
            return 0
        finally:
            window.close()
            store.sync()
