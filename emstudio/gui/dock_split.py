"""The side columns of docks keep their share of the window's width when the window is resized.

QMainWindow gives the whole of a resize to the central widget: a window opened 1024 wide and then
enlarged kept its docks at their small width. DockSplit lays the columns out again at every change
of the window's width: the default split (the layout's ``default_widths``), or, once the user has
dragged a separator between the columns and the plot, the user's proportions.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

LEFT, RIGHT = QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, QtCore.Qt.DockWidgetArea.RightDockWidgetArea
SIDES = (LEFT, RIGHT)


class DockSplit(QtCore.QObject):
    """Watches ``window`` (a QMainWindow): its resizes and the mouse on its separators.

    ``default_widths(window_width)`` → {area: width in pixels} of the default split. ``shares`` is
    None while the default split holds, else {area: share of the window's width} of the columns
    the user has resized (the others keep their default width)."""

    def __init__(self, window: QtWidgets.QMainWindow,
                 default_widths: Callable[[int], dict[QtCore.Qt.DockWidgetArea, int]]) -> None:
        super().__init__(window)
        self.window = window
        self.default_widths = default_widths
        self.shares: dict[QtCore.Qt.DockWidgetArea, float] | None = None
        self._pressed: dict[QtCore.Qt.DockWidgetArea, int] | None = None  # widths at a press on a separator
        window.installEventFilter(self)

    def column(self, area: QtCore.Qt.DockWidgetArea) -> QtWidgets.QDockWidget | None:
        """A dock of the column along ``area``, shown and docked (the widest, where the user has put
        docks side by side); None where there is none."""
        w = self.window
        docks = [d for d in w.findChildren(QtWidgets.QDockWidget)
                 if d.isVisibleTo(w) and not d.isFloating() and w.dockWidgetArea(d) == area]
        return max(docks, key=lambda d: d.width(), default=None)

    def widths(self) -> dict[QtCore.Qt.DockWidgetArea, int]:
        """The columns' widths now, by area (sides without a docked dock left out)."""
        return {area: dock.width() for area in SIDES if (dock := self.column(area)) is not None}

    def targets(self) -> dict[QtCore.Qt.DockWidgetArea, int]:
        """The columns' widths for the window's width: the user's shares, or the default split."""
        width = self.window.width()
        targets = self.default_widths(width)
        targets.update({area: round(share * width) for area, share in (self.shares or {}).items()})
        return targets

    def apply(self) -> None:
        """Lay the columns out at their target widths (Qt keeps the plot at its minimum width)."""
        docks, sizes = [], []
        for area, width in self.targets().items():
            dock = self.column(area)
            if dock is not None:
                docks.append(dock)
                sizes.append(int(width))
        if docks:
            self.window.resizeDocks(docks, sizes, QtCore.Qt.Orientation.Horizontal)

    def keep_current(self, areas=SIDES) -> None:
        """The widths on screen of the columns along ``areas`` become the user's shares, kept."""
        width = max(self.window.width(), 1)
        shares = dict(self.shares or {})
        shares.update({area: column / width for area, column in self.widths().items() if area in areas})
        self.shares = shares or None

    def reset(self) -> None:
        """Back to the default split."""
        self.shares = None
        self.apply()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        if watched is self.window:
            kind = event.type()
            if kind == QtCore.QEvent.Type.Resize:
                # Before the window's layout sees the new size: the columns are set, then the plot
                # takes what is left. Only once shown (the first layout is the Docks' own).
                if self.window.isVisible() and event.size().width() != event.oldSize().width():
                    self.apply()
            elif kind == QtCore.QEvent.Type.MouseButtonPress:
                # A press on the window itself, not on any child: on a separator between docks.
                on_self = self.window.childAt(event.position().toPoint()) is None
                left_button = event.button() == QtCore.Qt.MouseButton.LeftButton
                self._pressed = self.widths() if on_self and left_button else None
            elif kind == QtCore.QEvent.Type.MouseButtonRelease and self._pressed is not None:
                before, self._pressed = self._pressed, None
                # After QMainWindow has ended the separator's move.
                QtCore.QTimer.singleShot(0, self, lambda: self._released(before))
        return False

    def _released(self, before: dict[QtCore.Qt.DockWidgetArea, int]) -> None:
        """A separator dragged by hand: the columns it moved keep the user's share of the width."""
        after = self.widths()
        moved = [area for area, width in after.items() if before.get(area) != width]
        if moved:
            self.keep_current(moved)
