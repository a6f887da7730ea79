"""Hostile data files (issue 10, items 4, 7 and 13): decompression bombs refused early, counted
in the bytes read (never timed); text in no known encoding; workbooks made to hang the reader."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile

import numpy as np
import pytest

from emstudio.errors import DataError
from emstudio.io import _limits
from emstudio.io._numpy_files import read_npz
from emstudio.io._text import read_text
from emstudio.io.data import load_data

BOMB_BYTES = 16 << 20  # what each bomb expands to
COMPRESS = {"gzip": lambda data: gzip.compress(data, 1), "bzip2": lambda data: bz2.compress(data, 1),
            "xz": lambda data: lzma.compress(data, preset=0)}
SUFFIX = {"gzip": ".gz", "bzip2": ".bz2", "xz": ".xz"}


class CountingBytes(io.BytesIO):
    """A stream that counts how many of its bytes were read."""

    bytes_read = 0

    def read(self, size=-1):
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    def readinto(self, buffer):
        n = super().readinto(buffer)
        self.bytes_read += n
        return n


@pytest.fixture
def small_floor(monkeypatch):
    """The ratio is checked past 1 MiB of output instead of 64 MiB (so the bombs stay small)."""
    monkeypatch.setattr(_limits, "RATIO_FLOOR_BYTES", 1 << 20)


@pytest.mark.parametrize("compression", ["gzip", "bzip2", "xz"])
def test_compressed_text_bombs_are_refused_after_reading_a_little(small_floor, compression):
    bomb = COMPRESS[compression](b"a,b\n" + b"0,0\n" * (BOMB_BYTES // 4))
    stream = CountingBytes(bomb)
    with pytest.raises(DataError, match="decompression bomb"):
        read_text(stream, "bomb.csv", None, ".csv", compression=compression)
    # Refused at about RATIO_FLOOR_BYTES / ratio of input: far less than the whole file, and the
    # 16 MiB of text were never all produced.
    assert stream.bytes_read < max(len(bomb) // 4, 64 << 10)


@pytest.mark.parametrize("compression", ["gzip", "bzip2", "xz"])
def test_compressed_text_larger_than_the_memory_is_refused(monkeypatch, compression):
    monkeypatch.setattr(_limits, "available_memory", lambda: 2 << 20)
    rows = np.random.default_rng(0).normal(size=(200_000, 2))  # ~8 MB of text: ratio ~2
    text = b"a,b\n" + b"".join(b"%r,%r\n" % (x, y) for x, y in rows.tolist())
    compressed = COMPRESS[compression](text)
    stream = CountingBytes(compressed)
    with pytest.raises(DataError, match="more than the memory available"):
        read_text(stream, "big.csv", None, ".csv", compression=compression)
    assert stream.bytes_read < len(compressed)


@pytest.mark.parametrize("compression", ["gzip", "bzip2", "xz"])
def test_compressed_text_files_are_read(tmp_path, compression):
    path = tmp_path / f"a.csv{SUFFIX[compression]}"
    path.write_bytes(COMPRESS[compression](b"x,y\n1,2\n3,4\n"))
    loaded = load_data(path)
    assert loaded.values.tolist() == [[1, 2], [3, 4]]
    assert f"{compression}-compressed" in loaded.report.notes


def test_npz_bomb_is_refused_from_its_declared_sizes(small_floor):
    buffer = io.BytesIO()
    np.savez_compressed(buffer, X=np.zeros((BOMB_BYTES // 16, 2)))
    stream = CountingBytes(buffer.getvalue())
    with pytest.raises(DataError, match="decompression bomb"):
        read_npz(stream, "bomb.npz")
    assert stream.bytes_read < len(stream.getvalue()) // 2  # the zip directory, not the member


def test_bytes_above_127_only_are_not_text_in_a_known_encoding(tmp_path):
    path = tmp_path / "high.csv"
    path.write_bytes(bytes(range(128, 256)) * 64)
    with pytest.raises(DataError, match="not text in a known encoding"):
        load_data(path)
    # Latin-1 text with a few accented letters is still text.
    (tmp_path / "latin.csv").write_bytes("größe,weiß\n1,2\n3,4\n".encode("latin-1"))
    assert load_data(tmp_path / "latin.csv").columns == ("größe", "weiß")


# ------------------------------------------------------------------------------ workbooks
def _workbook(path, sheets: dict, merges: dict | None = None):
    """A workbook with ``sheets`` {name: rows} in order and ``merges`` {name: ["A2:A4", ...]}
    (written into the sheet's XML: openpyxl would make an object per merged cell)."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    if merges:
        plain = path.with_suffix(".plain")
        path.rename(plain)
        order = list(sheets)
        with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as target:
            for info in source.infolist():
                data = source.read(info)
                for i, name in enumerate(order):
                    if info.filename == f"xl/worksheets/sheet{i + 1}.xml" and merges.get(name):
                        cells = "".join(f'<mergeCell ref="{ref}"/>' for ref in merges[name])
                        data = data.replace(b"</sheetData>", f'</sheetData><mergeCells count="{len(merges[name])}">'
                                            f"{cells}</mergeCells>".encode())
                target.writestr(info, data)
    return path


def test_a_cell_at_xfd1048576_costs_one_cell(tmp_path, monkeypatch):
    """openpyxl's iter_rows walked 1.7e10 positions up to this cell; only present cells are kept."""
    import openpyxl

    from emstudio.io import _excel

    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["a", "b"], [1, 2], [3, 4]):
        sheet.append(row)
    sheet["XFD1048576"] = 5
    book.save(tmp_path / "far.xlsx")
    added = []
    original = _excel._Cells.add
    monkeypatch.setattr(_excel._Cells, "add", lambda self, *cell: (added.append(cell), original(self, *cell)))
    loaded = load_data(tmp_path / "far.xlsx", columns=["a", "b"])
    assert loaded.values.tolist() == [[1, 2], [3, 4]]
    assert loaded.report.n_rows_read == 3 and loaded.report.n_dropped == 1  # XFD's row has no a, b
    assert len(added) <= 2 * 7  # the first cell found while choosing the sheet, then the 7 cells


def test_merged_cells_are_filled_and_reported(tmp_path):
    rows = [["group", "x", "y"], [1, 0.5, 1.5], [None, 0.7, 1.1], [None, 0.2, 1.9], [2, 3.0, 4.0],
            [None, None, None], [3, 1.0, 1.0]]
    path = _workbook(tmp_path / "merged.xlsx", {"data": rows}, {"data": ["A2:A4", "A6:C6"]})
    loaded = load_data(path)
    # The group is the sheet's: 1 for the three merged rows (not NaN, which dropped two of them);
    # the merged row A6:C6, blank, adds nothing.
    assert loaded.values[:, 0].tolist() == [1, 1, 1, 2, 3]
    assert loaded.report.n_rows_read == 5 and loaded.report.n_dropped == 0
    assert any("1 merged range filled with its top-left value (2 cells)" in n for n in loaded.report.notes)


def test_a_merged_range_past_the_data_fills_only_the_data(tmp_path):
    path = _workbook(tmp_path / "wide.xlsx", {"s": [["a", "b"], [1, 2], [3, None]]}, {"s": ["B2:XFD1048576"]})
    loaded = load_data(path)
    assert loaded.values.tolist() == [[1, 2], [3, 2]]
    assert any("(1 cell)" in n for n in loaded.report.notes)


def test_a_merged_header_names_each_of_its_columns(tmp_path):
    path = _workbook(tmp_path / "h.xlsx", {"s": [["size", None, "w"], [1, 2, 3], [4, 5, 6]]}, {"s": ["A1:B1"]})
    assert load_data(path).columns == ("size", "size.1", "w")


def test_sheets_are_chosen_by_name_or_number(tmp_path):
    path = _workbook(tmp_path / "book.xlsx", {"About": [["This workbook holds the survey"], ["see 'data'"]],
                                              "data": [["h", "w"], [1, 2], [3, 4]],
                                              "2": [["z"], [9], [8]]})
    # The first sheet with data is not the data: the error says which sheets there are.
    with pytest.raises(DataError, match=r"sheet 'About' of 0 'About', 1 'data', 2 '2'; choose one with --sheet"):
        load_data(path)
    by_name = load_data(path, sheet="data")
    assert by_name.values.tolist() == [[1, 2], [3, 4]]
    assert by_name.report.sheets == ("About", "data", "2") and by_name.report.sheet == "data"
    assert load_data(path, sheet=1).columns == ("h", "w")
    assert load_data(path, sheet="2").columns == ("z",)  # a name first, then a number
    with pytest.raises(DataError, match="no sheet named 'nope'; the sheets are 0 'About'"):
        load_data(path, sheet="nope")
    with pytest.raises(DataError, match="there is no sheet 7"):
        load_data(path, sheet="7")


def test_a_sheet_for_a_file_that_is_not_a_workbook_is_an_error(tmp_path):
    (tmp_path / "a.csv").write_text("x,y\n1,2\n")
    with pytest.raises(DataError, match="not an Excel workbook"):
        load_data(tmp_path / "a.csv", sheet="data")


def test_workbook_parts_with_a_dtd_are_refused(tmp_path):
    path = _workbook(tmp_path / "ok.xlsx", {"s": [["a"], [1], [2]]})
    evil = tmp_path / "evil.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(evil, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
                        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>' + data.split(b"?>", 1)[-1])
            target.writestr(info, data)
    with pytest.raises(DataError, match="DTD"):
        load_data(evil)


def test_workbook_bomb_is_refused_before_its_sheet_is_read(tmp_path, small_floor):
    rows = "".join(f'<row r="{i}"><c r="A{i}"><v>0</v></c></row>' for i in range(1, 2))
    sheet = ('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             '<sheetData>' + rows + '</sheetData>' + " " * (8 << 20) + '</worksheet>')
    path = _workbook(tmp_path / "ok.xlsx", {"s": [["a"], [1]]})
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = sheet.encode() if info.filename == "xl/worksheets/sheet1.xml" else source.read(info)
            target.writestr(info.filename, data)
    stream = CountingBytes(bomb.read_bytes())
    from emstudio.io._excel import read_xlsx

    with pytest.raises(DataError, match="decompression bomb"):
        read_xlsx(stream, "bomb.xlsx")
    assert stream.bytes_read < len(stream.getvalue()) // 2
