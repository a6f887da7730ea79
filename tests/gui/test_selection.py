"""The model-selection panel (Fit ▸ Choose K and model…), offscreen. Waits on signals, never sleeps."""

import numpy as np
import pytest
from PySide6 import QtCore

from emstudio.core.em import FitSettings
from emstudio.core.selection import select_models
from emstudio.gui.selection_plot import type_offset
from tests.gui.conftest import sample, wait_outcome

TYPES = ("full", "spherical")


def _open_panel(window, qtbot, restarts=2):
    assert window.files.load_file(sample("separated.csv"))
    window.actions["select_models"].trigger()
    assert window.tabs.currentWidget() is window.selection and window.selection.isVisible()
    panel = window.selection
    panel.k_range.setText("1-4")
    for name, box in panel.type_boxes.items():
        box.setChecked(name in TYPES)
    panel.restarts.setValue(restarts)
    return panel


def _compute(qtbot, panel):
    with qtbot.waitSignal(panel.selection_ready, timeout=60000) as blocker:
        assert panel.compute()
        assert panel.state == "computing"
        assert not panel.compute_button.isEnabled() and panel.cancel_button.isEnabled()
    return blocker.args[0]


def test_the_menu_opens_the_panel(window):
    assert not window.actions["select_models"].isEnabled()  # no data yet
    assert window.files.load_file(sample("separated.csv"))
    assert window.actions["select_models"].isEnabled()
    assert "Choose" in window.actions["select_models"].text()
    window.actions["select_models"].trigger()
    # a tab of its own beside the mixture plot
    assert window.tabs.currentWidget() is window.selection and window.selection.isVisible()
    assert window.tabs.tabText(window.tabs.indexOf(window.selection)) == "Choose K and model"


def test_compute_chooses_the_cell_select_models_chooses(window, qtbot):
    panel = _open_panel(window, qtbot)
    progress = []
    panel.worker.cell_done.connect(lambda job, cell, done, total: progress.append((done, total)))
    selection = _compute(qtbot, panel)
    # the same grid, the same answer as the command line's select_models
    base = FitSettings(restarts=2)
    expected = select_models(window.dataset.values, [1, 2, 3, 4], TYPES, base, jobs=1)
    assert (selection.best.covariance_type, selection.best.k) == (expected.best.covariance_type, expected.best.k)
    assert selection.best.k == 3  # three well-separated clusters
    assert selection.best.criterion("bic") == pytest.approx(expected.best.criterion("bic"), rel=1e-10)
    # one progress report per cell, in order, and the bar full
    assert [d for d, _ in progress] == list(range(1, 9)) and {t for _, t in progress} == {8}
    assert panel.progress.value() == panel.progress.maximum() == 8
    assert panel.state == "idle" and panel.compute_button.isEnabled() and not panel.cancel_button.isEnabled()
    # the plot: one line per type over K, the chosen cell ringed
    for name in TYPES:
        line = panel.plot.lines[name]
        # each type's points beside K (types side by side), so every point can be clicked
        np.testing.assert_allclose(line.xData, np.array([1, 2, 3, 4]) + type_offset(name, panel.plot.types))
        cells = [c for c in selection.cells if c.covariance_type == name]
        values = [np.nan if c.degenerate else c.criterion("bic") for c in cells]
        np.testing.assert_allclose(line.yData, values)
    assert len(panel.plot.points.data) == 8
    chosen = panel.plot.chosen.getData()
    assert (chosen[0][0], chosen[1][0]) == (3 + type_offset(selection.best.covariance_type, panel.plot.types),
                                            pytest.approx(selection.best.criterion("bic")))
    assert "K = 3" in panel.summary.text()
    # another criterion re-ranks without refitting
    panel.criterion.setCurrentIndex(panel.criterion.findData("aic"))
    assert panel.plot.lines["full"].yData[0] == pytest.approx(selection.cells[0].criterion("aic"))
    assert "AIC" in panel.summary.text()


def test_degenerate_cells_are_marked_and_never_chosen(window, qtbot):
    from emstudio.gui.controller import Dataset

    # 40 points, four of them repeated: large K collapses components onto the repeated points
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(36, 2)), np.repeat([[5.0, 5.0]], 4, axis=0)])
    window.files.set_dataset(Dataset(X, ("a", "b"), "collapse.npy"))
    panel = window.selection
    panel.k_range.setText("1-3")
    for name, box in panel.type_boxes.items():
        box.setChecked(name == "full")
    panel.restarts.setValue(1)
    selection = _compute(qtbot, panel)
    degenerate = [c for c in selection.cells if c.degenerate]
    xs, _ = panel.plot.degenerate.getData()
    assert len(xs) == len(degenerate)
    assert selection.best is None or not selection.best.degenerate
    for cell in degenerate:
        assert cell.k + type_offset(cell.covariance_type, panel.plot.types) in list(xs)


def test_cancel_stops_between_cells(window, qtbot):
    panel = _open_panel(window, qtbot)
    # the worker's side of Cancel, at a known moment: the gate closes as the first cell is reported
    connection = panel.worker.cell_done.connect(lambda *args: panel.gate.close(),
                                                QtCore.Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(panel.worker.finished, timeout=60000) as blocker:
        panel.compute()
    panel.worker.cell_done.disconnect(connection)
    assert blocker.args[1] == "cancelled"
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=5000)
    assert len(panel.cells) <= 1 and "Cancelled" in panel.summary.text()
    assert panel.selection is None

    # and through the button: the panel answers at once, the worker after the cell under way
    cells_seen = []
    panel.worker.cell_done.connect(lambda job, cell, done, total: cells_seen.append(done),
                                   QtCore.Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(panel.worker.finished, timeout=60000) as blocker:
        panel.compute()
        qtbot.mouseClick(panel.cancel_button, QtCore.Qt.MouseButton.LeftButton)
        assert panel.state == "idle" and panel.compute_button.isEnabled()
    assert blocker.args[1] == "cancelled"
    assert len(cells_seen) < 8
    qtbot.wait(50)  # a queued cell of the cancelled job would land now: it must be dropped
    assert panel.selection is None and panel.progress.value() < 8

    # a new compute after a cancel runs to the end
    selection = _compute(qtbot, panel)
    assert len(selection.cells) == 8


def test_clicking_a_cell_loads_its_fit(window, qtbot):
    panel = _open_panel(window, qtbot)
    selection = _compute(qtbot, panel)
    cell = next(c for c in selection.cells if c.covariance_type == "spherical" and c.k == 2)
    point = panel.plot.point_of(cell)
    with qtbot.waitSignal(panel.cell_chosen, timeout=5000) as chosen, \
            qtbot.waitSignal(window.controller.outcome, timeout=20000):
        qtbot.mouseClick(panel.plot.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=point)
    assert chosen.args[0] is cell
    assert window.tabs.currentWidget() is window.plot_page  # the chosen fit is shown
    c = window.controller
    assert c.current.params.n_components == 2 and c.current.params.covariance_type == "spherical"
    np.testing.assert_allclose(c.current.params.means, cell.result.params.means)
    assert c.current.log_likelihood == pytest.approx(cell.result.log_likelihood, rel=1e-9)
    assert window.table.rowCount() == 2
    assert window.controls.k.value() == 2 and window.controls.covariance.currentData() == "spherical"
    selected = panel.plot.selected.getData()
    assert (selected[0][0], selected[1][0]) == (2 + type_offset("spherical", panel.plot.types), pytest.approx(cell.criterion("bic")))
    # the chosen cell, through the panel's own method; then Run continues EM from it
    wait_outcome(qtbot, window, lambda: panel.choose(selection.best))
    assert c.current.params.n_components == 3 and window.table.rowCount() == 3
    outcome = wait_outcome(qtbot, window, window.requests.run)
    assert outcome.state == "converged"
    assert c.history[-1].log_likelihood == pytest.approx(selection.best.result.log_likelihood, rel=1e-6)


def test_new_data_cancels_a_grid_and_clears_the_plot(window, qtbot):
    panel = _open_panel(window, qtbot)
    with qtbot.waitSignal(panel.worker.finished, timeout=60000):
        panel.compute()
        assert window.files.load_file(sample("overlapping.csv"))
        assert panel.state == "idle"
    assert panel.cells == [] and len(panel.plot.points.data) == 0


def test_close_mid_compute_stops_the_thread(make_window, qtbot):
    window = make_window()
    panel = _open_panel(window, qtbot)
    panel.compute()
    thread = panel.thread
    window.close()
    assert thread.isFinished() and not thread.isRunning()


def test_panel_controls_have_tooltips(window):
    from PySide6 import QtWidgets

    kinds = (QtWidgets.QAbstractButton, QtWidgets.QAbstractSpinBox, QtWidgets.QComboBox, QtWidgets.QLineEdit)
    controls = [w for w in window.selection.findChildren(QtWidgets.QWidget) if isinstance(w, kinds)
                and not isinstance(w.parent(), QtWidgets.QAbstractSpinBox)]
    assert len(controls) >= 9
    assert not [type(w).__name__ for w in controls if not w.toolTip()]
    # the plot explains itself under it, never with a tooltip over the points
    assert not window.selection.plot.toolTip() and "Click a point" in window.selection.legend_note.text()


def _slow_grid(window, qtbot):
    """A panel whose every cell would take minutes: EM with no tolerance and a million iterations."""
    panel = _open_panel(window, qtbot, restarts=20)
    window.controls.tol.setText("0")
    window.controls.max_iter.setValue(1_000_000)
    return panel


def test_cancel_stops_the_cell_under_way(window, qtbot):
    """Cancel reaches into the cell being fitted (its EM iterations), not only between cells."""
    panel = _slow_grid(window, qtbot)
    cells_seen = []
    panel.worker.cell_done.connect(lambda *args: cells_seen.append(args), QtCore.Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(panel.worker.finished, timeout=20000) as blocker:
        assert panel.compute()
        qtbot.wait(300)  # well inside the first cell
        panel.cancel()
    assert blocker.args[1] == "cancelled" and cells_seen == []
    assert panel.state == "idle" and panel.compute_button.isEnabled()


def test_close_mid_cell_ends_the_grid(make_window, qtbot):
    window = make_window()
    panel = _slow_grid(window, qtbot)
    with qtbot.waitSignal(panel.worker.finished, timeout=20000) as blocker:
        assert panel.compute()
        qtbot.wait(300)
        window.close()  # waits for the panel's thread: it returns because the cell stops
    assert blocker.args[1] == "cancelled"
    assert panel.thread.isFinished()


def test_k_is_bounded_by_the_distinct_rows(window, qtbot, tmp_path):
    data = tmp_path / "three.csv"
    data.write_text("a,b\n" + "0,0\n1,0\n0,1\n" * 30)
    assert window.files.load_file(str(data))
    window.actions["select_models"].trigger()
    panel = window.selection
    panel.k_range.setText("1-100000000")  # refused in the field (never listed): more than MOST_KS
    assert not panel.compute_button.isEnabled()
    panel.k_range.setText("1-9")
    for name, box in panel.type_boxes.items():
        box.setChecked(name == "full")
    selection = _compute(qtbot, panel)
    assert [c.k for c in selection.cells] == [1, 2, 3]
    assert "3 distinct rows, so K goes up to 3" in panel.summary.text()


def test_all_fourteen_models_can_be_chosen_drawn_and_told_apart(window, qtbot):
    """Every mclust model in the grid, each its own colour and marker, in the legend by name."""
    from emstudio.core.params import ALL_COVARIANCE_TYPES
    from emstudio.gui.selection_plot import TYPE_STYLES

    assert len({(c, s) for c, s, _ in TYPE_STYLES.values()}) == 14
    assert len({c for c, _, _ in TYPE_STYLES.values()}) == 14
    panel = _open_panel(window, qtbot, restarts=1)
    panel.k_range.setText("1-2")
    panel.set_covariance_types(ALL_COVARIANCE_TYPES)
    assert panel.progress.maximum() == 28
    assert "VEV" in panel.legend.text() and "VVV" in panel.legend.text()
    selection = _compute(qtbot, panel)
    assert {c.covariance_type for c in selection.cells} == set(ALL_COVARIANCE_TYPES)
    assert panel.plot.types == tuple(ALL_COVARIANCE_TYPES)
    assert all(len(panel.plot.lines[t].xData) == 2 for t in ALL_COVARIANCE_TYPES)
    assert panel.type_boxes["tied"].text() == "EEE" and "tied" in panel.type_boxes["tied"].toolTip()
