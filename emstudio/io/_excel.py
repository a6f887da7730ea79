"""Excel workbooks (``.xlsx`` / ``.xlsm``), read by streaming the sheet's XML.

A workbook is a zip archive of XML parts. The chosen sheet's part is parsed as a stream
(``xml.parsers.expat``) and only the cells it holds are kept, as compact arrays: the work and
the memory are bounded by the cells that exist, never by the sheet's extent (openpyxl's
``iter_rows`` walks every position up to the last cell, 1.7e10 of them for one cell at
XFD1048576). No part may declare a DTD or an entity (OOXML has neither), which refuses XXE and
entity-expansion attacks before they start; every part is checked against the decompression
limits of :mod:`emstudio.io._limits` before it is read.

Merged cells are filled with their top-left value, as the sheet shows them, and the report
says how many. The sheet is chosen by name or 0-based number; by default the first visible
sheet holding data.
"""

from __future__ import annotations

import datetime as _dt
import math
import zipfile
from array import array
from xml.parsers import expat

from emstudio.errors import DataError
from emstudio.io._common import (
    MISSING,
    NAN,
    NUM,
    TEXT,
    RawTable,
    one_line,
    short,
    to_float,
)
from emstudio.io._excel_parts import (
    _CELL_REF,
    _MAX_COLUMNS,
    _MAX_ROWS,
    _column_number,
    _date_styles,
    _parse,
    _Refused,
    _relationships,
    _shared_strings,
    _Sheet,
    _sheets,
    _Stop,
    _workbook_part,
)
from emstudio.io._excel_table import MAX_FILLED_CELLS, _table

__all__ = ["MAX_FILLED_CELLS", "other_sheets_hint", "read_xlsx", "sheet_index", "workbook_sheets"]

_EXCEL_EPOCH = _dt.datetime(1899, 12, 30)


# ---------------------------------------------------------------------------- the cells
class _Cells:
    """The present cells of a sheet as parallel arrays (a blank cell is not stored).

    ``rows``/``cols`` 0-based positions, ``kinds`` NUM / MISSING / TEXT, ``values`` the numbers
    (NaN for the others). ``first_row`` holds the raw values of the topmost row seen so far,
    for column names.
    """

    def __init__(self):
        self.rows = array("q")
        self.cols = array("l")
        self.kinds = array("b")
        self.values = array("d")
        self.text_ids = array("q")  # a text cell's text: an index into ``texts`` (−1: not text)
        self.texts: list[str] = []  # the shared strings, then the other cells' texts
        self.top = -1
        self.first_row: dict[int, object] = {}
        self.merges: list[str] = []

    def add(self, row: int, col: int, kind: int, value: float, raw: object, text_id: int = -1) -> None:
        self.text_ids.append(text_id)
        self.rows.append(row)
        self.cols.append(col)
        self.kinds.append(kind)
        self.values.append(value)
        if self.top < 0 or row < self.top:
            self.top = row
            self.first_row = {}
        if row == self.top:
            self.first_row[col] = raw


def _text_cell(text: str) -> tuple[int, float] | None:
    """(kind, value) of a text cell; None for a blank one."""
    if not text.strip():
        return None
    x = to_float(text)
    if x is None:
        return TEXT, NAN
    return (MISSING, NAN) if math.isnan(x) else (NUM, x)


def _read_cells(archive: zipfile.ZipFile, part: str, source: str, what: str, strings: list[str],
                date_styles: frozenset[int], first_only: bool = False) -> _Cells:
    """Stream the sheet's cells (with ``first_only``, stop at the first present cell)."""
    cells = _Cells()
    cells.texts = list(strings)  # a text cell of the sheet adds its own after these
    string_kinds: dict[int, tuple[int, float] | None] = {}
    state = {"row": -1, "next_col": 0, "col": 0, "type": "n", "style": 0, "capture": False,
             "in_is": False, "skip": 0}
    pieces: list[str] = []

    def start(tag: str, attrs: dict) -> None:
        if tag == "c":
            ref = attrs.get("r")
            m = _CELL_REF.match(ref) if ref else None
            if m:
                state["col"] = _column_number(m.group(1))
                state["row"] = int(m.group(2)) - 1
            else:
                state["col"] = state["next_col"]
            state["next_col"] = state["col"] + 1
            state["type"] = attrs.get("t", "n")
            try:
                state["style"] = int(attrs.get("s", "0"))
            except ValueError:
                state["style"] = 0
            pieces.clear()
        elif tag == "v":
            state["capture"] = True
        elif tag == "is":
            state["in_is"] = True
        elif tag == "rPh":
            state["skip"] += 1
        elif tag == "t" and state["in_is"] and not state["skip"]:
            state["capture"] = True
        elif tag == "row":
            r = attrs.get("r")
            state["row"] = int(r) - 1 if r and r.isdigit() else state["row"] + 1
            state["next_col"] = 0
        elif tag == "mergeCell":
            cells.merges.append(attrs.get("ref", ""))

    def end(tag: str) -> None:
        if tag in ("v", "t"):
            state["capture"] = False
        elif tag == "is":
            state["in_is"] = False
        elif tag == "rPh":
            state["skip"] -= 1
        elif tag == "c":
            finish()

    def text(data: str) -> None:
        if state["capture"]:
            pieces.append(data)

    def finish() -> None:
        row, col = state["row"], state["col"]
        if not (0 <= row < _MAX_ROWS and 0 <= col < _MAX_COLUMNS) or not pieces:
            return
        content = "".join(pieces)
        kind_type = state["type"]
        raw: object = content
        if kind_type == "s":
            try:
                index = int(content)
                raw = strings[index]
            except (ValueError, IndexError):
                return
            if index not in string_kinds:
                string_kinds[index] = _text_cell(raw)
            found = string_kinds[index]
        elif kind_type in ("str", "inlineStr", "e"):
            found = _text_cell(content)  # an error value (#N/A, #DIV/0!...) reads as missing
        elif kind_type in ("b", "d"):
            found = (TEXT, NAN) if content.strip() else None  # true/false, an ISO date
        else:
            try:
                x = float(content)
            except ValueError:
                found = _text_cell(content)
            else:
                if state["style"] in date_styles:
                    found = (TEXT, NAN)
                    raw = _date_name(x)
                else:
                    found = (MISSING, NAN) if math.isnan(x) else (NUM, x)
                    raw = x
        if found is None:
            return
        text_id = -1
        if found[0] == TEXT or (found[0] == MISSING and isinstance(raw, str)):  # as written (classes, row names)
            if kind_type == "s":
                text_id = index
            else:
                text_id = len(cells.texts)
                cells.texts.append(str(raw).strip())
        cells.add(row, col, found[0], found[1], raw, text_id)
        if first_only:
            raise _Stop()

    try:
        _parse(archive, part, source, what, start, end, text)
    except _Stop:
        pass
    return cells


def _date_name(serial: float) -> str:
    try:
        return (_EXCEL_EPOCH + _dt.timedelta(days=serial)).isoformat()
    except (OverflowError, ValueError):
        return str(serial)

# ---------------------------------------------------------------------------- entry points
class _Workbook:
    """The parts of an open workbook needed to read a sheet."""

    def __init__(self, archive: zipfile.ZipFile, source: str):
        self.archive = archive
        self.source = source
        workbook = _workbook_part(archive, source)
        if workbook not in archive.NameToInfo:
            raise DataError(f"{source}: not a valid Excel workbook (it has no workbook part)")
        rels = _relationships(archive, workbook, source)
        self.sheets = _sheets(archive, workbook, source, rels)
        parts = {kind: path for kind, path in rels.values()}
        self._strings_part = parts.get("sharedStrings")
        self._styles_part = parts.get("styles")
        self._strings: list[str] | None = None
        self._date_styles: frozenset[int] | None = None

    def cells(self, sheet: _Sheet, first_only: bool = False) -> _Cells:
        if sheet.part is None:
            return _Cells()
        if self._strings is None:
            self._strings = _shared_strings(self.archive, self._strings_part, self.source)
            self._date_styles = _date_styles(self.archive, self._styles_part, self.source)
        return _read_cells(self.archive, sheet.part, self.source, f"the sheet {sheet.name!r}",
                           self._strings, self._date_styles, first_only)

    def choose(self, wanted: str | int | None) -> tuple[_Sheet, bool]:
        """The sheet to read, and whether it was chosen by default (the first visible one with
        data); DataError if ``wanted`` names none."""
        if wanted is None:
            visible = [s for s in self.sheets if not s.hidden] or self.sheets
            for sheet in visible:
                if len(self.cells(sheet, first_only=True).rows):
                    return sheet, True
            raise DataError(f"{self.source}: the workbook is empty")
        return self.sheets[sheet_index([s.name for s in self.sheets], wanted, self.source)], False


def sheet_index(names: list[str], wanted: str | int, source: str) -> int:
    """The 0-based index of the sheet ``wanted`` (a name, or a 0-based number that is not a name)."""
    if isinstance(wanted, str):
        if wanted in names:
            return names.index(wanted)
        key = wanted.strip()
        if key in names:
            return names.index(key)
        if not (key.isdigit() and key.isascii()):
            raise DataError(f"{source}: no sheet named {short(wanted)}; {_sheet_list(names)}")
        wanted = int(key)
    if not 0 <= wanted < len(names):
        raise DataError(f"{source}: there is no sheet {wanted} (numbered from 0); {_sheet_list(names)}")
    return wanted


def _sheet_list(names: list[str]) -> str:
    return f"the sheets are {_numbered(names)}"


def _numbered(names: list[str]) -> str:
    shown = ", ".join(f"{i} {short(n)}" for i, n in enumerate(names[:20]))
    return shown + (f", … ({len(names)} in all)" if len(names) > 20 else "")


def other_sheets_hint(names: list[str], chosen: str) -> str:
    """The end of an error about the sheet read by default: the first sheet with data is not
    always the data, so say which sheets there are and how to choose one."""
    return f"(sheet {short(chosen)} of {_numbered(names)}; choose one with --sheet NAME or N)"


def _open(path, source: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise DataError(f"{source}: not a valid Excel workbook ({type(exc).__name__}: "
                        f"{one_line(str(exc), 120)})") from None


def _guarded(source: str, work):
    """Run ``work()``, turning whatever a damaged or hostile workbook raises into one line."""
    try:
        return work()
    except DataError:
        raise
    except _Refused:
        raise DataError(f"{source}: not a valid Excel workbook (a part declares a DTD or an entity, "
                        "which workbooks never do; refused)") from None
    except MemoryError:
        raise DataError(f"{source}: the workbook is too large for the memory") from None
    except (expat.ExpatError, zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError,
            NotImplementedError, RuntimeError) as exc:
        text = one_line(str(exc), 120)
        raise DataError(f"{source}: not a valid Excel workbook ({type(exc).__name__}"
                        f"{': ' + text if text else ''})") from None


def workbook_sheets(path, source: str) -> list[str]:
    """The names of the workbook's sheets, in order (DataError if it is not a workbook)."""
    def work():
        with _open(path, source) as archive:
            return [s.name for s in _Workbook(archive, source).sheets]

    return _guarded(source, work)


def read_xlsx(path, source: str, sheet: str | int | None = None) -> RawTable:
    """The table on ``sheet`` (a name or 0-based number; default: the first visible sheet with data)."""
    def work() -> RawTable:
        with _open(path, source) as archive:
            book = _Workbook(archive, source)
            if not book.sheets:
                raise DataError(f"{source}: the workbook has no sheets")
            chosen, by_default = book.choose(sheet)
            names = [s.name for s in book.sheets]
            notes: list[str] = []
            if len(names) > 1:
                how = "the first with data" if by_default else "chosen"
                notes.append(f"sheet {chosen.name!r} ({how}, of {len(names)})")
            try:
                table = _table(book.cells(chosen), source, notes)
            except DataError as exc:
                if not by_default or len(names) == 1 or "memory" in str(exc) or "merged" in str(exc):
                    raise
                raise DataError(f"{exc} {other_sheets_hint(names, chosen.name)}") from None
            table.sheets = names
            table.sheet = chosen.name
            return table

    return _guarded(source, work)
