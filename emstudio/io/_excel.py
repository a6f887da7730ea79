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
import posixpath
import re
import zipfile
from array import array
from collections.abc import Callable
from xml.parsers import expat

import numpy as np

from emstudio.errors import DataError
from emstudio.io._common import (
    MISSING,
    NAN,
    NUM,
    TEXT,
    RawTable,
    fill_empty_names,
    is_header,
    number_texts,
    one_line,
    short,
    to_float,
    unique_names,
)
from emstudio.io._limits import available_memory, check_zip_member

#: The most cells merged ranges may fill; a range reaching far past the data is clipped to the
#: data's extent first, so only a sheet made to explode gets near this.
MAX_FILLED_CELLS = 20_000_000
_FEED_BYTES = 1 << 20
_MAX_COLUMNS = 16384  # XFD, Excel's last column
_MAX_ROWS = 1 << 20  # 1048576, Excel's last row
_REL_NS = "relationships"  # the end of the relationship namespaces (transitional and strict)
_CELL_REF = re.compile(r"([A-Za-z]{1,3})(\d{1,7})$")
_DATE_FORMAT_IDS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47})
_FORMAT_LITERALS = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|_.')
_EXCEL_EPOCH = _dt.datetime(1899, 12, 30)


class _Stop(Exception):
    """Raised by a handler to end the parse early (the first cell of a sheet was found)."""


class _Refused(Exception):
    """A DTD or an entity declaration: refused whatever it declares."""


# ---------------------------------------------------------------------------- XML streaming
def _parse(archive: zipfile.ZipFile, name: str, source: str, what: str,
           start: Callable[[str, dict], None], end: Callable[[str], None] | None = None,
           text: Callable[[str], None] | None = None) -> None:
    """Stream part ``name`` through expat with the given handlers (element names without
    their namespace prefix). Refuses a DTD, entities and a part past the decompression limits."""
    check_zip_member(archive.getinfo(name), source, what)
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.ordered_attributes = False

    def refuse(*args):
        raise _Refused()

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = lambda tag, attrs: start(tag.rpartition(":")[2], attrs)
    if end is not None:
        parser.EndElementHandler = lambda tag: end(tag.rpartition(":")[2])
    if text is not None:
        parser.CharacterDataHandler = text
    with archive.open(name) as stream:
        while True:
            chunk = stream.read(_FEED_BYTES)
            parser.Parse(chunk, not chunk)
            if not chunk:
                break


def _local_attrs(attrs: dict) -> dict:
    return {key.rpartition(":")[2]: value for key, value in attrs.items()}


# ---------------------------------------------------------------------------- workbook parts
def _relationships(archive: zipfile.ZipFile, part: str, source: str) -> dict[str, tuple[str, str]]:
    """Id -> (type's last word, archive path of the target) of ``part``'s relationships."""
    folder, base = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", base + ".rels")
    found: dict[str, tuple[str, str]] = {}
    if rels_name not in archive.NameToInfo:
        return found

    def start(tag: str, attrs: dict) -> None:
        if tag == "Relationship" and attrs.get("TargetMode") != "External":
            target = attrs.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            found[attrs.get("Id", "")] = (attrs.get("Type", "").rpartition("/")[2], path)

    _parse(archive, rels_name, source, "the workbook's relationships", start)
    return found


def _workbook_part(archive: zipfile.ZipFile, source: str) -> str:
    for kind, path in _relationships(archive, "", source).values():
        if kind == "officeDocument":
            return path
    return "xl/workbook.xml"


class _Sheet:
    def __init__(self, name: str, part: str | None, hidden: bool):
        self.name = name
        self.part = part  # None: a chart sheet or a sheet whose part is missing (no cells)
        self.hidden = hidden


def _sheets(archive: zipfile.ZipFile, workbook: str, source: str,
            rels: dict[str, tuple[str, str]]) -> list[_Sheet]:
    sheets: list[_Sheet] = []

    def start(tag: str, attrs: dict) -> None:
        if tag != "sheet":
            return
        local = _local_attrs(attrs)
        rel = rels.get(local.get("id", ""))
        part = rel[1] if rel and rel[0] == "worksheet" and rel[1] in archive.NameToInfo else None
        sheets.append(_Sheet(local.get("name", f"sheet {len(sheets) + 1}"), part,
                             local.get("state", "visible") != "visible"))

    _parse(archive, workbook, source, "the workbook part", start)
    return sheets


def _shared_strings(archive: zipfile.ZipFile, part: str | None, source: str) -> list[str]:
    """The shared strings: the text of every ``<si>`` (rich-text runs joined, phonetic runs left out)."""
    strings: list[str] = []
    if part is None or part not in archive.NameToInfo:
        return strings
    state = {"in_t": False, "skip": 0}
    pieces: list[str] = []

    def start(tag: str, attrs: dict) -> None:
        if tag == "si":
            pieces.clear()
        elif tag == "rPh":
            state["skip"] += 1
        elif tag == "t" and not state["skip"]:
            state["in_t"] = True

    def end(tag: str) -> None:
        if tag == "si":
            strings.append("".join(pieces))
        elif tag == "rPh":
            state["skip"] -= 1
        elif tag == "t":
            state["in_t"] = False

    def text(data: str) -> None:
        if state["in_t"]:
            pieces.append(data)

    _parse(archive, part, source, "the shared strings", start, end, text)
    return strings


def is_date_format(code: str) -> bool:
    """Whether an Excel number format shows a date or a time (quoted text and [...] left out)."""
    code = _FORMAT_LITERALS.sub("", code.split(";")[0])
    return re.search(r"[dmhysDMHYS]", code) is not None


def _date_styles(archive: zipfile.ZipFile, part: str | None, source: str) -> frozenset[int]:
    """Indices of the cell styles (``s``) whose number format is a date or a time."""
    if part is None or part not in archive.NameToInfo:
        return frozenset()
    custom: dict[int, str] = {}
    formats: list[int] = []
    state = {"in_xfs": False}

    def start(tag: str, attrs: dict) -> None:
        if tag == "numFmt":
            try:
                custom[int(attrs.get("numFmtId", "-1"))] = attrs.get("formatCode", "")
            except ValueError:
                pass
        elif tag == "cellXfs":
            state["in_xfs"] = True
        elif tag == "xf" and state["in_xfs"]:
            try:
                formats.append(int(attrs.get("numFmtId", "0")))
            except ValueError:
                formats.append(0)

    def end(tag: str) -> None:
        if tag == "cellXfs":
            state["in_xfs"] = False

    _parse(archive, part, source, "the styles", start, end)
    return frozenset(i for i, f in enumerate(formats)
                     if f in _DATE_FORMAT_IDS or (f in custom and is_date_format(custom[f])))


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def _range(ref: str) -> tuple[int, int, int, int] | None:
    """(first row, first column, last row, last column), 0-based, of ``A1:C3``; None if invalid."""
    parts = ref.split(":")
    corners = []
    for part in parts[:2]:
        m = _CELL_REF.match(part.replace("$", ""))
        if not m:
            return None
        corners.append((int(m.group(2)) - 1, _column_number(m.group(1))))
    if len(corners) == 1:
        corners.append(corners[0])
    (r0, c0), (r1, c1) = corners
    return min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1)


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


def _name(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    return str(value).strip()


# ---------------------------------------------------------------------------- the table
def _fill_merges(cells: _Cells, rows: np.ndarray, cols: np.ndarray, kinds: np.ndarray,
                 values: np.ndarray, text_ids: np.ndarray, source: str):
    """Fill the blank cells of every merged range with its top-left cell's kind and value.

    Ranges are clipped to the extent of the present cells (a range reaching to XFD1048576 fills
    nothing past the data). Returns the arrays with the filled cells added, and a note (or None).
    """
    if not cells.merges or rows.size == 0:
        return rows, cols, kinds, values, text_ids, None
    last_row, last_col = int(rows.max()), int(cols.max())
    key = rows * _MAX_COLUMNS + cols
    order = np.argsort(key, kind="stable")
    sorted_keys = key[order]

    def find(r: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Index into the arrays of each cell (r, c), or -1 where it is blank."""
        k = r * _MAX_COLUMNS + c
        pos = np.searchsorted(sorted_keys, k)
        pos = np.minimum(pos, sorted_keys.size - 1)
        hit = sorted_keys[pos] == k
        return np.where(hit, order[pos], -1)

    ranges = []
    total = 0
    for ref in cells.merges:
        bounds = _range(ref)
        if bounds is None:
            continue
        r0, c0, r1, c1 = bounds
        r1, c1 = min(r1, last_row), min(c1, last_col)
        if r0 > r1 or c0 > c1 or (r0 == r1 and c0 == c1):
            continue
        total += (r1 - r0 + 1) * (c1 - c0 + 1)
        if total > MAX_FILLED_CELLS:
            raise DataError(f"{source}: merged cells cover more than {MAX_FILLED_CELLS:,} cells of the "
                            "table; unmerge them (Excel: Merge & Center, Unmerge Cells)")
        ranges.append((r0, c0, r1, c1))
    # A merged header (one name over several columns) names each of its columns.
    for r0, c0, r1, c1 in ranges:
        if r0 == cells.top and c0 in cells.first_row:
            for c in range(c0 + 1, c1 + 1):
                cells.first_row.setdefault(c, cells.first_row[c0])
    anchors = find(np.array([r[0] for r in ranges], dtype=np.int64),
                   np.array([r[1] for r in ranges], dtype=np.int64)) if ranges else np.empty(0, np.int64)
    new = [(rows, cols, kinds, values, text_ids)]
    filled = 0
    used_ranges = 0
    for (r0, c0, r1, c1), anchor in zip(ranges, anchors.tolist()):
        if anchor < 0:
            continue  # a merged range whose top-left cell is blank: nothing to fill with
        rr, cc = np.meshgrid(np.arange(r0, r1 + 1, dtype=np.int64), np.arange(c0, c1 + 1, dtype=np.int64),
                             indexing="ij")
        rr, cc = rr.ravel(), cc.ravel()
        blank = find(rr, cc) < 0
        count = int(blank.sum())
        if not count:
            continue
        new.append((rr[blank], cc[blank], np.full(count, kinds[anchor], dtype=kinds.dtype),
                    np.full(count, values[anchor]), np.full(count, text_ids[anchor], dtype=text_ids.dtype)))
        filled += count
        used_ranges += 1
    if not filled:
        return rows, cols, kinds, values, text_ids, None
    rows, cols, kinds, values, text_ids = (np.concatenate(parts) for parts in zip(*new))
    s = "s" if used_ranges != 1 else ""
    note = (f"{used_ranges} merged range{s} filled with {'their' if s else 'its'} top-left value "
            f"({filled:,} cell{'s' if filled != 1 else ''})")
    return rows, cols, kinds, values, text_ids, note


def _table(cells: _Cells, source: str, notes: list[str]) -> RawTable:
    rows = np.frombuffer(cells.rows, dtype=np.int64) if len(cells.rows) else np.empty(0, np.int64)
    cols = np.frombuffer(cells.cols, dtype=np.dtype("l")).astype(np.int64)
    kinds = np.frombuffer(cells.kinds, dtype=np.int8) if len(cells.kinds) else np.empty(0, np.int8)
    values = np.frombuffer(cells.values, dtype=np.float64) if len(cells.values) else np.empty(0)
    text_ids = np.frombuffer(cells.text_ids, dtype=np.int64) if len(cells.text_ids) else np.empty(0, np.int64)
    rows, cols, kinds, values, text_ids, merged = _fill_merges(cells, rows, cols, kinds, values, text_ids, source)
    if merged:
        notes.append(merged)
    if rows.size == 0:
        raise DataError(f"{source}: the workbook is empty")

    # Rows without a present cell are skipped; the rest are numbered densely from the top.
    row_numbers, position = np.unique(rows, return_inverse=True)
    position = position.reshape(-1)
    width = int(cols.max()) + 1
    first = [MISSING] * width
    top = position == 0
    for c, k in zip(cols[top].tolist(), kinds[top].tolist()):
        first[c] = k
    below = ~top
    text_below = np.zeros(width, dtype=bool)
    text_below[cols[below & (kinds == TEXT)]] = True
    number_below = np.zeros(width, dtype=bool)
    number_below[cols[below & (kinds == NUM)]] = True
    header = is_header(first, (number_below & ~text_below).tolist())

    row_name_candidates: set[int] = set()
    if header:
        raw_first = cells.first_row if int(row_numbers[0]) == cells.top else {}
        names = [_name(raw_first.get(j)) for j in range(width)]
        if row_numbers.size == 1:
            raise DataError(f"{source}: the sheet has a header row but no data rows")
        if names[0] in ("", "Unnamed: 0"):
            row_name_candidates.add(0)
        data = below
        n_rows = row_numbers.size - 1
        offset = 1
    else:
        names = [f"x{j}" for j in range(width)]
        notes.append("no header: columns named x0, x1, ...")
        data = np.ones(rows.size, dtype=bool)
        n_rows = row_numbers.size
        offset = 0
    names = unique_names(names)
    filled = fill_empty_names(names)
    names = [n if j in row_name_candidates else f for j, (n, f) in enumerate(zip(names, filled))]

    text_in_data = text_below if header else np.zeros(width, dtype=bool)
    if not header:
        text_in_data[cols[kinds == TEXT]] = True
    present = np.zeros(width, dtype=bool)
    present[cols[data]] = True
    reasons: dict[int, str] = {}
    numeric: list[int] = []
    for j in range(width):
        if text_in_data[j]:
            reasons[j] = "row names" if j in row_name_candidates else "not numeric"
        elif not present[j]:
            reasons[j] = "no values"  # nothing below the header: not a column of data
        else:
            numeric.append(j)

    need = n_rows * max(len(numeric), 1) * 8
    if need > available_memory() // 2:
        raise DataError(f"{source}: the sheet's table of {n_rows:,} rows × {len(numeric):,} columns is too "
                        "large for the memory")
    table = np.full((n_rows, len(numeric)), np.nan)
    slot = np.full(width, -1, dtype=np.int64)
    slot[numeric] = np.arange(len(numeric))
    take = data & (slot[cols] >= 0) & (kinds == NUM)
    table[position[take] - offset, slot[cols[take]]] = values[take]
    texts = {j: _column_text(cells.texts, cols, kinds, values, text_ids, data, position - offset, j, n_rows)
             for j in range(width) if text_in_data[j]}
    return RawTable(format="xlsx", names=names, n_rows=n_rows, numeric=numeric,
                    blocks=[(tuple(numeric), table)], reasons=reasons,
                    row_name_candidates=row_name_candidates & set(numeric), notes=notes, texts=texts)


def _column_text(pool: list[str], cols, kinds, values, text_ids, data, row_of, j: int, n_rows: int) -> np.ndarray:
    """(n_rows,) str: column ``j``'s cells as text (a number as its shortest text, blank as "")."""
    out = np.full(n_rows, "", dtype=object)
    here = np.flatnonzero(data & (cols == j))
    for i, kind, value, text_id in zip(here.tolist(), kinds[here].tolist(), values[here].tolist(),
                                       text_ids[here].tolist()):
        if text_id >= 0:
            out[row_of[i]] = pool[text_id]
        elif kind == NUM:
            out[row_of[i]] = number_texts(np.array([value]))[0]
    return out.astype(str)


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


def sheet_names(path, source: str) -> list[str]:
    """The workbook's sheet names, in order (hidden ones too: --sheet may name them)."""
    def work() -> list[str]:
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
