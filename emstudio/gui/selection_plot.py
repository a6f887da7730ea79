"""The model-selection plot: the criterion against K, one line per covariance type (any of mclust's
fourteen: each its own colour and marker, as mclust's BIC plot has them)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from emstudio.core.params import ALL_COVARIANCE_TYPES
from emstudio.core.selection import Cell
from emstudio.gui.plot_style import INK, _style_plot, show_axis_values

#: (colour, pyqtgraph marker, the marker as text for the legend) of each covariance model; no red
#: (red marks degenerate cells and the chosen one).
TYPE_STYLES = {
    "full": ("#1f77b4", "o", "●"), "tied": ("#ff7f0e", "s", "■"), "diag": ("#2ca02c", "t", "▼"),
    "spherical": ("#9467bd", "d", "◆"), "EII": ("#8c564b", "h", "⬢"), "EEI": ("#e377c2", "p", "⬟"),
    "VEI": ("#7f7f7f", "t1", "▲"), "EVI": ("#bcbd22", "t2", "▶"), "VEE": ("#17becf", "t3", "◀"),
    "EVE": ("#393b79", "star", "★"), "VVE": ("#637939", "+", "✚"), "EEV": ("#8c6d31", "arrow_up", "↑"),
    "VEV": ("#843c39", "arrow_down", "↓"), "EVV": ("#5254a3", "arrow_left", "←"),
}
TYPE_COLOURS = {t: style[0] for t, style in TYPE_STYLES.items()}
TYPE_SYMBOLS = {t: style[1] for t, style in TYPE_STYLES.items()}
TYPE_GLYPHS = {t: style[2] for t, style in TYPE_STYLES.items()}
#: mclust's names of scikit-learn's four (the legend says both).
MCLUST_NAMES = {"full": "VVV", "tied": "EEE", "diag": "VVI", "spherical": "VII"}
DEGENERATE_COLOUR = "#d62728"
#: Each covariance type's points sit this far (in K) beside the others at the same K, so that
#: each can be seen and clicked where the criteria are nearly equal; with many types they share
#: TYPE_BAND of the space between two Ks.
TYPE_SPREAD = 0.09
TYPE_BAND = 0.7


def type_name(covariance_type: str) -> str:
    """How the plot and the panel name a type: mclust's name, with scikit-learn's beside it."""
    mclust = MCLUST_NAMES.get(covariance_type)
    return f"{mclust} {covariance_type}" if mclust else covariance_type


def legend_html(types=ALL_COVARIANCE_TYPES[:4]) -> str:
    """The covariance types in their colours and markers, rich text that wraps between entries."""
    return " &nbsp; ".join(f"<span style='color:{TYPE_COLOURS[t]}'>{TYPE_GLYPHS[t]}&nbsp;"
                           f"{type_name(t).replace(' ', '&nbsp;')}</span>" for t in types)


def type_offset(covariance_type: str, types=ALL_COVARIANCE_TYPES[:4]) -> float:
    """Where ``covariance_type``'s points sit beside K: the ``types`` drawn side by side, centred on K."""
    order = [t for t in ALL_COVARIANCE_TYPES if t in types] or [covariance_type]
    i = order.index(covariance_type) if covariance_type in order else 0
    spread = min(TYPE_SPREAD, TYPE_BAND / max(len(order), 1))
    return (i - (len(order) - 1) / 2) * spread


class SelectionPlot(pg.PlotWidget):
    """The criterion against K: one line per covariance type, degenerate cells as a red ×, the
    chosen cell ringed. Clicking a point emits its cell."""

    cell_clicked = QtCore.Signal(object)  # Cell

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="w")
        self.plot_item = self.getPlotItem()
        _style_plot(self.plot_item)
        self.plot_item.setMenuEnabled(False)
        self.plot_item.setLabel("bottom", "K (components)", color=INK)
        self.lines: dict[str, pg.PlotDataItem] = {}
        for name in ALL_COVARIANCE_TYPES:
            colour = TYPE_COLOURS[name]
            line = pg.PlotDataItem(connect="finite", pen=pg.mkPen(colour, width=2))
            self.lines[name] = line
            self.plot_item.addItem(line)
        # The points, one clickable item for all cells (their Cell is each point's data).
        self.points = pg.ScatterPlotItem(size=10, pxMode=True, hoverable=True, tip=self._tip)
        self.points.setZValue(5)
        self.points.sigClicked.connect(self._on_click)
        self.plot_item.addItem(self.points)
        self.degenerate = pg.ScatterPlotItem(size=14, symbol="x", pen=None, brush=pg.mkBrush(DEGENERATE_COLOUR))
        self.degenerate.setZValue(6)
        self.plot_item.addItem(self.degenerate)
        self.chosen = pg.ScatterPlotItem(size=22, symbol="o", brush=None, pen=pg.mkPen("#d62728", width=2.5))
        self.chosen.setZValue(4)
        self.plot_item.addItem(self.chosen)
        self.selected = pg.ScatterPlotItem(size=28, symbol="s", brush=None,
                                           pen=pg.mkPen(INK, width=1.2, style=QtCore.Qt.PenStyle.DashLine))
        self.selected.setZValue(3)
        self.plot_item.addItem(self.selected)
        self.cells: list[Cell] = []
        self.types: tuple[str, ...] = ()  # the covariance types of the cells shown
        self.criterion = "bic"
        # No tooltip over the whole plot (it would cover the points): each point has its own, and
        # the panel says how to read the plot under it.
        show_axis_values(self.plot_item, False)
        self.setMinimumHeight(160)

    def _tip(self, x, y, data) -> str:
        cell = data
        text = f"{type_name(cell.covariance_type)}, K = {cell.k}\n{self.criterion.upper()} = {y:.6g}"
        if cell.degenerate:
            text += "\ndegenerate: every restart collapsed"
        elif cell.n_collapsed:
            text += f"\n{cell.n_collapsed} of {cell.n_restarts} restarts collapsed"
        return text + "\nclick to load this fit"

    def show_cells(self, cells, criterion: str, best: Cell | None, selected: Cell | None = None) -> None:
        self.cells = list(cells)
        self.types = tuple(t for t in ALL_COVARIANCE_TYPES if any(c.covariance_type == t for c in self.cells))
        self.criterion = criterion
        self.plot_item.setLabel("left", f"{criterion.upper()}  (lower is better)", color=INK)
        spots = []
        bad_x, bad_y = [], []
        for name in ALL_COVARIANCE_TYPES:
            own = sorted((c for c in self.cells if c.covariance_type == name and c.result is not None),
                         key=lambda c: c.k)
            line = self.lines[name]
            if not own:
                line.setData([], [])
                continue
            ks = np.array([c.k for c in own], dtype=float) + type_offset(name, self.types)
            values = np.array([c.criterion(criterion) for c in own])
            healthy = np.array([not c.degenerate for c in own])
            line.setData(ks, np.where(healthy, values, np.nan))
            colour = TYPE_COLOURS[name]
            for cell, x, y, ok in zip(own, ks, values, healthy):
                spots.append({"pos": (x, y), "data": cell, "symbol": TYPE_SYMBOLS[name],
                              "brush": pg.mkBrush(colour) if ok else pg.mkBrush(255, 255, 255, 0),
                              "pen": pg.mkPen("w" if ok else colour, width=1)})
                if not ok:
                    bad_x.append(x)
                    bad_y.append(y)
        self.points.setData(spots)
        show_axis_values(self.plot_item, bool(spots))
        self.degenerate.setData(bad_x, bad_y)
        self._mark(self.chosen, best)
        self._mark(self.selected, selected)
        if self.cells:
            ks = sorted({c.k for c in self.cells})
            self.plot_item.getAxis("bottom").setTicks([[(k, str(k)) for k in ks]])
        self.plot_item.enableAutoRange()

    def _mark(self, item: pg.ScatterPlotItem, cell: Cell | None) -> None:
        if cell is None or cell.result is None:
            item.setData([], [])
        else:
            item.setData([cell.k + type_offset(cell.covariance_type, self.types)], [cell.criterion(self.criterion)])

    def point_of(self, cell: Cell) -> QtCore.QPoint:
        """Where ``cell``'s point is drawn, in this widget's coordinates (for tests and tours)."""
        x = cell.k + type_offset(cell.covariance_type, self.types)
        scene = self.plot_item.getViewBox().mapViewToScene(QtCore.QPointF(x, cell.criterion(self.criterion)))
        return self.mapFromScene(scene)

    def _on_click(self, _item, points, *_) -> None:
        if len(points):
            self.cell_clicked.emit(points[0].data())
