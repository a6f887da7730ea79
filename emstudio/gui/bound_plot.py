"""The Lower bound plot: log L and F over EM's half-steps, the KL gap a bar at each M-step."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from emstudio.gui.bound_series import (
    EMPTY,
    PER_SAMPLE,
    SUMS,
    HalfStepSeries,
    gap_bars,
    visible_window,
    y_range,
)
from emstudio.gui.plot_style import INK, MAX_DOTS, _style_plot

LOG_L_COLOUR = "#1f77b4"
BOUND_COLOUR = "#ff7f0e"
GAP_RGBA = (214, 39, 40, 110)
MARKER_COLOUR = "#d62728"
AXIS_LABELS = {PER_SAMPLE: "per sample", SUMS: "sum over samples"}
#: The gap bars' width in half-steps: narrow enough that neighbouring half-steps stay clear of them.
GAP_WIDTH = 0.36


class BoundPlot(pg.PlotWidget):
    """log L and F over half-steps in one unit, the KL gap a bar at each M, the half-step on screen
    marked.

    Draws the last :data:`~emstudio.gui.bound_series.WINDOW` half-steps, or those around the one
    on screen, scaled so that the latest two iterations fill at least a third of the height (the
    gap stays visible when it has shrunk to 1e-6); or every half-step at once (:meth:`set_show_all`).
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="w")
        self.plot_item: pg.PlotItem = self.getPlotItem()
        _style_plot(self.plot_item)
        self.plot_item.setMenuEnabled(False)
        self.plot_item.hideButtons()
        self.plot_item.setMouseEnabled(x=False, y=False)  # the range follows the half-steps
        self.plot_item.getViewBox().disableAutoRange()
        self.show_all = False
        self.unit = PER_SAMPLE
        self.series = EMPTY
        self.window = (0, -1)
        self.redraws = 0
        # Items, made once.
        # connect="finite": a NaN breaks both curves where a hand edit split them.
        self.bound_curve = pg.PlotDataItem(pen=pg.mkPen(BOUND_COLOUR, width=2), symbol="o", symbolSize=5,
                                           symbolBrush=BOUND_COLOUR, symbolPen=None, connect="finite")
        self.log_l_curve = pg.PlotDataItem(pen=pg.mkPen(LOG_L_COLOUR, width=2), symbol="o", symbolSize=5,
                                           symbolBrush=LOG_L_COLOUR, symbolPen=None, connect="finite")
        # The KL gap: one bar per M half-step from F up to log L, nothing between half-steps.
        self.gap = pg.BarGraphItem(x=[], y0=[], height=[], width=GAP_WIDTH, brush=pg.mkBrush(*GAP_RGBA),
                                   pen=pg.mkPen(GAP_RGBA[:3], width=1))
        self.line = pg.InfiniteLine(angle=90, pen=pg.mkPen(MARKER_COLOUR, width=1, style=QtCore.Qt.PenStyle.DotLine))
        self.marker = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(MARKER_COLOUR), pen=pg.mkPen("w", width=1.5))
        self.placeholder = pg.TextItem("", color="#777", anchor=(0.5, 0.5))
        # Hand edits: one item of vertical dashes (broken by NaN) between the half-steps they split.
        self.edit_lines = pg.PlotDataItem(connect="finite", pen=pg.mkPen("#e07b00", width=1.5,
                                                                          style=QtCore.Qt.PenStyle.DashLine))
        for z, item in enumerate((self.edit_lines, self.gap, self.bound_curve, self.log_l_curve, self.line,
                                  self.marker, self.placeholder)):
            self.plot_item.addItem(item)
            item.setZValue(z)
        self.line.setVisible(False)
        self.setToolTip("EM's two curves over half-steps: log L(θ) (blue) and the lower bound F(q, θ) = Q + Ent "
                        "(orange).\nThe red bar at each M-step is the gap KL(q ‖ p(z | x, θ)) ≥ 0 between them; "
                        "after every E-step it is 0 (the bound touches), so no bar.\nThe red mark is the "
                        "half-step on screen.")
        self.setMinimumHeight(110)
        self.show_series(EMPTY)

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt API
        # Small: the dock gives it the room left over by the values and the caption.
        return QtCore.QSize(440, 160)

    def set_show_all(self, show_all: bool) -> None:
        self.show_all = bool(show_all)
        self.show_series(self.series)

    def set_unit(self, unit: str) -> None:
        """Draw per sample or as sums (the panel's numbers follow the same choice)."""
        self.unit = unit
        self.show_series(self.series)

    def gap_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The gap bars drawn: positions, feet (F) and heights (KL), in the plot's unit."""
        opts = self.gap.opts
        return (np.asarray(opts["x"], float), np.asarray(opts["y0"], float), np.asarray(opts["height"], float))

    def show_series(self, series: HalfStepSeries) -> None:
        self.series = series
        m = len(series)
        vb = self.plot_item.getViewBox()
        self.plot_item.setLabel("left", AXIS_LABELS[self.unit] if m else "", color=INK)
        if m == 0:
            for item in (self.log_l_curve, self.bound_curve, self.edit_lines):
                item.setData([], [])
            self.gap.setOpts(x=[], y0=[], height=[])
            self.marker.setData([], [])
            self.line.setVisible(False)
            self.window = (0, -1)
            self.placeholder.setText("no half-steps yet: Step E (E), Step M (M) or Run")
            self.placeholder.setPos(0.5, 0.5)
            self.placeholder.setVisible(True)
            for name in ("bottom", "left"):  # no numbers on an empty plot
                self.plot_item.getAxis(name).setTicks([[], []])
            vb.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
            self.redraws += 1
            return
        self.placeholder.setVisible(False)
        self.plot_item.getAxis("left").setTicks(None)
        first, last = (0, m - 1) if self.show_all else visible_window(m, series.shown)
        self.window = (first, last)
        all_log_l, all_bound = series.curves(self.unit)
        x = np.arange(first, last + 1, dtype=float)
        log_l, bound = all_log_l[first:last + 1], all_bound[first:last + 1]
        # The half-steps either side of a hand edit are not joined: no EM step led from one to the other.
        cuts = [int(np.ceil(e)) - first for e in series.edits if first < e < last]
        if cuts:
            x = np.insert(x, cuts, np.nan)
            log_l, bound = np.insert(log_l, cuts, np.nan), np.insert(bound, cuts, np.nan)
        drawn = self.log_l_curve.getData()
        if not (drawn[0] is not None and np.array_equal(drawn[0], x, equal_nan=True)
                and np.array_equal(drawn[1], log_l, equal_nan=True)
                and np.array_equal(self.bound_curve.getData()[1], bound, equal_nan=True)):
            # Only when the curves changed: scrubbing a long history with "all" ticked moves the
            # marker alone (redrawing 40,000 points took ~0.4 s a step).
            dots = "o" if len(x) <= MAX_DOTS else None
            for curve, y in ((self.log_l_curve, log_l), (self.bound_curve, bound)):
                if curve.opts["symbol"] != dots:
                    curve.setSymbol(dots)
                curve.setData(x, y)
            positions, feet, heights = gap_bars(series, first, last, self.unit)
            # Thin bars when hundreds of half-steps share the width (bars wider than their spacing merge).
            self.gap.setOpts(x=positions, y0=feet, height=heights, width=GAP_WIDTH,
                             pen=pg.mkPen(GAP_RGBA[:3], width=1) if len(positions) <= MAX_DOTS else None)
        shown = series.shown
        if shown is not None and first <= shown <= last:
            self.marker.setData([shown, shown], [all_log_l[shown], all_bound[shown]])
            self.line.setValue(shown)
            self.line.setVisible(True)
        else:
            self.marker.setData([], [])
            self.line.setVisible(False)
        low, high = y_range(series, first, last, self.show_all, self.unit)
        # One lone point (a first E-step) has no span of its own: give it a little room.
        span = max(high - low, (1e-3 if first == last else 1e-12) * max(abs(high), 1.0))
        bottom, top = low - 0.08 * span, high + 0.12 * span
        vb.setRange(xRange=(first - 0.6, last + 0.6), yRange=(bottom, top), padding=0)
        edits = [e for e in series.edits if first - 0.6 <= e <= last + 0.6]
        self.edit_lines.setData(np.repeat(edits, 3), np.tile([bottom, top, np.nan], len(edits)))
        self._set_ticks()
        self.redraws += 1

    def _set_ticks(self) -> None:
        """A label per half-step when they fit, else every s-th iteration's E (an even stride)."""
        first, last = self.window
        labels = self.series.labels
        count = last - first + 1
        axis = self.plot_item.getAxis("bottom")
        widest = QtGui.QFontMetrics(axis.style["tickFont"] or self.font()).horizontalAdvance(labels[last])
        room = max(2, int(self.plot_item.getViewBox().width() // (widest + 10)))
        positions = range(first, last + 1)
        if count <= room:
            major = [(p, labels[p]) for p in positions]
            minor = []
        else:
            stride = 2 * math.ceil(count / (2 * room))
            start = next((p for p in positions if self.series.kinds[p] == "E"), first)
            major = [(p, labels[p]) for p in range(start, last + 1, stride)]
            # A minor tick per half-step while they stay apart; "all" of a long run would be a grey wall.
            minor = [(p, "") for p in positions] if count <= 3 * room else []
        axis.setTicks([major, minor])

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        # pyqtgraph resizes the view from inside PlotWidget's own __init__, before ours has run.
        if len(getattr(self, "series", EMPTY)):
            self._set_ticks()
