"""Pieces shared by the data readers: cell conversion, header detection, the raw table.

Nothing here knows about file formats. A reader turns a file into a :class:`RawTable` (column
names, numeric columns as float blocks, reasons for the columns that are not numeric), and
:func:`emstudio.io.data.load_data` turns that into the array the fit uses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from emstudio.errors import DataError

#: Cell texts read as a missing value (compared in lower case, after stripping blanks). The list
#: is pandas' default ``na_values`` plus R's ``NA``, the ``?`` of UCI files, SAS's ``.`` and
#: Excel's error values.
MISSING_TOKENS = frozenset(
    {
        "", "na", "n/a", "nan", "-nan", "+nan", "null", "none", "nil", "<na>",
        "#n/a", "#na", "#n/a n/a", "-1.#ind", "1.#ind", "-1.#qnan", "1.#qnan",
        "?", ".",
        "#div/0!", "#value!", "#ref!", "#name?", "#num!", "#null!",
    }
)

NAN = math.nan

# "1.234,5" / "1234,5" / ",5" / "-1,5e3": a number written with a decimal comma (dots may group
# thousands).
_DECIMAL_COMMA = re.compile(r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d*),\d+(?:[eE][+-]?\d+)?$")

# Cell kinds used by header detection.
NUM, MISSING, TEXT = 0, 1, 2


def to_float(token: str, decimal_comma: bool = False) -> float | None:
    """Read one text cell: a float (NaN for a missing marker) or ``None`` for text.

    Python's ``float`` is the parser, without its extras that are not numbers in a table
    (``1_000``). With ``decimal_comma`` the comma is the decimal mark and dots may group
    thousands (``1.234,5``); a token without a comma is read as usual.
    """
    t = token.strip()
    if "_" in t:
        return None
    if decimal_comma and "," in t:
        if "." in t:
            if not _DECIMAL_COMMA.match(t):
                return None
            t = t.replace(".", "")
        t = t.replace(",", ".")
    try:
        return float(t)
    except ValueError:
        pass
    if t.lower() in MISSING_TOKENS:
        return NAN
    return None


def number_text(value: float) -> str:
    """The shortest text that reads back to the same float: ``3.6`` (never
    ``3.6000000000000001``), ``5`` for 5.0, ``1e-05``; "" for NaN (a missing value)."""
    if value != value:
        return ""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def number_texts(values: np.ndarray) -> np.ndarray:
    """(n,) str: :func:`number_text` of each of (n,) values."""
    return np.array([number_text(v) for v in np.asarray(values, dtype=np.float64).tolist()], dtype=str)


def looks_decimal_comma(token: str) -> bool:
    """True when ``token`` is a number only if its comma is a decimal mark (``1,5``)."""
    return bool(_DECIMAL_COMMA.match(token.strip()))


def kind_of_text(token: str, decimal_comma: bool = False) -> int:
    value = to_float(token, decimal_comma)
    if value is None:
        return TEXT
    return MISSING if value != value else NUM


def is_header(first: Sequence[int], numeric_below: Sequence[bool]) -> bool:
    """Decide whether the first row is a header, from the kinds of its cells.

    ``first[j]`` is the kind (NUM / MISSING / TEXT) of the first row's cell j, and
    ``numeric_below[j]`` says that the rows below hold numbers (or nothing) in column j.

    A text cell above a numeric column makes a header; otherwise a number in the first row
    makes it data; a first row of only text (and blanks) is a header.
    """
    if any(k == TEXT and numeric_below[j] for j, k in enumerate(first) if j < len(numeric_below)):
        return True
    if any(k == NUM for k in first):
        return False
    return any(k == TEXT for k in first)


def clean_name(name: object) -> str:
    """A column name fit for one-line messages: control characters and line breaks become spaces."""
    text = str(name)
    if text.isprintable():
        return text.strip()
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()


def unique_names(names: Sequence[str]) -> list[str]:
    """Names made unique the way pandas does: a repeated ``a`` becomes ``a.1``, ``a.2``...

    An empty name stays empty (the caller decides what an empty name means).
    """
    names = [clean_name(n) for n in names]
    seen: set[str] = set(names)
    used: set[str] = set()
    out = []
    for name in names:
        if name in used and name != "":
            k = 1
            while f"{name}.{k}" in seen or f"{name}.{k}" in used:
                k += 1
            name = f"{name}.{k}"
        used.add(name)
        out.append(name)
    return out


def fill_empty_names(names: Sequence[str]) -> list[str]:
    """Give every empty name ``x{j}`` (or ``x{j}.1``... if that name is taken)."""
    taken = set(names)
    out = []
    for j, name in enumerate(names):
        if name == "":
            name = f"x{j}"
            k = 1
            while name in taken:
                name = f"x{j}.{k}"
                k += 1
            taken.add(name)
        out.append(name)
    return out


def short(text: object, limit: int = 40) -> str:
    """A cell value quoted for a one-line message (control characters escaped, long text cut)."""
    s = str(text)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return repr(s)


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace so that a message from a library stays on one line."""
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def name_list(names: Sequence[str], limit: int = 12) -> str:
    """``a, b, c`` (empty names shown as ``""``), cut after ``limit`` names."""
    shown = [n if n != "" else '""' for n in names[:limit]]
    text = ", ".join(shown)
    if len(names) > limit:
        text += f", … ({len(names)} in all)"
    return text


@dataclass
class RawTable:
    """What a reader found, before columns are chosen and incomplete rows are dropped.

    ``blocks`` are consecutive row chunks; each is ``(column indices, (rows, len(indices))
    float64 array)`` holding the file's numeric columns for those rows (missing values as NaN).
    Every column in ``numeric`` appears in every block. A column can be in a block and still
    not be numeric (it was found to hold text further down): ``numeric`` is what counts.
    """

    format: str
    names: list[str]
    n_rows: int
    numeric: list[int]
    blocks: list[tuple[tuple[int, ...], np.ndarray]]
    reasons: dict[int, str] = field(default_factory=dict)  # non-numeric column -> why
    row_name_candidates: set[int] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    # Column index -> (n_rows,) str: the cells of that column as written (blanks stripped).
    # Readers keep the text columns (known classes, row names) and, for a small table, the
    # numeric ones (so that a labels file writes every value as it was read).
    texts: dict[int, np.ndarray] = field(default_factory=dict)
    sheets: list[str] = field(default_factory=list)  # a workbook's sheet names, in order
    sheet: str | None = None  # the sheet read
    # Text readers: column index -> (line, cell) of the first text cell of a column left out as
    # not numeric (a file cut into parts merges these into the whole file's decision).
    text_at: dict[int, tuple[int, str]] = field(default_factory=dict)


def find_column(source: str, label: str | int, names: Sequence[str]) -> int:
    """The index of a column given by name, or by 0-based number (a string of digits that is not
    a column name); DataError for no such column."""
    if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
        j = int(label)
    else:
        text = str(label)
        for candidate in (text, text.strip()):
            if candidate in names:
                return list(names).index(candidate)
        if not (text.strip().isdigit() and text.strip().isascii()):
            raise DataError(f"{source}: no column named {short(text)}; columns: {name_list(list(names))}")
        j = int(text.strip())
    if not 0 <= j < len(names):
        raise DataError(f"{source}: there is no column {j} (the file has {len(names)} "
                        f"column{'s' if len(names) != 1 else ''}, numbered from 0)")
    return j


def resolve_columns(
    source: str,
    requested: Sequence[str | int],
    names: Sequence[str],
    numeric: set[int] | Sequence[int],
    reasons: dict[int, str],
) -> list[int]:
    """Turn the user's column choice (names, or 0-based numbers) into column indices.

    A string that is a column name means that column; otherwise a string of digits is a
    0-based number. Raises :class:`DataError` for an unknown, non-numeric or repeated column.
    """
    numeric_set = set(numeric)

    def numeric_hint_() -> str:
        return numeric_hint(names, sorted(numeric_set))

    if len(requested) == 0:
        raise DataError(f"{source}: no columns chosen; {numeric_hint_()}")
    index_of = {}
    for j, name in enumerate(names):
        index_of.setdefault(name, j)
    out: list[int] = []
    for item in requested:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            j = int(item)
            label = str(j)
        else:
            label = str(item)
            key = label.strip()
            if label in index_of:
                j = index_of[label]
            elif key in index_of:
                j = index_of[key]
            elif key.isdigit() and key.isascii():
                j = int(key)
            else:
                raise DataError(f"{source}: no column named {short(label)}; {numeric_hint_()}")
        if not 0 <= j < len(names):
            raise DataError(
                f"{source}: there is no column {j} (the file has {len(names)} "
                f"column{'s' if len(names) != 1 else ''}, numbered from 0); {numeric_hint_()}"
            )
        if j not in numeric_set:
            why = reasons.get(j, "not numeric")
            shown = names[j] if names[j] != "" else f"{j}"
            raise DataError(f"{source}: column {short(shown)} cannot be used ({why}); {numeric_hint_()}")
        if j in out:
            raise DataError(f"{source}: column {short(names[j] or j)} is chosen twice")
        out.append(j)
    return out


def numeric_hint(names: Sequence[str], numeric: Sequence[int]) -> str:
    """``numeric columns: a, b`` -- the end of an error about a column choice."""
    available = [names[j] for j in sorted(numeric)]
    if available:
        return f"numeric columns: {name_list(available)}"
    return "the file has no numeric column"


def no_numeric_error(source: str, names: Sequence[str], reasons: dict[int, str]) -> DataError:
    """The error for a table without a single usable numeric column."""
    if not names:
        return DataError(f"{source}: the table has no columns")
    groups: dict[str, list[str]] = {}
    for j, name in enumerate(names):
        groups.setdefault(reasons.get(j, "not numeric"), []).append(name)
    found = "; ".join(f"{name_list(cols, 6)}: {why}" for why, cols in groups.items())
    return DataError(f"{source}: no numeric column to use ({found})")
