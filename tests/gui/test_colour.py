"""Colour is identity: every mark of component k — 1σ and 2σ ellipses, mean, 1-D density curve,
table row, hover swatch, collapse ring, legend entry — carries component k's colour; the 2σ
ellipse is lighter and dashed; the mixture density is a neutral dark grey; the legend has one
entry per component and covers no data."""

import numpy as np
import pytest
from PySide6 import QtCore

from emstudio.core.numbers import format_number, format_share
from emstudio.core.palette import MIXTURE_INK, hex_colour, lighter, palette, srgb_to_lab
from emstudio.core.params import make_params
from emstudio.gui.component_items import SIGMA2_LIGHTER
from emstudio.core.edits import Collapse
from emstudio.gui.worker import DataView, Frame


def _params(k=3, d=2, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 6, size=(k, d))
    covs = np.stack([np.eye(d) * (0.5 + c) for c in range(k)])
    return make_params(np.full(k, 1 / k), means, covs, "full")


def _data(params, n=600, seed=1):
    rng = np.random.default_rng(seed)
    k, d = params.means.shape
    labels = rng.integers(0, k, n)
    return np.array([rng.multivariate_normal(params.means[c], params.covariances[c]) for c in labels])


def _plot(qtbot, values, columns, axes=(0, 1)):
    from emstudio.gui.views import MixturePlot

    plot = MixturePlot()
    qtbot.addWidget(plot)
    plot.resize(800, 600)
    plot.show()
    plot.set_data(values, columns, axes)
    return plot


def _show(plot, values, params, axes=(0, 1), collapse=()):
    view = DataView(values, axes)
    frame = Frame(0, "iteration", 1, params, 0.0, len(values), np.full(params.n_components, 10.0),
                  collapse=tuple(collapse))
    plot.show_frame(frame, view.colours(params))
    view.close()
    return frame


@pytest.mark.parametrize("k", [3, 9, 20])
def test_each_ellipse_mean_and_ring_has_its_components_colour(qtbot, k):
    params = _params(k)
    values = _data(params)
    plot = _plot(qtbot, values, ["x", "y"])
    _show(plot, values, params, collapse=[Collapse(1, 1e-9, 2.0)])
    colours = [hex_colour(c) for c in palette(k)]
    drawn = plot.components.pen_colours()
    assert drawn["sigma1"] == colours
    assert drawn["means"] == colours
    assert drawn["sigma2"] == [hex_colour(lighter(c, SIGMA2_LIGHTER)) for c in palette(k)]
    assert drawn["collapse"] == [colours[1]]  # the collapsing component's ring, in its colour
    for item in plot.components.sigma2:
        assert item.opts["pen"].style() == QtCore.Qt.PenStyle.DashLine
    for item in plot.components.sigma1:
        assert item.opts["pen"].style() == QtCore.Qt.PenStyle.SolidLine
    # 2σ is lighter than 1σ, component by component
    one = srgb_to_lab(palette(k))[:, 0]
    two = srgb_to_lab(lighter(palette(k), SIGMA2_LIGHTER))[:, 0]
    assert np.all(two > one)
    # Items are made once per K: a second state only moves them.
    first = list(plot.components.sigma1)
    _show(plot, values, _params(k, seed=5))
    assert plot.components.sigma1 == first


def test_density_curves_in_component_colours_and_mixture_in_neutral_ink(qtbot):
    params = _params(3, d=1)
    values = _data(params)
    plot = _plot(qtbot, values, ["x"], axes=(0, 0))
    _show(plot, values, params, axes=(0, 0))
    drawn = plot.components.pen_colours()
    assert drawn["curves"] == [hex_colour(c) for c in palette(3)]
    assert plot.mixture_curve.opts["pen"].color().name() == hex_colour(MIXTURE_INK)
    lab = srgb_to_lab(MIXTURE_INK)
    assert lab[0] < 30 and np.hypot(lab[1], lab[2]) < 8  # dark and without hue
    assert [e[0] for e in plot.legend.entries] == ["1", "2", "3", "mixture"]


def test_legend_one_entry_per_component_and_none_before_a_fit(qtbot):
    params = _params(4)
    values = _data(params)
    plot = _plot(qtbot, values, ["x", "y"])
    assert not plot.legend.isVisible()  # no "1σ/2σ" legend before there are ellipses
    _show(plot, values, params)
    assert plot.legend.isVisible()
    entries = plot.legend.entries
    assert [label for label, _ in entries[:4]] == ["1", "2", "3", "4"]
    assert [colour for _, colour in entries[:4]] == [hex_colour(c) for c in palette(4)]
    assert [label for label, _ in entries[4:]] == ["1σ", "2σ"]
    plot.clear_fit()
    assert not plot.legend.isVisible()


def test_legend_covers_no_data(qtbot):
    # Points everywhere but the bottom-left of the view.
    rng = np.random.default_rng(2)
    values = rng.uniform(0, 10, size=(3000, 2))
    values = values[~((values[:, 0] < 4) & (values[:, 1] < 4))]
    params = make_params(np.array([0.5, 0.5]), np.array([[7.0, 7.0], [7.0, 2.0]]),
                         np.stack([np.eye(2) * 0.3] * 2), "full")
    plot = _plot(qtbot, values, ["x", "y"])
    _show(plot, values, params)
    qtbot.wait(10)
    assert plot.place_legend() == "bottom-left"
    box = plot.legend.mapRectToItem(plot.plot_item.getViewBox().childGroup, plot.legend.boundingRect())
    inside = ((values[:, 0] >= box.left()) & (values[:, 0] <= box.right())
              & (values[:, 1] >= min(box.top(), box.bottom())) & (values[:, 1] <= max(box.top(), box.bottom())))
    assert not inside.any()
    # Moved by hand, it stays where put.
    plot.legend.moved_by_hand = True
    assert plot.place_legend() == "bottom-left"


def test_table_rows_and_hover_swatches_in_component_colours(qtbot):
    from emstudio.gui.hover import responsibilities_html
    from emstudio.gui.parameter_table import ParameterTable

    params = _params(3)
    table = ParameterTable()
    qtbot.addWidget(table)
    frame = Frame(0, "iteration", 1, params, 0.0, 100, np.array([20.0, 30.0, 50.0]))
    table.show_frame(frame, (0, 1), ["x", "y"])
    for r, colour in enumerate(palette(3)):
        assert table.item(r, 0).background().color().name() == hex_colour(colour)
        assert table.item(r, 0).text() == str(r + 1)
        assert table.item(r, 1).text() == format_share(1 / 3)
    text = responsibilities_html("row 1", ["x", "y"], [1.0, 2.0], np.array([0.2, 0.3, 0.5]))
    for colour in palette(3):
        assert f"color:{hex_colour(colour)}" in text


def test_table_shows_sd_and_correlation_and_scrolls_for_many_columns(qtbot):
    from emstudio.gui.parameter_table import ParameterTable

    d = 6
    cov = np.diag(np.arange(1.0, d + 1)) * 23170.0 ** 2
    cov[0, 1] = cov[1, 0] = 0.5 * np.sqrt(cov[0, 0] * cov[1, 1])
    cov[2, 3] = cov[3, 2] = -8.32e-302  # rounding noise, read as 0
    params = make_params(np.array([1.0]), np.full((1, d), 23170.0), cov[None], "full")
    table = ParameterTable()
    qtbot.addWidget(table)
    table.resize(300, 150)
    table.show()
    table.show_frame(Frame(0, "iteration", 1, params, 0.0, 100, np.array([100.0])), (0, 1), list("abcdef"))
    headers = [table.horizontalHeaderItem(i).text() for i in range(table.columnCount())]
    assert headers[3:9] == [f"μ {c}" for c in "abcdef"]
    assert table.item(0, 3).text() == "23170"  # never 2.317e+04
    assert table.item(0, 9).text() == format_number(23170.0)  # σ a
    assert table.item(0, 11).text() == "0.5"  # ρ
    assert "e-302" not in table.item(0, 9).toolTip() and "e+0" not in table.item(0, 9).toolTip()
    assert table.textElideMode() == QtCore.Qt.TextElideMode.ElideNone
    assert table.horizontalScrollBar().maximum() > 0  # scrolls sideways instead of eliding
