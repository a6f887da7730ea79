"""The views: the mixture plot (scatter + ellipses, or histogram + densities for 1-D data), the
log-likelihood curve, and the parameter table. Views draw what they are given; they compute
nothing about EM. Plot items are made once and ``setData``-ed."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from emstudio.core.bins import histogram_bins
from emstudio.core.geometry import (
    blend_colours,
    component_densities,
    decimation_indices,
    densities_path,
    ellipses_path,
    histogram,
    marginal,
    padded_range,
    palette,
    shown_columns,
)
from emstudio.core.responsibility import uncertainty_colours
from emstudio.gui.hover import INK, ResponsibilityHover, UncertaintyBar
from emstudio.gui.worker import SCATTER_LIMIT, Colours, Frame, RestartCurves

COLLAPSE_RED = "#d62728"
COLLAPSE_BACKGROUND = "#fde2e1"
GRID_ALPHA = 0.12
MAX_DOTS = 400  # the log-likelihood curve marks each iteration up to this many
#: Point shapes of known classes, in class order (repeated after twelve classes).
CLASS_SYMBOLS = ("o", "s", "t", "d", "star", "t1", "p", "h", "t2", "t3", "+", "x")


def qcolour(k: int, alpha: int = 255) -> QtGui.QColor:
    r, g, b = palette(k + 1)[k]
    return QtGui.QColor(int(r), int(g), int(b), alpha)


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


class MixturePlot(pg.PlotWidget):
    """The data and the components on two chosen axes (or one axis for 1-D data)."""

    bins_drawn = QtCore.Signal(int)  # the 1-D histogram's number of bins, after new data or set_bins

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="w")
        self.plot_item: pg.PlotItem = self.getPlotItem()
        _style_plot(self.plot_item)
        self.plot_item.setMenuEnabled(False)
        self.redraws = 0
        self._brushes: dict[int, QtGui.QBrush] = {}
        self._k = 0
        self._labels: list[pg.TextItem] = []
        self._frozen: frozenset[int] = frozenset()
        self._one_d = False
        self._chosen_bins: int | None = None  # the 1-D histogram's bins: None = Freedman–Diaconis
        self.bins = 0  # bins of the histogram drawn (0: none)
        self._hist_values = np.empty(0)  # (n,) the 1-D data the histogram counts
        self._points: np.ndarray | None = None  # (m, 2) drawn positions (scatter mode)
        self._scatter_mode = True
        self.axes = (0, 1)
        self.shading = "responsibility"  # or "uncertainty" (set_shading)
        self._resp: np.ndarray | None = None  # (m, K) responsibilities colouring the drawn points
        self._image_shading = "responsibility"  # what the density image on screen shows
        # Items, made once.
        self.density = pg.ImageItem()
        self.density.setZValue(-10)
        self.hist = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=pg.mkBrush(200, 200, 205, 160),
                                    pen=pg.mkPen(170, 170, 175, width=1))
        self.scatter = pg.ScatterPlotItem(size=6, pen=None, pxMode=True)
        self.scatter.setZValue(0)
        self.ellipses_1 = pg.PlotDataItem(connect="finite", pen=pg.mkPen(INK, width=2.0))
        self.ellipses_2 = pg.PlotDataItem(connect="finite",
                                          pen=pg.mkPen(INK, width=1.2, style=QtCore.Qt.PenStyle.DashLine))
        self.component_curves = pg.PlotDataItem(connect="finite", pen=pg.mkPen(INK, width=1.4,
                                                style=QtCore.Qt.PenStyle.DashLine))
        self.mixture_curve = pg.PlotDataItem(pen=pg.mkPen(INK, width=2.4))
        self.means = pg.ScatterPlotItem(size=15, pen=pg.mkPen("w", width=2), pxMode=True, symbol="o")
        # A red ring around the mean of every collapsing component.
        self.collapse_rings = pg.ScatterPlotItem(size=30, pen=pg.mkPen(COLLAPSE_RED, width=3), brush=None,
                                                 pxMode=True, symbol="o")
        for z, item in enumerate((self.ellipses_2, self.ellipses_1, self.component_curves, self.mixture_curve,
                                  self.means, self.collapse_rings), start=5):
            item.setZValue(z)
        for item in (self.density, self.hist, self.scatter, self.ellipses_1, self.ellipses_2,
                     self.component_curves, self.mixture_curve, self.means, self.collapse_rings):
            self.plot_item.addItem(item)
        self.legend = pg.LegendItem(offset=(-12, 12), labelTextColor=INK, labelTextSize="9pt",
                                    brush=pg.mkBrush(255, 255, 255, 220), pen=pg.mkPen(200, 200, 200))
        self.legend.setParentItem(self.plot_item.getViewBox())
        self.legend.setZValue(30)
        self.uncertainty_bar = UncertaintyBar()
        self.uncertainty_bar.setParentItem(self.plot_item.getViewBox())
        self.uncertainty_bar.anchor(itemPos=(0, 0), parentPos=(0, 0), offset=(12, 12))
        self.uncertainty_bar.setZValue(30)
        self.uncertainty_bar.setVisible(False)
        self.hover = ResponsibilityHover(self)
        # No tooltip over the whole plot: it would cover the data (the hover box tells about a point;
        # Help ▸ Keyboard shortcuts and mouse tells what the mouse does).

    # ------------------------------------------------------------------ data
    def set_data(self, values: np.ndarray, columns, axes: tuple[int, int]) -> None:
        self.axes = axes
        n, d = values.shape
        self._one_d = d == 1
        self._scatter_mode = n <= SCATTER_LIMIT
        i, j = axes
        self.plot_item.setLabel("bottom", columns[i], color=INK)
        self.plot_item.setLabel("left", "density" if self._one_d else columns[j], color=INK)
        self.density.clear()
        self.density.setVisible(not self._scatter_mode and not self._one_d)
        self.hist.setVisible(self._one_d)
        for item in (self.ellipses_1, self.ellipses_2):
            item.setVisible(not self._one_d)
            item.setData([], [])
        for item in (self.component_curves, self.mixture_curve):
            item.setVisible(self._one_d)
            item.setData([], [])
        self.means.setData([], [])
        self.collapse_rings.setData([], [])
        self.legend.clear()
        if self._one_d:
            self.legend.addItem(self.mixture_curve, "mixture density")
            self.legend.addItem(self.component_curves, "πₖ N(x | μₖ, σₖ²)")
        else:
            self.legend.addItem(self.ellipses_1, "1σ ellipse")
            self.legend.addItem(self.ellipses_2, "2σ ellipse")
        if self._one_d:
            x = values[:, 0]
            self._grid = np.linspace(*padded_range(x, 0.08), 400)
            self._hist_values = x
            heights = self._draw_histogram()
            self._hist_top = float(heights.max()) if heights.size else 1.0
            idx = decimation_indices(n, SCATTER_LIMIT)
            rng = np.random.default_rng(1)
            y = -self._hist_top * (0.03 + 0.09 * rng.random(idx.size))
            self._points = np.column_stack([x[idx], y])
            self._scatter_mode = True
            self.scatter.setSize(5)
        elif self._scatter_mode:
            self._points = values[:, [i, j]].copy()
            self.scatter.setSize(6 if n <= 2000 else 4)
        else:
            self._points = None
        if self._points is not None:
            self.scatter.setData(pos=self._points, brush=pg.mkBrush(150, 150, 150, 200))
        else:
            self.scatter.clear()
        self.scatter.setVisible(self._points is not None)
        self._resp = None
        self._image_shading = "responsibility"
        self.uncertainty_bar.setVisible(False)
        self._hover_data(n, columns, axes)
        self._n_rows = n
        self.set_class_symbols(self._class_codes)  # known classes of data of the same length stay
        self._set_k(0)
        self.plot_item.enableAutoRange()
        xr = padded_range(values[:, i], 0.05)
        if self._one_d:
            self.plot_item.setRange(xRange=xr, yRange=(-self._hist_top * 0.14, self._hist_top * 1.35), padding=0)
        else:
            self.plot_item.setRange(xRange=xr, yRange=padded_range(values[:, j], 0.05), padding=0)

    _class_codes: np.ndarray | None = None  # known class of each data row (set_class_symbols)
    _n_rows = 0  # rows of the data set (set_data)

    def set_class_symbols(self, codes: np.ndarray | None) -> None:
        """Shape each drawn point by its known class: codes (n,) int per data row into
        CLASS_SYMBOLS (−1: no class, a dot); None: every point a dot. Codes of other data (of
        another length) are dropped. A density image (above SCATTER_LIMIT points) has no points
        to shape."""
        if codes is not None and codes.shape[0] != self._n_rows:
            codes = None
        self._class_codes = codes
        if self._points is None:
            return
        shapes = np.array(CLASS_SYMBOLS + ("o",), dtype=object)
        if codes is None:  # (a single symbol would leave each point's own in place)
            self.scatter.setSymbol(np.full(len(self._points), "o", dtype=object))
            return
        drawn = codes[decimation_indices(self._n_rows, SCATTER_LIMIT)] if self._one_d else codes
        self.scatter.setSymbol(shapes[np.where(drawn >= 0, drawn % len(CLASS_SYMBOLS), len(CLASS_SYMBOLS))])

    # ------------------------------------------------------------------ 1-D histogram bins
    def set_bins(self, bins: int) -> None:
        """The 1-D histogram's number of bins; 0 (or less): automatic, by Freedman–Diaconis."""
        self._chosen_bins = int(bins) if bins and bins > 0 else None
        if not self._one_d:
            return
        heights = self._draw_histogram()
        # Narrower bins are taller: let the view grow to the new top (the strip stays below 0).
        top = float(heights.max()) if heights.size else 0.0
        (x0, x1), (y0, y1) = self.plot_item.getViewBox().viewRange()
        if top * 1.05 > y1:
            self.plot_item.setRange(xRange=(x0, x1), yRange=(y0, top * 1.2), padding=0)

    def _draw_histogram(self) -> np.ndarray:
        """Draw the histogram of the 1-D data with the chosen (or automatic) bins; its heights."""
        self.bins = histogram_bins(self._hist_values, self._chosen_bins)
        edges, heights = histogram(self._hist_values, bins=self.bins)
        self.hist.setData(edges, heights)
        self.bins_drawn.emit(self.bins)
        return heights

    def _hover_data(self, n: int, columns, axes: tuple[int, int]) -> None:
        """Tell the hover what is drawn: which data rows the points are (the same rows the worker's
        DataView colours) and which columns the axes show."""
        i, j = axes
        if self._one_d:
            # The strip's points are the worker's decimated rows (the same indices).
            self.hover.set_data(self._points, decimation_indices(n, SCATTER_LIMIT), (columns[i],), (i,), "one-d")
        elif self._points is not None:
            self.hover.set_data(self._points, np.arange(n), (columns[i], columns[j]), (i, j), "points")
        else:
            self.hover.set_data(None, np.empty(0, dtype=np.intp), (columns[i], columns[j]), (i, j), "density")

    def _set_k(self, k: int) -> None:
        self.legend.setVisible(k > 0)  # no legend of ellipses (or densities) before there are any
        if k == self._k:
            return
        for label in self._labels:
            self.plot_item.removeItem(label)
        self._labels = []
        for c in range(k):
            label = pg.TextItem(f"{c + 1}❄" if c in self._frozen else str(c + 1), color=INK, anchor=(-0.35, 1.1))
            font = QtGui.QFont()
            font.setPointSize(10)
            font.setBold(True)
            label.setFont(font)
            label.setZValue(20)
            self.plot_item.addItem(label)
            self._labels.append(label)
        self._k = k

    # ------------------------------------------------------------------ one state
    def show_frame(self, frame: Frame, colours: Colours | None) -> None:
        self.show_components(frame.params, [c.component for c in frame.collapse])
        if colours is not None:
            self._apply_colours(colours, frame.params.n_components)
        self.hover.set_state(frame.params, self._resp)
        self.redraws += 1

    def set_frozen(self, frozen) -> None:
        """(K,) bool or None: the components EM keeps as they are (a ❄ beside their number)."""
        flags = frozenset(np.flatnonzero(frozen).tolist()) if frozen is not None else frozenset()
        if flags == self._frozen:
            return  # a TextItem's setText re-lays it out: not at every frame of a run
        self._frozen = flags
        for c, label in enumerate(self._labels):
            label.setText(f"{c + 1}❄" if c in self._frozen else str(c + 1))

    def show_components(self, params, collapsing=()) -> None:
        """Ellipses (or densities), means and labels of ``params``; the points keep their colours
        (also used while a component is dragged by hand)."""
        k = params.n_components
        self._set_k(k)
        if self._one_d:
            dens = component_densities(params, 0, self._grid)
            x, y = densities_path(self._grid, dens)
            self.component_curves.setData(x, y)
            self.mixture_curve.setData(self._grid, dens.sum(axis=0))
            mean_pos = np.column_stack([params.means[:, 0], np.zeros(k)])
        else:
            means, covs = marginal(params, self.axes)
            x1, y1 = ellipses_path(means, covs, sigmas=(1.0,))
            x2, y2 = ellipses_path(means, covs, sigmas=(2.0,))
            self.ellipses_1.setData(x1, y1)
            self.ellipses_2.setData(x2, y2)
            mean_pos = means
        self.means.setData(pos=mean_pos, brush=[pg.mkBrush(qcolour(c)) for c in range(k)])
        marked = [c for c in collapsing if c < k]
        self.collapse_rings.setData(pos=mean_pos[marked] if marked else np.empty((0, 2)))
        for c, label in enumerate(self._labels):
            label.setPos(float(mean_pos[c, 0]), float(mean_pos[c, 1]))

    def _apply_colours(self, colours: Colours, k: int) -> None:
        if colours.resp is not None and self._points is not None and colours.resp.shape[0] == len(self._points) \
                and colours.resp.shape[1] == k:
            self._resp = colours.resp
            self._colour_points()
        elif colours.image is not None and not self._one_d:
            self.density.setImage(colours.image, autoLevels=False, levels=(0, 255))
            self.density.setRect(QtCore.QRectF(*colours.rect))
            self._image_shading = colours.shading
            self._show_uncertainty_bar(k)

    def set_shading(self, shading: str) -> None:
        """Colour the drawn points by "responsibility" (the components' colours blended) or by
        "uncertainty" (1 − maxₖ rᵢₖ on a light-to-dark map). A density image is shaded by the
        worker, which the controller tells; it says which shading it shows (Colours.shading)."""
        self.shading = shading
        if self._resp is not None:
            self._colour_points()
        else:
            self._show_uncertainty_bar(self._k)

    def _colour_points(self) -> None:
        """Brushes of the drawn points from their responsibilities, in the shading chosen."""
        resp = self._resp
        k = resp.shape[1]
        colours = uncertainty_colours(resp) if self.shading == "uncertainty" else blend_colours(resp, palette(k))
        self._show_uncertainty_bar(k)
        rgb = np.clip(np.rint(colours), 0, 255).astype(np.int64)
        codes = ((rgb[:, 0] >> 2) << 12) | ((rgb[:, 1] >> 2) << 6) | (rgb[:, 2] >> 2)
        unique, inverse = np.unique(codes, return_inverse=True)
        table = np.empty(len(unique), dtype=object)
        for u, code in enumerate(unique.tolist()):
            brush = self._brushes.get(code)
            if brush is None:
                brush = pg.mkBrush((code >> 12) << 2, ((code >> 6) & 63) << 2, (code & 63) << 2, 215)
                self._brushes[code] = brush
            table[u] = brush
        self.scatter.setBrush(table[inverse.ravel()])

    def _show_uncertainty_bar(self, k: int) -> None:
        """The uncertainty colour bar, shown while what is drawn is shaded by uncertainty."""
        if self._points is not None:
            shown = self.shading == "uncertainty" and self._resp is not None
        else:
            shown = self._image_shading == "uncertainty" and self.density.image is not None
        self.uncertainty_bar.set_components(k)
        self.uncertainty_bar.setVisible(shown and k > 0)

    def clear_fit(self) -> None:
        for item in (self.ellipses_1, self.ellipses_2, self.component_curves, self.mixture_curve):
            item.setData([], [])
        self.means.setData([], [])
        self.collapse_rings.setData([], [])
        self._set_k(0)


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


def _fmt(value: float) -> str:
    return f"{value:.4g}"


class ParameterTable(QtWidgets.QTableWidget):
    """πₖ, Nₖ, μₖ and Σₖ of every component (Σₖ on the axes shown when d > 2). A collapsing
    component's row is red and its λmin (smallest eigenvalue of Σₖ − reg_covar·I) is shown."""

    HEADERS = ["", "π", "N", "μ", "Σ", "λmin"]
    LAMBDA_COLUMN = 5

    def __init__(self, parent=None) -> None:
        super().__init__(0, len(self.HEADERS), parent)
        self.setHorizontalHeaderLabels(self.HEADERS)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Fixed)
        self.setColumnWidth(0, 34)
        for c in (1, 2):
            header.setSectionResizeMode(c, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setMaximumSectionSize(200)  # long means elide (full values in the tooltip)
        header.setSectionResizeMode(4, QtWidgets.QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(self.LAMBDA_COLUMN, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.setColumnHidden(self.LAMBDA_COLUMN, True)  # shown while some component collapses
        self.marked: list[int] = []  # the rows marked as collapsing
        self.setToolTip("Each component: weight πₖ, effective size Nₖ = Σᵢ rᵢₖ, mean μₖ and covariance Σₖ.\n"
                        "Hover a cell for the full values. A red row is a component that is collapsing: its "
                        "covariance is (nearly) flat or Nₖ < d + 1; λmin is the smallest eigenvalue of "
                        "Σₖ − reg_covar·I.")
        self.setWordWrap(False)

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt API
        return QtCore.QSize(440, 150)

    def show_frame(self, frame: Frame | None, axes: tuple[int, int], columns) -> None:
        if frame is None:
            self.setRowCount(0)
            self.marked = []
            self.setColumnHidden(self.LAMBDA_COLUMN, True)
            return
        params = frame.params
        k, d = params.n_components, params.n_features
        if self.rowCount() != k:
            self.setRowCount(k)
            for r in range(k):
                for c in range(len(self.HEADERS)):
                    item = QtWidgets.QTableWidgetItem()
                    if c == 0:
                        item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                    elif c in (1, 2):
                        item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                    self.setItem(r, c, item)
        full = params.full_covariances()
        shown = shown_columns(axes) if d > 2 else list(range(d))
        sigma_header = f"Σ on {', '.join(columns[j] for j in shown)}" if d > 2 else "Σ"
        if self.horizontalHeaderItem(4).text() != sigma_header:
            self.horizontalHeaderItem(4).setText(sigma_header)
        for r in range(k):
            swatch = self.item(r, 0)
            swatch.setBackground(qcolour(r))
            swatch.setForeground(QtGui.QColor("white"))
            swatch.setText(str(r + 1))
            self.item(r, 1).setText(f"{params.weights[r]:.3f}")
            self.item(r, 2).setText(f"{frame.component_sizes[r]:.1f}")
            self.item(r, 3).setText("(" + ", ".join(_fmt(v) for v in params.means[r]) + ")")
            self.item(r, 3).setToolTip(", ".join(f"{columns[j]} = {params.means[r, j]:.8g}" for j in range(d)))
            sub = full[r][np.ix_(shown, shown)]
            self.item(r, 4).setText(" | ".join("  ".join(f"{v:.3g}" for v in row) for row in sub))
            self.item(r, 4).setToolTip("\n".join("  ".join(f"{v:12.6g}" for v in row) for row in full[r]))
        self._mark(frame, k)

    def _mark(self, frame: Frame, k: int) -> None:
        """Red text on a pale red background for the rows of collapsing components, with λmin."""
        collapse = {c.component: c for c in frame.collapse if c.component < k}
        self.marked = sorted(collapse)
        self.setColumnHidden(self.LAMBDA_COLUMN, not collapse)
        red, pale = QtGui.QColor(COLLAPSE_RED), QtGui.QColor(COLLAPSE_BACKGROUND)
        for r in range(k):
            entry = collapse.get(r)
            lam = self.item(r, self.LAMBDA_COLUMN)
            lam.setText("" if entry is None else f"{entry.smallest_eigenvalue:.3g}")
            tip = "" if entry is None else (f"Component {r + 1} is collapsing: λmin = {entry.smallest_eigenvalue:.3g}, "
                                            f"Nₖ = {entry.size:.1f}. Right-click for fixes.")
            for c in range(1, len(self.HEADERS)):
                item = self.item(r, c)
                item.setForeground(red if entry is not None else QtGui.QBrush())
                item.setBackground(pale if entry is not None else QtGui.QBrush())
                if c in (1, 2, self.LAMBDA_COLUMN):
                    item.setToolTip(tip)
            self.item(r, 0).setText(f"{r + 1}⚠" if entry is not None else str(r + 1))
