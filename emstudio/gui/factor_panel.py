"""The Factors panel of a factor model: the loadings table (Λ, the uniquenesses Ψ and the
communalities h² of every column), the latent-space view (latent_plot.LatentPlot) and the varimax
view option, which turns the loadings, the arrows on the data plot and the latent axes together
(the likelihood does not change: the panel says so beside the box).

``install(window)`` makes the panel a dock, tabbed beside the Parameters panel the first time a
factor model is chosen, and keeps it in step with the controller's frames (at most ten times a
second while EM runs)."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from emstudio.core.factor import heywood_message
from emstudio.core.factor_display import latent_means, loading_rows, rotations
from emstudio.core.geometry import decimation_indices
from emstudio.core.numbers import format_number
from emstudio.core.palette import palette
from emstudio.gui.latent_plot import LatentPlot
from emstudio.gui.parameter_table import COLLAPSE_BACKGROUND, COLLAPSE_RED, RIGHT
from emstudio.gui.snapshot import SCATTER_LIMIT

UPDATE_MS = 100
ROTATION_NOTE = "Rotation does not change the likelihood: ΛR(ΛR)ᵀ = ΛΛᵀ, so ΛΛᵀ + Ψ is the same."


class FactorPanel(QtWidgets.QWidget):
    """Loadings table, varimax box and latent plot of one component of the frame shown."""

    rotation_changed = QtCore.Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        top = QtWidgets.QHBoxLayout()
        self.component_label = QtWidgets.QLabel("Component")
        self.component = QtWidgets.QSpinBox()
        self.component.setMinimum(1)
        self.component.setToolTip("The component whose loadings and latent space are shown")
        top.addWidget(self.component_label)
        top.addWidget(self.component)
        self.varimax = QtWidgets.QCheckBox("Varimax")
        self.varimax.setToolTip("Show the loadings rotated by varimax (each factor loading on few columns). "
                                + ROTATION_NOTE)
        top.addWidget(self.varimax)
        top.addStretch(1)
        layout.addLayout(top)
        self.note = QtWidgets.QLabel(ROTATION_NOTE)
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555;")
        layout.addWidget(self.note)
        self.heywood = QtWidgets.QLabel()
        self.heywood.setWordWrap(True)
        self.heywood.setStyleSheet(f"color: {COLLAPSE_RED};")
        self.heywood.setVisible(False)
        layout.addWidget(self.heywood)
        self.table = QtWidgets.QTableWidget(0, 0)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("Each column: its loading on every factor (Λ), its uniqueness Ψ (the variance the "
                              "factors leave), its communality h² = Σ Λ² (the variance they explain) and the "
                              "share h² / (h² + Ψ). A red row is a Heywood case: Ψ fell to the floor.")
        layout.addWidget(self.table, 1)
        self.table.setMinimumHeight(90)
        # The latent space is a page of its own (a tab beside the data plot: it needs the room).
        self.latent_page = QtWidgets.QWidget()
        page = QtWidgets.QVBoxLayout(self.latent_page)
        page.setContentsMargins(6, 6, 6, 2)
        pair = QtWidgets.QHBoxLayout()
        self.pair_label = QtWidgets.QLabel("Factors shown")
        self.factor_x, self.factor_y = QtWidgets.QComboBox(), QtWidgets.QComboBox()
        for combo, tip in ((self.factor_x, "horizontal"), (self.factor_y, "vertical")):
            combo.setToolTip(f"The factor on the latent plot's {tip} axis")
            combo.currentIndexChanged.connect(lambda *_: self.redraw())
        self.latent = LatentPlot()
        self.latent_title = QtWidgets.QLabel()
        self.latent_title.setWordWrap(True)
        pair.addWidget(self.latent_title, 1)
        pair.addWidget(self.pair_label)
        pair.addWidget(self.factor_x)
        pair.addWidget(self.factor_y)
        page.addLayout(pair)
        page.addWidget(self.latent.note)
        page.addWidget(self.latent, 1)
        self.varimax.toggled.connect(self._rotation_toggled)
        self.component.valueChanged.connect(lambda *_: self.redraw())
        self.frame = None
        self.points = np.empty((0, 0))  # the data rows the latent plot shows
        self.columns: tuple[str, ...] = ()
        self.rows = None  # the LoadingRows on screen

    def set_data(self, values: np.ndarray, columns) -> None:
        self.points = values[decimation_indices(values.shape[0], SCATTER_LIMIT)]
        self.columns = tuple(columns)
        self.frame = None
        self.table.setRowCount(0)
        self.latent.clear_state()

    def _rotation_toggled(self, on: bool) -> None:
        self.rotation_changed.emit(on)
        self.redraw()

    def show_frame(self, frame) -> None:
        self.frame = frame
        self.redraw()

    def redraw(self) -> None:
        frame = self.frame
        params = getattr(frame, "factor", None)
        if params is None:
            self.table.setRowCount(0)
            self.latent.clear_state()
            self.latent_title.setText("")
            return
        k, q = params.n_components, params.n_factors
        self.component.setMaximum(k)
        for widget in (self.component_label, self.component):
            widget.setVisible(k > 1)
        self._factor_choices(q)
        self.varimax.setEnabled(q >= 2)  # one factor has no rotation but its sign
        component = self.component.value() - 1
        rotation = rotations(params, self.varimax.isChecked())
        self.rows = loading_rows(params, component, rotation)
        own = 0 if params.psi_shared else component  # a shared Ψ's cases are listed under component 0
        self._fill_table(self.rows, q, {j for c, j in frame.heywood if c == own})
        message = heywood_message(frame.heywood, self.columns)
        self.heywood.setText(message or "")
        self.heywood.setVisible(bool(message))
        if q == 0 or self.points.size == 0:
            self.latent.clear_state()
            return
        means, v = latent_means(self.points, params, component, rotation)
        brush = None
        rotated = " (varimax)" if self.varimax.isChecked() else ""
        self.latent_title.setText(f"<b>Latent space</b>{rotated}: the posterior means E[z | x] of "
                                  f"{'the rows' if k == 1 else f'the rows of component {component + 1}'}")
        if k > 1:  # the rows this component is most responsible for, in its colour
            mine = self._assigned(frame.params) == component
            means = means[mine]
            brush = self.latent.brush_of(palette(k)[component])
        self.latent.show_state(means, v, (self.factor_x.currentIndex(), max(self.factor_y.currentIndex(), 0)), brush)

    def _assigned(self, mixture) -> np.ndarray:
        """The most responsible component of each drawn row under the frame's mixture."""
        from emstudio.core.em import predict

        return predict(self.points, mixture)

    def _factor_choices(self, q: int) -> None:
        shown = q >= 2
        for widget in (self.pair_label, self.factor_x, self.factor_y):
            widget.setVisible(shown)
        if self.factor_x.count() == q:
            return
        for combo, default in ((self.factor_x, 0), (self.factor_y, 1)):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([f"z{f + 1}" for f in range(q)])
            combo.setCurrentIndex(min(default, max(q - 1, 0)))
            combo.blockSignals(False)

    def _fill_table(self, rows, q: int, heywood: set[int]) -> None:
        headers = ["column"] + [f"Λ{f + 1}" for f in range(q)] + ["Ψ", "h²", "h² / (h² + Ψ)"]
        d = rows.psi.shape[0]
        if self.table.columnCount() != len(headers) or self.table.rowCount() != d:
            self.table.setColumnCount(len(headers))
            self.table.setRowCount(d)
            for r in range(d):
                for c in range(len(headers)):
                    item = QtWidgets.QTableWidgetItem()
                    item.setTextAlignment(RIGHT if c else QtCore.Qt.AlignmentFlag.AlignLeft
                                          | QtCore.Qt.AlignmentFlag.AlignVCenter)
                    self.table.setItem(r, c, item)
        self.table.setHorizontalHeaderLabels(headers)
        scale = float(np.abs(rows.loadings).max()) if rows.loadings.size else None
        red, pale = QtGui.QColor(COLLAPSE_RED), QtGui.QColor(COLLAPSE_BACKGROUND)
        for r in range(d):
            values = [*rows.loadings[r], rows.psi[r], rows.communality[r]]
            texts = [self.columns[r] if r < len(self.columns) else f"column {r + 1}"]
            texts += [format_number(v, 4, scale if c < q else None) for c, v in enumerate(values)]
            texts.append(f"{100 * rows.explained[r]:.1f} %")
            for c, text in enumerate(texts):
                item = self.table.item(r, c)
                item.setText(text)
                item.setForeground(red if r in heywood else QtGui.QBrush())
                item.setBackground(pale if r in heywood else QtGui.QBrush())

    def cell_values(self) -> np.ndarray:
        """(d, q + 2) the numbers on screen as numbers: Λ, Ψ and h² of every column (for tests)."""
        rows = self.rows
        return np.column_stack([rows.loadings, rows.psi, rows.communality])


class FactorLink(QtCore.QObject):
    """The Factors dock: shown when a factor model is chosen, fed with the frames on screen."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.panel = FactorPanel()
        self.dock = QtWidgets.QDockWidget("Factors", window)
        self.dock.setObjectName("factors")
        self.dock.setWidget(self.panel)
        self.dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                              | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable
                              | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()
        window.tabs.addTab(self.panel.latent_page, "Latent space")
        self.latent_tab = window.tabs.indexOf(self.panel.latent_page)
        window.tabs.setTabToolTip(self.latent_tab, "The factor model's latent space: E[z | x] of every row, "
                                                   "the posterior covariance V and the prior")
        window.tabs.setTabVisible(self.latent_tab, False)
        self._tabbed = False
        self._pending = None
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(UPDATE_MS)
        self._timer.timeout.connect(self._update)
        c = window.controller
        c.data_changed.connect(lambda dataset: self.panel.set_data(dataset.values, dataset.columns))
        c.display.connect(self._on_display)
        c.outcome.connect(lambda *_: self._update())  # the run's last frame, at once
        window.controls.factor_changed.connect(self._on_model)
        self.panel.rotation_changed.connect(self._rotate)
        self.dock.visibilityChanged.connect(lambda shown: shown and self._update())
        window.tabs.currentChanged.connect(lambda *_: self._update())

    def _on_model(self, factor) -> None:
        """A factor model chosen: the panel shows (the first time tabbed beside Parameters); the
        Gaussian mixture again: it hides."""
        w = self.window
        title = "Mixture" if factor is None else "Factor analysis" if factor.model == "fa" else "Factor mixture"
        w.tabs.setTabText(0, title)
        w.tabs.setTabVisible(self.latent_tab, factor is not None)
        if factor is None:
            self.dock.hide()
            return
        if self.dock.isVisible():
            return
        if not self._tabbed and not self.dock.isFloating():
            self._tabbed = True
            w.tabifyDockWidget(w.params_dock, self.dock)
        self.dock.show()
        self.dock.raise_()
        height = max(w.height() - 120, 300)  # the loadings table needs a little more height
        w.resizeDocks([self.dock, w.likelihood_dock, w.bound_dock],
                      [int(0.33 * height), int(0.25 * height), int(0.42 * height)], QtCore.Qt.Orientation.Vertical)

    def _on_display(self, frame, _colours) -> None:
        self._pending = frame
        if self.window.controller.state != "running":
            self._update()
        elif not self._timer.isActive():
            self._timer.start()

    def _update(self) -> None:
        w = self.window
        shown = self.dock.isVisible() or w.tabs.currentWidget() is self.panel.latent_page
        if self._pending is not None and shown:
            self.panel.show_frame(self._pending)

    def _rotate(self, on: bool) -> None:
        """Varimax on the data plot's arrows too."""
        w = self.window
        w.plot.arrows.rotate = on
        current = w.controller.current
        w.plot.arrows.show(None if current is None else current.factor, w.controller.axes)


def install(window) -> FactorLink:
    """The Factors panel in ``window`` (a dock; View ▸ Factors)."""
    link = FactorLink(window)
    view_menu = next((m for m in window.menuBar().findChildren(QtWidgets.QMenu)
                      if m.title().replace("&", "") == "View"), None)
    if view_menu is not None:
        view_menu.addAction(link.dock.toggleViewAction())
    return link
