"""Choosing K and the covariance model in the window: a panel that runs
:func:`emstudio.core.selection.select_models` on a thread of its own and plots the criterion
against K, one line per covariance type (as mclust's BIC plot).

The grid runs cell by cell (``jobs=1``, in the window's own process: no worker process can be
left behind) so that every finished cell is drawn at once; Cancel, other data or closing the window
is answered within one EM iteration of the cell under way. Cells of a cancelled or superseded job
are dropped by job id, as the controller drops frames of a stopped run. Clicking a point emits that
cell; the window loads its fit as the current state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from PySide6 import QtCore, QtWidgets

from emstudio.core.em import FitSettings
from emstudio.core.init import DEFAULT_INIT
from emstudio.core.models import DESCRIPTIONS
from emstudio.core.models import MCLUST_MODELS as MODEL_ORDER
from emstudio.core.params import ALL_COVARIANCE_TYPES, COVARIANCE_TYPES
from emstudio.core.selection import (
    CRITERIA,
    Cell,
    Selection,
    best_cell,
    parse_k_range,
)
from emstudio.errors import EmstudioError
from emstudio.gui.selection_plot import (  # noqa: F401 - the colours and symbols are reached from here too
    DEGENERATE_COLOUR,
    MCLUST_NAMES,
    TYPE_COLOURS,
    TYPE_SYMBOLS,
    SelectionPlot,
    legend_html,
    type_name,
)
from emstudio.gui.selection_worker import SelectionRequest, SelectionWorker, Sender
from emstudio.gui.worker import Gate

HOW_TO_READ = ("Lower is better; one line per covariance type, its points side by side at each K. Red ×: every "
               "restart collapsed (never chosen). Red ring: the chosen model. Click a point to load that fit "
               "on the Mixture tab; hover it for its numbers.")
CRITERION_TIPS = {
    "bic": "BIC = −2 log L + p ln n (lower is better)",
    "aic": "AIC = −2 log L + 2p (lower is better; favours larger K than BIC)",
    "icl": "ICL = BIC − 2 Σᵢ log maxₖ rᵢₖ (lower is better; penalises overlapping components)",
}


class SelectionPanel(QtWidgets.QWidget):
    """The model-selection dock: settings of the grid, Compute/Cancel, progress, the plot.

    ``base_settings()`` gives the fit settings the grid starts from (start method, seed, max
    iterations, tolerance, reg_covar — the Fit panel's); K, the covariance type and the restarts
    come from this panel.
    """

    cell_chosen = QtCore.Signal(object)  # Cell: load its fit
    state_changed = QtCore.Signal(str)  # "idle", "computing"
    selection_ready = QtCore.Signal(object)  # Selection, after a complete grid

    def __init__(self, base_settings: Callable[[], FitSettings] | None = None, parent=None) -> None:
        super().__init__(parent)
        self.base_settings = base_settings or FitSettings
        self.X: np.ndarray | None = None
        self.selection: Selection | None = None
        self.cells: list[Cell] = []
        self.state = "idle"
        self._job = 0
        self._accepted = -1
        self._selected: Cell | None = None
        self._k_note = ""  # what bounded K in the grid under way or shown
        self._closed = False
        self.gate = Gate()
        self.thread = QtCore.QThread()
        self.thread.setObjectName("model-selection")
        self.worker = SelectionWorker(self.gate)
        self.worker.moveToThread(self.thread)
        queued = QtCore.Qt.ConnectionType.QueuedConnection
        self._send = Sender()
        self._send.compute.connect(self.worker.compute, queued)
        self.worker.cell_done.connect(self._on_cell, queued)
        self.worker.finished.connect(self._on_finished, queued)
        self.worker.limited.connect(self._on_limited, queued)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        # K, the criterion and the restarts on one row, the covariance types under it: the plot
        # keeps its height where the tab is narrow (a small screen, the docks beside it).
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("K"))
        self.k_range = QtWidgets.QLineEdit("1-6")
        self.k_range.setToolTip("The Ks to try: a range like 1-6 or a list like 2,3,5")
        self.k_range.textChanged.connect(self._check_k_range)
        row.addWidget(self.k_range, 1)
        form = QtWidgets.QFormLayout()
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # Where the tab is narrow the types go under their label.
        form.setRowWrapPolicy(QtWidgets.QFormLayout.RowWrapPolicy.WrapLongRows)
        # mclust's fourteen models in its order (spherical, diagonal, ellipsoidal), five a row;
        # scikit-learn's four under both names.
        types_grid = QtWidgets.QGridLayout()
        types_grid.setHorizontalSpacing(8)
        types_grid.setVerticalSpacing(2)
        self.type_boxes: dict[str, QtWidgets.QCheckBox] = {}
        order = sorted(ALL_COVARIANCE_TYPES, key=lambda t: MODEL_ORDER.index(MCLUST_NAMES.get(t, t)))
        for i, name in enumerate(order):
            mclust = MCLUST_NAMES.get(name, name)
            box = QtWidgets.QCheckBox(mclust)
            box.setChecked(name in ("full", "diag"))
            also = f" (scikit-learn's {name})" if name in MCLUST_NAMES else ""
            box.setToolTip(f"Try {mclust}{also}: {DESCRIPTIONS[mclust]}")
            box.toggled.connect(self._update_buttons)
            box.toggled.connect(self._show_grid_size)
            types_grid.addWidget(box, i // 5, i % 5)
            self.type_boxes[name] = box
        # Quick choices in the grid's free cell (a row of buttons would take the plot's height).
        quick = QtWidgets.QToolButton()
        quick.setText("Choose…")
        quick.setToolTip("Tick scikit-learn's four, all fourteen, or none")
        quick.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QtWidgets.QMenu(quick)
        for label, chosen in (("The four (VVV full, EEE tied, VVI diag, VII spherical)", COVARIANCE_TYPES),
                              ("All 14 models", ALL_COVARIANCE_TYPES), ("None", ())):
            menu.addAction(label, lambda c=tuple(chosen): self.set_covariance_types(c))
        quick.setMenu(menu)
        quick.setMinimumSize(quick.sizeHint())  # never squeezed below its text
        self.quick_types = quick
        types_grid.addWidget(quick, len(order) // 5, len(order) % 5)
        types_box = types_grid
        form.addRow("Covariance", types_box)
        row.addSpacing(12)
        row.addWidget(QtWidgets.QLabel("Criterion"))
        self.criterion = QtWidgets.QComboBox()
        for i, name in enumerate(CRITERIA):
            self.criterion.addItem(name.upper(), name)
            self.criterion.setItemData(i, CRITERION_TIPS[name], QtCore.Qt.ItemDataRole.ToolTipRole)
        self.criterion.setToolTip("The criterion that ranks the fits (a change re-ranks without refitting)")
        self.criterion.currentIndexChanged.connect(self._criterion_changed)
        row.addWidget(self.criterion)
        row.addSpacing(12)
        restarts_label = QtWidgets.QLabel("Restarts")
        row.addWidget(restarts_label)
        self.restarts = QtWidgets.QSpinBox()
        self.restarts.setRange(1, 100)
        self.restarts.setValue(3)
        self.restarts.setToolTip("Starts per cell; each cell keeps its best restart with no collapsed component")
        row.addWidget(self.restarts)
        layout.addLayout(row)
        layout.addLayout(form)

        buttons = QtWidgets.QHBoxLayout()
        self.compute_button = QtWidgets.QPushButton("Compute")
        self.compute_button.setToolTip("Fit every (covariance type, K) in the background and plot the criterion "
                                       "(start, seed, iterations and tolerance from the Fit panel)")
        self.compute_button.clicked.connect(self.compute)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the grid now (within one EM iteration); the cells done stay on the plot")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m cells")
        self.progress.setToolTip("Cells of the grid fitted")
        buttons.addWidget(self.compute_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress, 1)
        layout.addLayout(buttons)

        self.summary = QtWidgets.QLabel("Compute to fit the grid.")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setToolTip("The chosen model and what happened to the grid")
        self.summary.setMinimumHeight(2 * self.summary.fontMetrics().lineSpacing() + 4)
        self.summary.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.summary)
        self.plot = SelectionPlot()
        self.plot.cell_clicked.connect(self.choose)
        self.legend = QtWidgets.QLabel(legend_html())
        self.legend.setWordWrap(True)
        self.legend.setToolTip("The covariance types: one line and one marker each")
        layout.addWidget(self.legend)
        layout.addWidget(self.plot, 1)
        self.legend_note = QtWidgets.QLabel(HOW_TO_READ)
        self.legend_note.setWordWrap(True)
        self.legend_note.setStyleSheet("color: #555;")
        layout.addWidget(self.legend_note)
        self._show_grid_size()
        self._update_buttons()

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt API
        return QtCore.QSize(460, 480)

    # ------------------------------------------------------------------ inputs
    def set_data(self, X: np.ndarray | None) -> None:
        """New data: any grid under way is cancelled and the plot emptied."""
        self.cancel()
        self.X = X
        self.selection = None
        self.cells = []
        self._selected = None
        self.plot.show_cells([], self.criterion_name(), None)
        self._show_grid_size()
        self.summary.setText("Compute to fit the grid.")
        self._update_buttons()

    def show_saved(self, cells: list[Cell], selection: Selection | None) -> None:
        """Show a saved workspace's grid: its cells (all of a finished grid, or those done before
        it was cancelled) and its choice."""
        self.cancel()
        self.cells, self.selection, self._selected = list(cells), selection, None
        self._show_grid_size()
        if self.cells:
            self.progress.setValue(min(len(self.cells), self.progress.maximum()))
            self._redraw()
            if selection is not None:
                self._describe()
            else:
                self.summary.setText(f"Cancelled after {len(self.cells)} cells.")

    def criterion_name(self) -> str:
        return str(self.criterion.currentData())

    def covariance_types(self) -> list[str]:
        # In the command line's order (select --covariance), so the grid reads as its table does.
        return [name for name in ALL_COVARIANCE_TYPES if self.type_boxes[name].isChecked()]

    def ks(self) -> list[int]:
        return parse_k_range(self.k_range.text())

    def _check_k_range(self, _text: str = "") -> None:
        try:
            self.ks()
            ok = True
        except EmstudioError:
            ok = False
        self.k_range.setStyleSheet("" if ok else "background: #fde2e1;")
        self._show_grid_size()
        self._update_buttons()

    def _show_grid_size(self, *_) -> None:
        """Before Compute, the progress bar counts the cells the grid will fit (0 / Ks × types)."""
        if self.state == "computing":
            return
        if not self.cells:  # the legend names the types ticked until there are cells to draw
            self.legend.setText(legend_html(tuple(self.covariance_types())))
        try:
            total = len(self.ks()) * len(self.covariance_types())
        except EmstudioError:
            total = 0
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m cells" if total else "no cells")

    def _update_buttons(self, *_) -> None:
        computing = self.state == "computing"
        try:
            valid = bool(self.ks()) and bool(self.covariance_types())
        except EmstudioError:
            valid = False
        self.compute_button.setEnabled(self.X is not None and valid and not computing)
        self.cancel_button.setEnabled(computing)
        for widget in [self.k_range, self.restarts, *self.type_boxes.values()]:
            widget.setEnabled(not computing)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self._update_buttons()
            self.state_changed.emit(state)

    # ------------------------------------------------------------------ requests
    def compute(self) -> bool:
        """Start the grid in the background; False (with the reason shown) if it cannot start."""
        if self.X is None or self.state == "computing" or self._closed:
            return False
        try:
            ks, types = self.ks(), self.covariance_types()
            if not types:
                raise EmstudioError("tick at least one covariance type")
            base = self.base_settings()
            base = dataclasses.replace(base, init=base.init if isinstance(base.init, str) else DEFAULT_INIT,
                                       restarts=self.restarts.value())
            base.validate()
        except EmstudioError as exc:
            self.summary.setText(f"Cannot compute: {exc}")
            return False
        if not self.thread.isRunning():
            self.thread.start()
        self._job += 1
        self._accepted = self._job
        self._k_note = ""
        self.gate.open(self._job)
        self.cells = []
        self.selection = None
        self._selected = None
        total = len(ks) * len(types)
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        self.plot.show_cells([], self.criterion_name(), None)
        self.summary.setText(f"Fitting {total} cells ({', '.join(types)}; K {ks[0]}–{ks[-1]}), "
                             f"{base.restarts} restart{'s' * (base.restarts != 1)} each…")
        self._set_state("computing")
        self._send.compute.emit(self._job, SelectionRequest(self.X, tuple(ks), tuple(types), base,
                                                            self.criterion_name()))
        return True

    def cancel(self) -> None:
        """Stop the grid: at once for the panel, within one EM iteration for the worker."""
        self.gate.close()
        self._accepted = -1
        if self.state == "computing":
            done, total = self.progress.value(), self.progress.maximum()
            self.summary.setText(f"Cancelled after {done} of {total} cells.")
            self._set_state("idle")

    def choose(self, cell: Cell) -> None:
        """Load ``cell``'s fit (its best healthy restart, or its kept one if all collapsed)."""
        if cell is None or cell.result is None:
            return
        self._selected = cell
        self._redraw()
        self.cell_chosen.emit(cell)

    def _criterion_changed(self, *_) -> None:
        if self.cells:
            self._redraw()
            self._describe()

    def best(self) -> Cell | None:
        if self.selection is None:
            return None
        if self.selection.criterion == self.criterion_name():
            return self.selection.best
        return best_cell(self.selection.cells, self.criterion_name())

    def set_covariance_types(self, types) -> None:
        """Tick exactly ``types`` (internal names: full, tied, diag, spherical, EII, …)."""
        for name, box in self.type_boxes.items():
            box.setChecked(name in types)

    def _redraw(self) -> None:
        self.plot.show_cells(self.cells, self.criterion_name(), self.best(), self._selected)
        self.legend.setText(legend_html(self.plot.types or tuple(self.covariance_types())))

    def _describe(self) -> None:
        if self.selection is None:
            return
        best = self.best()
        crit = self.criterion_name().upper()
        degenerate = [c for c in self.selection.cells if c.degenerate]
        failed = [c for c in self.selection.cells if c.result is None]
        if best is None:
            text = "No healthy fit: every cell collapsed or failed."
        else:
            text = (f"Chosen by {crit} (red ring): <b>{type_name(best.covariance_type)}, K = {best.k}</b> "
                    f"({crit} {best.criterion(self.criterion_name()):.6g}). Click a point to load its fit.")
        if degenerate:
            text += f"<br>{len(degenerate)} degenerate cell{'s' * (len(degenerate) != 1)} (×) never chosen."
        if failed:
            text += f"<br>{len(failed)} cell{'s' * (len(failed) != 1)} could not be fitted: {failed[0].error}"
        if self._k_note:
            text += f"<br>{self._k_note}"
        self.summary.setText(text)

    # ------------------------------------------------------------------ from the worker
    @QtCore.Slot(int, object, int, int)
    def _on_cell(self, job: int, cell: Cell, done: int, total: int) -> None:
        if job != self._accepted:
            return
        self.cells.append(cell)
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.plot.show_cells(self.cells, self.criterion_name(), None)

    @QtCore.Slot(int, int)
    def _on_limited(self, job: int, allowed: int) -> None:
        if job != self._accepted:
            return
        self._k_note = f"The data have {allowed} distinct rows, so K goes up to {allowed}."
        self.summary.setText(f"{self.summary.text()} {self._k_note}")

    @QtCore.Slot(int, str, object, str)
    def _on_finished(self, job: int, state: str, selection: Selection | None, message: str) -> None:
        if job != self._accepted:
            return
        self._accepted = -1
        self.gate.close()
        if state == "done":
            self.selection = selection
            self.cells = list(selection.cells)
            self._redraw()
            self._describe()
        elif state == "cancelled":
            self.summary.setText(f"Cancelled after {len(self.cells)} of {self.progress.maximum()} cells.")
        else:
            self.summary.setText(f"Could not compute: {message}")
        self._set_state("idle")
        if state == "done":
            self.selection_ready.emit(selection)

    # ------------------------------------------------------------------ end
    def shutdown(self) -> None:
        """Cancel the grid, then stop the thread and wait for it (within one EM iteration)."""
        if self._closed:
            return
        self._closed = True
        self.cancel()
        self.thread.quit()
        self.thread.wait()
