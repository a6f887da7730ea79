"""Opening data: the Open dialog, reading (on a background thread for large files or pipes), the
recent files, drag and drop, showing a new data set, and importing a start from a file."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtWidgets

from emstudio.errors import EmstudioError
from emstudio.gui.controller import Dataset
from emstudio.io.workspace import SUFFIX as WORKSPACE_SUFFIX

MAX_RECENT = 8
#: Files at least this large are read on a background thread (a 1e6-row CSV takes ~0.5 s to read:
#: the window would not answer for that long); smaller ones at once, before load_file returns.
BACKGROUND_LOAD_BYTES = 8_000_000
FIFO_WAIT_SECONDS = 60.0  # a FIFO opened in the window without a writer is given up after this
#: Start files at least this large (or not regular files: a FIFO, a pipe) are read on a background
#: thread: a start file may be up to 256 MiB, and a FIFO waits for its writer.
BACKGROUND_START_BYTES = 1_000_000


def file_filter() -> str:
    from emstudio.io.data import READABLE_SUFFIXES

    patterns = " ".join(f"*{s}" for s in READABLE_SUFFIXES)
    return f"Data files ({patterns});;Workspaces (*{WORKSPACE_SUFFIX});;All files (*)"


def read_dataset(path: str, columns=None, classes=None, sheet=None):
    """Read a data file as the window uses it: a Dataset, or the one-line message of why not.
    ``classes``: a column of known classes, ``sheet``: a workbook's sheet (io.data.load_data).
    Pure reading (no Qt): it may run on a background thread."""
    from emstudio.core.checks import check_fit_data
    from emstudio.io.data import load_data

    try:
        loaded = load_data(path, columns=columns, classes=classes, sheet=sheet, wait_for_writer=FIFO_WAIT_SECONDS)
        check_fit_data(loaded.values, 1, loaded.columns)
    except EmstudioError as exc:
        return str(exc)
    # The report names the file, not the machine's path (it shows in pictures of the window).
    return Dataset(loaded.values, tuple(loaded.columns), str(path), tuple(loaded.report.lines(os.path.basename(path))),
                   loaded.report.n_dropped, row_ids=loaded.row_ids(), cell_text=loaded.cell_text,
                   text_columns=loaded.text_columns, classes=loaded.classes, sheets=loaded.report.sheets,
                   sheet=loaded.report.sheet)


def read_start_file(path: str, covariance_type: str, max_components: int | None = None):
    """Read a start file as the window uses it: MixtureParams, or the one-line message of why not.
    Pure reading (no Qt): it may run on a background thread."""
    from emstudio.io.results import read_params_file

    try:
        return read_params_file(path, covariance_type, max_components=max_components,
                                wait_for_writer=FIFO_WAIT_SECONDS)
    except EmstudioError as exc:
        return str(exc)


class Files(QtCore.QObject):
    """Owns what is opened: ``window.dataset`` (set by set_dataset), the recent-files menu and the
    last folder. ``loading_finished(ok)``: a background load ended, shown (True) or refused."""

    loading_finished = QtCore.Signal(bool)
    _done = QtCore.Signal(int, str, object)  # load id, path, Dataset or message (to the window's thread)
    start_imported = QtCore.Signal(bool)  # a start file read in the background: used (True) or not
    _start_read = QtCore.Signal(int, str, object)  # import id, path, MixtureParams or message

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self._load_id = 0  # the newest load asked for; an older one's result is dropped
        self._request = (None, None, None)  # its columns, classes and sheet
        self._done.connect(self._loaded, QtCore.Qt.ConnectionType.QueuedConnection)
        self._start_id = 0  # the newest start file asked for; an older one's parameters are dropped
        self._start_read.connect(self._start_was_read, QtCore.Qt.ConnectionType.QueuedConnection)
        self.recent_menu: QtWidgets.QMenu | None = None  # File ▸ Open Recent, given by the menus
        self.loaded_request = (None, None, None)  # the columns, classes and sheet the data on screen was read with

    # ------------------------------------------------------------------ opening
    def open_dialog(self) -> None:
        start = self.window.store.value("last_dir", str(Path.home()))
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.window, "Open data", start, file_filter())
        if path:
            self.load_file(path)

    def load_file(self, path: str, columns=None, classes=None, sheet=None, ask: bool = True) -> bool:
        """Load a data file (``sheet``: a workbook's sheet, by name or 0-based number; default the
        first with data); on error show it and keep what was there. When a workbook's first sheet
        with data cannot be used, the person is asked which of its sheets to read.

        A file under BACKGROUND_LOAD_BYTES is read at once (True on success). A larger one is read
        on a background thread while the window stays usable (the status line says so); True means
        the reading started, and ``loading_finished(ok)`` tells when it is done. Unsaved work on
        screen is first offered to be saved (``ask``; Cancel keeps it and loads nothing).
        """
        path = str(path)
        if path.endswith(WORKSPACE_SUFFIX):
            return self.window.workspace.open(path)
        if os.path.isdir(path) and hasattr(self.window, "cluster_link"):
            # A folder (Parquet files, a Zarr array) is no file to read here: offered to a Dask cluster.
            return self.window.cluster_link.open_dialog(path)
        if ask and not self.window.workspace.confirm_discard():
            return False
        try:
            info = os.stat(path)
            # A pipe, FIFO or device is read whole and may wait for its writer: never on the
            # window's thread.
            size = info.st_size if stat.S_ISREG(info.st_mode) else BACKGROUND_LOAD_BYTES
        except OSError:
            size = 0  # load_data says what is wrong with it
        self._load_id += 1
        self._request = (columns, classes, sheet)
        if size < BACKGROUND_LOAD_BYTES:
            QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
            try:
                outcome = read_dataset(path, columns, classes, sheet)
            finally:
                QtWidgets.QApplication.restoreOverrideCursor()
            return self._loaded(self._load_id, path, outcome)
        load_id = self._load_id
        shown = f" ({info.st_size / 1e6:.0f} MB)" if stat.S_ISREG(info.st_mode) else ""
        self.window.report.say(f"Loading {os.path.basename(path)}{shown}… the window stays usable")
        self.window.report.set_state_word("loading…")

        def work() -> None:
            outcome = read_dataset(path, columns, classes, sheet)
            try:
                self._done.emit(load_id, path, outcome)
            except RuntimeError:
                pass  # the window was closed meanwhile

        threading.Thread(target=work, name="emstudio-load", daemon=True).start()
        return True

    def _loaded(self, load_id: int, path: str, outcome) -> bool:
        """A file was read (``outcome``: a Dataset, or the message of why not): show it, unless a
        newer load was asked for meanwhile."""
        if load_id != self._load_id:
            return False
        w = self.window
        if isinstance(outcome, str):
            w.report.show_error(f"Could not open {os.path.basename(path)}: {outcome}")
            w.link.on_state(w.controller.state)
            self.loading_finished.emit(False)
            columns, classes, sheet = self._request
            if sheet is None:  # the sheet read by default may not be the data: offer the others
                from emstudio.io.data import workbook_sheets

                sheets = workbook_sheets(path)
                if len(sheets) > 1:
                    chosen = self.ask_sheet(path, sheets, outcome)
                    if chosen is not None:
                        return self.load_file(path, columns, classes, sheet=chosen, ask=False)
            return False
        w.workspace.path = None  # other data: a new workspace, never saved over the one that was open
        self.set_dataset(outcome)
        self.loaded_request = self._request
        self.add_recent(path)
        w.store.setValue("last_dir", str(Path(path).resolve().parent))
        self.loading_finished.emit(True)
        return True

    def ask_sheet(self, path: str, sheets: list[str], problem: str) -> str | None:
        """Which of a workbook's ``sheets`` to read (None: none); asked after the default failed."""
        name = os.path.basename(path)
        text = (f"{name} could not be read from the sheet chosen by default.\n\n"
                f"Which of its {len(sheets)} sheets holds the data?")
        chosen, ok = QtWidgets.QInputDialog.getItem(self.window, "Choose a sheet", text, sheets, 0, False)
        return chosen if ok and chosen else None

    def read_sheet(self, sheet: str) -> bool:
        """Read another sheet of the workbook on screen (its own columns: none carried over)."""
        dataset = self.window.dataset
        if dataset is None or not dataset.sheets or sheet == dataset.sheet:
            return False
        loading = self.load_file(dataset.source, sheet=sheet)
        if not loading and self.window.dataset is dataset:  # kept (cancelled, or unreadable): say which sheet is shown
            self.window.controls.set_sheets(dataset.sheets, dataset.sheet)
        return loading

    def set_dataset(self, dataset: Dataset) -> None:
        """Show ``dataset``: every view forgets the old data and fit."""
        w = self.window
        w.history.stop_play()
        w.banner.hide()
        w.dataset = dataset
        n, d = dataset.values.shape
        report = dataset.report_lines or (f"{os.path.basename(dataset.source)}: {n:,} rows, {d} column"
                                          f"{'s' * (d != 1)}: {', '.join(dataset.columns)}",)
        # The controller first: it forgets the old fit, so the axis choosers' signals find nothing
        # of the old data to redraw.
        w.controller.set_data(dataset)
        w.selection.set_data(dataset.values)
        w.controls.set_columns(dataset.columns, report)
        w.controls.set_sheets(dataset.sheets, dataset.sheet)
        w.plot.set_data(dataset.values, dataset.columns, w.controller.axes)
        w.table.show_frame(None, w.controller.axes, dataset.columns)
        w.edits.forget(dataset)
        w.likelihood.show_history(np.empty(0), np.empty(0), None)
        w.likelihood.show_restarts(None)
        w.bound_view.clear()
        w.derivation.set_data(dataset.values, dataset.columns)
        w.stack.setCurrentIndex(1)
        w.workspace.show_title()
        w.report.say(f"{n:,} samples, d = {d}. Press Run (Space) or step with E and M.")
        w.link.on_state(w.controller.state)  # no fit yet: exports and history off

    def on_axes(self, axes) -> None:
        w = self.window
        if w.dataset is not None:
            w.plot.set_data(w.dataset.values, w.dataset.columns, axes)
            w.derivation.set_axis(axes[0])

    # ------------------------------------------------------------------ drag and drop
    def drag_enter(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def drop(self, event) -> None:
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.load_file(files[0])

    # ------------------------------------------------------------------ recent files
    def recent(self) -> list[str]:
        value = self.window.store.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self, path: str) -> None:
        path = str(Path(path).resolve())
        recent = [p for p in self.recent() if p != path]
        self.window.store.setValue("recent_files", [path] + recent[: MAX_RECENT - 1])
        self.refresh_recent()

    def refresh_recent(self) -> None:
        menu = self.recent_menu
        if menu is None:
            return
        menu.clear()
        recent = self.recent()
        for path in recent:
            there = os.path.exists(path)
            action = menu.addAction(os.path.basename(path) + ("" if there else " (missing)"))
            action.setToolTip(path if there else f"{path} is no longer there")
            action.setEnabled(there)
            action.triggered.connect(lambda _=False, p=path: self.open_recent(p))
        if any(not os.path.exists(p) for p in recent):
            menu.addSeparator()
            menu.addAction("Remove missing files", self.forget_missing)
        menu.setEnabled(bool(recent))

    def open_recent(self, path: str) -> bool:
        """Open a recent file; one that vanished since the menu was made is said so and forgotten."""
        if not os.path.exists(path):
            self.window.report.show_error(f"{os.path.basename(path)} is no longer at {os.path.dirname(path)}: "
                                          "removed from Open Recent")
            self.window.store.setValue("recent_files", [p for p in self.recent() if p != path])
            self.refresh_recent()
            return False
        return self.load_file(path)

    def forget_missing(self) -> None:
        self.window.store.setValue("recent_files", [p for p in self.recent() if os.path.exists(p)])
        self.refresh_recent()

    # ------------------------------------------------------------------ a start from a file
    def import_start_dialog(self) -> None:
        start = self.window.store.value("last_dir", str(Path.home()))
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.window, "Import start parameters", start,
                                                        "Result or parameter file (*.json);;All files (*)")
        if path:
            self.import_start(path)

    def import_start(self, path: str) -> bool:
        """Use a result, parameter or selection file as EM's start.

        A small regular file is read at once (True: it is the start now). A larger one, a FIFO or
        a pipe is read on a background thread, so the window stays usable (True: the reading
        started; ``start_imported(ok)`` tells how it ended).
        """
        w = self.window
        if w.dataset is None:
            w.report.show_error(f"Could not use {os.path.basename(path)} as a start: open a data file first")
            return False
        covariance_type = w.controls.settings().covariance_type
        rows = w.dataset.values.shape[0]
        try:
            info = os.stat(path)
            background = not stat.S_ISREG(info.st_mode) or info.st_size >= BACKGROUND_START_BYTES
        except OSError:
            background = False  # read_start_file says what is wrong with it
        self._start_id += 1
        start_id = self._start_id
        if not background:
            return self._start_was_read(start_id, path, read_start_file(path, covariance_type, rows))
        w.report.say(f"Reading {os.path.basename(path)}… the window stays usable")

        def work() -> None:
            outcome = read_start_file(path, covariance_type, rows)
            try:
                self._start_read.emit(start_id, path, outcome)
            except RuntimeError:
                pass  # the window was closed meanwhile

        threading.Thread(target=work, name="emstudio-start", daemon=True).start()
        return True

    def _start_was_read(self, start_id: int, path: str, outcome) -> bool:
        """A start file was read (``outcome``: parameters, or the message of why not): use it,
        unless a newer one was asked for meanwhile."""
        if start_id != self._start_id:
            return False
        ok = self._use_start(path, outcome)
        self.start_imported.emit(ok)
        return ok

    def _use_start(self, path: str, outcome) -> bool:
        w = self.window
        try:
            if isinstance(outcome, str):
                raise EmstudioError(outcome)
            if w.dataset is None:
                raise EmstudioError("open a data file first")
            if outcome.n_features != w.dataset.values.shape[1]:
                raise EmstudioError(f"the file has d={outcome.n_features} dimensions but the data has "
                                    f"{w.dataset.values.shape[1]}")
        except EmstudioError as exc:
            w.report.show_error(f"Could not use {os.path.basename(path)} as a start: {exc}")
            return False
        w.controls.set_file_start(outcome, os.path.basename(path))
        w.controller.set_settings(w.controls.settings())
        w.controller.start_from(outcome)
        return True
