"""The bound view: log L and F over half-steps, the KL gap between them, the half-step on screen."""

import numpy as np
import pytest
from PySide6 import QtWidgets

from emstudio.core.numbers import format_number
from emstudio.gui.bound import WINDOW, half_step_series, visible_window, y_range
from tests.gui.conftest import sample, wait_outcome


def _load(window, name="overlapping.csv", k=3, init="seed-step0"):
    assert window.files.load_file(sample(name))
    window.controls.k.setValue(k)
    window.controls.init.setCurrentIndex(window.controls.init.findData(init))
    return window


def _step(qtbot, window, kind):
    wait_outcome(qtbot, window, lambda: window.requests.step(kind))


def _marker_x(view):
    x, _ = view.plot.marker.getData()
    return sorted(set(np.asarray(x).tolist()))


def _assert_bound_shape(series):
    """E points: the bound touches (F = log L); M points: F ≤ log L (KL ≥ 0)."""
    size = np.maximum(np.abs(series.log_l), 1.0)
    for i, kind in enumerate(series.kinds):
        if kind == "E":
            assert series.bound[i] == pytest.approx(series.log_l[i], rel=1e-9)
        else:
            assert series.bound[i] <= series.log_l[i] + 1e-9 * size[i]


def test_the_dock_is_beside_the_log_likelihood(window):
    dock = window.findChild(QtWidgets.QDockWidget, "bound")
    assert dock is window.bound_dock and dock.windowTitle() == "Lower bound"
    assert window.dockWidgetArea(dock) == window.dockWidgetArea(window.likelihood_dock)
    view_menu = next(m for m in window.menuBar().findChildren(QtWidgets.QMenu) if m.title() == "&View")
    assert dock.toggleViewAction() in view_menu.actions()
    assert not hasattr(window, "bound_label")


def test_step_e_and_step_m_draw_the_bound_touching_then_separating(window, qtbot):
    _load(window)
    view = window.bound_view
    assert len(view.series) == 0 and "Step E" in view.caption.text()

    _step(qtbot, window, "E")
    s = view.series
    assert s.labels == ("E1",) and s.shown == 0
    assert s.bound[0] == pytest.approx(s.log_l[0], rel=1e-9)
    assert _marker_x(view) == [0]
    assert "E-step 1" in view.caption.text() and "touches" in view.caption.text()
    assert view.values["kl"].text() == "≈ 0"

    _step(qtbot, window, "M")
    s = view.series
    assert s.labels == ("E1", "M1") and s.shown == 1
    assert s.bound[1] < s.log_l[1]  # the first M-step of this start opens a real gap
    assert s.bound[1] > s.bound[0] and s.log_l[1] > s.log_l[0]  # F rose, log L rose more
    assert s.log_l[1] - s.log_l[0] >= s.bound[1] - s.bound[0]
    assert _marker_x(view) == [1]
    caption = view.caption.text()
    assert "M-step 1" in caption and "never falls" in caption and "E-step" not in caption
    m_terms = window.controller.current.terms
    assert view.values["kl"].text() == format_number(m_terms.kl / 500, 3)  # per sample, as the plot

    _step(qtbot, window, "E")
    _step(qtbot, window, "M")
    _step(qtbot, window, "E")
    s = view.series
    assert s.labels == ("E1", "M1", "E2", "M2", "E3") and s.shown == 4
    _assert_bound_shape(s)
    # An E-step leaves θ (and so log L) alone and lifts F up to it.
    for m, e in ((1, 2), (3, 4)):
        assert s.log_l[e] == pytest.approx(s.log_l[m], rel=1e-12)
        assert s.bound[e] > s.bound[m]
    assert s.n_samples == 500
    np.testing.assert_allclose(s.log_l[1], window.controller.history[1].log_likelihood / 500, rtol=1e-12)
    # The curves draw exactly the series (five half-steps fit the window).
    np.testing.assert_allclose(view.plot.log_l_curve.yData, s.log_l)
    np.testing.assert_allclose(view.plot.bound_curve.yData, s.bound)
    assert _marker_x(view) == [4] and view.plot.line.isVisible()
    assert "E-step 3" in view.caption.text()
    ticks = view.plot.plot_item.getAxis("bottom")._tickLevels[0]
    assert [label for _, label in ticks] == list(s.labels)


def test_the_marker_follows_the_history_slider(window, qtbot):
    _load(window)
    view = window.bound_view
    for kind in "EMEM":
        _step(qtbot, window, kind)
    assert len(window.controller.history) == 3  # start, M1, M2
    assert _marker_x(view) == [3]
    window.history.slider.setValue(1)
    assert view.series.shown == 1 and _marker_x(view) == [1]
    assert "M-step 1" in view.caption.text()
    assert view.series.labels == ("E1", "M1", "E2", "M2")  # scrubbing keeps the whole series
    window.history.slider.setValue(0)  # the start: θ₀, no q
    assert view.series.shown is None and _marker_x(view) == [] and not view.plot.line.isVisible()
    assert "no q yet" in view.caption.text() and view.values["kl"].text() == "—"
    window.history.slider.setValue(2)
    assert view.series.shown == 3 and _marker_x(view) == [3]


def test_step_e_plus_m_is_both_half_steps(window, qtbot):
    _load(window)
    _step(qtbot, window, "EM")
    _step(qtbot, window, "EM")
    s = window.bound_view.series
    assert s.labels == ("E1", "M1", "E2", "M2") and s.shown == 3
    _assert_bound_shape(s)


def test_a_run_gives_two_half_steps_per_iteration(window, qtbot):
    _load(window, "separated.csv", init="kmeans")
    outcome = wait_outcome(qtbot, window, window.requests.run)
    assert outcome.state == "converged"
    c = window.controller
    view = window.bound_view
    s = view.series
    iterations = len(c.history) - 1
    assert len(s) == 2 * iterations
    assert s.kinds == ("E", "M") * iterations
    assert s.labels[:4] == ("E1", "M1", "E2", "M2") and s.labels[-1] == f"M{iterations}"
    assert s.shown == len(s) - 1
    _assert_bound_shape(s)
    # log L at E(t+1) is log L(θₜ), as at M(t).
    np.testing.assert_allclose(s.log_l[2::2], s.log_l[1:-1:2], rtol=1e-12)
    assert "E then M" in view.caption.text()
    # The latest WINDOW half-steps are drawn, ending with the one on screen; "all" draws them all.
    x = view.plot.log_l_curve.xData
    assert len(x) == min(WINDOW, len(s)) and x[-1] == len(s) - 1
    view.all_box.setChecked(True)
    assert len(view.plot.log_l_curve.xData) == len(s)
    view.all_box.setChecked(False)
    # scrubbing back to an early iteration brings its half-steps into the drawn window
    window.history.slider.setValue(1)
    assert s is not view.series and view.series.shown == 1 and _marker_x(view) == [1]
    assert 1 in view.plot.log_l_curve.xData


def test_a_live_run_updates_the_view(make_window, qtbot):
    window = make_window(pace_index=2)  # 20 iterations / s
    _load(window)
    window.controls.tol.setText("0")  # a run that is still going when it is stopped
    c = window.controller
    window.requests.run()
    qtbot.waitUntil(lambda: len(c.history) >= 4, timeout=10000)
    qtbot.waitUntil(lambda: len(window.bound_view.series) >= 6, timeout=10000)
    assert window.bound_view.series.kinds[:2] == ("E", "M")
    wait_outcome(qtbot, window, window.requests.stop)
    s = window.bound_view.series
    assert s.shown == len(s) - 1 and s.labels[-1] == f"M{c.history[-1].iteration}"
    # Every half-step of the kept iterations, or of the latest of a long history (only those are drawn).
    assert len(s) == 2 * (len(c.history) - 1) or (len(c.history) > 2 * WINDOW and len(s) >= WINDOW)


def test_new_data_and_reinitialise_clear_the_view(window, qtbot):
    _load(window)
    view = window.bound_view
    for kind in "EME":
        _step(qtbot, window, kind)
    assert len(view.series) == 3
    wait_outcome(qtbot, window, window.requests.reinitialise)
    assert len(view.series) == 0 and view.series.shown is None
    assert "no q yet" in view.caption.text()
    assert len(view.plot.log_l_curve.xData if view.plot.log_l_curve.xData is not None else []) == 0
    _step(qtbot, window, "EM")
    assert view.series.labels == ("E1", "M1")
    _load(window, "separated.csv")
    assert len(view.series) == 0
    assert view.plot.placeholder.isVisible() and not view.plot.line.isVisible()
    assert all(label.text() == "—" for label in view.values.values())
    assert "Step E" in view.caption.text()


# ---------------------------------------------------------------------- the pure parts
def test_visible_window_holds_the_half_step_on_screen():
    assert visible_window(5, 4, 10) == (0, 4)
    assert visible_window(100, 99, 10) == (90, 99)
    for shown in (0, 3, 50, 97):
        first, last = visible_window(100, shown, 10)
        assert first <= shown <= last and last - first == 9


def test_y_range_keeps_the_latest_iterations_readable():
    from emstudio.gui.bound import HalfStepSeries

    # A first iteration that climbs 1.0, then iterations that climb 0.01: the later gaps would be
    # 1 % of a plot scaled to everything.
    log_l = np.array([-3.0, -2.0, -2.0, -1.99, -1.99])
    bound = np.array([-3.0, -2.5, -2.0, -1.995, -1.99])
    s = HalfStepSeries(("E", "M", "E", "M", "E"), (1, 1, 2, 2, 3), (None,) * 5, (None,) * 5, 1, 4, log_l, bound)
    low, high = y_range(s, 0, 4)
    assert high == -1.99 and low == pytest.approx(-2.0 - 0.01 * 2)
    assert y_range(s, 0, 4, whole=True) == (-3.0, -1.99)


def test_series_of_frames_without_a_window():
    from emstudio.core.estep import BoundTerms
    from emstudio.gui.worker import Frame

    def frame(kind, iteration, terms=None, after_e=None):
        return Frame(0, kind, iteration, None, 0.0, 10, np.ones(1), terms=terms, terms_after_e=after_e)

    e1, m1 = BoundTerms(-20.0, -25.0, 5.0), BoundTerms(-15.0, -21.0, 5.0)
    e2 = BoundTerms(-15.0, -18.0, 3.0)
    history = [frame("start", 0), frame("M", 1, m1, e1)]
    lone_e = frame("E", 2, e2)
    s = half_step_series(history, lone_e, 1)
    assert s.labels == ("E1", "M1", "E2") and s.shown == 2
    np.testing.assert_allclose(s.log_l, [-2.0, -1.5, -1.5])
    np.testing.assert_allclose(s.bound, [-2.0, -1.6, -1.5])
    np.testing.assert_allclose(s.kl, [0.0, 0.1, 0.0], atol=1e-12)
    assert half_step_series(history, history[1], 1).shown == 1
    assert half_step_series(history, history[0], 0).shown is None
    assert len(half_step_series([frame("start", 0)], None, 0)) == 0


def test_a_converged_m_step_is_not_called_a_fall():
    """ΔF of −2e−13 at convergence is rounding, not the reg_covar effect."""
    from emstudio.core.estep import BoundTerms
    from emstudio.gui.bound import HalfStepSeries, describe

    e = BoundTerms(-1597.0377, -1800.2548, 203.217)
    m = BoundTerms(-1597.0377, -1800.2548 - 2.3e-13, 203.217)
    series = HalfStepSeries(("E", "M"), (9, 9), (e, m), (e, e), 500, 1,
                            np.array([e.log_likelihood, m.log_likelihood]) / 500,
                            np.array([e.lower_bound, m.lower_bound]) / 500)
    text = describe(series, "iteration")
    assert "fell" not in text and "converged" in text


def test_a_long_history_draws_its_window_and_all_on_request(window, qtbot):
    assert window.files.load_file(sample("overlapping.csv"))
    window.controls.tol.set_value(0)
    window.controls.max_iter.setValue(60)
    wait_outcome(qtbot, window, window.requests.run)
    panel = window.bound_view
    series = panel.series
    assert series.labels[-1] == "M60" and series.labels[series.shown] == "M60"
    assert len(series) < 120  # only the frames the window can draw were turned into half-steps
    panel.all_box.setChecked(True)
    assert len(panel.series) == 120 and panel.series.labels[0] == "E1"
    assert panel.plot.window == (0, 119)
    window.history.slider.setValue(20)  # scrub back: the window follows, the labels stay true
    panel.all_box.setChecked(False)
    assert panel.series.labels[panel.series.shown] == "M20"
    first, last = panel.plot.window
    assert first <= panel.series.shown <= last


# ---------------------------------------------------------------------- one unit, the gap, repeats
def test_plot_numbers_and_caption_share_one_unit(window, qtbot):
    from emstudio.gui.bound import PER_SAMPLE, SUMS

    _load(window)
    view = window.bound_view
    for kind in "EMEM":
        _step(qtbot, window, kind)
    s = view.series
    assert view.unit == PER_SAMPLE
    m2 = window.controller.current.terms
    np.testing.assert_allclose(view.plot.log_l_curve.yData, s.log_l)
    assert float(view.values["log_l"].text().replace("−", "-")) == pytest.approx(m2.log_likelihood / 500, abs=1e-3)
    assert "per sample" in view.where.text() and "per sample" in view.caption.text()
    assert "per sample" in view.plot.plot_item.getAxis("left").labelText

    view.set_unit(SUMS)
    np.testing.assert_allclose(view.plot.log_l_curve.yData, s.log_l * 500)
    np.testing.assert_allclose(view.plot.bound_curve.yData, s.bound * 500)
    # To the digits that show this gap (KL of a few units in sums: two decimals).
    assert float(view.values["log_l"].text().replace("−", "-")) == pytest.approx(m2.log_likelihood, abs=0.01)
    assert float(view.values["bound"].text().replace("−", "-")) == pytest.approx(m2.lower_bound, abs=0.01)
    assert "sums" in view.where.text() and "sums" in view.caption.text()
    assert "sum" in view.plot.plot_item.getAxis("left").labelText
    _, high = view.plot.plot_item.getViewBox().viewRange()[1]
    assert high > m2.log_likelihood  # the range is in sums too
    view.set_unit(PER_SAMPLE)
    np.testing.assert_allclose(view.plot.log_l_curve.yData, s.log_l)


def test_the_numbers_show_the_gap(window, qtbot):
    """After an M-step log L and F differ by KL: the values have the digits to show it."""
    assert window.files.load_file(sample("one_d.csv"))
    window.controls.k.setValue(3)
    window.controls.max_iter.setValue(12)
    wait_outcome(qtbot, window, window.requests.run)
    view = window.bound_view
    t = window.controller.current.terms
    assert 0 < t.kl / 400 < 1e-3  # a small gap, late in the fit
    log_l, bound = view.values["log_l"].text(), view.values["bound"].text()
    assert log_l != bound
    difference = float(log_l.replace("−", "-")) - float(bound.replace("−", "-"))
    assert difference == pytest.approx(t.kl / 400, rel=0.05)


def test_the_gap_is_drawn_at_the_m_steps_only(window, qtbot):
    _load(window)
    view = window.bound_view
    for kind in "EMEME":
        _step(qtbot, window, kind)
    s = view.series
    x, foot, height = view.plot.gap_data()
    np.testing.assert_array_equal(x, [1, 3])  # M1, M2
    np.testing.assert_allclose(foot, s.bound[[1, 3]])
    np.testing.assert_allclose(height, s.kl[[1, 3]], atol=1e-12)
    bottom, top = view.plot.plot_item.getViewBox().viewRange()[1]
    assert bottom <= foot.min() and top >= (foot + height).max()  # the first gaps in full


def test_a_second_e_step_changes_nothing_and_says_why(window, qtbot):
    _load(window)
    view = window.bound_view
    _step(qtbot, window, "E")
    values = {key: label.text() for key, label in view.values.items()}
    _step(qtbot, window, "E")
    assert view.series.labels == ("E1",)
    assert {key: label.text() for key, label in view.values.items()} == values
    caption = view.caption.text()
    assert "E-step 1 again" in caption and "nothing changed" in caption and "posterior" in caption


def test_a_second_m_step_changes_nothing_and_says_why(window, qtbot):
    _load(window)
    view = window.bound_view
    _step(qtbot, window, "E")
    _step(qtbot, window, "M")
    values = {key: label.text() for key, label in view.values.items()}
    _step(qtbot, window, "M")
    assert view.series.labels == ("E1", "M1")
    assert {key: label.text() for key, label in view.values.items()} == values
    caption = view.caption.text()
    assert "M-step 1 again" in caption and "already maximises Q" in caption
    # Scrubbing away and back is no repeat.
    window.history.slider.setValue(0)
    window.history.slider.setValue(1)
    assert "again" not in view.caption.text()
