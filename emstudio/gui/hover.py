"""Inspecting responsibilities on the mixture plot: the hover box (a point's rᵢₖ and uncertainty,
or the responsibilities at the cursor where no points are drawn) and the uncertainty colour bar.

Everything here runs on the window's thread and is cheap: a nearest-point search over at most
SCATTER_LIMIT drawn points, or K Gaussian densities at one position.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from emstudio.core.geometry import palette, shown_columns
from emstudio.core.numbers import format_number
from emstudio.core.params import MixtureParams
from emstudio.core.responsibility import (
    UNCERTAINTY_STOPS,
    marginal_responsibilities,
    max_uncertainty,
    uncertainty,
)

INK = "#2b2b2b"  # the plots' ink (axes, ellipses, text); views and the bound panel use it too
#: A point further than this from the cursor (in screen pixels) is not hovered.
HOVER_RADIUS_PX = 12.0
#: Gap between the cursor and the hover box, in pixels.
BOX_GAP_PX = 16
#: Hover updates per second at most (mouse moves in between are merged).
HOVER_RATE = 60


def nearest_within(points: np.ndarray, target, pixel_size, radius_px: float) -> int:
    """Index of the point of ``points`` (m, 2) (data units) nearest to ``target`` (2,) in screen
    pixels, ``pixel_size`` (2,) being the data units of one pixel along x and y; −1 when none is
    within ``radius_px`` (or there are no points)."""
    if points is None or len(points) == 0:
        return -1
    sx, sy = (abs(float(v)) or 1.0 for v in pixel_size)
    dx = (points[:, 0] - float(target[0])) / sx
    dy = (points[:, 1] - float(target[1])) / sy
    d2 = dx * dx + dy * dy
    best = int(np.argmin(d2))
    return best if d2[best] <= radius_px * radius_px else -1


def _number(value: float) -> str:
    return format_number(value)


def _share(value: float) -> str:
    """A responsibility, readable at a glance: four decimals, tiny ones in powers of ten."""
    if 0 < value < 5e-5:
        return f"{value:.0e}"
    return f"{value:.4f}"


def hex_colour(rgb) -> str:
    """"#rrggbb" of an RGB triple (0–255)."""
    r, g, b = (int(c) for c in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def responsibilities_html(title: str, names, values, resp: np.ndarray | None, note: str = "") -> str:
    """The hover box's text: ``title`` (HTML), ``names`` = ``values`` (the position on the axes
    shown), each rₖ with its component's swatch and a bar, and the uncertainty 1 − maxₖ rₖ."""
    parts = [f"<div style='font-weight:600'>{title}</div>"]
    parts.append("<div>" + " &nbsp; ".join(f"{html.escape(str(n))} = {_number(v)}" for n, v in zip(names, values))
                 + "</div>")
    if note:
        parts.append(f"<div style='color:#666'>{note}</div>")
    if resp is None:
        parts.append("<div style='color:#666'>no responsibilities yet: run or step E</div>")
        return "".join(parts)
    resp = np.asarray(resp, dtype=np.float64)
    colours = palette(len(resp))
    rows = []
    for k, r in enumerate(resp):
        colour = hex_colour(colours[k])
        # A bar as long as rₖ (60 px for 1); none for a share too small to see.
        width = round(60 * float(np.clip(r, 0, 1)))
        bar = (f"<table cellspacing='0' cellpadding='0'><tr><td width='{width}' bgcolor='{colour}' "
               f"style='font-size:5pt'>&nbsp;</td></tr></table>") if width >= 1 else ""
        rows.append(
            f"<tr><td><span style='color:{colour}'>■</span></td>"
            f"<td>r<sub>{k + 1}</sub></td><td align='right'>&nbsp;{_share(float(r))}&nbsp;</td>"
            f"<td>{bar}</td></tr>")
    parts.append("<table cellspacing='0' cellpadding='1'>" + "".join(rows) + "</table>")
    u = float(uncertainty(resp[None, :])[0])
    parts.append(f"<div>uncertainty 1 − max<sub>k</sub> r<sub>k</sub> = <b>{u:.4f}</b></div>")
    return "".join(parts)


@dataclass(frozen=True, eq=False)
class Reading:
    """What the hover box shows: kind "point" (a drawn point: ``row`` its 1-based data row) or
    "position" (the cursor's position where no point is near: ``row`` None); ``position`` the
    values on the axes shown; ``resp`` (K,) the responsibilities shown (None before any fit)."""

    kind: str
    row: int | None
    position: tuple[float, ...]
    resp: np.ndarray | None


class HoverBox(QtWidgets.QLabel):
    """A small box over the plot, next to the cursor, that never takes the mouse."""

    def __init__(self, parent: QtWidgets.QWidget) -> None:
        super().__init__(parent)
        self.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setStyleSheet("HoverBox { background: rgba(255, 255, 255, 240); color: #2b2b2b; "
                           "border: 1px solid #a9a9b0; border-radius: 4px; padding: 4px 7px; }")
        font = self.font()
        font.setPointSize(9)
        self.setFont(font)
        self.hide()

    def show_at(self, text: str, cursor: QtCore.QPoint) -> None:
        """Show ``text`` beside ``cursor`` (parent coordinates), on whichever side keeps it inside."""
        self.setText(text)
        self.adjustSize()
        area = self.parentWidget().rect()
        x = cursor.x() + BOX_GAP_PX
        y = cursor.y() + BOX_GAP_PX
        if x + self.width() > area.right():
            x = cursor.x() - BOX_GAP_PX - self.width()
        if y + self.height() > area.bottom():
            y = cursor.y() - BOX_GAP_PX - self.height()
        self.move(max(area.left(), x), max(area.top(), y))
        self.show()
        self.raise_()


class ResponsibilityHover(QtCore.QObject):
    """Hovering the mixture plot: the nearest drawn point within HOVER_RADIUS_PX shows its data row,
    its values on the axes shown, its rᵢₖ (the q that colours it) and its uncertainty. Where no
    points are drawn (the density image), the box shows the responsibilities at the cursor under
    the components' marginal on the axes shown; for 1-D data, anywhere above the axis, r(x).

    The plot tells it what is drawn (:meth:`set_data`) and the state on screen (:meth:`set_state`).
    """

    def __init__(self, plot: pg.PlotWidget) -> None:
        super().__init__(plot)
        self.plot = plot
        self.view_box: pg.ViewBox = plot.getPlotItem().getViewBox()
        self.box = HoverBox(plot.viewport())
        self.ring = pg.ScatterPlotItem(size=15, pen=pg.mkPen(INK, width=2), brush=None, pxMode=True, symbol="o")
        self.line = pg.InfiniteLine(angle=90, pen=pg.mkPen(INK, width=1, style=QtCore.Qt.PenStyle.DotLine))
        for item in (self.ring, self.line):
            item.setZValue(25)
            item.setVisible(False)
            plot.getPlotItem().addItem(item, ignoreBounds=True)
        self._points: np.ndarray | None = None  # (m, 2) drawn positions
        self._rows = np.empty(0, dtype=np.intp)  # (m,) data row of each drawn point
        self._values: np.ndarray | None = None  # (m, len(names)) the values shown per point
        self._names: tuple[str, ...] = ()
        self._axes: tuple[int, ...] = ()
        self._mode = "none"  # "points", "density" or "one-d"
        self._params: MixtureParams | None = None
        self._resp: np.ndarray | None = None  # (m, K) the q colouring the drawn points
        self._last: QtCore.QPointF | None = None  # scene position of the last hover
        self.reading: Reading | None = None  # what the box shows (None while hidden)
        self.proxy = pg.SignalProxy(plot.scene().sigMouseMoved, rateLimit=HOVER_RATE,
                                    slot=lambda args: self.hover_at(args[0]))
        plot.viewport().installEventFilter(self)

    # ------------------------------------------------------------------ what is drawn
    def set_data(self, points: np.ndarray | None, rows: np.ndarray, names, axes, mode: str) -> None:
        """points (m, 2) as drawn; rows (m,) their data rows (0-based); names: the axes shown (one
        for 1-D data); axes: their data columns; mode: "points", "density" or "one-d"."""
        self._points = points
        self._rows = np.asarray(rows)
        self._names = tuple(names)
        self._axes = tuple(axes)
        self._values = None if points is None else points[:, :len(self._names)]
        self._mode = mode
        self._params = None
        self._resp = None
        self.hide()

    def set_state(self, params: MixtureParams | None, resp: np.ndarray | None) -> None:
        """The parameters on screen and the responsibilities colouring the drawn points; an open
        box follows them."""
        self._params = params
        if resp is not None:
            self._resp = resp
        if self.reading is not None and self._last is not None:
            self.hover_at(self._last)

    # ------------------------------------------------------------------ hovering
    def hover_at(self, scene_pos) -> bool:
        """Show the box for the mouse at ``scene_pos`` (scene coordinates); True if shown."""
        scene_pos = QtCore.QPointF(scene_pos)
        self._last = scene_pos
        if self._mode == "none" or not self.view_box.sceneBoundingRect().contains(scene_pos):
            return self.hide()
        at = self.view_box.mapSceneToView(scene_pos)
        x, y = at.x(), at.y()
        index = nearest_within(self._points, (x, y), self.view_box.viewPixelSize(), HOVER_RADIUS_PX)
        if index >= 0:
            self.reading, text = self._point_reading(index)
            self.ring.setData(pos=self._points[index:index + 1])
            self.ring.setVisible(True)
            self.line.setVisible(False)
        elif self._params is not None and (self._mode == "density" or (self._mode == "one-d" and y >= 0)):
            self.reading, text = self._position_reading(x, y)
            self.ring.setVisible(False)
            self.line.setValue(x)
            self.line.setVisible(self._mode == "one-d")
        else:
            return self.hide()
        self.box.show_at(text, self.plot.mapFromScene(scene_pos))
        return True

    def _point_reading(self, index: int) -> tuple[Reading, str]:
        resp = None
        if self._resp is not None and len(self._resp) == len(self._points):
            resp = self._resp[index]
        row = int(self._rows[index]) + 1
        position = tuple(float(v) for v in self._values[index])
        return (Reading("point", row, position, resp),
                responsibilities_html(f"row {row:,}", self._names, position, resp))

    def _position_reading(self, x: float, y: float) -> tuple[Reading, str]:
        params = self._params
        if self._mode == "one-d":
            r = marginal_responsibilities(params, (self._axes[0],), [[x]])[0]
            return (Reading("position", None, (x,), r),
                    responsibilities_html("r(x) at this position", self._names[:1], [x], r))
        axes = tuple(shown_columns(self._axes))
        position = (x, y)[:len(axes)]
        r = marginal_responsibilities(params, axes, [position])[0]
        shown = ", ".join(html.escape(n) for n in dict.fromkeys(self._names))
        note = "" if len(axes) == params.n_features else f"under the marginal on {shown}"
        return (Reading("position", None, position, r),
                responsibilities_html("at this position", self._names[:len(axes)], position, r, note))

    def hide(self) -> bool:
        self.reading = None
        self.box.hide()
        self.ring.setVisible(False)
        self.line.setVisible(False)
        return False

    @property
    def shown(self) -> bool:
        return self.reading is not None

    @property
    def text(self) -> str:
        return self.box.text()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        kind = event.type()
        if kind == QtCore.QEvent.Type.Leave:
            self.hide()
        elif kind == QtCore.QEvent.Type.ToolTip and self.reading is not None:
            return True  # the plot's tooltip would cover the box
        return False


class UncertaintyBar(pg.GraphicsWidgetAnchor, pg.GraphicsWidget):
    """The legend of uncertainty shading: the colour map from 0 (certain, light) to 1 − 1/K
    (every component equally responsible, dark), drawn in a corner of the plot."""

    PAD, BAR_HEIGHT = 8, 11

    def __init__(self) -> None:
        pg.GraphicsWidget.__init__(self)
        pg.GraphicsWidgetAnchor.__init__(self)
        self.setFlag(self.GraphicsItemFlag.ItemIgnoresTransformations)
        self.font = QtGui.QFont()
        self.font.setPointSize(8)
        self.k = 0
        self.set_components(2)

    def labels(self) -> tuple[str, str, str]:
        """The title and the labels of the two ends."""
        return ("uncertainty  1 − maxₖ rᵢₖ", "0  certain",
                f"uncertain  {max_uncertainty(self.k):.3g} = 1 − 1/{self.k}")

    def set_components(self, k: int) -> None:
        if k == self.k:
            return
        self.k = k
        title, low, high = self.labels()
        metrics = QtGui.QFontMetricsF(self.font)
        width = max(metrics.horizontalAdvance(title), metrics.horizontalAdvance(low) + 18
                    + metrics.horizontalAdvance(high)) + 2 * self.PAD
        self._line = metrics.height()
        height = 2 * self._line + self.BAR_HEIGHT + 12
        self.prepareGeometryChange()
        self.setGeometry(QtCore.QRectF(0, 0, width, height))
        self.update()

    def paint(self, painter: QtGui.QPainter, *args) -> None:
        rect = self.boundingRect()
        w, pad, line = rect.width(), self.PAD, self._line
        painter.setPen(pg.mkPen(200, 200, 200))
        painter.setBrush(pg.mkBrush(255, 255, 255, 225))
        painter.drawRect(rect)
        painter.setFont(self.font)
        title, low, high = self.labels()
        painter.setPen(QtGui.QColor(INK))
        painter.drawText(QtCore.QRectF(pad, 3, w - 2 * pad, line), QtCore.Qt.AlignmentFlag.AlignLeft, title)
        bar = QtCore.QRectF(pad, 5 + line, w - 2 * pad, self.BAR_HEIGHT)
        gradient = QtGui.QLinearGradient(bar.topLeft(), bar.topRight())
        for t, (r, g, b) in zip(np.linspace(0, 1, len(UNCERTAINTY_STOPS)), UNCERTAINTY_STOPS):
            gradient.setColorAt(float(t), QtGui.QColor(int(r), int(g), int(b)))
        painter.setBrush(QtGui.QBrush(gradient))
        painter.setPen(pg.mkPen(170, 170, 175))
        painter.drawRect(bar)
        painter.setPen(QtGui.QColor(INK))
        below = QtCore.QRectF(pad, bar.bottom() + 2, w - 2 * pad, line)
        painter.drawText(below, QtCore.Qt.AlignmentFlag.AlignLeft, low)
        painter.drawText(below, QtCore.Qt.AlignmentFlag.AlignRight, high)
