"""Exports of what is on screen: the result file (parameters), the labels CSV and the picture, each
from a dialog or a path; large data is written on a background thread."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from emstudio.errors import EmstudioError

#: Results and labels of data with at least this many values (n·d) are written on a background
#: thread: both take a pass over every sample (labels of 1e6 rows: about a second).
BACKGROUND_WRITE_VALUES = 1_000_000
#: Why Export parameters waits while EM works on data on a cluster (tooltip, status line, message).
CLUSTER_BUSY = ("Stop the run first (Esc): exporting takes a pass over all rows on the Dask cluster, "
                "which is busy with the run's passes")


class Exporter(QtCore.QObject):
    """Writes what is on screen. ``export_finished(ok)``: a background write ended."""

    export_finished = QtCore.Signal(bool)
    _written = QtCore.Signal(str, object)  # what was written, None or the message of why not

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self._written.connect(self._on_written, QtCore.Qt.ConnectionType.QueuedConnection)

    # ------------------------------------------------------------------ dialogs
    def _folder(self) -> str:
        """Where a save dialog opens: the folder of the last export, else the data's folder."""
        dataset = self.window.dataset
        folder = self.window.store.value("export_dir", "")
        if not folder and dataset is not None and os.path.isdir(Path(dataset.source).resolve().parent):
            folder = str(Path(dataset.source).resolve().parent)
        return folder or str(Path.home())

    def _save_path(self, title, suffix_filter, default_name) -> str | None:
        store = self.window.store
        start = os.path.join(self._folder(), default_name)
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, title, start, suffix_filter)
        if path:
            store.setValue("export_dir", str(Path(path).resolve().parent))
        return path or None

    def _stem(self) -> str:
        dataset = self.window.dataset
        if dataset is None:
            return "emstudio"
        path = Path(dataset.source.rstrip(os.sep))
        # A glob of files on a cluster (parts/*.csv) is named by its folder.
        return path.parent.name or "emstudio" if any(c in path.name for c in "*?[") else path.stem

    def export_params_dialog(self) -> None:
        path = self._save_path("Export parameters", "Result file (*.json)", f"{self._stem()}-fit.json")
        if path:
            self.export_params(path)

    def export_labels_dialog(self) -> None:
        path = self._save_path("Export labels", "CSV (*.csv)", f"{self._stem()}-labels.csv")
        if path:
            self.export_labels(path)

    def export_picture_dialog(self) -> None:
        path = self._save_path("Export picture", "PNG image (*.png);;SVG drawing (*.svg)", f"{self._stem()}.png")
        if not path:
            return
        size = self.ask_picture_size(path)
        if size is not None:
            self.export_picture(path, size)

    def default_picture_size(self) -> tuple[int, int]:
        """The size asked last (remembered), else twice the plot on screen (sharp in print)."""
        from emstudio.gui.picture import parse_size

        try:
            return parse_size(str(self.window.store.value("picture_size", "")))
        except ValueError:
            plot = self.window.plot
            return max(64, 2 * plot.width()), max(64, 2 * plot.height())

    def ask_picture_size(self, path: str) -> tuple[int, int] | None:
        """The picture's size in pixels, asked (None: cancelled). Text, lines and the legend grow
        with the picture, as with ``emstudio plot --size``; an SVG's size is its drawing's size."""
        from emstudio.gui.picture import MAX_SIDE, parse_size

        w, h = self.default_picture_size()
        text = f"{w}x{h}"
        while True:
            text, ok = QtWidgets.QInputDialog.getText(
                self.window, "Picture size",
                f"Size of {os.path.basename(path)} in pixels, WIDTHxHEIGHT (64 to {MAX_SIDE} a side;\n"
                "text, lines and the legend grow with the picture):", QtWidgets.QLineEdit.EchoMode.Normal, text)
            if not ok:
                return None
            try:
                size = parse_size(text)
            except ValueError as exc:
                QtWidgets.QMessageBox.warning(self.window, "Picture size", str(exc))
                continue
            self.window.store.setValue("picture_size", f"{size[0]}x{size[1]}")
            return size

    # ------------------------------------------------------------------ writing
    def _shown(self):
        c = self.window.controller
        if c.current is None:
            raise EmstudioError("nothing fitted yet: run EM first")
        return c.current

    def _guarded(self, what, action, background: bool = False) -> bool:
        """Do ``action()`` (a write) and say how it went. ``background``: on a background thread,
        the window staying usable (a pass over every sample of large data); True then means that
        it started, and ``export_finished(ok)`` tells when it is done."""
        report = self.window.report
        if background:
            report.say(f"Writing {what.split(' to ')[-1]}… the window stays usable")

            def work() -> None:
                try:
                    action()
                    error = None
                except (EmstudioError, OSError) as exc:
                    error = str(exc)
                except Exception as exc:  # noqa: BLE001 - reported in the window, never lost
                    error = f"internal error: {exc!r}"
                try:
                    self._written.emit(what, error)
                except RuntimeError:
                    pass  # the window was closed meanwhile

            threading.Thread(target=work, name="emstudio-export", daemon=True).start()
            return True
        QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
        try:
            action()
        except (EmstudioError, OSError) as exc:
            report.show_error(f"Could not {what}: {exc}")
            return False
        finally:
            QtWidgets.QApplication.restoreOverrideCursor()
        report.say(f"Wrote {what.split(' to ')[-1]}")
        return True

    def _on_written(self, what: str, error) -> None:
        if error is None:
            self.window.report.say(f"Wrote {what.split(' to ')[-1]}")
        else:
            self.window.report.show_error(f"Could not {what}: {error}")
        self.export_finished.emit(error is None)

    def _large(self) -> bool:
        """Whether writing a result or labels takes a pass too long for the window's thread."""
        dataset = self.window.dataset
        return dataset is not None and dataset.values.size >= BACKGROUND_WRITE_VALUES

    def export_params(self, path: str, interrupt=None) -> bool:
        """Write the state on screen as a result file (data on a cluster: off the window's thread,
        export_finished tells the end; ``interrupt()`` True gives the cluster's pass up)."""
        from emstudio.gui.export import factor_result_of, result_of, write_factor_result_file, write_result_file

        what = f"write the parameters to {path}"
        try:
            frame = self._shown()
            self._check_cluster_free()
        except EmstudioError as exc:
            self.window.report.show_error(f"Could not {what}: {exc}")
            return False
        # What is on screen now is what is written, even if the fit goes on meanwhile.
        c, dataset = self.window.controller, self.window.dataset
        upto = c.index if 0 <= c.index < len(c.history) else len(c.history) - 1
        history = [(f.iteration, f.log_likelihood) for f in c.history[: upto + 1]]
        converged = frame.converged or (frame is (c.history[-1] if c.history else None)
                                        and getattr(c.last_outcome, "state", "") == "converged")
        settings = c.settings

        def act():
            if dataset.cluster is not None:  # measured over all rows on the cluster, the command's file
                from emstudio.gui.cluster_data import cluster_result_of, write_cluster_result_file

                result = cluster_result_of(dataset.cluster, frame.params, settings, iteration=frame.iteration,
                                           converged=bool(converged), history=history, interrupt=interrupt)
                write_cluster_result_file(path, dataset, result)
                return
            if frame.factor is not None:  # a factor model: its own result file
                fit = factor_result_of(dataset.values, frame.factor, c.factor, iteration=frame.iteration,
                                       converged=bool(converged), history=history)
                write_factor_result_file(path, dataset, fit)
                return
            result = result_of(dataset.values, frame.params, settings, iteration=frame.iteration,
                               converged=bool(converged), history=history)
            write_result_file(path, dataset, result)

        return self._guarded(what, act, background=self._large() or dataset.cluster is not None)

    def _check_cluster_free(self) -> None:
        """Data on a cluster: the export's pass waits for the worker's (a Run or a step holds the
        cluster), so it is refused until they end rather than left waiting without a word."""
        dataset = self.window.dataset
        if dataset is not None and dataset.cluster is not None and \
                self.window.controller.state in ("running", "stepping"):
            raise EmstudioError(CLUSTER_BUSY)

    def export_labels(self, path: str) -> bool:
        from emstudio.gui.export import write_labels_file

        what = f"write the labels to {path}"
        try:
            params = self._shown().params
        except EmstudioError as exc:
            self.window.report.show_error(f"Could not {what}: {exc}")
            return False
        dataset = self.window.dataset
        return self._guarded(what, lambda: write_labels_file(path, dataset, params), background=self._large())

    def export_picture(self, path: str, size: tuple[int, int] | None = None) -> bool:
        """The state on screen drawn by the one picture renderer `emstudio plot` uses too, at
        ``size`` pixels (default twice the plot on screen)."""
        from emstudio.gui.picture import export_window_picture

        return self._guarded(f"write the picture to {path}", lambda: export_window_picture(self.window, path, size))
