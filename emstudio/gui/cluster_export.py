"""Before a fit on a Dask cluster is closed (gui/cluster_open.py's ClusterLink.confirm_discard):
the question (Export Parameters…, Discard, Cancel) and the export itself, its pass over all rows
off the window's thread behind a modal progress dialog whose Cancel gives the pass up."""

from __future__ import annotations

import os
import threading

from PySide6 import QtCore, QtWidgets


def export_with_progress(link, path: str) -> bool:
    """Write the fit's result file before the data close: its pass over all rows runs off the
    window's thread while a modal progress dialog (Cancel gives the pass up) waits for it. True
    once written; False if cancelled or failed (the window says why; nothing is closed)."""
    w = link.window
    cancelled = threading.Event()
    ended: list[bool] = []
    loop = QtCore.QEventLoop()

    def finished(ok: bool) -> None:
        ended.append(ok)
        loop.quit()

    w.exporter.export_finished.connect(finished)
    dialog = link.progress_dialog(path)
    dialog.canceled.connect(cancelled.set)
    link._exporting = True
    try:
        if not w.exporter.export_params(path, interrupt=cancelled.is_set):
            return False  # refused at once (nothing fitted, …): the window said why
        dialog.open()
        if not ended:
            loop.exec()
    finally:
        link._exporting = False
        w.exporter.export_finished.disconnect(finished)
        dialog.reset()
        dialog.deleteLater()
    if cancelled.is_set() and not (ended and ended[0]):
        w.report.show_error("Export cancelled: the fit on the cluster was not written, and nothing was closed.")
        return False
    return bool(ended and ended[0])


def progress_dialog(window, session, path: str) -> QtWidgets.QProgressDialog:
    """"Writing NAME: one pass over all n rows on the cluster…", busy, with Cancel (window-modal)."""
    rows = f"all {session.n_samples:,} rows" if session is not None and session.engine is not None else "all rows"
    dialog = QtWidgets.QProgressDialog(
        f"Writing {os.path.basename(path)}:\nmeasuring the fit over {rows} on the Dask cluster (one pass)…",
        "Cancel", 0, 0, window)
    dialog.setWindowTitle("Export Parameters")
    dialog.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(0)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.setMinimumWidth(420)
    return dialog


def ask_unexported(window) -> str | None:
    box = QtWidgets.QMessageBox(window)
    box.setIcon(QtWidgets.QMessageBox.Icon.Question)
    box.setWindowTitle("EM Studio")
    box.setText("Export the fit made on the Dask cluster before it is closed?")
    box.setInformativeText("A workspace cannot keep data on a cluster: a result file keeps the fit (and "
                           "is a start for later, File ▸ Import start parameters).")
    export = box.addButton("Export Parameters…", QtWidgets.QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton(QtWidgets.QMessageBox.StandardButton.Discard)
    box.addButton(QtWidgets.QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(export)
    box.exec()
    return {export: "export", discard: "discard"}.get(box.clickedButton())
