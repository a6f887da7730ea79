"""The window's layout: the docks around the plot, their default sizes, and keeping the layout
(geometry and dock state) between starts."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from emstudio.gui.dock_split import LEFT, RIGHT, SIDES, DockSplit

#: The docks' layout version: raise it when docks are added or moved, so old saved layouts are set aside.
LAYOUT_VERSION = 3
#: The first window's size: this much of the screen's free area, and at least PREFERRED_SIZE where
#: the screen has room for it (a smaller screen gets all its free area).
SCREEN_SHARE = 0.85
PREFERRED_SIZE = (1440, 900)
#: Room left around a window that fills a small screen: its frame and title bar are drawn outside it.
FRAME_ALLOWANCE = (16, 40)
#: The right-hand column (parameters, log-likelihood, lower bound): this share of the width, at
#: least as wide as the parameter table reads (ParameterTable.readable_width), at most RIGHT_MAX.
RIGHT_SHARE, RIGHT_MAX = 0.35, 640
#: The right-hand docks never narrower than this many digits of their font (a curve with its axis
#: labels), however small the window: a floor, low enough that the window still fits an 800-px
#: screen; from 1024 px up the default split gives them the table's readable width.
RIGHT_MIN_DIGITS = 21


def fitted_geometry(available: QtCore.QRect, preferred=PREFERRED_SIZE) -> QtCore.QRect:
    """Where the first window goes on a screen whose free area is ``available``: a share of it,
    at least the preferred size, at most all of it (less the frame); centred in it."""
    width = min(max(preferred[0], SCREEN_SHARE * available.width()), available.width() - FRAME_ALLOWANCE[0])
    height = min(max(preferred[1], SCREEN_SHARE * available.height()), available.height() - FRAME_ALLOWANCE[1])
    rect = QtCore.QRect(0, 0, max(int(width), 1), max(int(height), 1))
    rect.moveCenter(available.center())
    return rect


class Docks:
    """Owns the docks (``window.<name>_dock``) and the saved layout."""

    def __init__(self, window) -> None:
        self.window = window
        self._needs_dock_sizes = False
        # The columns keep their share of the width when the window is resized (dock_split.py).
        self.split = DockSplit(window, self.default_widths)

    def add(self, title: str, name: str, widget, area) -> QtWidgets.QDockWidget:
        """A movable, closable, floatable dock named ``name`` (the saved layout knows it by that)."""
        dock = QtWidgets.QDockWidget(title, self.window)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.window.addDockWidget(area, dock)
        if area == RIGHT:
            # Never squeezed to a sliver where the window is small.
            digit = dock.fontMetrics().horizontalAdvance("0")
            dock.setMinimumWidth(RIGHT_MIN_DIGITS * digit)
        return dock

    def all(self) -> list[QtWidgets.QDockWidget]:
        w = self.window
        return [w.controls_dock, w.params_dock, w.likelihood_dock, w.bound_dock]

    def show_selection(self) -> None:
        """Fit ▸ Choose K and model…: the model-selection tab beside the mixture plot."""
        w = self.window
        if w.dataset is not None:
            w.stack.setCurrentIndex(1)
        w.tabs.setCurrentWidget(w.selection)

    def show_mixture(self) -> None:
        self.window.tabs.setCurrentWidget(self.window.plot_page)

    def fit_screen(self, available: QtCore.QRect | None = None) -> None:
        """Size the window to the screen it is on (``available``: that screen's free area) and lay
        the docks out for that size."""
        w = self.window
        if available is None:
            available = w.screen().availableGeometry()
        w.setGeometry(fitted_geometry(available))
        self.default_sizes()

    def restore(self) -> None:
        w = self.window
        geometry = w.store.value("window/geometry")
        state = w.store.value("window/state")
        w.setGeometry(fitted_geometry(w.screen().availableGeometry()))
        if geometry is not None:
            w.restoreGeometry(geometry)  # Qt moves a saved window onto the screen if it has to
            available = w.screen().availableGeometry()
            if w.width() > available.width() or w.height() > available.height():
                w.setGeometry(fitted_geometry(available))  # saved on a larger screen
        # A layout saved before the docks changed (an older EM Studio) would squeeze the new ones:
        # then the default layout instead.
        if state is None or not w.restoreState(state, LAYOUT_VERSION):
            self._needs_dock_sizes = True
        else:
            self.split.shares = saved_shares(w.store.value("window/dock_shares"))

    def shown(self) -> None:
        """The window is shown: the default dock sizes if no saved layout was restored, else the
        restored columns at their share of this width (the user's, if they dragged one)."""
        if self._needs_dock_sizes:
            self._needs_dock_sizes = False
            self.default_sizes()
        else:
            self.split.apply()

    def default_widths(self, width: int) -> dict[QtCore.Qt.DockWidgetArea, int]:
        """The default split of a window ``width`` wide: the controls as wide as they need, the
        right-hand column a share of the width but never narrower than its table reads (the plot
        takes the rest, and gives room down to its own minimum)."""
        w = self.window
        left = w.controls_scroll.minimumSizeHint().width()
        readable = w.table.readable_width() + w.params_dock.widget().layout().contentsMargins().left() * 2
        right = int(max(readable, min(RIGHT_SHARE * width, RIGHT_MAX)))
        return {LEFT: left, RIGHT: right}

    def default_sizes(self) -> None:
        """The default split (the user's dragged one forgotten), and the right column's height
        shared among its docks."""
        w = self.window
        self.split.reset()
        height = max(w.height() - 120, 300)
        w.resizeDocks([w.params_dock, w.likelihood_dock, w.bound_dock],
                      [int(0.25 * height), int(0.3 * height), int(0.45 * height)], QtCore.Qt.Orientation.Vertical)

    def save(self) -> None:
        w = self.window
        w.store.setValue("window/geometry", w.saveGeometry())
        w.store.setValue("window/state", w.saveState(LAYOUT_VERSION))
        shares = self.split.shares
        if shares is None:
            w.store.remove("window/dock_shares")
        else:
            w.store.setValue("window/dock_shares", " ".join(f"{shares.get(area, 0.0):.4f}" for area in SIDES))
        w.store.sync()


def saved_shares(text) -> dict[QtCore.Qt.DockWidgetArea, float] | None:
    """The user's split as save() wrote it ("left right", shares of the width; 0 where a side had
    no dock), or None (none saved, or not readable: the default split)."""
    try:
        values = [float(v) for v in str(text).split()] if text is not None else []
    except ValueError:
        return None
    if len(values) != len(SIDES) or not all(0.0 <= v < 1.0 for v in values):
        return None
    return {area: v for area, v in zip(SIDES, values) if v > 0.0} or None
