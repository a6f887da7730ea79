"""Data on a Dask cluster in the window: File ▸ Open on a Dask Cluster… (and `emstudio gui DATA
--engine dask`), the cluster started or reached off the window's thread with its progress in the
status line, the banner that says what is shown and where EM runs, what cannot be done with data on
a cluster (disabled, with the reason as the tooltip), and closing the cluster with the data or the
window (gui/cluster_data.py holds the session itself)."""

from __future__ import annotations

import os
import threading

from PySide6 import QtCore, QtGui, QtWidgets

from emstudio.gui import cluster_export
from emstudio.gui.cluster_data import ClusterRequest, ClusterSession
from emstudio.gui.controller import Dataset
from emstudio.gui.exporter import CLUSTER_BUSY

#: What cannot be done with data on a cluster, and why (the tooltips of the disabled actions).
_NOT_HERE = "Not with data on a Dask cluster: "
CLUSTER_LIMITS = {
    "export_labels": _NOT_HERE + "each row's labels are written by the workers: "
                                 "emstudio fit DATA --engine dask --labels LABELS.csv",
    "select_models": _NOT_HERE + "the grid of fits runs from the command line: "
                                 "emstudio select DATA --engine dask --k 1-6",
    "save_workspace": _NOT_HERE + "a workspace keeps its data, and these stay on the cluster "
                                  "(export the parameters instead, Ctrl+E)",
    "save_workspace_as": _NOT_HERE + "a workspace keeps its data, and these stay on the cluster "
                                     "(export the parameters instead, Ctrl+E)",
}
FACTOR_LIMIT = "Factor models run in memory only; data on a Dask cluster fit a Gaussian mixture"


class ClusterOpenDialog(QtWidgets.QDialog):
    """DATA, where to run (a local cluster of N workers or a scheduler's address) and the sample."""

    def __init__(self, parent, folder: str, seed: int) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open on a Dask Cluster")
        self.seed = seed
        form = QtWidgets.QFormLayout(self)
        self.data = QtWidgets.QLineEdit()
        self.data.setPlaceholderText("big.npy, a Zarr array, a Parquet folder, or parts/*.csv")
        self.data.setMinimumWidth(360)
        pick = QtWidgets.QHBoxLayout()
        pick.addWidget(self.data, 1)
        for text, folders in (("File…", False), ("Folder…", True)):
            button = QtWidgets.QPushButton(text)
            button.clicked.connect(lambda _=False, f=folders: self._browse(folder, f))
            pick.addWidget(button)
        form.addRow("Data", pick)
        hint = QtWidgets.QLabel("A .npy or Zarr array, a folder of Parquet files, or a glob such as parts/*.csv "
                                "(every file with the same columns), at the same path on every worker.")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #555;")
        form.addRow("", hint)
        self.local = QtWidgets.QRadioButton("Start a local cluster of")
        self.local.setChecked(True)
        self.workers = QtWidgets.QSpinBox()
        self.workers.setRange(1, 256)
        self.workers.setValue(2)
        self.workers.setSuffix(" worker processes")
        local_row = QtWidgets.QHBoxLayout()
        local_row.addWidget(self.local)
        local_row.addWidget(self.workers, 1)
        form.addRow("Cluster", local_row)
        self.remote = QtWidgets.QRadioButton("Use the scheduler at")
        self.address = QtWidgets.QLineEdit()
        self.address.setPlaceholderText("tcp://host:8786")
        remote_row = QtWidgets.QHBoxLayout()
        remote_row.addWidget(self.remote)
        remote_row.addWidget(self.address, 1)
        form.addRow("", remote_row)
        self.address.textEdited.connect(lambda _: self.remote.setChecked(True))
        self.sample = QtWidgets.QSpinBox()
        self.sample.setRange(1, 10_000_000)
        self.sample.setValue(100_000)
        self.sample.setGroupSeparatorShown(True)
        self.sample.setSuffix(" rows")
        self.sample.setToolTip("A uniform sample of rows is drawn and shown; the starts (k-means, …) run on it, "
                               "EM runs over all rows")
        form.addRow("Sample shown", self.sample)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Open
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self, folder: str, folders: bool) -> None:
        if folders:
            path = QtWidgets.QFileDialog.getExistingDirectory(self, "A Parquet folder or a Zarr array", folder)
        else:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Data on a cluster", folder,
                                                            "Arrays and tables (*.npy *.parquet *.csv *.tsv *.txt);;"
                                                            "All files (*)")
        if path:
            self.data.setText(path)

    def request(self) -> ClusterRequest:
        remote = self.remote.isChecked() and self.address.text().strip()
        return ClusterRequest(self.data.text().strip(), scheduler=self.address.text().strip() if remote else None,
                              workers=None if remote else self.workers.value(), sample_rows=self.sample.value(),
                              seed=self.seed)


class ClusterLink(QtCore.QObject):
    """Owns ``session`` (the ClusterSession of the data on screen, or None) and the opening of a
    new one. ``opening_finished(ok)``: an opening ended, shown (True) or refused (one message)."""

    opening_finished = QtCore.Signal(bool)
    _status = QtCore.Signal(int, str)
    _done = QtCore.Signal(int, object, object)  # open id, ClusterSession or None, message

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.session: ClusterSession | None = None
        self._open_id = 0
        self._threads: list[threading.Thread] = []  # openings and closings under way
        self._opening: ClusterSession | None = None  # the opening under way (its session), if any
        self._changes_at_open = 0  # workspace.changes when it began: work done meanwhile is asked about
        self._exporting = False  # Export Parameters… before closing: its progress dialog is up
        self._cancelled = threading.Event()  # the window closes: an opening closes what it opened
        self._own_tips: dict[str, tuple[str, str]] = {}
        kind = window.controls.model_box.kind
        self._kind_tips = {row: kind.itemData(row, QtCore.Qt.ItemDataRole.ToolTipRole) or ""
                           for row in range(kind.count())}  # the actions' tips without a cluster
        self.ask_request = self._ask_request  # functions, so that tests answer without a dialog
        self.ask_unexported = self._ask_unexported
        self.unexported = False  # a fit on the cluster that no result file holds yet
        queued = QtCore.Qt.ConnectionType.QueuedConnection
        self._status.connect(self._show_status, queued)
        self._done.connect(self._opened, queued)
        self.banner = QtWidgets.QLabel()
        self.banner.setWordWrap(True)
        self.banner.setObjectName("clusterBanner")
        self.banner.setStyleSheet("#clusterBanner { background: #e8f1fb; border: 1px solid #b6d0ee; "
                                  "border-radius: 4px; color: #1d3f66; padding: 5px 10px; margin: 4px 6px 0 6px; }")
        self.banner.hide()

    # ------------------------------------------------------------------ opening
    def _ask_request(self, data: str = "") -> ClusterRequest | None:
        w = self.window
        dialog = ClusterOpenDialog(w, w.store.value("last_dir", os.path.expanduser("~")),
                                   w.controls.settings().seed)
        dialog.data.setText(data)
        store = w.store  # the last choices of where to run, kept between uses
        dialog.address.setText(str(store.value("cluster/scheduler", "")))
        dialog.remote.setChecked(store.value("cluster/remote", "false") in (True, "true"))
        dialog.workers.setValue(int(store.value("cluster/workers", 2)))
        dialog.sample.setValue(int(store.value("cluster/sample_rows", 100_000)))
        if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return None
        for key, value in (("scheduler", dialog.address.text().strip()), ("remote", dialog.remote.isChecked()),
                           ("workers", dialog.workers.value()), ("sample_rows", dialog.sample.value())):
            store.setValue(f"cluster/{key}", value)
        return dialog.request()

    def open_dialog(self, data: str = "") -> bool:
        """Ask what to open (``data``: filled in, e.g. a folder dropped on the window) and open it."""
        request = self.ask_request(data)
        return request is not None and bool(request.data) and self.open(request)

    def open(self, request: ClusterRequest, ask: bool = True) -> bool:
        """Open ``request``'s data on its cluster, on a thread (True: started; opening_finished
        tells how it ended). The data on screen stay until the new ones are ready."""
        if ask and not self.window.workspace.confirm_discard():
            return False
        self.cancel_opening()
        self._open_id += 1
        open_id = self._open_id
        session = ClusterSession(request)
        self._opening = session
        self._changes_at_open = self.window.workspace.changes
        self.window.report.set_state_word("opening…")
        self._show_status(open_id, f"Opening {os.path.basename(request.data.rstrip(os.sep))} on {request.where}…")

        def work() -> None:
            message = None
            try:
                session.open(lambda text: self._emit(self._status, open_id, text))
            except Exception as exc:  # noqa: BLE001 - every problem is one message in the window
                message = str(exc)
            if self._cancelled.is_set() or open_id != self._open_id:  # the window closed, or given up
                session.close()
                return
            self._emit(self._done, open_id, session, message)

        self._start(work, "emstudio-cluster-open")
        return True

    def _emit(self, signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:
            pass  # the window was closed meanwhile

    def _start(self, work, name: str) -> None:
        self._threads = [t for t in self._threads if t.is_alive()]
        thread = threading.Thread(target=work, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _show_status(self, open_id: int, text: str) -> None:
        """What the opening does now, in the status line and the banner (it takes seconds)."""
        if open_id == self._open_id:
            self.window.report.say(text)
            self.banner.setText(f"{text} The window stays usable.")
            self.banner.show()

    def cancel_opening(self, why: str = "") -> bool:
        """Give up the opening under way, if any (True): its thread closes what it opened (a local
        cluster too), and opening_finished(False) says it ended. ``why``: said in the status line."""
        session, self._opening = self._opening, None
        if session is None:
            return False
        self._open_id += 1  # its status and its end are dropped
        session.cancel()
        self.banner.hide()
        self._show_banner()  # of the data on screen, if they are on a cluster
        if why:  # after what the new data's loading says (it is said in the same line, first)
            given_up = f"Gave up opening {os.path.basename(session.request.data.rstrip(os.sep))}: {why}."
            status = self.window.report.status
            QtCore.QTimer.singleShot(0, self, lambda: status.setText(f"{given_up} {status.text()}".strip()))
        self.window.link.on_state(self.window.controller.state)
        self.opening_finished.emit(False)
        return True

    def _opened(self, open_id: int, session, message) -> None:
        w = self.window
        if open_id != self._open_id:  # given up meanwhile (other data opened, a newer opening)
            self._close_later(session)
            return
        self._opening = None
        r = session.request
        name = os.path.basename(r.data.rstrip(os.sep)) or r.data
        if not message and w.workspace.changes != self._changes_at_open and not w.workspace.confirm_discard():
            # Work done on the data on screen while this opened: the person kept it (Cancel).
            self._close_later(session)
            self._show_banner()
            w.link.on_state(w.controller.state)
            w.report.say(f"Kept the data on screen; {name} on the cluster was closed again.")
            self.opening_finished.emit(False)
            return
        if message:  # what was opened is closed already; the data on screen stay
            w.report.show_error(f"Could not open {name}: {message}")  # the message names the cluster
            self._show_banner()  # of the data still on screen, if they are on a cluster
            w.link.on_state(w.controller.state)
            self.opening_finished.emit(False)
            return
        dataset = Dataset(session.sample, session.columns, r.data, session.report_lines(),
                          session.engine.n_dropped, cluster=session)
        w.workspace.path = None
        w.files.set_dataset(dataset)  # closes the data that were on screen (on_data)
        w.files.loaded_request = (list(r.columns) if r.columns else None, None, None)
        w.report.say(f"{session.n_samples:,} rows on the cluster, d = {len(session.columns)}. "
                     "Press Run (Space): each iteration is one pass over all rows.")
        self.opening_finished.emit(True)

    # ------------------------------------------------------------------ a fit not exported
    def on_outcome(self, outcome) -> None:
        """A run or step ended: the banner gives the time per iteration; a fit on the cluster is
        work that only a result file keeps (a workspace cannot hold data on a cluster)."""
        self._show_banner()
        if self.session is not None and self.window.controller.history and outcome.state != "failed":
            self.unexported = True

    def on_state(self, state: str) -> None:
        if self.session is not None and state in ("running", "stepping"):
            self.unexported = True  # from the first iteration on: a Run closed halfway is work too

    def on_exported(self, ok: bool) -> None:
        if ok:
            self.unexported = False

    def confirm_discard(self) -> bool:
        """Before a fit on the cluster is closed: Export Parameters… (and go on if written),
        Discard, or Cancel (False)."""
        if self.session is None or not self.unexported:
            return True
        if self._exporting:  # the export asked for is being written: it ends first
            return False
        answer = self.ask_unexported()
        if answer == "export":
            self.window.controller.stop()  # the state on screen is written; a pass in flight is given up
            exporter = self.window.exporter
            path = exporter._save_path("Export parameters", "Result file (*.json)", f"{exporter._stem()}-fit.json")
            written = bool(path) and self.export_with_progress(path)
            self.unexported = self.unexported and not written
            return written
        return answer == "discard"

    def export_with_progress(self, path: str) -> bool:
        return cluster_export.export_with_progress(self, path)

    def progress_dialog(self, path: str) -> QtWidgets.QProgressDialog:
        return cluster_export.progress_dialog(self.window, self.session, path)

    def _ask_unexported(self) -> str | None:
        return cluster_export.ask_unexported(self.window)

    # ------------------------------------------------------------------ the data on screen
    def on_data(self, dataset) -> None:
        """New data on screen: a session not theirs is closed (off the window's thread)."""
        old = self.session
        self.session = getattr(dataset, "cluster", None)
        if self._opening is not None and self.session is not self._opening:
            name = os.path.basename(getattr(dataset, "source", "").rstrip(os.sep))
            self.cancel_opening(f"{name} was opened meanwhile" if name else "other data were opened meanwhile")
        self.unexported = False
        if old is not None and old is not self.session:
            self._close_later(old)
        self._show_banner()
        if self.session is not None:
            kind = self.window.controls.model_box.kind
            if kind.currentIndex() != 0:  # factor models run in memory only
                kind.setCurrentIndex(0)
        self.restrict()

    def _show_banner(self) -> None:
        if self.session is None or self.session.engine is None:
            self.banner.hide()
            return
        self.banner.setText(self.session.describe())
        self.banner.setToolTip("The scatter shows the sample (coloured by each point's responsibilities); log L, "
                               "Nₖ and the parameters are of all rows. Iterations arrive at the pace of one pass "
                               "over the data on the cluster.")
        self.banner.show()

    def restrict(self) -> None:
        """Disable what cannot be done with data on a cluster, saying why (after on_state)."""
        w = self.window
        on_cluster = self.session is not None
        for name, why in CLUSTER_LIMITS.items():
            action = w.actions[name]
            own = self._own_tips.setdefault(name, (action.toolTip(), action.statusTip()))
            if on_cluster:
                action.setEnabled(False)
            action.setToolTip(why if on_cluster else own[0])
            action.setStatusTip(why if on_cluster else own[1])
        export = w.actions["export_params"]
        own = self._own_tips.setdefault("export_params", (export.toolTip(), export.statusTip()))
        busy = on_cluster and w.controller.state in ("running", "stepping")
        if busy:  # its pass would wait for the run's: refused, saying why (the status line too)
            export.setEnabled(False)
        export.setToolTip(CLUSTER_BUSY if busy else own[0])
        export.setStatusTip(CLUSTER_BUSY if busy else own[1])
        w.tabs.setTabEnabled(1, not on_cluster)
        w.tabs.setTabToolTip(1, CLUSTER_LIMITS["select_models"] if on_cluster else
                             "Fit a grid of K and covariance models and compare them by BIC, AIC or ICL")
        model = w.controls.model_box.kind.model()
        if isinstance(model, QtGui.QStandardItemModel):
            for row in range(1, model.rowCount()):
                item = model.item(row)
                if on_cluster:  # (other data: enabled by the Model box's own rule, set_dimension)
                    item.setEnabled(False)
                    item.setToolTip(FACTOR_LIMIT)  # (the kinds' own tips come back with other data)
                elif item.toolTip() == FACTOR_LIMIT:
                    item.setToolTip(self._kind_tips.get(row, ""))

    def _close_later(self, session: ClusterSession) -> None:
        self._start(session.close, "emstudio-cluster-close")

    # ------------------------------------------------------------------ the window closes
    def shutdown(self, timeout: float = 60.0) -> None:
        """Close the session and wait for every opening and closing (nothing left running)."""
        self._cancelled.set()
        self._open_id += 1
        opening, self._opening = self._opening, None
        if opening is not None:
            opening.cancel()  # it stops at its next step and closes what it opened (on its thread)
        session, self.session = self.session, None
        if session is not None or any(t.is_alive() for t in self._threads):
            self.window.hide()  # closing a local cluster takes a second or more: the window goes first
        if session is not None:
            session.close()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []


def install(window) -> ClusterLink:
    """File ▸ Open on a Dask Cluster…, the banner over the plot, and the link to the data shown."""
    link = ClusterLink(window)
    action = QtGui.QAction("Open on a Dask &Cluster…", window)
    action.setToolTip("Open data too large for memory (a .npy, Zarr, Parquet folder or CSV glob) on a Dask "
                      "cluster: a sample is shown, EM runs over all rows")
    action.triggered.connect(lambda _=False: link.open_dialog())
    window.actions["open_cluster"] = action
    file_menu = next((m for m in window.menuBar().findChildren(QtWidgets.QMenu)
                      if m.title().replace("&", "") == "File"), None)
    if file_menu is not None:  # after File ▸ Open…
        file_menu.insertAction(window.actions["open_workspace"], action)
    window.centralWidget().layout().insertWidget(1, link.banner)
    window.controller.data_changed.connect(link.on_data)
    window.controller.outcome.connect(link.on_outcome)
    window.controller.state_changed.connect(link.on_state)
    window.exporter.export_finished.connect(link.on_exported)
    return link
