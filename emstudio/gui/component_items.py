"""Each component drawn in its own colour: its 1σ ellipse (solid), 2σ ellipse (lighter, dashed),
mean marker, number, 1-D density curve and collapse ring; the mixture density in a neutral dark
grey; and a legend with one entry per component that stays off the data.

Items are made when K changes and otherwise only ``setData``-ed (a run redraws 60 times a
second). Colours come from :func:`emstudio.core.palette.palette`, the one palette of the program.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from emstudio.core.geometry import component_densities, ellipse_points, marginal
from emstudio.core.palette import MIXTURE_INK, hex_colour, lighter, palette
from emstudio.core.placement import anchor_of, emptiest_corner

INK = "#2b2b2b"
ALARM_RED = "#d62728"
#: How much lighter the 2σ ellipse is than the 1σ one (0: same, 1: white).
SIGMA2_LIGHTER = 0.35
ELLIPSE_POINTS = 96


def qcolour(rgb, alpha: int = 255) -> QtGui.QColor:
    r, g, b = (int(round(float(c))) for c in rgb)
    return QtGui.QColor(r, g, b, alpha)


def component_colour(k: int, n_components: int) -> QtGui.QColor:
    """Component k's colour (0-based k) among ``n_components``."""
    return qcolour(palette(n_components)[k])


def sigma1_pen(rgb, scale: float = 1.0) -> QtGui.QPen:
    return pg.mkPen(qcolour(rgb), width=2.2 * scale)


def sigma2_pen(rgb, scale: float = 1.0) -> QtGui.QPen:
    return pg.mkPen(qcolour(lighter(rgb, SIGMA2_LIGHTER)), width=1.5 * scale, style=QtCore.Qt.PenStyle.DashLine)


def curve_pen(rgb, scale: float = 1.0) -> QtGui.QPen:
    return pg.mkPen(qcolour(rgb), width=2.0 * scale)


def mixture_pen(scale: float = 1.0) -> QtGui.QPen:
    return pg.mkPen(qcolour(MIXTURE_INK), width=2.6 * scale)


class ComponentItems:
    """The per-component items of one plot. ``show`` draws a state; ``path`` reads back what is
    drawn (all components' curves joined by NaN, the shape of ``ellipses_path``)."""

    def __init__(self, plot_item: pg.PlotItem) -> None:
        self.plot_item = plot_item
        self.k = 0
        self.one_d = False
        self.frozen: frozenset[int] = frozenset()
        self.sigma1: list[pg.PlotDataItem] = []
        self.sigma2: list[pg.PlotDataItem] = []
        self.curves: list[pg.PlotDataItem] = []  # 1-D: πₖ N(x | μₖ, σₖ²)
        self.numbers: list[pg.TextItem] = []
        self.mixture = pg.PlotDataItem(pen=mixture_pen())
        self.mixture.setZValue(8)
        self.means = pg.ScatterPlotItem(size=15, pen=pg.mkPen("w", width=2), pxMode=True, symbol="o")
        self.means.setZValue(10)
        # A collapsing component: a thick ring in its colour inside a thin red alarm ring.
        self.collapse_rings = pg.ScatterPlotItem(size=28, brush=None, pxMode=True, symbol="o")
        self.alarm_rings = pg.ScatterPlotItem(size=36, pen=pg.mkPen(ALARM_RED, width=1.6), brush=None,
                                              pxMode=True, symbol="o")
        self.collapse_rings.setZValue(11)
        self.alarm_rings.setZValue(11)
        for item in (self.mixture, self.means, self.collapse_rings, self.alarm_rings):
            plot_item.addItem(item)
        self.colours = np.empty((0, 3))

    # ------------------------------------------------------------------ structure
    def set_mode(self, one_d: bool) -> None:
        """1-D (density curves) or 2-D (ellipses); clears what is drawn."""
        self.one_d = one_d
        self.set_k(0)
        self.mixture.setVisible(one_d)
        self.clear()

    def set_k(self, k: int) -> None:
        """Make (or remove) the items of K components; only here are items created."""
        if k == self.k:
            return
        for item in self.sigma1 + self.sigma2 + self.curves + self.numbers:
            self.plot_item.removeItem(item)
        self.sigma1, self.sigma2, self.curves, self.numbers = [], [], [], []
        self.colours = palette(k)
        for c in range(k):
            rgb = self.colours[c]
            one = pg.PlotDataItem(pen=sigma1_pen(rgb))
            two = pg.PlotDataItem(pen=sigma2_pen(rgb))
            curve = pg.PlotDataItem(pen=curve_pen(rgb))
            one.setZValue(6)
            two.setZValue(5)
            curve.setZValue(7)
            number = pg.TextItem(self._number_text(c), color=INK, anchor=(-0.35, 1.1))
            font = QtGui.QFont()
            font.setPointSize(10)
            font.setBold(True)
            number.setFont(font)
            number.setZValue(20)
            for item in (one, two, curve, number):
                self.plot_item.addItem(item)
            one.setVisible(not self.one_d)
            two.setVisible(not self.one_d)
            curve.setVisible(self.one_d)
            self.sigma1.append(one)
            self.sigma2.append(two)
            self.curves.append(curve)
            self.numbers.append(number)
        self.k = k

    def _number_text(self, c: int) -> str:
        return f"{c + 1}❄" if c in self.frozen else str(c + 1)

    def set_frozen(self, frozen: frozenset[int]) -> None:
        if frozen == self.frozen:
            return  # a TextItem's setText re-lays it out: not at every frame of a run
        self.frozen = frozen
        for c, number in enumerate(self.numbers):
            number.setText(self._number_text(c))

    # ------------------------------------------------------------------ drawing
    def show(self, params, axes: tuple[int, int], grid: np.ndarray | None = None, collapsing=()) -> np.ndarray:
        """Draw ``params`` on ``axes`` (1-D: densities on ``grid`` (G,)); returns the means'
        positions (K, 2) as drawn."""
        k = params.n_components
        self.set_k(k)
        if self.one_d:
            densities = component_densities(params, axes[0], grid)
            for c, curve in enumerate(self.curves):
                curve.setData(grid, densities[c])
            self.mixture.setData(grid, densities.sum(axis=0))
            positions = np.column_stack([params.means[:, axes[0]], np.zeros(k)])
        else:
            means, covs = marginal(params, axes)
            for c in range(k):
                one = ellipse_points(means[c], covs[c], 1.0, ELLIPSE_POINTS)
                two = ellipse_points(means[c], covs[c], 2.0, ELLIPSE_POINTS)
                self.sigma1[c].setData(one[:, 0], one[:, 1])
                self.sigma2[c].setData(two[:, 0], two[:, 1])
            positions = means
        self.means.setData(pos=positions, brush=[pg.mkBrush(qcolour(self.colours[c])) for c in range(k)])
        marked = [c for c in collapsing if c < k]
        if marked:
            self.collapse_rings.setData(pos=positions[marked],
                                        pen=[pg.mkPen(qcolour(self.colours[c]), width=3.5) for c in marked])
            self.alarm_rings.setData(pos=positions[marked])
        else:
            self.collapse_rings.setData(pos=np.empty((0, 2)))
            self.alarm_rings.setData(pos=np.empty((0, 2)))
        for c, number in enumerate(self.numbers):
            number.setPos(float(positions[c, 0]), float(positions[c, 1]))
        return positions

    def clear(self) -> None:
        for item in self.sigma1 + self.sigma2 + self.curves:
            item.setData([], [])
        self.mixture.setData([], [])
        self.means.setData([], [])
        self.collapse_rings.setData(pos=np.empty((0, 2)))
        self.alarm_rings.setData(pos=np.empty((0, 2)))
        self.set_k(0)

    def set_line_scale(self, scale: float) -> None:
        """Thicker lines for a picture drawn larger than the screen."""
        for c in range(self.k):
            rgb = self.colours[c]
            self.sigma1[c].setPen(sigma1_pen(rgb, scale))
            self.sigma2[c].setPen(sigma2_pen(rgb, scale))
            self.curves[c].setPen(curve_pen(rgb, scale))
        self.mixture.setPen(mixture_pen(scale))

    # ------------------------------------------------------------------ reading back
    def path(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """What is drawn for every component as one polyline broken by NaN: kind "sigma1",
        "sigma2" or "curves" → x, y (for tests and for placing the legend)."""
        items = {"sigma1": self.sigma1, "sigma2": self.sigma2, "curves": self.curves}[kind]
        xs, ys = [], []
        for item in items:
            x, y = item.getData()
            if x is None or len(x) == 0:
                continue
            xs.extend([x, [np.nan]])
            ys.extend([y, [np.nan]])
        if not xs:
            return np.empty(0), np.empty(0)
        return np.concatenate(xs), np.concatenate(ys)

    def drawn_curves(self) -> np.ndarray:
        """(c, 2) vertices of everything drawn (ellipses or densities), NaN breaks included."""
        parts = [np.column_stack(self.path(kind)) for kind in (("curves",) if self.one_d else ("sigma1", "sigma2"))]
        if self.one_d:
            x, y = self.mixture.getData()
            if x is not None and len(x):
                parts.append(np.column_stack([x, y]))
        parts = [p for p in parts if len(p)]
        return np.vstack(parts) if parts else np.empty((0, 2))

    def pen_colours(self) -> dict[str, list[str]]:
        """Each kind of mark's colour per component as "#rrggbb" (what a person sees)."""
        def colour_of(pen) -> str:
            return pen.color().name()
        return {
            "sigma1": [colour_of(i.opts["pen"]) for i in self.sigma1],
            "sigma2": [colour_of(i.opts["pen"]) for i in self.sigma2],
            "curves": [colour_of(i.opts["pen"]) for i in self.curves],
            "means": [b.color().name() for b in self.means.data["brush"]] if len(self.means.data) else [],
            "collapse": [p.color().name() for p in self.collapse_rings.data["pen"]] if len(self.collapse_rings.data) else [],
        }


class ComponentSample(pg.ItemSample):
    """A legend entry's sample: a dot and a short line in the component's colour (a click does
    nothing: the legend names components, it does not hide them)."""

    def __init__(self, rgb, kind: str = "component") -> None:
        super().__init__(None)
        self.rgb = np.asarray(rgb, dtype=np.float64)
        self.kind = kind  # "component", "sigma1", "sigma2" or "mixture"

    def paint(self, p: QtGui.QPainter, *args) -> None:
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        colour = qcolour(self.rgb)
        if self.kind == "component":
            p.setPen(pg.mkPen(colour, width=2.2))
            p.drawLine(QtCore.QPointF(1, 10), QtCore.QPointF(19, 10))
            p.setPen(pg.mkPen("w", width=1.5))
            p.setBrush(pg.mkBrush(colour))
            p.drawEllipse(QtCore.QPointF(10, 10), 5.5, 5.5)
        else:
            style = QtCore.Qt.PenStyle.DashLine if self.kind == "sigma2" else QtCore.Qt.PenStyle.SolidLine
            width = {"mixture": 2.6, "sigma1": 2.2, "sigma2": 1.5}[self.kind]
            p.setPen(pg.mkPen(colour, width=width, style=style))
            p.drawLine(QtCore.QPointF(1, 10), QtCore.QPointF(19, 10))

    def mouseClickEvent(self, event) -> None:  # noqa: N802 - Qt API
        event.accept()


class ComponentLegend(pg.LegendItem):
    """One entry per component (its number and colour) and what the marks mean; placed in the
    emptiest corner of the view (:func:`emstudio.core.placement.emptiest_corner`) until a person
    drags it, then left where put."""

    def __init__(self, text_size: str = "9pt") -> None:
        super().__init__(offset=None, labelTextColor=INK, labelTextSize=text_size,
                         brush=pg.mkBrush(255, 255, 255, 225), pen=pg.mkPen(200, 200, 200), verSpacing=-4)
        self.setZValue(30)
        # Drawn in the view box's coordinates (not fixed screen pixels), so that a picture drawn
        # larger than the screen scales the legend with everything else.
        self.setFlag(self.GraphicsItemFlag.ItemIgnoresTransformations, False)
        self.moved_by_hand = False
        self.corner = "top-right"
        self.entries: list[tuple[str, str]] = []  # (label, "#rrggbb") as shown
        self.setVisible(False)

    def set_components(self, k: int, one_d: bool) -> None:
        """Entries for K components (none and hidden for K = 0: no legend before there is a fit)."""
        self.clear()
        self.entries = []
        colours = palette(k)
        for c in range(k):
            self.addItem(ComponentSample(colours[c]), str(c + 1))
            self.entries.append((str(c + 1), hex_colour(colours[c])))
        if k:
            grey = np.array([110.0, 110.0, 115.0])
            if one_d:
                self.addItem(ComponentSample(MIXTURE_INK, "mixture"), "mixture")
                self.entries.append(("mixture", hex_colour(MIXTURE_INK)))
            else:
                self.addItem(ComponentSample(grey, "sigma1"), "1σ")
                self.addItem(ComponentSample(lighter(grey, SIGMA2_LIGHTER), "sigma2"), "2σ")
                self.entries += [("1σ", hex_colour(grey)), ("2σ", hex_colour(lighter(grey, SIGMA2_LIGHTER)))]
        rows = len(self.entries)
        self.setColumnCount(max(1, math.ceil(rows / 12)))
        self.setVisible(k > 0)

    def place(self, points: np.ndarray | None, curves: np.ndarray | None, view_box: pg.ViewBox) -> str:
        """Move to the corner of ``view_box`` covering the fewest ``points`` (m, 2) and curve
        vertices (c, 2) (data units); nothing once moved by hand. Returns the corner."""
        if self.moved_by_hand or not self.isVisible():
            return self.corner
        (x0, x1), (y0, y1) = view_box.viewRange()
        size = view_box.size()
        if size.width() <= 0 or size.height() <= 0:
            return self.corner
        fraction = (min(1.0, (self.width() + 14) / size.width()), min(1.0, (self.height() + 14) / size.height()))
        self.corner = emptiest_corner(points, (x0, x1), (y0, y1), fraction, curves=curves)
        item_pos, parent_pos, offset = anchor_of(self.corner)
        self.anchor(itemPos=item_pos, parentPos=parent_pos, offset=offset)
        return self.corner

    def mouseDragEvent(self, ev) -> None:  # noqa: N802 - Qt API
        super().mouseDragEvent(ev)
        if ev.isAccepted():
            self.moved_by_hand = True
