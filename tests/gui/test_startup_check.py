"""`emstudio gui DATA --check` (gui/startup_check.py), what packaging/build-bundle.sh runs on the
bundle: it loads the data, runs the fit to its end and draws the window, or says in one line what
failed. And the window shows the application icon (package data)."""

import pytest

from emstudio.gui.app import application, application_icon
from emstudio.gui.startup_check import check_window
from emstudio.icons import PNG_SIZES
from tests.gui.conftest import sample


def test_check_loads_fits_and_draws_a_sample(capsys):
    from emstudio.core.em import FitSettings

    app = application()
    assert check_window(app, sample("four_d.csv"), FitSettings(k=3)) == 0
    out = capsys.readouterr()
    assert out.out.startswith("emstudio: check passed: four_d.csv loaded (") and "K = 3 fitted (converged" in out.out
    assert "columns), " in out.out and "window drawn" in out.out


def _workbook_of_words(path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["notes"])
    book.create_sheet("more").append(["words"])
    book.save(path)


@pytest.mark.parametrize("name", ["words.csv", "words.xlsx"])
def test_check_of_data_that_cannot_be_read_fails_in_one_line(tmp_path, capsys, name):
    """Not even a workbook's "which sheet?" question: nobody is there to answer it."""
    bad = tmp_path / name
    bad.write_text("a,b\nx,y\n") if name.endswith(".csv") else _workbook_of_words(bad)
    assert check_window(application(), str(bad)) == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("emstudio:")]
    assert len(lines) == 1 and lines[0].startswith(f"emstudio: check failed: {bad} was not loaded: Could not open")


def test_the_window_and_the_application_carry_the_icon(window):
    icon = window.windowIcon()
    assert not icon.isNull()
    assert sorted(size.width() for size in icon.availableSizes()) == sorted(PNG_SIZES)
    assert not application_icon().pixmap(32, 32).toImage().isNull()
