"""Excel workbooks (``.xlsx`` / ``.xlsm``) through openpyxl, imported only when one is read."""

from __future__ import annotations

import datetime as _dt
import math
import warnings

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
    one_line,
    to_float,
    unique_names,
)


def _cell(value: object) -> tuple[int, float]:
    """(kind, value) of one cell: numbers are NUM, blanks and missing markers MISSING."""
    if value is None:
        return MISSING, NAN
    if isinstance(value, bool):
        return TEXT, NAN
    if isinstance(value, (int, float)):
        x = float(value)
        return (MISSING, NAN) if math.isnan(x) else (NUM, x)
    if isinstance(value, str):
        x = to_float(value)
        if x is None:
            return TEXT, NAN
        return (MISSING, NAN) if math.isnan(x) else (NUM, x)
    return TEXT, NAN  # dates, times, durations, errors...


def _name(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    return str(value).strip()


def read_xlsx(path: str, source: str) -> RawTable:
    try:
        import openpyxl
    except ImportError:
        raise DataError(f"{source}: reading .xlsx files needs the openpyxl package "
                        "(pip install openpyxl)") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
            try:
                sheets = list(book.worksheets)
                rows: list[tuple] = []
                chosen = None
                for sheet in sheets:
                    rows = [tuple(r) for r in sheet.iter_rows(values_only=True)]
                    rows = [r for r in rows if any(_cell(v)[0] != MISSING or
                                                   (isinstance(v, str) and v.strip()) for v in r)]
                    if rows:
                        chosen = sheet.title
                        break
            finally:
                book.close()
    except DataError:
        raise
    except MemoryError:
        raise DataError(f"{source}: the workbook is too large for the memory") from None
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, XML errors...
        text = one_line(str(exc), 120)
        raise DataError(f"{source}: not a valid Excel workbook ({type(exc).__name__}"
                        f"{': ' + text if text else ''})") from None
    if not rows:
        raise DataError(f"{source}: the workbook is empty")
    notes = []
    if len(sheets) > 1:
        notes.append(f"sheet {chosen!r} (the first with data, of {len(sheets)})")

    width = 0
    for r in rows:
        for j in range(len(r) - 1, -1, -1):
            if r[j] is not None and not (isinstance(r[j], str) and not r[j].strip()):
                width = max(width, j + 1)
                break
    rows = [tuple(r[:width]) + (None,) * (width - len(r)) for r in rows]
    cells = [[_cell(v) for v in r] for r in rows]

    below = cells[1:]
    numeric_below = [any(c[j][0] == NUM for c in below) and all(c[j][0] != TEXT for c in below)
                     for j in range(width)]
    header = is_header([c[0] for c in cells[0]], numeric_below)
    row_name_candidates: set[int] = set()
    if header:
        names = [_name(v) for v in rows[0]]
        data = cells[1:]
        if not data:
            raise DataError(f"{source}: the sheet has a header row but no data rows")
        if names[0] in ("", "Unnamed: 0"):
            row_name_candidates.add(0)
    else:
        names = [f"x{j}" for j in range(width)]
        notes.append("no header: columns named x0, x1, ...")
        data = cells
    names = unique_names(names)
    filled = fill_empty_names(names)
    names = [n if j in row_name_candidates else f for j, (n, f) in enumerate(zip(names, filled))]

    reasons: dict[int, str] = {}
    numeric: list[int] = []
    for j in range(width):
        if any(c[j][0] == TEXT for c in data):
            reasons[j] = "row names" if j in row_name_candidates else "not numeric"
        else:
            numeric.append(j)
    values = np.array([[c[j][1] for j in numeric] for c in data], dtype=np.float64)
    values = values.reshape(len(data), len(numeric))
    # The text columns' cells, as the sheet shows them (known classes, row names).
    body = rows[1:] if header else rows
    texts = {j: np.array([_name(r[j]) for r in body], dtype=str) for j in reasons}
    return RawTable(format="xlsx", names=names, n_rows=len(data), numeric=numeric,
                    blocks=[(tuple(numeric), values)], reasons=reasons,
                    row_name_candidates=row_name_candidates & set(numeric), notes=notes, texts=texts)
