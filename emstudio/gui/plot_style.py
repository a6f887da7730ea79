"""The look every plot of the window shares: white background, light grid, dark axes, no
pyqtgraph "A" button, and no axis numbers while a plot is empty."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtGui

from emstudio.gui.hover import INK

GRID_ALPHA = 0.12
MAX_DOTS = 400  # the log-likelihood curve marks each iteration up to this many

__all__ = ["GRID_ALPHA", "INK", "MAX_DOTS", "_style_plot", "show_axis_values", "style_plot"]


def _style_plot(plot: pg.PlotItem) -> None:
    plot.showGrid(x=True, y=True, alpha=GRID_ALPHA)
    font = QtGui.QFont()
    font.setPointSize(9)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(INK))
        axis.setTextPen(pg.mkPen(INK))
        axis.setTickFont(font)
        axis.enableAutoSIPrefix(False)
    plot.getViewBox().setBackgroundColor("w")
    plot.hideButtons()  # pyqtgraph's "A" (auto-range) button: the plots range themselves


def show_axis_values(plot: pg.PlotItem, shown: bool) -> None:
    """The axes' numbers, or none while a plot is empty (an empty plot has no 0–1 to show)."""
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        if axis.style["showValues"] != shown:
            axis.setStyle(showValues=shown)


style_plot = _style_plot
