"""Starting the window, and the guard that turns an unexpected exception in a slot into a dialog."""

from __future__ import annotations

import sys
import traceback

from PySide6 import QtCore, QtGui, QtWidgets


def application_icon() -> QtGui.QIcon:
    """The application icon at every size it ships in (emstudio.icons, package data)."""
    from emstudio.icons import PNG_SIZES, icon_png

    icon = QtGui.QIcon()
    for size in PNG_SIZES:
        icon.addFile(str(icon_png(size)), QtCore.QSize(size, size))
    return icon


def application() -> QtWidgets.QApplication:
    app = QtWidgets.QApplication.instance()
    if app is None:
        from emstudio.icons import APP_ID

        QtCore.QCoreApplication.setOrganizationName("emstudio")
        QtCore.QCoreApplication.setApplicationName("EM Studio")
        # Wayland shells find the window's desktop entry (and its icon) by this name.
        QtGui.QGuiApplication.setDesktopFileName(APP_ID)
        app = QtWidgets.QApplication(sys.argv[:1])
        app.setWindowIcon(application_icon())
    import pyqtgraph as pg

    pg.setConfigOptions(antialias=True, background="w", foreground="#2b2b2b")
    return app


class ExceptionDialogs:
    """sys.excepthook for the window: an exception escaping a slot becomes a (non-modal) dialog
    with the traceback under "Show Details", and the window goes on."""

    def __init__(self, parent: QtWidgets.QWidget | None) -> None:
        self.parent = parent
        self.previous = sys.excepthook
        self.dialogs: list[QtWidgets.QMessageBox] = []

    def __call__(self, kind, value, tb) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(text)
        box = QtWidgets.QMessageBox(self.parent)
        box.setIcon(QtWidgets.QMessageBox.Icon.Critical)
        box.setWindowTitle("EM Studio: unexpected error")
        box.setText(f"Something went wrong: {kind.__name__}: {value}\n\n"
                    "The window is still usable. Please report this with the details.")
        box.setDetailedText(text)
        box.setModal(False)
        box.finished.connect(lambda _=0, b=box: self.dialogs.remove(b) if b in self.dialogs else None)
        self.dialogs.append(box)
        box.show()

    def install(self) -> "ExceptionDialogs":
        sys.excepthook = self
        return self

    def uninstall(self) -> None:
        sys.excepthook = self.previous


def run_window(data: str | None = None, settings=None, columns=None, classes=None, sheet=None,
               model=None, check: bool = False, cluster=None) -> int:
    """Open the window (with ``data`` loaded and ``settings`` applied) and run until it closes.
    ``sheet``: a workbook's sheet; ``model``: (kind "fa" or "mfa", factors q, Ψ "shared" or
    "per-component") for a factor model. ``data`` may be a workspace file (``*.emstudio``). Started
    without one, an autosave left by a window that did not close normally is offered. ``check``:
    fit ``data``, draw, say so and return at once (gui/startup_check.py). ``cluster``: a
    gui.cluster_data.ClusterRequest: ``data`` is opened on that Dask cluster instead."""
    from emstudio.gui.controls import check_window_settings

    if settings is not None:
        check_window_settings(settings)  # before any window: a refusal is one line, exit 1
    app = application()
    if check:
        from emstudio.gui.startup_check import check_window

        return check_window(app, data, settings, columns=columns, classes=classes, sheet=sheet, model=model,
                            cluster=cluster)
    from emstudio.gui.autosave import default_folder
    from emstudio.gui.window import MainWindow, apply_settings

    window = MainWindow(autosave_dir=default_folder())
    guard = ExceptionDialogs(window).install()
    if settings is not None:
        apply_settings(window, settings)
    if model is not None:
        window.controls.set_factor_model(*model)
    window.show()
    if cluster is not None:
        window.cluster_link.open(cluster, ask=False)
    elif data is not None:
        window.files.load_file(data, columns=columns, classes=classes, sheet=sheet)
    else:  # once the window is on screen: the question belongs to it
        QtCore.QTimer.singleShot(0, window, window.workspace.offer_restore)
    try:
        return app.exec()
    finally:
        guard.uninstall()
