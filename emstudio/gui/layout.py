"""The window's layout: the docks around the plot, their default sizes, and keeping the layout
(geometry and dock state) between starts."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

#: The docks' layout version: raise it when docks are added or moved, so old saved layouts are set aside.
LAYOUT_VERSION = 3
#: The first window's size: this much of the screen's free area, and at least PREFERRED_SIZE where
#: the screen has room for it (a smaller screen gets all its free area).
SCREEN_SHARE = 0.85
PREFERRED_SIZE = (1440, 900)
#: Room left around a window that fills a small screen: its frame and title bar are drawn outside it.
FRAME_ALLOWANCE = (16, 40)
#: The right-hand column (parameters, log-likelihood, lower bound): this share of the width,
#: within these bounds in pixels.
RIGHT_SHARE, RIGHT_WIDTH = 0.3, (300, 620)


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

    def add(self, title: str, name: str, widget, area) -> QtWidgets.QDockWidget:
        """A movable, closable, floatable dock named ``name`` (the saved layout knows it by that)."""
        dock = QtWidgets.QDockWidget(title, self.window)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.window.addDockWidget(area, dock)
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

    def shown(self) -> None:
        """The window is shown: the default dock sizes if no saved layout was restored."""
        if self._needs_dock_sizes:
            self._needs_dock_sizes = False
            self.default_sizes()

    def default_sizes(self) -> None:
        """The controls as wide as they need, the right-hand column a share of the width (the
        plot takes the rest), and the right column's height shared among its docks."""
        w = self.window
        left = w.controls_scroll.minimumSizeHint().width()
        right = int(min(max(RIGHT_SHARE * w.width(), RIGHT_WIDTH[0]), RIGHT_WIDTH[1]))
        w.resizeDocks([w.controls_dock, w.params_dock], [left, right], QtCore.Qt.Orientation.Horizontal)
        height = max(w.height() - 120, 300)
        w.resizeDocks([w.params_dock, w.likelihood_dock, w.bound_dock],
                      [int(0.25 * height), int(0.3 * height), int(0.45 * height)], QtCore.Qt.Orientation.Vertical)

    def save(self) -> None:
        w = self.window
        w.store.setValue("window/geometry", w.saveGeometry())
        w.store.setValue("window/state", w.saveState(LAYOUT_VERSION))
        w.store.sync()
