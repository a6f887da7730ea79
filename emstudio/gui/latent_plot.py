"""The latent space of a factor model: the posterior means E[z | x] of the data's rows, with the
posterior covariance V (the same for every row) and the prior N(0, I) beside it. q = 1: a
histogram of the means, the prior's density and ±√V; q ≥ 2: two chosen factors as a scatter, V's
1σ ellipse around the origin and the prior's unit circle."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from emstudio.core.bins import histogram_bins
from emstudio.core.geometry import ellipse_points, histogram
from emstudio.gui.hover import INK
from emstudio.gui.plot_style import _style_plot, show_axis_values

PRIOR_GREY = (130, 130, 135)
V_COLOUR = "#d62728"


class LatentPlot(pg.PlotWidget):
    """E[z | x] of the drawn rows on factors ``pair`` (q ≥ 2) or the one factor (q = 1)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="w")
        self.plot_item = self.getPlotItem()
        _style_plot(self.plot_item)
        self.plot_item.setMenuEnabled(False)
        self.points = pg.ScatterPlotItem(size=6, pen=None)
        self.hist = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=pg.mkBrush(170, 190, 215, 170),
                                    pen=pg.mkPen(120, 140, 170, width=1))
        self.prior = pg.PlotDataItem(pen=pg.mkPen(PRIOR_GREY, width=1.5, style=QtCore.Qt.PenStyle.DashLine))
        self.v_curve = pg.PlotDataItem(pen=pg.mkPen(V_COLOUR, width=2.2))
        for z, item in enumerate((self.hist, self.points, self.prior, self.v_curve)):
            item.setZValue(z)
            self.plot_item.addItem(item)
        # What the curves are, in a label above the plot (never over the points).
        self.note = QtWidgets.QLabel()
        self.note.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.note.setWordWrap(True)
        self.v = np.zeros((0, 0))  # the posterior covariance drawn
        self.means = np.zeros((0, 0))  # the posterior means drawn
        show_axis_values(self.plot_item, False)
        self.setMinimumHeight(180)

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt API
        return QtCore.QSize(360, 260)

    def clear_state(self) -> None:
        for item in (self.points, self.hist, self.prior, self.v_curve):
            item.setData([], [])
        self.note.setText("")
        show_axis_values(self.plot_item, False)

    def show_state(self, means: np.ndarray, v: np.ndarray, pair: tuple[int, int], brush=None) -> None:
        """``means`` (m, q) and V (q, q); ``pair``: the two factors shown (q ≥ 2); ``brush``: the
        points' brush (one, or one per point)."""
        self.means, self.v = means, v
        q = means.shape[1]
        show_axis_values(self.plot_item, True)
        if q == 1:
            self._one(means[:, 0], float(v[0, 0]))
        else:
            self._two(means[:, list(pair)], v[np.ix_(pair, pair)], pair, brush)

    def _one(self, z: np.ndarray, v: float) -> None:
        self.points.setData([], [])
        top = 1 / np.sqrt(2 * np.pi)
        if z.size:
            edges, heights = histogram(z, bins=histogram_bins(z, None))  # Freedman–Diaconis, as the 1-D plot
            self.hist.setData(edges, heights)
            top = max(top, float(heights.max()))
        top *= 1.08
        grid = np.linspace(-4, 4, 241)
        self.prior.setData(grid, np.exp(-0.5 * grid ** 2) / np.sqrt(2 * np.pi))
        sd = np.sqrt(max(v, 0.0))
        tick = 0.04 * top
        self.v_curve.setData([-sd, -sd, sd, sd], [top - tick, top, top, top - tick], connect="all")
        self.plot_item.getViewBox().setAspectLocked(False)
        self.plot_item.setLabel("bottom", "E[z | x]  (factor 1)", color=INK)
        self.plot_item.setLabel("left", "density", color=INK)
        self.note.setText(f"<span style='color:{V_COLOUR}'>━</span> ±√V, V = {v:.3g}: every row's posterior "
                          f"variance &nbsp; <span style='color:#828287'>┅</span> the prior N(0, 1)")
        self.plot_item.enableAutoRange()

    def _two(self, z: np.ndarray, v: np.ndarray, pair, brush) -> None:
        self.hist.setData([], [])
        self.points.setData(pos=z, brush=brush if brush is not None else pg.mkBrush(60, 90, 140, 170))
        circle = ellipse_points(np.zeros(2), np.eye(2), 1.0, 96)
        self.prior.setData(circle[:, 0], circle[:, 1])
        ellipse = ellipse_points(np.zeros(2), v, 1.0, 96)
        self.v_curve.setData(ellipse[:, 0], ellipse[:, 1])
        a, b = pair
        self.plot_item.setLabel("bottom", f"E[z{a + 1} | x]", color=INK)
        self.plot_item.setLabel("left", f"E[z{b + 1} | x]", color=INK)
        self.note.setText(f"<span style='color:{V_COLOUR}'>━</span> V, the posterior covariance of every row "
                          "(1σ, about the origin) &nbsp; <span style='color:#828287'>┅</span> the prior N(0, I) (1σ)")
        self.plot_item.enableAutoRange()
        self.plot_item.getViewBox().setAspectLocked(True, 1.0)

    def brush_of(self, rgb) -> QtGui.QBrush:
        return pg.mkBrush(int(rgb[0]), int(rgb[1]), int(rgb[2]), 190)
