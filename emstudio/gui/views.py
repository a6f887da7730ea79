"""The views: the mixture plot (scatter + ellipses, or histogram + densities for 1-D data), the
log-likelihood curve, and the parameter table. Views draw what they are given; they compute
nothing about EM. Plot items are made once and ``setData``-ed."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from emstudio.core.bins import histogram_bins
from emstudio.core.geometry import (
    blend_colours,
    component_densities,
    decimation_indices,
    ellipse_points,
    histogram,
    marginal,
    padded_range,
    palette,
)
from emstudio.core.responsibility import uncertainty_colours
from emstudio.gui.component_items import ComponentItems, ComponentLegend
from emstudio.gui.factor_items import LoadingArrows
from emstudio.gui.hover import INK, ResponsibilityHover, UncertaintyBar
from emstudio.gui.likelihood_plot import LikelihoodPlot  # noqa: F401 - its home is likelihood_plot
from emstudio.gui.parameter_table import ParameterTable  # noqa: F401 - the table's home is parameter_table
from emstudio.gui.plot_style import _style_plot
from emstudio.gui.worker import SCATTER_LIMIT, Colours, Frame

COLLAPSE_RED = "#d62728"
COLLAPSE_BACKGROUND = "#fde2e1"
#: Point shapes of known classes, in class order (repeated after twelve classes).
CLASS_SYMBOLS = ("o", "s", "t", "d", "star", "t1", "p", "h", "t2", "t3", "+", "x")


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
        for item in (self.density, self.hist, self.scatter):
            self.plot_item.addItem(item)
        # Every component in its own colour (ellipses or densities, mean, number, collapse ring).
        self.components = ComponentItems(self.plot_item)
        self.arrows = LoadingArrows(self.plot_item)  # a factor model's loadings (factor_items)
        self.legend = ComponentLegend()
        self.legend.setParentItem(self.plot_item.getViewBox())
        self._place_points = np.empty((0, 2))  # (m, 2) at most 2,000 drawn positions, for the legend
        self._frames_since_placed = 0
        self.equal_aspect = False
        self.plot_item.getViewBox().sigRangeChangedManually.connect(lambda *_: self.place_legend())
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
        self.components.set_mode(self._one_d)
        self.legend.set_components(0, self._one_d)
        self.legend.moved_by_hand = False
        if self._one_d:
            self.plot_item.getViewBox().setAspectLocked(False)
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
        shown = values[:, [i, j]] if not self._one_d else self._points
        self._place_points = shown[decimation_indices(len(shown), 2000)]
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

    # ------------------------------------------------------------------ one state
    def show_frame(self, frame: Frame, colours: Colours | None) -> None:
        self.show_components(frame.params, [c.component for c in frame.collapse])
        self.arrows.show(getattr(frame, "factor", None), self.axes)
        if colours is not None:
            self._apply_colours(colours, frame.params.n_components)
        self.hover.set_state(frame.params, self._resp)
        self.redraws += 1

    def set_frozen(self, frozen) -> None:
        """(K,) bool or None: the components EM keeps as they are (a ❄ beside their number)."""
        flags = frozenset(np.flatnonzero(frozen).tolist()) if frozen is not None else frozenset()
        self.components.set_frozen(flags)

    @property
    def means(self) -> pg.ScatterPlotItem:
        """The mean markers, one item (each in its component's colour)."""
        return self.components.means

    @property
    def collapse_rings(self) -> pg.ScatterPlotItem:
        return self.components.collapse_rings

    @property
    def mixture_curve(self) -> pg.PlotDataItem:
        return self.components.mixture

    @property
    def _labels(self) -> list[pg.TextItem]:
        return self.components.numbers

    def show_components(self, params, collapsing=()) -> None:
        """Ellipses (or densities), means and numbers of ``params``; the points keep their colours
        (also used while a component is dragged by hand)."""
        k = params.n_components
        new_k = k != self.components.k
        self.components.show(params, self.axes, getattr(self, "_grid", None), collapsing)
        if new_k or self.legend.entries == []:
            self.legend.set_components(k, self._one_d)
            self.place_legend()
        else:
            # Now and then while EM runs: the ellipses move under the legend.
            self._frames_since_placed += 1
            if self._frames_since_placed >= 30:
                self.place_legend()

    def place_legend(self) -> str:
        """Put the legend in the emptiest corner (unless a person dragged it somewhere)."""
        self._frames_since_placed = 0
        return self.legend.place(self._place_points, self.components.drawn_curves(), self.plot_item.getViewBox())

    def set_equal_aspect(self, on: bool) -> None:
        """One data unit as long on both axes (Σ = I draws round); never for 1-D data."""
        self.equal_aspect = bool(on)
        self.plot_item.getViewBox().setAspectLocked(self.equal_aspect and not self._one_d, ratio=1.0)

    def fixed_range_for(self, states) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """A view range holding the data and every one of ``states``' (parameters) 2σ ellipses or
        densities, for an animation whose axes stay put; None before any data."""
        if self._points is None and self._place_points.size == 0:
            return None
        view_box = self.plot_item.getViewBox()
        (x0, x1), (y0, y1) = view_box.viewRange()
        if self._one_d:
            top = y1
            for params in states:
                top = max(top, 1.1 * float(component_densities(params, self.axes[0], self._grid).sum(axis=0).max()))
            return (x0, x1), (y0, top)
        xs, ys = [x0, x1], [y0, y1]
        for params in states:
            means, covs = marginal(params, self.axes)
            for mean, cov in zip(means, covs):
                curve = ellipse_points(mean, cov, 2.0, 48)
                xs += [float(curve[:, 0].min()), float(curve[:, 0].max())]
                ys += [float(curve[:, 1].min()), float(curve[:, 1].max())]
        lo_x, hi_x = min(xs), max(xs)
        lo_y, hi_y = min(ys), max(ys)
        pad_x, pad_y = 0.03 * (hi_x - lo_x), 0.03 * (hi_y - lo_y)
        return (lo_x - pad_x, hi_x + pad_x), (lo_y - pad_y, hi_y + pad_y)

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
            self._show_uncertainty_bar(self.components.k)

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
        self.components.clear()
        self.arrows.show(None, self.axes)
        self.legend.set_components(0, self._one_d)
