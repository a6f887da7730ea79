"""A workbook of several sheets in the window: the sheet read is shown and can be changed; when
the sheet read by default is not the data, the person is asked which sheet to read."""

import numpy as np
import pytest

openpyxl = pytest.importorskip("openpyxl")


def _book(path, sheets: dict):
    """sheets: name -> rows (the first row is the header)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return str(path)


def _rows(n, shift, seed):
    rng = np.random.default_rng(seed)
    return [["x", "y"]] + [[float(a), float(b)] for a, b in rng.normal(shift, 1.0, size=(n, 2))]


def test_the_sheet_list_shows_the_sheet_read_and_reads_another(window, tmp_path):
    path = _book(tmp_path / "book.xlsx", {"first": _rows(30, 0.0, 1), "second": _rows(40, 5.0, 2)})
    assert window.files.load_file(path)
    assert window.dataset.values.shape == (30, 2)
    combo = window.controls.sheet
    assert window.controls.sheet_row.isVisibleTo(window)
    assert [combo.itemText(i) for i in range(combo.count())] == ["first", "second"]
    assert combo.currentText() == "first"

    combo.setCurrentIndex(1)
    combo.activated.emit(1)  # as a person's choice does
    assert window.dataset.values.shape == (40, 2)
    assert window.dataset.sheet == "second"
    assert abs(window.dataset.values.mean() - 5.0) < 1.0
    assert combo.currentText() == "second"


def test_one_sheet_or_another_format_shows_no_sheet_list(window, tmp_path):
    path = _book(tmp_path / "one.xlsx", {"only": _rows(20, 0.0, 3)})
    assert window.files.load_file(path)
    assert not window.controls.sheet_row.isVisibleTo(window)
    csv = tmp_path / "a.csv"
    csv.write_text("x,y\n" + "\n".join(f"{i},{i * i % 7}" for i in range(20)))
    assert window.files.load_file(str(csv))
    assert not window.controls.sheet_row.isVisibleTo(window)


def test_a_first_sheet_that_is_not_the_data_asks_for_the_sheet(window, tmp_path, monkeypatch):
    path = _book(tmp_path / "notes-first.xlsx", {"notes": [["read me"], ["this", "is", "text"]],
                                                  "data": _rows(25, 0.0, 4)})
    asked = []

    def ask(p, sheets, problem):
        asked.append((sheets, problem))
        return "data"

    monkeypatch.setattr(window.files, "ask_sheet", ask)
    assert window.files.load_file(path)
    assert asked and asked[0][0] == ["notes", "data"]
    assert window.dataset.values.shape == (25, 2) and window.dataset.sheet == "data"


def test_declining_the_sheet_question_keeps_what_was_there(window, tmp_path, monkeypatch):
    good = tmp_path / "a.csv"
    good.write_text("x,y\n" + "\n".join(f"{i},{(i * 3) % 5}" for i in range(20)))
    assert window.files.load_file(str(good))
    path = _book(tmp_path / "notes-first.xlsx", {"notes": [["read me"]], "other": [["still text"]]})
    monkeypatch.setattr(window.files, "ask_sheet", lambda *a: None)
    assert not window.files.load_file(path)
    assert window.dataset.values.shape == (20, 2)
    assert "Could not open notes-first.xlsx" in window.banner.label.text()


def test_gui_sheet_option_reads_that_sheet(qtbot, monkeypatch, tmp_path):
    """`emstudio gui BOOK.xlsx --sheet NAME|N` opens the window on that sheet."""
    from emstudio import cli

    path = _book(tmp_path / "book.xlsx", {"first": _rows(30, 0.0, 1), "second": _rows(40, 5.0, 2)})
    seen = {}

    def run_window(data, settings=None, columns=None, classes=None, sheet=None, model=None, check=False, cluster=None):
        seen.update(data=data, sheet=sheet)
        return 0

    monkeypatch.setattr("emstudio.gui.app.run_window", run_window)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert cli.main(["gui", path, "--sheet", "1"]) == 0
    assert seen == {"data": path, "sheet": "1"}
