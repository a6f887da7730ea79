"""The window fits the screen it opens on: at 1024 × 700 up to 1920 × 1080 nothing is cut off."""

import pytest
from PySide6 import QtCore, QtWidgets

from emstudio.gui.layout import FRAME_ALLOWANCE, PREFERRED_SIZE, fitted_geometry
from tests.gui.conftest import sample

SCREENS = [(1024, 700), (1280, 1024), (1366, 768), (1600, 1000), (1920, 1080)]
CONTROLS = (QtWidgets.QAbstractButton, QtWidgets.QAbstractSpinBox, QtWidgets.QComboBox, QtWidgets.QLineEdit,
            QtWidgets.QSlider, QtWidgets.QLabel, QtWidgets.QTabBar)


@pytest.mark.parametrize("width, height", SCREENS)
def test_the_first_window_fits_the_free_area_of_its_screen(width, height):
    available = QtCore.QRect(0, 30, width, height - 30)  # a panel along the top
    rect = fitted_geometry(available)
    assert available.contains(rect)
    assert rect.width() <= width - FRAME_ALLOWANCE[0] and rect.height() <= height - 30 - FRAME_ALLOWANCE[1]
    # where the screen has room, at least the preferred size, and centred
    assert rect.width() >= min(PREFERRED_SIZE[0], width - FRAME_ALLOWANCE[0])
    assert abs(rect.center().x() - available.center().x()) <= 1


def _laid_out(window, qtbot, width, height):
    window.docks.fit_screen(QtCore.QRect(0, 0, width, height))
    assert window.files.load_file(sample("four_d.csv"))
    window.docks.default_sizes()
    qtbot.wait(50)
    QtWidgets.QApplication.processEvents()


def _clipped(root):
    """Visible controls narrower or shorter than their minimum size hint (outside scroll areas, a
    control squeezed below it is cut off)."""
    bad = []
    for widget in root.findChildren(QtWidgets.QWidget):
        if not isinstance(widget, CONTROLS) or not widget.isVisibleTo(root):
            continue
        if isinstance(widget.parent(), (QtWidgets.QAbstractSpinBox, QtWidgets.QComboBox)):
            continue  # the line edit inside a spin box is the spin box's own business
        hint = widget.minimumSizeHint()
        if hint.isValid() and (widget.width() < hint.width() or widget.height() < hint.height()):
            text = widget.text() if hasattr(widget, "text") and callable(widget.text) else ""
            bad.append((type(widget).__name__, text[:30], widget.size().toTuple(), hint.toTuple()))
    return bad


@pytest.mark.parametrize("width, height", [(1024, 700), (1366, 768), (1600, 1000), (1920, 1080)])
def test_nothing_is_clipped_at_each_screen_size(window, qtbot, width, height):
    _laid_out(window, qtbot, width, height)
    assert window.width() <= width and window.height() <= height
    min_hint = window.minimumSizeHint()
    assert min_hint.width() <= width - FRAME_ALLOWANCE[0] and min_hint.height() <= height - FRAME_ALLOWANCE[1]
    assert not _clipped(window)
    # the controls scroll up and down where the screen is short, never sideways
    scroll = window.controls_scroll
    assert scroll.horizontalScrollBarPolicy() == QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    assert scroll.viewport().width() >= window.controls.minimumSizeHint().width()
    # the right-hand column is wide enough to read, the plot keeps the most room
    assert window.params_dock.width() >= 300
    assert window.plot.width() >= 300


def test_extra_width_goes_to_the_panels_that_need_it(make_window, qtbot):
    small, large = make_window(), make_window()
    _laid_out(small, qtbot, 1024, 700)
    _laid_out(large, qtbot, 1920, 1080)
    assert large.params_dock.width() > small.params_dock.width()
    assert large.plot.width() > small.plot.width()
    # the controls need no more room on a larger screen
    assert abs(large.controls_dock.width() - small.controls_dock.width()) <= 40


def test_model_selection_is_a_tab_with_a_tall_plot(window, qtbot):
    _laid_out(window, qtbot, 1024, 700)
    window.actions["select_models"].trigger()
    qtbot.wait(50)
    assert window.tabs.currentWidget() is window.selection
    assert window.selection.plot.height() >= 300  # tall enough to read at 1024 × 700
    assert not _clipped(window.selection)


def test_the_welcome_page_never_sets_the_window_width(window):
    assert window.stack.minimumSizeHint().width() < 500


def test_a_saved_window_larger_than_the_screen_is_fitted(make_window, settings_file):
    first = make_window()
    first.resize(3000, 2000)
    first.close()
    second = make_window()
    available = second.screen().availableGeometry()
    assert second.width() <= available.width() and second.height() <= available.height()


def test_a_new_window_fits_the_screen_it_opens_on(qtbot, tmp_path):
    """Issue 11.9: on xvfb-run's 1280 × 1024 a 1400-px window was wider than the screen."""
    from emstudio.gui.app import application
    from emstudio.gui.window import MainWindow

    application()
    window = MainWindow(QtCore.QSettings(str(tmp_path / "fresh.ini"), QtCore.QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    try:
        available = window.screen().availableGeometry()
        assert window.width() <= available.width() and window.height() <= available.height()
        assert window.minimumSizeHint().width() <= available.width()
    finally:
        window.close()
