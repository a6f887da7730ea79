"""Known classes in the window: View ▸ Known classes… picks a column of known classes (a text
column the loader left out, or the column given with ``emstudio gui --classes``); the points are
shaped by class and a panel shows the confusion table, the adjusted Rand index and the
classification error of the fit on screen (core.classes, as mclust computes them), following
the fit as it moves.

The comparison needs each row's component, an n-sized computation: for small data it is made at
once, for large data on a background thread (latest state wins), so the window never waits.
"""

from __future__ import annotations

import threading

from PySide6 import QtCore, QtGui, QtWidgets

from emstudio.core.classes import ClassComparison, KnownClasses, compare_with_classes
from emstudio.core.em import predict
from emstudio.errors import DataError
from emstudio.io.loaded import known_classes
from emstudio.gui.component_items import component_colour
from emstudio.gui.views import CLASS_SYMBOLS

#: Up to this many rows the comparison is computed on the window's thread (well under a frame).
SYNC_ROWS = 20_000
#: While EM runs, the panel follows at most this often.
UPDATE_MS = 150
NO_CLASSES = "(none)"


class ClassesPanel(QtWidgets.QWidget):
    """The confusion table (classes × components 1 … K), the adjusted Rand index and the
    classification error; or a hint of how to choose classes."""

    choose_requested = QtCore.Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.summary = QtWidgets.QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QtWidgets.QTableWidget()
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("Rows: the known classes (and their point shapes); columns: the components 1 … K. "
                              "Each row of the data counts in its class's row, under its most responsible "
                              "component. The largest count of each class is bold.")
        self.choose_button = QtWidgets.QPushButton("Choose a column…")
        self.choose_button.clicked.connect(self.choose_requested)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.choose_button, 0, QtCore.Qt.AlignmentFlag.AlignLeft)
        # No wider a minimum than the panels it is tabbed with: a hidden tab's minimum still
        # widens the column it sits in (and the window that remembers its size).
        self.setMinimumWidth(60)
        self.show_hint("No known classes. Choose a text column of the data (a species, a diagnosis) to "
                       "compare the fit with it.")

    def show_hint(self, text: str) -> None:
        self.summary.setText(text)
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.table.hide()

    def show_comparison(self, comparison: ClassComparison, note: str = "") -> None:
        """Show ``comparison``; ``note`` says which state of the fit it is of."""
        table = comparison.table
        n_classes, k = table.shape
        self.table.show()
        self.table.setRowCount(n_classes)
        self.table.setColumnCount(k)
        for j in range(k):
            head = QtWidgets.QTableWidgetItem(str(j + 1))
            head.setIcon(_swatch(component_colour(j, k)))
            head.setToolTip(f"Component {j + 1}")
            self.table.setHorizontalHeaderItem(j, head)
        bold = QtGui.QFont()
        bold.setBold(True)
        for i, name in enumerate(comparison.class_names):
            head = QtWidgets.QTableWidgetItem(f"{CLASS_SYMBOL_GLYPHS[i % len(CLASS_SYMBOL_GLYPHS)]} {name}")
            head.setToolTip(f"class {name}: {int(table[i].sum())} rows")
            self.table.setVerticalHeaderItem(i, head)
            top = int(table[i].argmax()) if table[i].sum() else -1
            for j in range(k):
                item = QtWidgets.QTableWidgetItem(str(int(table[i, j])))
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                if j == top:
                    item.setFont(bold)
                self.table.setItem(i, j, item)
        self.summary.setText(summary_html(comparison, note))


def summary_html(comparison: ClassComparison, note: str = "") -> str:
    """The comparison's numbers in a sentence or two (rich text)."""
    wrong = comparison.misclassified.size
    parts = [f"Known classes: <b>{_escape(comparison.column)}</b>"
             f"{' — ' + _escape(note) if note else ''}<br>"
             f"Adjusted Rand index <b>{_number(comparison.ari)}</b> · classification error "
             f"<b>{_number(comparison.error)}</b> ({wrong} of {comparison.n_compared} rows)"]
    if comparison.n_without_class:
        parts.append(f"<br>{comparison.n_without_class} rows without a class are not compared")
    return "".join(parts)


def _number(value: float) -> str:
    return "—" if value != value else f"{value:.4f}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _swatch(colour: QtGui.QColor) -> QtGui.QIcon:
    pixmap = QtGui.QPixmap(10, 10)
    pixmap.fill(colour)
    return QtGui.QIcon(pixmap)


# Text glyphs that look like CLASS_SYMBOLS' shapes, for the table's row headers.
CLASS_SYMBOL_GLYPHS = ("●", "■", "▼", "◆", "★", "▲", "⬟", "⬢", "▶", "◀", "+", "×")
assert len(CLASS_SYMBOL_GLYPHS) == len(CLASS_SYMBOLS)


class KnownClassesLink(QtCore.QObject):
    """Keeps the panel and the plot's point shapes in step with the data, the chosen classes and
    the fit on screen. Talks to the window only through its controller's signals, its plot and
    its menus."""

    _computed = QtCore.Signal(int, object)  # generation, ClassComparison (from a background thread)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.controller = window.controller
        self.plot = window.plot
        self.panel = ClassesPanel()
        self.panel.choose_requested.connect(self.choose_dialog)
        self.dock = QtWidgets.QDockWidget("Known classes", window)
        self.dock.setObjectName("known_classes")
        self.dock.setWidget(self.panel)
        self.dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                              | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable
                              | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()
        self._tabbed = False
        self.action = QtGui.QAction("Known &classes…", window)
        self.action.setToolTip("Choose a column of known classes: points shaped by class, and the fit compared "
                               "with them (confusion table, adjusted Rand index, classification error)")
        self.action.triggered.connect(self.choose_dialog)
        self.classes: KnownClasses | None = None
        self.comparison: ClassComparison | None = None
        self._params = None
        self._note = ""
        self._generation = 0
        self._busy = False
        self._again = False
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(UPDATE_MS)
        self._timer.timeout.connect(self._update)
        self._computed.connect(self._show_computed, QtCore.Qt.ConnectionType.QueuedConnection)
        self.controller.data_changed.connect(self._on_data)
        # Queued as well: the window draws the new data after the controller has it; the shapes
        # go on the points once they are drawn.
        self.controller.data_changed.connect(self._shape_points, QtCore.Qt.ConnectionType.QueuedConnection)
        self.controller.display.connect(self._on_display)

    # ------------------------------------------------------------------ choosing
    def columns(self) -> list[str]:
        """The columns that can be chosen: the data's left-out text columns, and the classes it
        was opened with."""
        dataset = self.controller.data
        if dataset is None:
            return []
        names = list(dataset.text_columns)
        if dataset.classes is not None and dataset.classes.column not in names:
            names.insert(0, dataset.classes.column)
        return names

    def choose_dialog(self) -> None:
        names = self.columns()
        if not names:
            QtWidgets.QMessageBox.information(
                self.window, "Known classes",
                "This data has no text column to use as known classes.\n\nA column of integers can be "
                "chosen when opening the file: emstudio gui DATA --classes COLUMN.")
            return
        items = [NO_CLASSES] + names
        current = items.index(self.classes.column) if self.classes is not None and self.classes.column in items else 0
        name, ok = QtWidgets.QInputDialog.getItem(self.window, "Known classes",
                                                  "Column of known classes (points are shaped by class):",
                                                  items, current, False)
        if ok:
            self.choose(None if name == NO_CLASSES else name)

    def choose(self, column: str | None) -> bool:
        """Use ``column`` (None: no classes); False with a message when it cannot be."""
        dataset = self.controller.data
        if column is None or dataset is None:
            self._set_classes(None)
            return column is None
        if dataset.classes is not None and column == dataset.classes.column:
            known = dataset.classes
        elif column in dataset.text_columns:
            try:
                known = known_classes(column, dataset.text_columns[column])
            except DataError as exc:
                self.controller.error.emit(f"Cannot use it as known classes: {exc}")
                return False
        else:
            self.controller.error.emit(f"No text column {column!r} in this data")
            return False
        self._set_classes(known)
        self._show_dock()
        return True

    def _show_dock(self) -> None:
        """Show the panel: the first time as a tab beside the lower bound panel (a table of
        classes needs height, which the right column has none to spare of). Tabbed only when
        shown: a dock area's tab bar stays even when the tab is hidden, and takes width."""
        if not self._tabbed and not self.dock.isFloating():
            self._tabbed = True
            beside = next((d for d in self.window.findChildren(QtWidgets.QDockWidget)
                           if d.objectName() == "bound" and d.isVisible()), None)
            if beside is not None:
                self.window.tabifyDockWidget(beside, self.dock)
        self.dock.show()
        self.dock.raise_()

    def _set_classes(self, known: KnownClasses | None) -> None:
        self.classes = known
        self.comparison = None
        self.plot.set_class_symbols(None if known is None else known.codes)
        self._generation += 1
        if known is None:
            self.panel.show_hint("No known classes. Choose a text column of the data (a species, a diagnosis) "
                                 "to compare the fit with it.")
            return
        self._update()

    # ------------------------------------------------------------------ following the data and the fit
    def _on_data(self, dataset) -> None:
        self._params = None
        self._set_classes(dataset.classes if dataset is not None else None)
        if dataset is not None and dataset.classes is not None:
            self._show_dock()

    def _shape_points(self, _dataset=None) -> None:
        self.plot.set_class_symbols(None if self.classes is None else self.classes.codes)

    def _on_display(self, frame, _colours) -> None:
        self._params = frame.params
        self._note = _describe(frame)
        if self.classes is not None and not self._timer.isActive():
            self._timer.start()

    def _update(self) -> None:
        """Compare the fit on screen with the classes: at once for small data, else on a
        background thread (one at a time; the newest state is computed next)."""
        known, params, dataset = self.classes, self._params, self.controller.data
        if known is None:
            return
        if params is None or dataset is None:
            self.panel.show_hint(f"Known classes: <b>{_escape(known.column)}</b> ({len(known.names)} classes). "
                                 "Run or step EM to compare the fit with them.")
            return
        values = dataset.values
        if values.shape[0] != known.codes.shape[0]:
            return
        if values.shape[0] <= SYNC_ROWS:
            self._show(compare_with_classes(known, predict(values, params), params.n_components))
            return
        if self._busy:
            self._again = True
            return
        self._busy = True
        generation = self._generation

        def work() -> None:
            result = compare_with_classes(known, predict(values, params), params.n_components)
            try:
                self._computed.emit(generation, result)
            except RuntimeError:
                pass  # the window was closed meanwhile

        threading.Thread(target=work, name="emstudio-classes", daemon=True).start()

    def _show_computed(self, generation: int, comparison: ClassComparison) -> None:
        self._busy = False
        if generation == self._generation:
            self._show(comparison)
        if self._again:
            self._again = False
            self._update()

    def _show(self, comparison: ClassComparison) -> None:
        self.comparison = comparison
        self.panel.show_comparison(comparison, self._note)


def _describe(frame) -> str:
    if frame.kind == "edit":
        return "the state edited by hand"
    if frame.kind == "start":
        return "the start"
    return f"iteration {frame.iteration}"


def install(window) -> KnownClassesLink:
    """Known classes in ``window``: the panel (a dock), View ▸ Known classes… and the point shapes."""
    link = KnownClassesLink(window)
    view_menu = next((m for m in window.menuBar().findChildren(QtWidgets.QMenu)
                      if m.title().replace("&", "") == "View"), None)
    if view_menu is not None:
        view_menu.addSeparator()
        view_menu.addAction(link.action)
        view_menu.addAction(link.dock.toggleViewAction())
    return link
