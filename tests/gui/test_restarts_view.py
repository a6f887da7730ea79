"""The restarts view: after a Run with restarts, every restart's log-likelihood curve beside the kept one."""

import numpy as np
import pytest

from tests.gui.conftest import sample, wait_outcome


def _segments(item):
    """The curves of a NaN-broken PlotDataItem, as a list of (x, y) arrays."""
    x, y = item.getData()
    if x is None or len(x) == 0:
        return []
    breaks = np.flatnonzero(np.isnan(y))
    return [(xs, ys) for xs, ys in zip(np.split(x, breaks), np.split(y, breaks))
            for xs, ys in [(xs[~np.isnan(ys)], ys[~np.isnan(ys)])] if len(xs)]


def test_a_run_with_restarts_shows_every_restart(window, qtbot):
    from emstudio.core.em import fit_mixture

    assert window.files.load_file(sample("overlapping.csv"))
    window.controls.k.setValue(4)
    window.controls.restarts.setValue(4)
    window.controls.init.setCurrentIndex(window.controls.init.findData("random-data"))
    outcome = wait_outcome(qtbot, window, window.requests.run)
    assert outcome.state in ("converged", "max-iter")
    expected = fit_mixture(window.dataset.values, window.controller.settings)
    n = window.dataset.values.shape[0]
    restarts = window.controller.restarts
    assert restarts is not None and restarts.kept == expected.best_restart and len(restarts.curves) == 4
    plot = window.likelihood
    # the kept restart is the highlighted main curve (the history kept)
    kept = expected.restart_histories[expected.best_restart]
    np.testing.assert_allclose(plot.curve.yData, [v / n for _, v in kept], rtol=1e-12)
    # the others, healthy in grey and collapsed in red, one curve each
    drawn = _segments(plot.others) + _segments(plot.collapsed)
    assert len(drawn) == 3
    others = [h for r, h in enumerate(expected.restart_histories) if r != expected.best_restart]
    finals = sorted(ys[-1] for _, ys in drawn)
    assert finals == pytest.approx(sorted(h[-1][1] / n for h in others), rel=1e-12)
    assert len(_segments(plot.collapsed)) == sum(d for r, d in enumerate(expected.restart_degenerate)
                                                  if r != expected.best_restart)
    assert plot.legend.isVisible() and "kept" in plot.legend.items[0][1].text
    # scrubbing keeps them; a new start forgets them
    window.history.slider.setValue(0)
    assert len(_segments(plot.others) + _segments(plot.collapsed)) == 3
    wait_outcome(qtbot, window, window.requests.reinitialise)
    assert window.controller.restarts is None
    assert _segments(plot.others) == [] and _segments(plot.collapsed) == [] and not plot.legend.isVisible()


def test_a_run_without_restarts_shows_one_curve(window, qtbot):
    assert window.files.load_file(sample("separated.csv"))
    wait_outcome(qtbot, window, window.requests.run)
    assert window.controller.restarts is None
    assert _segments(window.likelihood.others) == [] and not window.likelihood.legend.isVisible()
