"""A factor model's loadings on the data plot: each factor of each component an arrow from μₖ to
μₖ + Λₖ[:, f] on the two columns shown (the loading's marginal there), in the component's colour,
labelled Λ1, Λ2, … at its tip. The arrow heads are drawn in screen space, turned to their shaft
whatever the axes' scales (they follow every change of the view's range)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from emstudio.core.factor import FactorParams
from emstudio.core.factor_display import arrow_segments, rotations
from emstudio.core.palette import palette
from emstudio.gui.component_items import qcolour

ARROW_Z = 12  # above the ellipses and points, under the legend


class LoadingArrows:
    """The loading arrows of one plot; ``show(None, …)`` removes them."""

    def __init__(self, plot_item: pg.PlotItem) -> None:
        self.plot_item = plot_item
        self.rotate = False  # varimax (a view option: the likelihood is the same)
        self.segments = np.empty((0, 0, 2, 2))  # (K, q, 2, 2) drawn: from μₖ to the tip
        self._shafts: list[pg.PlotDataItem] = []
        self._heads: list[pg.ArrowItem] = []
        self._labels: list[pg.TextItem] = []
        self._shape: tuple[int, int] = (0, 0)
        view_box = plot_item.getViewBox()
        view_box.sigTransformChanged.connect(self._turn_heads)
        view_box.sigResized.connect(self._turn_heads)

    def _make(self, k: int, q: int) -> None:
        for item in self._shafts + self._heads + self._labels:
            self.plot_item.removeItem(item)
        self._shafts, self._heads, self._labels = [], [], []
        colours = palette(k)
        for c in range(k):
            colour = qcolour(colours[c])
            for f in range(q):
                shaft = pg.PlotDataItem(pen=pg.mkPen(colour, width=2.6))
                head = pg.ArrowItem(headLen=13, tipAngle=32, tailLen=0, pen=pg.mkPen(colour), brush=colour)
                label = pg.TextItem(f"Λ{f + 1}" if k == 1 else f"Λ{f + 1}", color=colour, anchor=(0, 1))
                for item in (shaft, head, label):
                    item.setZValue(ARROW_Z)
                    self.plot_item.addItem(item)
                self._shafts.append(shaft)
                self._heads.append(head)
                self._labels.append(label)
        self._shape = (k, q)

    def show(self, params: FactorParams | None, axes: tuple[int, int]) -> None:
        if params is None or params.n_features < 2 or params.n_factors == 0:
            if self._shape != (0, 0):
                self._make(0, 0)
            self.segments = np.empty((0, 0, 2, 2))
            return
        k, q = params.n_components, params.n_factors
        if (k, q) != self._shape:
            self._make(k, q)
        self.segments = arrow_segments(params, axes, rotations(params, self.rotate))
        for index, (shaft, head, label) in enumerate(zip(self._shafts, self._heads, self._labels)):
            (x0, y0), (x1, y1) = self.segments[index // q, index % q]
            shaft.setData([x0, x1], [y0, y1])
            head.setPos(x1, y1)
            label.setPos(x1, y1)
        self._turn_heads()

    def _turn_heads(self, *_) -> None:
        """Each head along its shaft as the screen shows it (ArrowItem: angle 0 points left)."""
        if not self._heads:
            return
        view_box = self.plot_item.getViewBox()
        q = self._shape[1]
        for index, head in enumerate(self._heads):
            (x0, y0), (x1, y1) = self.segments[index // q, index % q]
            a = view_box.mapViewToScene(QtCore.QPointF(x0, y0))
            b = view_box.mapViewToScene(QtCore.QPointF(x1, y1))
            dx, dy = b.x() - a.x(), b.y() - a.y()
            if dx == 0 and dy == 0:
                head.setVisible(False)
                continue
            head.setVisible(True)
            head.setStyle(angle=math.degrees(math.atan2(dy, dx)) + 180.0)

    def tips(self) -> np.ndarray:
        """(K·q, 2) the arrows' tips as drawn (for tests)."""
        return self.segments[:, :, 1, :].reshape(-1, 2) if self.segments.size else np.empty((0, 2))
