"""The Log-likelihood panel: log L over the iterations of the history, every restart's curve, the
hand edits, and a marker at the state on screen."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from emstudio.gui.plot_style import INK, MAX_DOTS, _style_plot, show_axis_values
from emstudio.gui.worker import RestartCurves


class LikelihoodPlot(pg.PlotWidget):
    """log L over the iterations of the history, with a marker at the state on screen."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="w")
        self.plot_item = self.getPlotItem()
        _style_plot(self.plot_item)
        self.plot_item.setMenuEnabled(False)
        self.plot_item.setLabel("bottom", "iteration", color=INK)
        self.plot_item.setLabel("left", "log L / n  (per sample)", color=INK)
        self.curve = pg.PlotDataItem(pen=pg.mkPen("#1f77b4", width=2), symbol="o", symbolSize=4,
                                     symbolBrush="#1f77b4", symbolPen=None)
        self.marker = pg.ScatterPlotItem(size=11, brush=pg.mkBrush("#d62728"), pen=pg.mkPen("w", width=1.5))
        self.line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#d62728", width=1, style=QtCore.Qt.PenStyle.DotLine))
        # The other restarts of a run with restarts: one item each kind, curves broken by NaN.
        self.others = pg.PlotDataItem(connect="finite", pen=pg.mkPen(150, 150, 155, width=1.3))
        self.collapsed = pg.PlotDataItem(connect="finite", pen=pg.mkPen("#d62728", width=1.2,
                                                                       style=QtCore.Qt.PenStyle.DashLine))
        # Hand edits: an open orange diamond where the history was changed by hand.
        self.edits = pg.ScatterPlotItem(size=11, symbol="d", brush=None, pen=pg.mkPen("#e07b00", width=2))
        for z, item in enumerate((self.others, self.collapsed, self.curve, self.edits, self.line, self.marker)):
            item.setZValue(z)
            self.plot_item.addItem(item)
        self.line.setVisible(False)
        self.legend = pg.LegendItem(offset=(-10, -10), labelTextColor=INK, labelTextSize="8pt",
                                    brush=pg.mkBrush(255, 255, 255, 220), pen=pg.mkPen(200, 200, 200))
        self.legend.setParentItem(self.plot_item.getViewBox())
        self.legend.setVisible(False)
        show_axis_values(self.plot_item, False)  # empty until there is a fit
        self.setMinimumHeight(140)

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt API
        return QtCore.QSize(440, 460)

    def show_restarts(self, restarts: RestartCurves | None) -> None:
        """Every restart's curve beside the kept one (None: only the kept history)."""
        self.legend.clear()
        groups: dict[bool, list[np.ndarray]] = {False: [], True: []}
        if restarts is not None and len(restarts.curves) > 1:
            for r, (x, y) in enumerate(restarts.curves):
                if r != restarts.kept and len(x):
                    groups[bool(restarts.degenerate[r])].append(np.column_stack([x, y]))
        for item, parts in ((self.others, groups[False]), (self.collapsed, groups[True])):
            if parts:
                gap = np.full((1, 2), np.nan)
                joined = np.vstack([p for part in parts for p in (part, gap)][:-1])
                item.setData(joined[:, 0], joined[:, 1])
            else:
                item.setData([], [])
        shown = restarts is not None and len(restarts.curves) > 1
        if shown:
            self.legend.addItem(self.curve, f"restart {restarts.kept + 1} (kept)")
            if groups[False]:
                self.legend.addItem(self.others, "other restarts")
            if groups[True]:
                self.legend.addItem(self.collapsed, "collapsed restarts")
        self.legend.setVisible(shown)

    def show_history(self, iterations: np.ndarray, log_l: np.ndarray, current: tuple[float, float] | None,
                     edited: np.ndarray | None = None) -> None:
        """The curve; ``edited`` (m,) bool marks the entries made by hand."""
        # A dot per iteration while they can be told apart; thousands of dots cost a run's frames.
        dots = "o" if len(iterations) <= MAX_DOTS else None
        if self.curve.opts["symbol"] != dots:
            self.curve.setSymbol(dots)
        show_axis_values(self.plot_item, len(iterations) > 0)
        self.curve.setData(iterations, log_l)
        if edited is not None and np.any(edited):
            self.edits.setData(iterations[edited], log_l[edited])
        else:
            self.edits.setData([], [])
        if current is None:
            self.marker.setData([], [])
            self.line.setVisible(False)
        else:
            self.marker.setData([current[0]], [current[1]])
            self.line.setVisible(True)
            self.line.setValue(current[0])
