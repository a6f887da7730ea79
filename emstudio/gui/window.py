"""The EM Studio main window: menus, docks, the history bar, drag and drop, errors, exports."""

from __future__ import annotations

import dataclasses
import os
import stat
import threading
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from emstudio.core.em import FitSettings
from emstudio.core.geometry import shown_columns
from emstudio.errors import EmstudioError
from emstudio.gui.bound import BoundPanel
from emstudio.gui.controller import Controller, Dataset
from emstudio.gui.controls import ControlPanel
from emstudio.gui.editing import ComponentEditor
from emstudio.gui.selection import SelectionPanel
from emstudio.gui.views import LikelihoodPlot, MixturePlot, ParameterTable

MAX_RECENT = 8
#: Files at least this large are read on a background thread (a 1e6-row CSV takes ~0.5 s to read:
#: the window would not answer for that long); smaller ones at once, before load_file returns.
BACKGROUND_LOAD_BYTES = 8_000_000
FIFO_WAIT_SECONDS = 60.0  # a FIFO opened in the window without a writer is given up after this
#: Results and labels of data with at least this many values (n·d) are written on a background
#: thread: both take a pass over every sample (labels of 1e6 rows: about a second).
BACKGROUND_WRITE_VALUES = 1_000_000
PLAY_INTERVAL_MS = 120
#: While EM runs, the log-likelihood curve, the lower-bound panel and the indicator are redrawn at
#: most this often (the plot of the data follows every drawn frame). Each redraw costs Python time
#: on the window's thread, which shares the GIL with the worker: redrawing every panel at ~60 Hz
#: stretched the longest event-loop stall from 35 to ~90 ms (benchmarks/bench_gui.py, 1e5 points).
PANEL_INTERVAL_MS = 100
MONOTONE_STYLE = "padding: 1px 6px;"
#: The docks' layout version: raise it when docks are added or moved, so old saved layouts are set aside.
LAYOUT_VERSION = 2
SAMPLES = [
    ("separated.csv", "Well separated", "three round clusters far apart: EM settles in a few iterations"),
    ("overlapping.csv", "Overlapping", "three clusters that overlap: mixed responsibilities, slow convergence"),
    ("elongated.csv", "Elongated", "two long, crossing clusters: try full against diagonal covariances"),
    ("one_d.csv", "One dimension", "a 1-D mixture of three normals: histogram and densities"),
    ("four_d.csv", "Four dimensions", "d = 4: choose the axes; ellipses are the exact marginals"),
]


def assets_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "assets"


def _file_filter() -> str:
    from emstudio.io.data import READABLE_SUFFIXES

    patterns = " ".join(f"*{s}" for s in READABLE_SUFFIXES)
    return f"Data files ({patterns});;All files (*)"


class ErrorBanner(QtWidgets.QFrame):
    """A dismissable message across the top of the plot: errors never block the window."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setStyleSheet("ErrorBanner { background: #fdecea; border: 1px solid #f5c2c0; border-radius: 4px; }"
                           "QLabel { color: #8a1f17; }")
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        close = QtWidgets.QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss this message")
        close.clicked.connect(self.hide)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str) -> None:
        self.label.setText(text)
        self.show()


class CollapseBar(QtWidgets.QFrame):
    """Under the parameter table while a component collapses: which one, its λmin and Nₖ, and the
    three fixes (the window does them)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setStyleSheet("CollapseBar { background: #fdecea; border: 1px solid #f5c2c0; border-radius: 4px; }"
                           "QLabel { color: #8a1f17; }")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(8, 5, 8, 5)
        layout.setSpacing(4)
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        layout.addWidget(self.label)
        buttons = QtWidgets.QHBoxLayout()
        self.raise_button = QtWidgets.QPushButton("Raise reg_covar ×10")
        self.raise_button.setToolTip("Multiply reg_covar by 10 and continue the fit from the state on screen")
        self.remove_button = QtWidgets.QPushButton("Remove component")
        self.remove_button.setToolTip("Delete this component (K − 1; the other weights renormalised): an edit "
                                      "in the history; Run continues from it, Ctrl+Z undoes it")
        self.reseed_button = QtWidgets.QPushButton("Re-seed component")
        self.reseed_button.setToolTip("Move this component's mean to the least likely data point, give it the "
                                      "data's covariance and weight 1/K: an edit; Run continues, Ctrl+Z undoes it")
        for button in (self.raise_button, self.remove_button, self.reseed_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.hide()

    def show_collapse(self, entry, count: int) -> None:
        """Show ``entry`` (core.edits.Collapse) of ``count`` collapsing components, or hide (None)."""
        if entry is None:
            self.hide()
            return
        k = entry.component + 1
        more = f" ({count} components are collapsing; click a red row to choose)" if count > 1 else ""
        self.label.setText(f"⚠ Component {k} is collapsing: λmin = {entry.smallest_eigenvalue:.3g}, "
                           f"Nₖ = {entry.size:.1f}{more}")
        self.remove_button.setText(f"Remove component {k}")
        self.reseed_button.setText(f"Re-seed component {k}")
        self.show()


class WelcomePage(QtWidgets.QWidget):
    """Shown while no data is loaded: the sample data sets and Open."""

    chosen = QtCore.Signal(str)

    def __init__(self, open_action: QtGui.QAction, parent=None) -> None:
        super().__init__(parent)
        outer = QtWidgets.QVBoxLayout(self)
        outer.addStretch(1)
        box = QtWidgets.QWidget()
        box.setMaximumWidth(560)
        layout = QtWidgets.QVBoxLayout(box)
        title = QtWidgets.QLabel("EM Studio")
        font = title.font()
        font.setPointSize(22)
        font.setBold(True)
        title.setFont(font)
        layout.addWidget(title)
        text = QtWidgets.QLabel("Watch EM fit a Gaussian mixture: open a data file (or drop one here), "
                                "or start with a sample data set.")
        text.setWordWrap(True)
        layout.addWidget(text)
        layout.addSpacing(8)
        self.sample_buttons: dict[str, QtWidgets.QPushButton] = {}
        for filename, label, tip in SAMPLES:
            path = assets_dir() / filename
            if not path.exists():
                continue
            button = QtWidgets.QPushButton(f"{label}  —  {tip}")
            button.setStyleSheet("text-align: left; padding: 7px 10px;")
            button.setToolTip(f"Load the sample {filename}")
            button.clicked.connect(lambda _=False, p=str(path): self.chosen.emit(p))
            layout.addWidget(button)
            self.sample_buttons[filename] = button
        layout.addSpacing(8)
        open_button = QtWidgets.QPushButton("Open a data file…")
        open_button.setToolTip("CSV/TSV/text, .npy, .npz, .xlsx or .parquet (Ctrl+O)")
        open_button.clicked.connect(open_action.trigger)
        open_button.setStyleSheet("padding: 7px 10px; font-weight: bold;")
        layout.addWidget(open_button)
        row = QtWidgets.QHBoxLayout()
        row.addStretch(1)
        row.addWidget(box)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)


class TypingKeys(QtCore.QObject):
    """Lets the widget with the focus keep the plain keys it types with: a combo box or the table
    searches by letter and a focused button presses on Space, where the window's one-key shortcuts
    (Space, E, M, N, R, A, F, U) would otherwise take them. Text fields already keep theirs."""

    KEEPERS = (QtWidgets.QComboBox, QtWidgets.QAbstractItemView)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QtCore.QEvent.Type.ShortcutOverride:
            plain = not (event.modifiers() & ~QtCore.Qt.KeyboardModifier.ShiftModifier
                         & ~QtCore.Qt.KeyboardModifier.KeypadModifier)
            typed = plain and bool(event.text()) and event.text().isprintable()
            space = plain and event.key() == QtCore.Qt.Key.Key_Space
            if (typed and isinstance(obj, self.KEEPERS)) or (space and isinstance(obj, QtWidgets.QAbstractButton)):
                event.accept()  # the key goes to the widget, not to the shortcut
        return False


def not_an_em_step(before, after) -> bool:
    """Whether history entry ``after`` was reached from ``before`` by something other than EM with
    the same model: a start, a hand edit, or a change of covariance model or reg_covar between them.
    No rise of log L is promised there."""
    return (after.kind in ("start", "edit") or after.params.covariance_type != before.params.covariance_type
            or after.reg_covar != before.reg_covar)


class MonotonicityCheck:
    """The falls of log L in a history, checked once per entry: a run appends entries, so each
    update looks only at what is new (a history of 20,000 iterations is redrawn ~60 times a second)."""

    def __init__(self) -> None:
        self._length, self._last, self.steps, self.falls = 0, None, 0, []

    def update(self, history) -> tuple[int, list]:
        """(EM steps checked, falls (core.checks.Fall, index into ``history``)) of ``history``."""
        from emstudio.core.checks import Fall, likelihood_falls

        m = self._length
        if not (0 < m <= len(history) and history[m - 1] is self._last):
            m, self.steps, self.falls = 0, 0, []  # not the same history grown: from the start
        begin = max(m - 1, 0)
        part = history[begin:]
        if len(part) > (1 if m else 0):
            breaks = [True] + [not_an_em_step(a, b) for a, b in zip(part, part[1:])]
            self.steps += breaks.count(False)
            found = likelihood_falls([f.log_likelihood for f in part], [f.reg_covar_binds for f in part], breaks)
            self.falls += [Fall(f.index + begin, f.drop, f.explained) for f in found]
        self._length, self._last = len(history), history[-1] if history else None
        return self.steps, self.falls


def read_dataset(path: str, columns=None, classes=None):
    """Read a data file as the window uses it: a Dataset, or the one-line message of why not.
    ``classes``: a column of known classes (io.data.load_data). Pure reading (no Qt): it may run
    on a background thread."""
    from emstudio.core.checks import check_fit_data
    from emstudio.io.data import load_data

    try:
        loaded = load_data(path, columns=columns, classes=classes, wait_for_writer=FIFO_WAIT_SECONDS)
        check_fit_data(loaded.values, 1, loaded.columns)
    except EmstudioError as exc:
        return str(exc)
    return Dataset(loaded.values, tuple(loaded.columns), str(path), tuple(loaded.report.lines()),
                   loaded.report.n_dropped, row_ids=loaded.row_ids(), cell_text=loaded.cell_text,
                   text_columns=loaded.text_columns, classes=loaded.classes)


class _Loads(QtCore.QObject):
    """Carries a background load's result to the window's thread (a queued signal)."""

    done = QtCore.Signal(int, str, object)  # load id, path, Dataset or message
    written = QtCore.Signal(str, object)  # what was written, None or the message of why not


class MainWindow(QtWidgets.QMainWindow):
    """The window. ``settings`` (QSettings) keeps the layout and recent files between starts."""

    loading_finished = QtCore.Signal(bool)  # a background load ended: shown (True) or refused
    export_finished = QtCore.Signal(bool)  # a background write ended: written (True) or not

    def __init__(self, settings: QtCore.QSettings | None = None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("EM Studio")
        self.setAcceptDrops(True)
        self.store = settings if settings is not None else QtCore.QSettings("emstudio", "EM Studio")
        self.controller = Controller(self)
        self.dataset: Dataset | None = None
        self._load_id = 0  # the newest load asked for; an older one's result is dropped
        self._loads = _Loads(self)
        self._loads.done.connect(self._loaded, QtCore.Qt.ConnectionType.QueuedConnection)
        self._loads.written.connect(self._written, QtCore.Qt.ConnectionType.QueuedConnection)
        self._stop_word = "stopped"
        self._make_actions()

        # -- centre: welcome page or the plot with its history bar
        self.plot = MixturePlot()
        self.editor = ComponentEditor(self.plot.plot_item, self)
        self.editor.preview.connect(self._on_edit_preview)
        self.editor.committed.connect(self.apply_edit)
        self.editor.drag_started.connect(self._on_drag_started)
        self.editor.drag_finished.connect(lambda: self._on_state(self.controller.state))
        # No drag while a step or an edit is being computed: the state under it is about to change.
        self.editor.drag_allowed = lambda: self.controller.state != "stepping"
        self.editor.component_menu.connect(self._component_menu)
        self.editor.space_menu.connect(self._space_menu)
        self.editor.add_requested.connect(self.add_component_at)
        self._select_when_shown: int | None = None  # a component added by hand, selected once drawn
        self.banner = ErrorBanner()
        self.history_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.history_slider.setRange(0, 0)
        self.history_slider.setToolTip("Scrub through every iteration of the fit: the ellipses, the table and the "
                                       "log-likelihood mark follow. Run or step from here to continue EM "
                                       "from that iteration.")
        self.history_slider.setEnabled(False)
        self.play_button = QtWidgets.QToolButton()
        self.play_button.setDefaultAction(self.actions["play"])
        self.history_label = QtWidgets.QLabel("no fit yet")
        self.history_label.setMinimumWidth(150)
        self.history_label.setToolTip("The iteration on screen, of all kept")
        history_bar = QtWidgets.QHBoxLayout()
        history_bar.addWidget(QtWidgets.QLabel("History"))
        history_bar.addWidget(self.play_button)
        history_bar.addWidget(self.history_slider, 1)
        history_bar.addWidget(self.history_label)
        self.shade_button = QtWidgets.QToolButton()
        self.shade_button.setDefaultAction(self.actions["shade_uncertainty"])
        history_bar.addWidget(self.shade_button)
        plot_page = QtWidgets.QWidget()
        plot_layout = QtWidgets.QVBoxLayout(plot_page)
        plot_layout.setContentsMargins(6, 6, 6, 2)
        plot_layout.addWidget(self.plot, 1)
        plot_layout.addLayout(history_bar)
        self.welcome = WelcomePage(self.actions["open"])
        self.welcome.chosen.connect(self.load_file)
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(plot_page)
        central = QtWidgets.QWidget()
        central_layout = QtWidgets.QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.banner)
        central_layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        # -- docks
        self.controls = ControlPanel(self.actions)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.controls_dock = self._dock("Fit", "controls", scroll, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)
        self.table = ParameterTable()
        params_widget = QtWidgets.QWidget()
        params_layout = QtWidgets.QVBoxLayout(params_widget)
        params_layout.setContentsMargins(4, 4, 4, 4)
        params_layout.addWidget(self.table, 1)
        self.collapse_bar = CollapseBar()
        self.collapse_bar.raise_button.clicked.connect(self.fix_raise_reg_covar)
        self.collapse_bar.remove_button.clicked.connect(lambda: self.fix_remove())
        self.collapse_bar.reseed_button.clicked.connect(lambda: self.fix_reseed())
        self._collapse_choice: int | None = None  # the marked component the fixes act on
        self.table.cellClicked.connect(self._on_table_click)
        self.table.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._table_menu)
        params_layout.addWidget(self.collapse_bar)
        # The table scrolls; the collapse bar keeps its height.
        self.collapse_bar.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Minimum)
        self.params_dock = self._dock("Parameters", "parameters", params_widget,
                                      QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self.likelihood = LikelihoodPlot()
        self.likelihood_dock = self._dock("Log-likelihood", "likelihood", self.likelihood,
                                          QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self.bound_view = BoundPanel()
        self.bound_dock = self._dock("Lower bound", "bound", self.bound_view,
                                     QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self.selection = SelectionPanel(self.controls.settings)
        self.selection.cell_chosen.connect(self.load_cell)
        self.selection_dock = self._dock("Choose K and model", "selection", self.selection,
                                         QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.likelihood_dock, self.selection_dock)
        self.selection_dock.hide()
        self.status = QtWidgets.QLabel("Open a data file or choose a sample to begin.")
        self.statusBar().addWidget(self.status, 1)
        self.monotone_label = QtWidgets.QPushButton()
        self.monotone_label.setFlat(True)
        self.monotone_label.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.monotone_label.clicked.connect(self.go_to_first_fall)
        # Always there (empty while there is nothing to check) and always the same padding: a
        # change of its height changes the status bar's, which re-lays out and repaints every
        # panel in the middle of a run.
        self.monotone_label.setStyleSheet(MONOTONE_STYLE)
        self._first_fall: int | None = None
        self._monotonicity = MonotonicityCheck()
        self.statusBar().addPermanentWidget(self.monotone_label)
        self.state_label = QtWidgets.QLabel()
        self.statusBar().addPermanentWidget(self.state_label)
        self._make_menus()

        # -- wiring
        c = self.controller
        c.display.connect(self._on_display)
        c.history_changed.connect(self._on_history_changed)
        c.state_changed.connect(self._on_state)
        c.outcome.connect(self._on_outcome)
        c.error.connect(self.show_error)
        c.axes_changed.connect(self._on_axes)
        c.undo_changed.connect(self._on_undo_changed)
        self.controls.settings_changed.connect(c.set_settings)
        self.controls.pace_changed.connect(c.set_pace)
        self.controls.axes_changed.connect(c.set_axes)
        # bound-pace hook (histogram bins): the Bins control sets the plot's bins, the plot says how many "auto" gave.
        self.controls.bins_changed.connect(self.plot.set_bins)
        self.plot.bins_drawn.connect(self.controls.show_bins)
        c.set_settings(self.controls.settings())
        c.set_pace(self.controls.pace_seconds())
        self.history_slider.valueChanged.connect(self._on_slider)
        self._play_timer = QtCore.QTimer(self)
        self._play_timer.setInterval(PLAY_INTERVAL_MS)
        self._play_timer.timeout.connect(self._play_tick)
        self._panels_timer = QtCore.QTimer(self)
        self._panels_timer.setSingleShot(True)
        self._panels_timer.setInterval(PANEL_INTERVAL_MS)
        self._panels_timer.timeout.connect(self._refresh_panels)

        # On the typing widgets themselves, not the whole application: a Python filter on every
        # event of the application cost the window's thread GIL time in every frame of a run.
        self._typing_keys = TypingKeys(self)
        for widget in self.findChildren(QtWidgets.QWidget):
            if isinstance(widget, (*TypingKeys.KEEPERS, QtWidgets.QAbstractButton)):
                widget.installEventFilter(self._typing_keys)

        # Hook: known classes (gui/classes.py) add their panel, View menu entry and point shapes.
        from emstudio.gui import classes as known_classes
        self.known_classes = known_classes.install(self)

        self.resize(1400, 860)
        self._restore_layout()
        self._on_state("empty")

    # ------------------------------------------------------------------ construction
    def _dock(self, title, name, widget, area) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, name, text, slot, shortcut=None, tip="") -> QtGui.QAction:
        action = QtGui.QAction(text, self)
        if shortcut:
            action.setShortcut(QtGui.QKeySequence(shortcut))
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        shown = f"{tip} ({QtGui.QKeySequence(shortcut).toString()})" if shortcut else tip
        action.setToolTip(shown)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        self.actions[name] = action
        return action

    def _make_actions(self) -> None:
        self.actions: dict[str, QtGui.QAction] = {}
        a = self._action
        a("open", "&Open…", self.open_dialog, QtGui.QKeySequence.StandardKey.Open, "Open a data file")
        a("import_start", "&Import start parameters…", self.import_start_dialog, None,
          "Use a result or parameter file as EM's start")
        a("export_params", "Export &parameters…", self.export_params_dialog, QtGui.QKeySequence.StandardKey.Save,
          "Write the parameters on screen as a result file (JSON)")
        a("export_labels", "Export &labels…", self.export_labels_dialog, None,
          "Write each sample's component and responsibilities (CSV)")
        a("export_picture", "Export p&icture…", self.export_picture_dialog, "Ctrl+Shift+S",
          "Write the plot as PNG or SVG")
        a("quit", "&Quit", self.close, QtGui.QKeySequence.StandardKey.Quit, "Close EM Studio")
        a("run_pause", "Run / Pause", self.run_or_pause, "Space", "Run EM, or pause a run")
        a("run", "▶ Run", self.run, None, "Run EM until it converges (Space), continuing from the iteration on screen")
        a("pause", "❙❙ Pause", self.pause, None, "Pause the run; Run continues it (Space)")
        a("stop", "■ Stop", self.stop, "Esc", "Stop the run")
        a("step_e", "Step E", lambda: self.step("E"), "E",
          "E-step: responsibilities q = p(z | x, θ) — the colours change, the ellipses stay")
        a("step_m", "Step M", lambda: self.step("M"), "M",
          "M-step: θ = argmax Q(θ | θₜ) for the current q — the ellipses move, the colours stay")
        a("step", "Step E+M", lambda: self.step("EM"), "N", "One whole EM iteration: E-step then M-step")
        a("reinit", "⟲ Re-initialise", self.reinitialise, "R", "Make a new start from the settings (iteration 0)")
        a("play", "▶", self.toggle_play, None, "Play the history as an animation")
        a("select_models", "Choose &K and model…", self.show_selection, None,
          "Fit a grid of K and covariance models and compare them by BIC, AIC or ICL")
        a("shade_uncertainty", "Shade by &uncertainty", self.set_uncertainty_shading, "U",
          "Colour the points by their uncertainty 1 − maxₖ rᵢₖ (light: certain, dark: uncertain) instead of "
          "blending the components' colours")
        self.actions["shade_uncertainty"].setCheckable(True)
        a("undo", "&Undo edit", self.undo, QtGui.QKeySequence.StandardKey.Undo, "Undo the last change made by hand")
        a("redo", "&Redo edit", self.redo, "Ctrl+Shift+Z", "Do again the change undone last")
        self.actions["redo"].setShortcuts([QtGui.QKeySequence("Ctrl+Shift+Z"), QtGui.QKeySequence("Ctrl+Y")])
        a("add_component", "&Add a component", lambda: self.add_component_at(None), "A",
          "Add a component at the centre of the view (or double-click the plot where you want it)")
        a("delete_component", "&Delete component", lambda: self.delete_component(), QtGui.QKeySequence.StandardKey.Delete,
          "Delete the selected component (click its mean to select it)")
        a("freeze_component", "&Freeze / free component", lambda: self.toggle_freeze(), "F",
          "Freeze the selected component: EM's M-steps keep it as it is (the other weights adjust)")

    def _make_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.actions["open"])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.setToolTipsVisible(True)
        samples = file_menu.addMenu("&Samples")
        for filename, label, tip in SAMPLES:
            path = assets_dir() / filename
            if path.exists():
                action = samples.addAction(label)
                action.setStatusTip(tip)
                action.triggered.connect(lambda _=False, p=str(path): self.load_file(p))
        file_menu.addSeparator()
        file_menu.addAction(self.actions["import_start"])
        file_menu.addAction(self.actions["export_params"])
        file_menu.addAction(self.actions["export_labels"])
        file_menu.addAction(self.actions["export_picture"])
        file_menu.addSeparator()
        file_menu.addAction(self.actions["quit"])
        fit_menu = bar.addMenu("F&it")
        for name in ("run_pause", "stop", None, "step_e", "step_m", "step", None, "reinit", None, "select_models"):
            fit_menu.addSeparator() if name is None else fit_menu.addAction(self.actions[name])
        edit_menu = bar.addMenu("&Edit")
        for name in ("undo", "redo", None, "add_component", "delete_component", "freeze_component"):
            edit_menu.addSeparator() if name is None else edit_menu.addAction(self.actions[name])
        edit_menu.addSeparator()
        hint = edit_menu.addAction("Drag a mean to move it; drag the square or diamond handle of a selected "
                                   "component to stretch and turn it; double-click to add a component")
        hint.setEnabled(False)
        view_menu = bar.addMenu("&View")
        for dock in (self.controls_dock, self.params_dock, self.likelihood_dock, self.bound_dock, self.selection_dock):
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        view_menu.addAction(self.actions["shade_uncertainty"])
        help_menu = bar.addMenu("&Help")
        help_menu.addAction("About EM Studio", self._about)
        self._refresh_recent()

    # ------------------------------------------------------------------ data
    def open_dialog(self) -> None:
        start = self.store.value("last_dir", str(Path.home()))
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open data", start, _file_filter())
        if path:
            self.load_file(path)

    def load_file(self, path: str, columns=None, classes=None) -> bool:
        """Load a data file; on error show it and keep what was there.

        A file under BACKGROUND_LOAD_BYTES is read at once (True on success). A larger one is read
        on a background thread while the window stays usable (the status line says so); True means
        the reading started, and ``loading_finished(ok)`` tells when it is done.
        """
        path = str(path)
        try:
            info = os.stat(path)
            # A pipe, FIFO or device is read whole and may wait for its writer: never on the
            # window's thread.
            size = info.st_size if stat.S_ISREG(info.st_mode) else BACKGROUND_LOAD_BYTES
        except OSError:
            size = 0  # load_data says what is wrong with it
        self._load_id += 1
        if size < BACKGROUND_LOAD_BYTES:
            QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
            try:
                outcome = read_dataset(path, columns, classes)  # classes: hook of gui/classes.py
            finally:
                QtWidgets.QApplication.restoreOverrideCursor()
            return self._loaded(self._load_id, path, outcome)
        load_id = self._load_id
        shown = f" ({info.st_size / 1e6:.0f} MB)" if stat.S_ISREG(info.st_mode) else ""
        self.status.setText(f"Loading {os.path.basename(path)}{shown}… the window stays usable")
        self.state_label.setText("loading…")

        def work() -> None:
            outcome = read_dataset(path, columns, classes)
            try:
                self._loads.done.emit(load_id, path, outcome)
            except RuntimeError:
                pass  # the window was closed meanwhile

        threading.Thread(target=work, name="emstudio-load", daemon=True).start()
        return True

    def _loaded(self, load_id: int, path: str, outcome) -> bool:
        """A file was read (``outcome``: a Dataset, or the message of why not): show it, unless a
        newer load was asked for meanwhile."""
        if load_id != self._load_id:
            return False
        if isinstance(outcome, str):
            self.show_error(f"Could not open {os.path.basename(path)}: {outcome}")
            self._on_state(self.controller.state)
            self.loading_finished.emit(False)
            return False
        self.set_dataset(outcome)
        self._add_recent(path)
        self.store.setValue("last_dir", str(Path(path).resolve().parent))
        self.loading_finished.emit(True)
        return True

    def set_dataset(self, dataset: Dataset) -> None:
        self._stop_play()
        self.banner.hide()
        self.dataset = dataset
        self._column_means = dataset.values.mean(axis=0)  # where an added component's unshown coordinates go
        n, d = dataset.values.shape
        report = dataset.report_lines or (f"{os.path.basename(dataset.source)}: {n:,} rows, {d} column"
                                          f"{'s' * (d != 1)}: {', '.join(dataset.columns)}",)
        # The controller first: it forgets the old fit, so the axis choosers' signals find nothing
        # of the old data to redraw.
        self.controller.set_data(dataset)
        self.selection.set_data(dataset.values)
        self.controls.set_columns(dataset.columns, report)
        self.plot.set_data(dataset.values, dataset.columns, self.controller.axes)
        self.table.show_frame(None, self.controller.axes, dataset.columns)
        self.editor.clear()
        self._collapse_choice = None
        self.collapse_bar.show_collapse(None, 0)
        self.likelihood.show_history(np.empty(0), np.empty(0), None)
        self.likelihood.show_restarts(None)
        self.bound_view.clear()
        self.stack.setCurrentIndex(1)
        n, d = dataset.values.shape
        self.setWindowTitle(f"{os.path.basename(dataset.source)} — EM Studio")
        self.status.setText(f"{n:,} samples, d = {d}. Press Run (Space) or step with E and M.")
        self._on_state(self.controller.state)  # no fit yet: exports and history off

    def _on_axes(self, axes) -> None:
        if self.dataset is not None:
            self.plot.set_data(self.dataset.values, self.dataset.columns, axes)

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:  # noqa: N802 - Qt API
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.load_file(files[0])

    def _recent(self) -> list[str]:
        value = self.store.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _add_recent(self, path: str) -> None:
        path = str(Path(path).resolve())
        recent = [p for p in self._recent() if p != path]
        self.store.setValue("recent_files", [path] + recent[: MAX_RECENT - 1])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        recent = self._recent()
        for path in recent:
            action = self.recent_menu.addAction(os.path.basename(path))
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.load_file(p))
        self.recent_menu.setEnabled(bool(recent))

    # ------------------------------------------------------------------ requests
    def run_or_pause(self) -> None:
        if self.controller.state == "running":
            self.pause()
        else:
            self.run()

    def run(self) -> None:
        self._stop_play()
        self.banner.hide()
        self.controller.run()

    def pause(self) -> None:
        self._stop_word = "paused"
        self.controller.stop()

    def stop(self) -> None:
        self._stop_play()
        self._stop_word = "stopped"
        self.controller.stop()

    def step(self, kind: str) -> None:
        self._stop_play()
        self.banner.hide()
        self.controller.step(kind)

    def reinitialise(self) -> None:
        self._stop_play()
        self.banner.hide()
        self.controller.reinitialise()

    def show_selection(self) -> None:
        """Fit ▸ Choose K and model…: show the model-selection panel."""
        self.selection_dock.show()
        self.selection_dock.raise_()

    def set_uncertainty_shading(self, on: bool) -> None:
        """View ▸ Shade by uncertainty (U): the points at once (the plot has their rᵢₖ), a density
        image when the worker has shaded it again."""
        shading = "uncertainty" if on else "responsibility"
        self.actions["shade_uncertainty"].setChecked(on)
        self.plot.set_shading(shading)
        self.controller.set_shading(shading)

    def load_cell(self, cell) -> None:
        """Make a model-selection cell's fit the current state (as a start: iteration 0)."""
        if self.dataset is None or cell.result is None:
            return
        self._stop_play()
        self.banner.hide()
        params = cell.result.params
        self.controls.covariance.setCurrentIndex(self.controls.covariance.findData(cell.covariance_type))
        self.controls.set_file_start(params, f"{cell.covariance_type}, K = {cell.k} (selection)")
        self.controller.set_settings(self.controls.settings())
        self.controller.start_from(params)

    # ------------------------------------------------------------------ history
    def _on_history_changed(self, count: int, index: int) -> None:
        self.history_slider.blockSignals(True)
        self.history_slider.setRange(0, max(count - 1, 0))
        self.history_slider.setValue(max(index, 0))
        self.history_slider.blockSignals(False)
        self._update_panels()

    def _place_handles(self) -> None:
        current = self.controller.current
        if current is not None:
            self.editor.set_state(current.params, self.controller.axes, current.params.n_features == 1)

    def _refresh_panels(self) -> None:
        self._place_handles()
        if self.controller.state == "running":
            # Two events, so that the event loop breathes between them during a run.
            self._update_history_view(bound=False)
            QtCore.QTimer.singleShot(0, self, lambda: self._show_bound(self.controller.current))
        else:
            self._update_history_view()

    def _update_panels(self) -> None:
        """The history views now, or, while EM runs, at most every PANEL_INTERVAL_MS."""
        if self.controller.state == "running":
            if not self._panels_timer.isActive():
                self._panels_timer.start()
        else:
            self._panels_timer.stop()
            self._update_history_view()

    def _on_slider(self, value: int) -> None:
        self.controller.show_history(value)

    def toggle_play(self) -> None:
        if self._play_timer.isActive():
            self._stop_play()
            return
        if len(self.controller.history) < 2 or self.controller.state == "running":
            return
        if self.history_slider.value() >= self.history_slider.maximum():
            self.history_slider.setValue(0)
        self._play_timer.start()
        self.actions["play"].setText("❙❙")

    def _stop_play(self) -> None:
        self._play_timer.stop()
        self.actions["play"].setText("▶")

    def _play_tick(self) -> None:
        value = self.history_slider.value()
        if value >= self.history_slider.maximum():
            self._stop_play()
        else:
            self.history_slider.setValue(value + 1)

    def _update_history_view(self, bound: bool = True) -> None:
        history = self.controller.history
        if bound:
            self._show_bound(self.controller.current)
        self.likelihood.show_restarts(self.controller.restarts if history else None)
        self._show_monotonicity(history)
        if not history:
            self.likelihood.show_history(np.empty(0), np.empty(0), None)
            self.history_label.setText("no fit yet")
            return
        iterations = np.array([f.iteration for f in history], dtype=float)
        log_l = np.array([f.mean_log_likelihood for f in history])
        edited = np.array([f.kind == "edit" for f in history])
        index = self.controller.index
        current = history[index] if 0 <= index < len(history) else history[-1]
        self.likelihood.show_history(iterations, log_l, (current.iteration, current.mean_log_likelihood), edited)
        self._show_history_label()

    def _show_history_label(self) -> None:
        """"iteration i of m", and what is on screen when it is not a whole iteration."""
        history, index, shown = self.controller.history, self.controller.index, self.controller.current
        if not history:
            return
        entry = history[index] if 0 <= index < len(history) else history[-1]
        text = f"iteration {entry.iteration} of {history[-1].iteration}"
        if shown is not None and shown.kind == "E" and shown is not entry:
            text += f" · E-step {shown.iteration} on screen"  # a lone E-step starts the next iteration
        elif entry.kind == "edit":
            text += f" · {entry.note}"
        self.history_label.setText(text)

    def _show_monotonicity(self, history) -> None:
        """The indicator in the status bar: did log L ever fall from one EM iteration to the next?
        Hand edits and starts are not EM steps and are left out; a fall where reg_covar binds is
        the documented reg_covar effect (docs/results.md), shown but not called a fault."""
        label = self.monotone_label
        steps, falls = self._monotonicity.update(history)
        if not steps:
            label.setText("")
            label.setStyleSheet(MONOTONE_STYLE)
            label.setToolTip("")
            self._first_fall = None
            return
        faults = [f for f in falls if not f.explained]
        shown = faults or falls
        self._first_fall = shown[0].index if shown else None
        n = history[0].n_samples
        if faults:
            worst = faults[0]
            text = f"✗ log L fell at iteration {history[worst.index].iteration} (by {worst.drop / n:.3g} per sample)"
            style = MONOTONE_STYLE + "color: white; background: #c62828; border-radius: 3px;"
            tip = ("EM promises that log L never falls from one iteration to the next, and here it did where "
                   "reg_covar does not explain it. This is a fault: please report it with the data and settings. "
                   "Click to go to that iteration.")
        elif falls:
            largest = max(f.drop for f in falls) / n
            text = f"⚠ log L fell {len(falls)}× (≤ {largest:.2g} per sample) where reg_covar binds"
            style = MONOTONE_STYLE + "color: #6d4c00; background: #fff3cd; border-radius: 3px;"
            tip = ("Expected, not a fault: adding reg_covar·I to a covariance after the M-step is not the exact "
                   "maximiser of Q, so where reg_covar is comparable to a component's own variance (a collapsing "
                   "component) log L can fall slightly (see docs/results.md). Click to go to the first such "
                   "iteration.")
        else:
            text = "✓ log L never fell"
            style = MONOTONE_STYLE + "color: #2e7d32;"
            tip = (f"Checked after each of the {steps} EM iteration{'s' * (steps != 1)} of this history (hand edits, "
                   "starts and model changes aside): log L(θₜ) ≥ log L(θₜ₋₁) up to float rounding (1e-9 of "
                   "|log L|), as the lower-bound argument guarantees.")
        # Only what changed: a new text re-lays the status bar out, a new style sheet re-polishes.
        if label.text() != text:
            label.setText(text)
        if label.styleSheet() != style:
            label.setStyleSheet(style)
        label.setToolTip(tip)

    def go_to_first_fall(self) -> None:
        if self._first_fall is not None and self.controller.state != "running":
            self.history_slider.setValue(self._first_fall)

    # ------------------------------------------------------------------ display
    def _on_display(self, frame, colours) -> None:
        frozen = self.controller.frozen
        self.plot.set_frozen(frozen if frozen is not None and frozen.shape == (frame.params.n_components,) else None)
        self.plot.show_frame(frame, colours)
        if self.editor.preview_params is not None:  # new colours mid-drag: keep the dragged shape
            self.plot.show_components(self.editor.preview_params)
        running = self.controller.state == "running"
        # While EM runs the invisible mean handles follow with the panels (10 Hz); the visible axis
        # handles of a selected component follow every frame.
        if not running or self.editor.selected >= 0:
            self._place_handles()
        c = self.controller
        if not running and not c.fresh and isinstance(c.settings.init, str):
            self._sync_k(frame.params)  # K shows the components on screen (scrubbing across an edit)
        if self._select_when_shown is not None and frame.kind == "edit":
            self.editor.select(self._select_when_shown)
            self._select_when_shown = None
        self.table.show_frame(frame, self.controller.axes, self.dataset.columns)
        self._mark_frozen(frame.params.n_components)
        self._show_collapse(frame)
        if running:
            self._update_panels()
        else:
            self._show_bound(frame)
        self._show_status(frame)
        if frame.kind == "E":
            self._show_history_label()

    # ------------------------------------------------------------------ hands-on edits
    def _on_drag_started(self) -> None:
        """A handle is grabbed: a run pauses so that the edit starts from the state on screen."""
        self._stop_play()
        if self.controller.state == "running":
            self.pause()
            self._place_handles()  # on the newest iteration, which the pause has just drawn
        # Nothing may change the state under the drag until it is dropped (_on_state on drop).
        for name in ("run", "run_pause", "step_e", "step_m", "step", "reinit", "undo", "redo", "add_component",
                     "delete_component", "freeze_component", "import_start"):
            self.actions[name].setEnabled(False)

    def _on_edit_preview(self, params) -> None:
        self.plot.show_components(params)

    def apply_edit(self, params, note: str, frozen=None) -> bool:
        """Make ``params`` (the state on screen changed by hand) an edit in the history."""
        self._stop_play()
        self.banner.hide()
        if not self.controller.edit(params, note, frozen):
            if self.controller.current is not None:  # refused (busy): put back what is on screen
                self._on_display(self.controller.current, None)
            return False
        if not callable(params):  # a function of the data (a re-seed) keeps K
            self._sync_k(params)
        return True

    def _sync_k(self, params) -> None:
        """K in the controls follows the components on screen, without making the next Run a fresh
        start. A start read from a file (or a selection cell) has its own K: after an edit that
        changes K, the edited parameters become that start, so the controls never disagree."""
        c = self.controller
        k = params.n_components
        if c.settings.k == k:
            return
        if isinstance(c.settings.init, str):
            c.settings = dataclasses.replace(c.settings, k=k)
        else:
            self.controls.set_file_start(params, "hand edit")
            c.settings = dataclasses.replace(c.settings, k=k, init=params)
        self.controls.show_k(k)

    def _edit_target(self, k: int | None) -> int | None:
        if self.controller.current is None:
            return None
        k = self.editor.selected if k is None else k
        if not 0 <= k < self.controller.current.params.n_components:
            self.status.setText("Select a component first: click its mean (or use its row's right-click menu).")
            return None
        return k

    def delete_component(self, k: int | None = None) -> bool:
        """Delete component k (default: the selected one); the other weights are renormalised."""
        from emstudio.core.edits import remove_component

        k = self._edit_target(k)
        if k is None:
            return False
        try:
            params = remove_component(self.controller.current.params, k)
        except EmstudioError as exc:
            self.show_error(f"Could not delete component {k + 1}: {exc}")
            return False
        flags = np.delete(self.controller.frozen_flags(), k)
        self.editor.select(-1)
        return self.apply_edit(params, f"deleted component {k + 1}", flags)

    def add_component_at(self, position=None) -> bool:
        """Add a component with its mean at ``position`` (x, y) on screen (None: the view's centre);
        its other coordinates are the data's means, its covariance the average of the others'."""
        from emstudio.core.edits import add_component

        c = self.controller
        if c.current is None or self.dataset is None:
            self.status.setText("Run or step EM first: components are added to a fit on screen.")
            return False
        if position is None:
            centre = self.plot.plot_item.vb.viewRect().center()
            position = (centre.x(), centre.y())
        params = c.current.params
        mean = self._column_means.copy()
        columns = shown_columns(c.axes)
        mean[columns] = np.asarray(position, dtype=float)[: len(columns)]
        try:
            added = add_component(params, mean)
        except EmstudioError as exc:
            self.show_error(f"Could not add a component: {exc}")
            return False
        if self.apply_edit(added, f"added component {added.n_components}", np.append(c.frozen_flags(), False)):
            self._select_when_shown = added.n_components - 1  # once the worker measured it
            return True
        return False

    def toggle_freeze(self, k: int | None = None) -> bool:
        """Freeze component k (default: the selected one), or free it if it is frozen."""
        k = self._edit_target(k)
        if k is None:
            return False
        c = self.controller
        frozen = bool(c.frozen_flags()[k])
        if c.set_frozen(k, not frozen):
            return True  # the status line names the edit when the worker has measured it
        return False

    def undo(self) -> None:
        self._stop_play()
        if self.controller.undo():
            self._after_undo("Undone")

    def redo(self) -> None:
        self._stop_play()
        if self.controller.redo():
            self._after_undo("Redone")

    def _after_undo(self, word: str) -> None:
        current = self.controller.current
        if current is not None:
            self._sync_k(current.params)
        self.status.setText(f"{word}. Ctrl+Z undoes, Ctrl+Shift+Z redoes.")
        self._on_state(self.controller.state)

    def _on_undo_changed(self, *_) -> None:
        busy = self.controller.state == "stepping"
        self.actions["undo"].setEnabled(self.controller.can_undo and not busy)
        self.actions["redo"].setEnabled(self.controller.can_redo and not busy)

    def component_actions(self, k: int) -> QtWidgets.QMenu:
        """The menu of component k (right-click its mean or its row): freeze, delete, and for a
        collapsing component the three fixes."""
        menu = QtWidgets.QMenu(self)
        frozen = bool(self.controller.frozen_flags()[k])
        menu.addAction(f"{'Free' if frozen else 'Freeze'} component {k + 1}", lambda: self.toggle_freeze(k))
        menu.addAction(f"Delete component {k + 1}", lambda: self.delete_component(k))
        if k in self.table.marked:
            menu.addSeparator()
            menu.addAction("Raise reg_covar ×10", self.fix_raise_reg_covar)
            menu.addAction(f"Re-seed component {k + 1}", lambda: self.fix_reseed(k))
        return menu

    def _component_menu(self, k: int, screen_pos) -> None:
        menu = self.component_actions(k)
        menu.exec(screen_pos)
        menu.deleteLater()

    def _space_menu(self, position, screen_pos) -> None:
        if self.controller.current is None:
            return
        menu = QtWidgets.QMenu(self)
        menu.addAction("Add a component here", lambda: self.add_component_at(position))
        menu.exec(screen_pos)
        menu.deleteLater()

    def _mark_frozen(self, k: int) -> None:
        """A ❄ in the number column of every frozen component's row."""
        frozen = self.controller.frozen
        if frozen is None or frozen.shape != (k,):
            return
        for r in np.flatnonzero(frozen):
            item = self.table.item(int(r), 0)
            if item is not None:
                item.setText(item.text() + "❄")
                item.setToolTip(f"Component {r + 1} is frozen: EM's M-steps keep it as it is (F frees it)")

    # ------------------------------------------------------------------ collapsing components
    def collapse_target(self):
        """The marked component the fixes act on (core.edits.Collapse), or None when none is marked."""
        frame = self.controller.current
        if frame is None or not frame.collapse:
            return None
        by_index = {c.component: c for c in frame.collapse}
        return by_index.get(self._collapse_choice, frame.collapse[0])

    def _show_collapse(self, frame) -> None:
        if frame is None or not frame.collapse:
            self.collapse_bar.show_collapse(None, 0)
            return
        self.collapse_bar.show_collapse(self.collapse_target(), len(frame.collapse))

    def _on_table_click(self, row: int, _column: int) -> None:
        if row in self.table.marked:
            self._collapse_choice = row
            self._show_collapse(self.controller.current)

    def _table_menu(self, pos) -> None:
        row = self.table.rowAt(pos.y())
        if 0 <= row < self.table.rowCount() and self.controller.current is not None:
            self.editor.select(row)
            menu = self.component_actions(row)
            menu.exec(self.table.viewport().mapToGlobal(pos))
            menu.deleteLater()

    def fix_raise_reg_covar(self) -> None:
        """reg_covar × 10 in the controls, then continue the fit from the state on screen."""
        c = self.controller
        if c.data is None or c.state == "stepping":
            return
        if c.state == "running":
            c.stop()
        raised = c.settings.reg_covar * 10
        # Only reg_covar changes: the controls' other values (which may not describe the start on
        # screen) must not turn the next Run into a fresh start.
        blocked = self.controls.blockSignals(True)
        try:
            self.controls.reg_covar.set_value(raised)
        finally:
            self.controls.blockSignals(blocked)
        c.set_settings(dataclasses.replace(c.settings, reg_covar=raised))
        self.run()

    def _fix_index(self, k: int | None) -> int | None:
        if k is not None:
            return k
        target = self.collapse_target()
        return None if target is None else target.component

    def fix_remove(self, k: int | None = None) -> bool:
        """Delete component k (default: the marked collapsing one): an undoable edit."""
        k = self._fix_index(k)
        if k is None:
            return False
        self._collapse_choice = None
        return self.delete_component(k)

    def fix_reseed(self, k: int | None = None) -> bool:
        """Re-seed component k (default: the marked one) at the least likely data point, with the
        data's covariance and weight 1/K: an undoable edit."""
        from emstudio.core.edits import reseed_component

        k = self._fix_index(k)
        c = self.controller
        if k is None or c.current is None:
            return False
        current, reg_covar, rng = c.current.params, c.settings.reg_covar, np.random.default_rng()
        self._collapse_choice = None
        # Finding the least likely point is a pass over all the data: the worker makes it.
        return self.apply_edit(lambda X: reseed_component(current, k, X, rng, reg_covar=reg_covar),
                               f"re-seeded component {k + 1}")

    def _show_bound(self, frame) -> None:
        c = self.controller
        self.bound_view.show_state(c.history, frame, c.index)

    def _show_status(self, frame) -> None:
        parts = []
        if frame.n_restarts > 1:
            parts.append(f"start {frame.restart + 1}/{frame.n_restarts}")
        if frame.kind == "edit":
            parts.append(f"iteration {frame.iteration}: edit — {frame.note}. Run (Space) or step to let EM go on "
                         "from here; Ctrl+Z undoes it")
        elif frame.kind == "E":
            parts.append(f"iteration {frame.iteration}: after the E-step")
        elif frame.kind == "M":
            parts.append(f"iteration {frame.iteration}: after the M-step")
        else:
            parts.append(f"iteration {frame.iteration}")
        parts.append(f"log L = {frame.log_likelihood:.6f} ({frame.mean_log_likelihood:.5f} per sample)")
        if frame.change is not None:
            parts.append(f"change {frame.change:+.3g} per sample")
        if frame.converged:
            parts.append("converged")
        self.status.setText("   ·   ".join(parts))

    def _on_state(self, state: str) -> None:
        running = state == "running"
        busy = state in ("running", "stepping")
        has_data = state != "empty"
        has_fit = bool(self.controller.history)
        for name in ("run", "step_e", "step_m", "step", "reinit", "import_start"):
            self.actions[name].setEnabled(has_data and not busy)
        self.actions["run_pause"].setEnabled(has_data and state != "stepping")
        self.actions["pause"].setEnabled(running)
        self.actions["stop"].setEnabled(running)
        for button in (self.collapse_bar.raise_button, self.collapse_bar.remove_button,
                       self.collapse_bar.reseed_button):
            button.setEnabled(has_data and state != "stepping")
        for name in ("export_params", "export_labels", "export_picture"):
            self.actions[name].setEnabled(has_data and has_fit and not running)
        for name in ("add_component", "delete_component", "freeze_component"):
            self.actions[name].setEnabled(has_data and self.controller.current is not None and state != "stepping")
        self._on_undo_changed()
        self.history_slider.setEnabled(has_fit and not running)
        self.actions["play"].setEnabled(has_fit and not running)
        self.actions["select_models"].setEnabled(has_data)
        self.controls.set_editable(not running)
        words = {"empty": "", "idle": "ready", "running": "running…", "stepping": "working…"}
        self.state_label.setText(words.get(state, state))

    def _on_outcome(self, outcome) -> None:
        self._on_state(self.controller.state)
        text = {"converged": "converged", "max-iter": "reached the most iterations without converging",
                "stopped": self._stop_word}.get(outcome.state)
        if text:
            self.state_label.setText(text)
        self._stop_word = "stopped"
        self._panels_timer.stop()
        self._refresh_panels()

    # ------------------------------------------------------------------ errors
    def show_error(self, message: str) -> None:
        first, _, details = message.partition("\n\n")
        self.banner.show_message(first)
        if details:
            self.banner.setToolTip(details)
        self.status.setText(first)

    # ------------------------------------------------------------------ exports and imports
    def _save_path(self, title, suffix_filter, default_name) -> str | None:
        start = os.path.join(self.store.value("export_dir", str(Path.home())), default_name)
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, title, start, suffix_filter)
        if path:
            self.store.setValue("export_dir", str(Path(path).resolve().parent))
        return path or None

    def _stem(self) -> str:
        return Path(self.dataset.source).stem if self.dataset else "emstudio"

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
        if path:
            self.export_picture(path)

    def _shown(self):
        c = self.controller
        if c.current is None:
            raise EmstudioError("nothing fitted yet: run EM first")
        return c.current

    def _guarded(self, what, action, background: bool = False) -> bool:
        """Do ``action()`` (a write) and say how it went. ``background``: on a background thread,
        the window staying usable (a pass over every sample of large data); True then means that
        it started, and ``export_finished(ok)`` tells when it is done."""
        if background:
            self.status.setText(f"Writing {what.split(' to ')[-1]}… the window stays usable")

            def work() -> None:
                try:
                    action()
                    error = None
                except (EmstudioError, OSError) as exc:
                    error = str(exc)
                except Exception as exc:  # noqa: BLE001 - reported in the window, never lost
                    error = f"internal error: {exc!r}"
                try:
                    self._loads.written.emit(what, error)
                except RuntimeError:
                    pass  # the window was closed meanwhile

            threading.Thread(target=work, name="emstudio-export", daemon=True).start()
            return True
        QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
        try:
            action()
        except (EmstudioError, OSError) as exc:
            self.show_error(f"Could not {what}: {exc}")
            return False
        finally:
            QtWidgets.QApplication.restoreOverrideCursor()
        self.status.setText(f"Wrote {what.split(' to ')[-1]}")
        return True

    def _written(self, what: str, error) -> None:
        if error is None:
            self.status.setText(f"Wrote {what.split(' to ')[-1]}")
        else:
            self.show_error(f"Could not {what}: {error}")
        self.export_finished.emit(error is None)

    def _large(self) -> bool:
        """Whether writing a result or labels takes a pass too long for the window's thread."""
        return self.dataset is not None and self.dataset.values.size >= BACKGROUND_WRITE_VALUES

    def export_params(self, path: str) -> bool:
        from emstudio.gui.export import result_of, write_result_file

        what = f"write the parameters to {path}"
        try:
            frame = self._shown()
        except EmstudioError as exc:
            self.show_error(f"Could not {what}: {exc}")
            return False
        # What is on screen now is what is written, even if the fit goes on meanwhile.
        c, dataset = self.controller, self.dataset
        upto = c.index if 0 <= c.index < len(c.history) else len(c.history) - 1
        history = [(f.iteration, f.log_likelihood) for f in c.history[: upto + 1]]
        converged = frame.converged or (frame is (c.history[-1] if c.history else None)
                                        and getattr(c.last_outcome, "state", "") == "converged")
        settings = c.settings

        def act():
            result = result_of(dataset.values, frame.params, settings, iteration=frame.iteration,
                               converged=bool(converged), history=history)
            write_result_file(path, dataset, result)

        return self._guarded(what, act, background=self._large())

    def export_labels(self, path: str) -> bool:
        from emstudio.gui.export import write_labels_file

        what = f"write the labels to {path}"
        try:
            params = self._shown().params
        except EmstudioError as exc:
            self.show_error(f"Could not {what}: {exc}")
            return False
        dataset = self.dataset
        return self._guarded(what, lambda: write_labels_file(path, dataset, params), background=self._large())

    def export_picture(self, path: str) -> bool:
        from emstudio.gui.export import write_picture

        return self._guarded(f"write the picture to {path}", lambda: write_picture(path, self.plot))

    def import_start_dialog(self) -> None:
        start = self.store.value("last_dir", str(Path.home()))
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Import start parameters", start,
                                                        "Result or parameter file (*.json);;All files (*)")
        if path:
            self.import_start(path)

    def import_start(self, path: str) -> bool:
        from emstudio.io.results import read_params_file

        try:
            if self.dataset is None:
                raise EmstudioError("open a data file first")
            params = read_params_file(path, self.controls.settings().covariance_type)
            if params.n_features != self.dataset.values.shape[1]:
                raise EmstudioError(f"the file has d={params.n_features} dimensions but the data has "
                                    f"{self.dataset.values.shape[1]}")
        except EmstudioError as exc:
            self.show_error(f"Could not use {os.path.basename(path)} as a start: {exc}")
            return False
        self.controls.set_file_start(params, os.path.basename(path))
        self.controller.set_settings(self.controls.settings())
        self.controller.start_from(params)
        return True

    # ------------------------------------------------------------------ layout and closing
    def _restore_layout(self) -> None:
        geometry = self.store.value("window/geometry")
        state = self.store.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        # A layout saved before the docks changed (an older EM Studio) would squeeze the new ones:
        # then the default layout instead.
        if state is None or not self.restoreState(state, LAYOUT_VERSION):
            self._needs_dock_sizes = True

    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if getattr(self, "_needs_dock_sizes", False):
            self._needs_dock_sizes = False
            self._default_dock_sizes()

    def _default_dock_sizes(self) -> None:
        self.resizeDocks([self.controls_dock, self.params_dock], [300, 440], QtCore.Qt.Orientation.Horizontal)
        self.resizeDocks([self.params_dock, self.likelihood_dock, self.bound_dock], [180, 210, 420],
                         QtCore.Qt.Orientation.Vertical)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt API
        self._play_timer.stop()
        self.store.setValue("window/geometry", self.saveGeometry())
        self.store.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self.store.sync()
        self.selection.shutdown()
        self.controller.shutdown()
        super().closeEvent(event)

    def _about(self) -> None:
        from emstudio import __version__

        QtWidgets.QMessageBox.about(self, "About EM Studio",
                                    f"EM Studio {__version__}\n\nExplore Gaussian-mixture fits made by the EM "
                                    "algorithm: watch the E- and M-steps move the components and climb the "
                                    "log-likelihood.")


def apply_settings(window: MainWindow, settings: FitSettings) -> None:
    window.controls.set_settings(settings)
    window.controller.set_settings(window.controls.settings())
