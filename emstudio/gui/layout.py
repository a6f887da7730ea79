"""The window's layout: the docks around the plot, their default sizes, and keeping the layout
(geometry and dock state) between starts."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

#: The docks' layout version: raise it when docks are added or moved, so old saved layouts are set aside.
LAYOUT_VERSION = 2


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
        return [w.controls_dock, w.params_dock, w.likelihood_dock, w.bound_dock, w.selection_dock]

    def show_selection(self) -> None:
        """Fit ▸ Choose K and model…: show the model-selection panel."""
        self.window.selection_dock.show()
        self.window.selection_dock.raise_()

    def restore(self) -> None:
        w = self.window
        geometry = w.store.value("window/geometry")
        state = w.store.value("window/state")
        if geometry is not None:
            w.restoreGeometry(geometry)
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
        w = self.window
        w.resizeDocks([w.controls_dock, w.params_dock], [300, 440], QtCore.Qt.Orientation.Horizontal)
        w.resizeDocks([w.params_dock, w.likelihood_dock, w.bound_dock], [180, 210, 420],
                      QtCore.Qt.Orientation.Vertical)

    def save(self) -> None:
        w = self.window
        w.store.setValue("window/geometry", w.saveGeometry())
        w.store.setValue("window/state", w.saveState(LAYOUT_VERSION))
        w.store.sync()
