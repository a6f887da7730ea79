"""Pace: Run at full speed by default. Bins: the 1-D histogram follows the data, and a control sets it."""

from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtGui

from emstudio.core.bins import freedman_diaconis_bins
from tests.gui.conftest import sample, wait_outcome


def test_the_default_pace_waits_for_nothing(qtbot):
    from emstudio.gui.controls import PACES, ControlPanel

    names = ("run", "pause", "stop", "step_e", "step_m", "step", "reinit")
    actions = {name: QtGui.QAction(name) for name in names}
    panel = ControlPanel(actions)
    qtbot.addWidget(panel)
    assert panel.pace_seconds() == 0.0
    assert panel.pace.currentText() == "Fastest"
    assert [seconds for _, seconds in PACES] == sorted(seconds for _, seconds in PACES)  # indices kept


def test_a_new_window_runs_at_full_speed(make_window):
    window = make_window()
    assert window.controller.pace == 0.0


def test_one_d_histogram_bins_follow_the_data_and_the_control(window, qtbot):
    assert window.files.load_file(sample("one_d.csv"))
    x = window.dataset.values[:, 0]
    controls, plot = window.controls, window.plot
    assert not controls.histogram_box.isHidden()
    automatic = freedman_diaconis_bins(x)
    assert plot.bins == automatic
    edges, _ = plot.hist.getData()
    assert len(edges) == automatic + 1
    assert controls.bins.value() == 0 and controls.bins.text() == f"auto ({automatic})"

    controls.bins.setValue(7)
    assert plot.bins == 7 and len(plot.hist.getData()[0]) == 8
    _, heights = plot.hist.getData()
    assert np.sum(heights * np.diff(plot.hist.getData()[0])) == pytest.approx(1.0)  # a density

    controls.bins.setValue(60)  # narrow bins are taller: the view grows to hold them
    _, heights = plot.hist.getData()
    assert plot.plot_item.getViewBox().viewRange()[1][1] >= heights.max()

    controls.bins.setValue(0)
    assert plot.bins == automatic and controls.bins.text() == f"auto ({automatic})"


def test_the_chosen_bins_survive_a_fit_and_new_data(window, qtbot):
    assert window.files.load_file(sample("one_d.csv"))
    window.controls.bins.setValue(12)
    wait_outcome(qtbot, window, window.requests.run)
    assert window.plot.bins == 12
    assert window.files.load_file(sample("one_d.csv"))
    assert window.plot.bins == 12


def test_two_d_data_has_no_histogram_control(window):
    assert window.files.load_file(sample("separated.csv"))
    assert window.controls.histogram_box.isHidden()


def test_drawing_waits_in_proportion_to_its_cost(window):
    """The screen is drawn no faster than it can be: a costly drawing is followed by a longer wait."""
    from emstudio.gui.controller import DRAW_SHARE, FRAME_INTERVAL_MS, MAX_FRAME_INTERVAL_MS

    controller = window.controller
    controller._pace_drawing(0.001)
    assert controller._timer.interval() == FRAME_INTERVAL_MS
    controller._pace_drawing(0.040)
    assert controller._timer.interval() == round(40 * (1 / DRAW_SHARE - 1))
    controller._pace_drawing(5.0)
    assert controller._timer.interval() == MAX_FRAME_INTERVAL_MS


def test_the_data_report_names_the_file_not_the_path(window):
    """The Data box shows in every picture of the window: no path of the machine in it."""
    path = sample("one_d.csv")
    assert window.files.load_file(path)
    text = window.controls.report.text()
    assert text.startswith("one_d.csv (csv): 400 of 400 rows") and str(Path(path).parent) not in text
