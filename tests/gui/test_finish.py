"""The window's finish: plots, menus, help, dialogs' folders, and fields that say what is wrong."""

import os
import re

import pytest
from PySide6 import QtCore, QtWidgets

from emstudio.core.em import FitSettings
from emstudio.errors import EmstudioError
from tests.gui.conftest import sample, wait_outcome

GLYPHS = "▶❙■⟲"


def _menu(window, title):
    return next(m for m in window.menuBar().findChildren(QtWidgets.QMenu) if m.title() == title)


def _load(window, name="overlapping.csv"):
    assert window.files.load_file(sample(name))


def test_plots_have_no_auto_range_button_and_no_tooltip_over_the_data(window):
    _load(window)
    for plot in (window.plot, window.likelihood, window.selection.plot):
        assert plot.getPlotItem().buttonsHidden
        assert not plot.toolTip()


def test_empty_plots_show_no_made_up_axes_and_no_legend(window, qtbot):
    _load(window)
    likelihood = window.likelihood.plot_item
    assert not likelihood.getAxis("left").style["showValues"]  # no 0–1 before there is a fit
    assert not window.plot.legend.isVisible()  # no "1σ/2σ" before there are ellipses
    wait_outcome(qtbot, window, lambda: window.requests.step("EM"))
    assert likelihood.getAxis("left").style["showValues"]
    assert window.plot.legend.isVisible()
    selection_axis = window.selection.plot.plot_item.getAxis("left")
    assert not selection_axis.style["showValues"]


def test_help_has_shortcuts_and_the_documentation(window, qtbot):
    help_menu = _menu(window, "&Help")
    texts = [a.text() for a in help_menu.actions()]
    assert any("Keyboard shortcuts" in t for t in texts) and any("Documentation" in t for t in texts)
    shortcuts = window.help.show_shortcuts()
    text = shortcuts.browser.toPlainText()
    assert "Space" in text and "Ctrl+Z" in text and "Double-click the plot" in text
    docs = window.help.docs_menu
    assert docs.menuAction() in help_menu.actions()
    pages = {a.text(): a for a in docs.actions()}
    assert len(pages) >= 3
    page = next(iter(pages.values()))
    page.trigger()
    assert window.help.doc_window is not None and window.help.doc_window.isVisible()
    assert len(window.help.doc_window.browser.toPlainText()) > 200


def test_menus_are_short_and_their_words_plain(window):
    for menu in window.menuBar().findChildren(QtWidgets.QMenu):
        for action in menu.actions():
            assert len(action.text()) <= 50, action.text()  # no paragraph as a menu item
            assert not set(action.text()) & set(GLYPHS), action.text()
    # the buttons doing the same things carry their glyphs, the same each time
    assert window.controls.buttons["run"].text() == "▶ Run"
    assert window.controls.buttons["stop"].text() == "■ Stop"
    assert window.controls.buttons["reinit"].text().startswith("⟲")


def test_the_first_export_dialog_opens_in_the_data_folder(window, tmp_path):
    _load(window)
    assert window.exporter._folder() == os.path.dirname(sample("overlapping.csv"))
    window.store.setValue("export_dir", str(tmp_path))  # after an export: where it went
    assert window.exporter._folder() == str(tmp_path)


def test_the_history_slider_jumps_to_where_it_is_clicked(window, qtbot):
    _load(window)
    window.controls.max_iter.setValue(40)
    window.controls.tol.setText("0")
    wait_outcome(qtbot, window, window.requests.run)
    slider = window.history.slider
    assert slider.maximum() == 40 and slider.value() == 40
    slider.resize(400, slider.height())
    x = int(0.25 * slider.width())
    with qtbot.waitSignal(window.controller.display, timeout=5000):
        qtbot.mouseClick(slider, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(x, slider.height() // 2))
    assert abs(slider.value() - 10) <= 3  # where it was clicked, not one page from the end


def _iteration_named(text):
    return int(re.search(r"iteration (\d+)", text).group(1))


def test_status_label_and_bound_panel_name_the_same_iteration(window, qtbot):
    _load(window)
    for kind in ("E", "M", "E", "M", "E"):
        wait_outcome(qtbot, window, lambda kind=kind: window.requests.step(kind))
        status = _iteration_named(window.report.status.text())
        label = _iteration_named(window.history.label.text())
        bound = int(re.search(r"at [EM](\d+)", window.bound_view.where.text()).group(1))
        assert status == label == bound
    window.controls.max_iter.setValue(30)
    wait_outcome(qtbot, window, window.requests.run)
    assert _iteration_named(window.report.status.text()) == _iteration_named(window.history.label.text())


def test_k_takes_what_fit_takes_or_says_why_not(window):
    from emstudio.gui.controls import check_window_settings
    from emstudio.gui.window import apply_settings

    apply_settings(window, FitSettings(k=300))
    assert window.controls.k.value() == 300 and window.controller.settings.k == 300  # never 30
    with pytest.raises(EmstudioError, match="--k"):
        check_window_settings(FitSettings(k=10**7))


def test_run_with_an_invalid_field_says_which_and_does_not_run(window, qtbot):
    _load(window)
    window.controls.tol.setText("1e-3x")
    window.requests.run()
    assert window.banner.isVisible() and "Tolerance" in window.banner.label.text()
    assert window.controller.state == "idle" and not window.controller.history
    window.controls.tol.setText("1e-3")
    wait_outcome(qtbot, window, window.requests.run)
    assert window.controller.history and window.controller.settings.tol == 1e-3


def test_the_selection_panel_counts_its_cells_before_compute(window):
    _load(window)
    panel = window.selection
    panel.k_range.setText("1-5")
    for name, box in panel.type_boxes.items():
        box.setChecked(name in ("full", "diag", "tied"))
    assert panel.progress.maximum() == 15 and panel.progress.value() == 0
    assert panel.progress.text() == "0 / 15 cells"
    panel.type_boxes["tied"].setChecked(False)
    assert panel.progress.maximum() == 10


def test_selection_points_of_the_same_k_are_apart(window):
    from emstudio.gui.selection_plot import type_offset

    offsets = [type_offset(t) for t in ("full", "tied", "diag", "spherical")]
    assert len(set(offsets)) == 4 and max(offsets) - min(offsets) < 0.5
    assert abs(sum(offsets)) < 1e-12  # centred on K
    from emstudio.core.params import ALL_COVARIANCE_TYPES

    all14 = [type_offset(t, ALL_COVARIANCE_TYPES) for t in ALL_COVARIANCE_TYPES]
    assert len(set(all14)) == 14 and max(all14) - min(all14) < 0.75  # never reaching the next K's
    assert abs(sum(all14)) < 1e-12
