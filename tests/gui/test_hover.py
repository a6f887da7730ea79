"""Hovering the plot shows responsibilities; shading by uncertainty. Mouse moves are simulated by
calling the hover with scene positions mapped from data coordinates."""

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from emstudio.core.em import responsibilities
from emstudio.core.estep import e_step
from emstudio.core.geometry import blend_colours, decimation_indices, palette
from emstudio.core.responsibility import marginal_responsibilities, uncertainty, uncertainty_colours
from emstudio.gui.controller import Dataset
from emstudio.gui.hover import hex_colour
from emstudio.gui.worker import SCATTER_LIMIT
from tests.gui.conftest import blob_data, sample, wait_outcome


def _fit(qtbot, window, k=3, max_iter=None):
    window.controls.k.setValue(k)
    if max_iter is not None:
        window.controls.max_iter.setValue(max_iter)
    wait_outcome(qtbot, window, window.requests.run)
    # The outcome's last frame carries the colours of the final state (the worker made them).
    return window.controller.current.params


def _scene(plot, x, y, dx=0.0, dy=0.0):
    """The scene position of data point (x, y), moved by (dx, dy) screen pixels."""
    return plot.plot_item.getViewBox().mapViewToScene(QtCore.QPointF(x, y)) + QtCore.QPointF(dx, dy)


def _isolated_row(plot, points, candidates, clearance_px=8.0):
    """A row among ``candidates`` whose nearest other drawn point is further than clearance_px."""
    sx, sy = plot.plot_item.getViewBox().viewPixelSize()
    pixels = points / np.array([sx, sy])
    for row in candidates:
        distance = np.hypot(*(pixels - pixels[row]).T)
        distance[row] = np.inf
        if distance.min() > clearance_px:
            return int(row)
    raise AssertionError("no isolated point")


def _brush_rgb(plot):
    return np.array([b.color().getRgb()[:3] for b in plot.scatter.data["brush"]])


def _quantised(rgb):
    """Colours as the scatter's brush cache keeps them (6 bits per channel)."""
    return (np.clip(np.rint(rgb), 0, 255).astype(np.int64) >> 2) << 2


def test_hovering_a_point_shows_its_responsibilities(window, qtbot):
    assert window.files.load_file(sample("overlapping.csv"))
    params = _fit(qtbot, window)
    plot, X = window.plot, window.dataset.values
    expected = responsibilities(X, params)
    most_uncertain_first = np.argsort(-uncertainty(expected))
    row = _isolated_row(plot, X, most_uncertain_first)
    assert plot.hover.hover_at(_scene(plot, *X[row], dx=4, dy=-3))
    reading = plot.hover.reading
    assert reading.kind == "point" and reading.row == row + 1
    np.testing.assert_allclose(reading.position, X[row])
    np.testing.assert_allclose(reading.resp, expected[row], atol=1e-6)
    text = plot.hover.text
    assert f"row {row + 1}" in text and "uncertainty" in text
    for k, r in enumerate(expected[row]):
        assert f"r<sub>{k + 1}</sub>" in text and f"{r:.4f}" in text
    assert f"{1 - expected[row].max():.4f}" in text
    # the swatch of every component, in its colour
    for colour in palette(3):
        assert hex_colour(colour) in text
    assert plot.hover.box.isVisible() and plot.hover.ring.isVisible()
    box = plot.hover.box.geometry()
    assert plot.viewport().rect().contains(box)  # readable: inside the plot


def test_nothing_is_shown_far_from_points_or_outside_the_plot(window, qtbot):
    assert window.files.load_file(sample("separated.csv"))
    _fit(qtbot, window)
    plot, X = window.plot, window.dataset.values
    row = _isolated_row(plot, X, range(len(X)))
    assert plot.hover.hover_at(_scene(plot, *X[row], dx=3))
    # a place of the view far from every point
    vb = plot.plot_item.getViewBox()
    (x0, x1), (y0, y1) = vb.viewRange()
    grid = np.array([(x, y) for x in np.linspace(x0, x1, 25)[1:-1] for y in np.linspace(y0, y1, 25)[1:-1]])
    pixels = vb.viewPixelSize()
    clearance = [np.hypot(*((X - g) / pixels).T).min() for g in grid]
    empty = grid[int(np.argmax(clearance))]
    assert max(clearance) > 30
    assert not plot.hover.hover_at(_scene(plot, *empty))
    assert plot.hover.reading is None and not plot.hover.box.isVisible()
    # over the axis, outside the view box
    left_axis = plot.plot_item.getAxis("left").sceneBoundingRect().center()
    assert not plot.hover.hover_at(left_axis)


def test_leaving_the_plot_hides_the_box(window, qtbot):
    assert window.files.load_file(sample("overlapping.csv"))
    _fit(qtbot, window)
    plot, X = window.plot, window.dataset.values
    row = _isolated_row(plot, X, range(len(X)))
    assert plot.hover.hover_at(_scene(plot, *X[row]))
    QtWidgets.QApplication.sendEvent(plot.viewport(), QtCore.QEvent(QtCore.QEvent.Type.Leave))
    assert not plot.hover.shown and not plot.hover.box.isVisible() and not plot.hover.ring.isVisible()


def test_the_box_follows_a_new_state(window, qtbot):
    """A box left open over a point shows the new q after Step E."""
    assert window.files.load_file(sample("overlapping.csv"))
    window.controls.k.setValue(3)
    wait_outcome(qtbot, window, lambda: window.requests.step("E"))
    plot, X = window.plot, window.dataset.values
    row = _isolated_row(plot, X, range(len(X)))
    assert plot.hover.hover_at(_scene(plot, *X[row]))
    before = plot.hover.reading.resp.copy()
    wait_outcome(qtbot, window, lambda: window.requests.step("EM"))  # M-step: q unchanged
    np.testing.assert_array_equal(plot.hover.reading.resp, before)
    wait_outcome(qtbot, window, lambda: window.requests.step("E"))  # E-step: the new q
    np.testing.assert_allclose(plot.hover.reading.resp,
                               responsibilities(X, window.controller.current.params)[row], atol=1e-6)
    assert not np.allclose(plot.hover.reading.resp, before)


def test_uncertainty_shading_toggles_the_brushes_and_back(window, qtbot):
    assert window.files.load_file(sample("overlapping.csv"))
    params = _fit(qtbot, window)
    plot, X = window.plot, window.dataset.values
    action = window.actions["shade_uncertainty"]
    assert action.isCheckable() and action.shortcut().toString() == "U"
    assert action in window.menuBar().actions()[[a.text() for a in window.menuBar().actions()].index("&View")] \
        .menu().actions()
    blended = _brush_rgb(plot)
    resp = responsibilities(X, params)
    np.testing.assert_allclose(blended, _quantised(blend_colours(resp, palette(3))), atol=4)
    assert not plot.uncertainty_bar.isVisible()

    action.trigger()
    assert action.isChecked() and plot.shading == "uncertainty"
    shaded = _brush_rgb(plot)
    np.testing.assert_allclose(shaded, _quantised(uncertainty_colours(resp)), atol=4)
    # darker where less certain
    u = uncertainty(resp)
    assert shaded[np.argmax(u)].sum() < shaded[np.argmin(u)].sum()
    assert plot.uncertainty_bar.isVisible()
    assert "1 − 1/3" in plot.uncertainty_bar.labels()[2] and "0.667" in plot.uncertainty_bar.labels()[2]

    # it stays on for new frames
    wait_outcome(qtbot, window, lambda: window.requests.step("E"))
    np.testing.assert_allclose(_brush_rgb(plot), _quantised(uncertainty_colours(
        responsibilities(X, window.controller.current.params))), atol=4)

    action.trigger()
    assert not action.isChecked() and plot.shading == "responsibility"
    np.testing.assert_allclose(_brush_rgb(plot), _quantised(blend_colours(
        responsibilities(X, window.controller.current.params), palette(3))), atol=4)
    assert not plot.uncertainty_bar.isVisible()


def test_density_mode_hover_and_shading(window, qtbot):
    X = blob_data(8000, seed=3, k=3)
    window.files.set_dataset(Dataset(X, ("a", "b"), "big.npy"))
    params = _fit(qtbot, window, k=3, max_iter=8)
    plot = window.plot
    assert plot.density.isVisible() and not plot.scatter.isVisible()
    # the responsibilities at the cursor: exactly the E-step's for d = 2
    position = X[17]
    assert plot.hover.hover_at(_scene(plot, *position))
    reading = plot.hover.reading
    assert reading.kind == "position" and reading.row is None
    _, log_resp = e_step(np.array([reading.position]), params)
    np.testing.assert_allclose(reading.resp, np.exp(log_resp[0]), atol=1e-9)
    np.testing.assert_allclose(reading.position, position, atol=1e-6 * np.ptp(X))
    assert "at this position" in plot.hover.text and "marginal" not in plot.hover.text

    # shading by uncertainty: the worker shades the image by each bin's mean uncertainty
    image = plot.density.image.copy()
    c = window.controller
    with qtbot.waitSignal(c.display, timeout=10000, check_params_cb=lambda f, col: col is not None):
        window.actions["shade_uncertainty"].trigger()
    assert plot._image_shading == "uncertainty" and plot.uncertainty_bar.isVisible()
    shaded = plot.density.image
    np.testing.assert_array_equal(shaded[..., 3], image[..., 3])  # the same bins, the same opacity
    assert not np.array_equal(shaded[..., :3], image[..., :3])
    with qtbot.waitSignal(c.display, timeout=10000, check_params_cb=lambda f, col: col is not None):
        window.actions["shade_uncertainty"].trigger()
    assert plot._image_shading == "responsibility" and not plot.uncertainty_bar.isVisible()
    np.testing.assert_array_equal(plot.density.image, image)


def test_density_mode_with_more_axes_says_marginal(window, qtbot):
    X = blob_data(7000, seed=4, d=4, k=3)
    window.files.set_dataset(Dataset(X, ("a", "b", "c", "d"), "big4.npy"))
    params = _fit(qtbot, window, k=3, max_iter=5)
    plot = window.plot
    assert plot.hover.hover_at(_scene(plot, *X[5, :2]))
    reading = plot.hover.reading
    np.testing.assert_allclose(reading.resp, marginal_responsibilities(params, (0, 1), [reading.position])[0])
    assert reading.resp.sum() == pytest.approx(1.0)
    assert "marginal on a, b" in plot.hover.text


def test_one_dimension_points_and_r_of_x(window, qtbot):
    x = np.concatenate([np.random.default_rng(0).normal(size=3500), np.random.default_rng(1).normal(size=3000) + 5])
    window.files.set_dataset(Dataset(x[:, None], ("x",), "many.npy"))
    params = _fit(qtbot, window, k=2)
    plot = window.plot
    drawn = decimation_indices(len(x), SCATTER_LIMIT)
    points = plot.hover._points
    assert len(points) == len(drawn) == SCATTER_LIMIT
    i = _isolated_row(plot, points, np.argsort(np.abs(points[:, 0] - 2.5)), clearance_px=3)
    assert plot.hover.hover_at(_scene(plot, *points[i]))
    reading = plot.hover.reading
    row = int(drawn[i])
    assert reading.kind == "point" and reading.row == row + 1
    np.testing.assert_allclose(reading.position, [x[row]])
    np.testing.assert_allclose(reading.resp, responsibilities(x[row:row + 1, None], params)[0], atol=1e-6)
    # anywhere above the axis: r(x) at that x, exact
    top = plot.hist.yData.max()
    assert plot.hover.hover_at(_scene(plot, 2.2, 0.6 * top))
    reading = plot.hover.reading
    assert reading.kind == "position" and plot.hover.line.isVisible()
    _, log_resp = e_step(np.array([[reading.position[0]]]), params)
    np.testing.assert_allclose(reading.resp, np.exp(log_resp[0]), atol=1e-9)
    assert reading.position[0] == pytest.approx(2.2, abs=0.05)
    assert "r(x)" in plot.hover.text
