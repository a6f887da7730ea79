"""Loading a data file into the float array a fit uses, with a report of what was left out.

Readable: delimited text (CSV, semicolon CSV with decimal commas, TSV, whitespace-separated;
optionally gzip-, bzip2- or xz-compressed), NumPy ``.npy`` / ``.npz``, Excel ``.xlsx`` and Apache Parquet.
The format is recognised from the file's first bytes, the extension only breaks ties.

Everything that makes a file unusable raises :class:`emstudio.errors.DataError` with one line
that starts with the file name. Nothing here prints, and no Qt is imported; the heavy optional
readers (openpyxl, duckdb) are imported only when a file needs them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from emstudio.core.classes import KnownClasses
from emstudio.errors import DataError
from emstudio.io._common import (
    MISSING_TOKENS,
    RawTable,
    fill_empty_names,
    find_column,
    name_list,
    no_numeric_error,
    number_texts,
    resolve_columns,
    short,
)
from emstudio.io.inputs import Input, open_input

__all__ = ["DataError", "LoadReport", "LoadedData", "load_data", "workbook_sheets", "READABLE_SUFFIXES", "MAX_CLASSES"]

#: Known classes are a handful of groups: a column with more different values is refused.
MAX_CLASSES = 100

#: File name endings the loader is made for (the window's file dialog filter uses these).
READABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".dat", ".csv.gz", ".tsv.gz", ".txt.gz",
                     ".csv.bz2", ".tsv.bz2", ".txt.bz2", ".csv.xz", ".tsv.xz", ".txt.xz",
                     ".npy", ".npz", ".xlsx", ".xlsm", ".parquet", ".pq")

_READABLE = "CSV/TSV/text, .npy, .npz, .xlsx, .parquet"

# First bytes of formats that are recognised only to say clearly that they are not tables.
_FOREIGN_MAGIC = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel .xls workbook (or a password-protected "
     "one); save it as .xlsx or CSV"),
    (b"%PDF", "a PDF document, not a data table"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image, not a data table"),
    (b"\xff\xd8\xff", "a JPEG image, not a data table"),
    (b"GIF8", "a GIF image, not a data table"),
    (b"SQLite format 3\x00", "an SQLite database, not a data table"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file, which is not read; export the table as CSV, .npy or Parquet"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive; extract the table first"),
    (b"Rar!", "a RAR archive; extract the table first"),
)
_BINARY_SUFFIXES = {".npy": "a NumPy .npy", ".npz": "a NumPy .npz", ".xlsx": "an Excel .xlsx",
                    ".xlsm": "an Excel .xlsm", ".parquet": "a Parquet", ".pq": "a Parquet",
                    ".xls": "an Excel .xls"}


@dataclass(frozen=True)
class LoadReport:
    """What loading did: columns used, columns left out and why, rows dropped, notes."""

    source: str  # file name as given
    format: str  # "csv", "tsv", "text", "npy", "npz", "xlsx", "parquet"
    columns_used: tuple[str, ...]
    columns_left_out: tuple[tuple[str, str], ...]  # (column name, reason)
    n_rows_read: int  # data rows in the file
    n_dropped: int  # rows dropped for missing/NaN/infinite values in the used columns
    notes: tuple[str, ...] = ()  # "decimal comma", "encoding latin-1", ...
    sheets: tuple[str, ...] = ()  # a workbook's sheet names, in order (empty for other formats)
    sheet: str | None = None  # the workbook's sheet that was read

    @property
    def n_rows_used(self) -> int:
        return self.n_rows_read - self.n_dropped

    def lines(self, source: str | None = None) -> list[str]:
        """Short human-readable lines for standard error or the window; ``source`` names the file
        instead of the path as given (the window shows the file's name, never the machine's path)."""
        d = len(self.columns_used)
        out = [
            f"{self.source if source is None else source} ({self.format}): {self.n_rows_used} of {self.n_rows_read} rows, "
            f"{d} column{'s' if d != 1 else ''}: {name_list(self.columns_used)}"
        ]
        groups: dict[str, list[str]] = {}
        for name, why in self.columns_left_out:
            groups.setdefault(why, []).append(name)
        for why, names in groups.items():
            out.append(f"left out, {why}: {name_list(names)}")
        if self.n_dropped:
            s = "s" if self.n_dropped != 1 else ""
            out.append(f"dropped {self.n_dropped} row{s} with a missing, NaN or infinite value")
        out.extend(f"note: {note}" for note in self.notes)
        return out


@dataclass(frozen=True)
class LoadedData:
    """The data to fit: ``values`` (n, d) float64, C-contiguous, every value finite.

    Beside the numbers, the text a labels file and known classes need (each per kept row):
    ``row_names`` (n,) str, the file's R-style row names (None: the file has none);
    ``cell_text`` (n, d) str, the used cells as written (None: not kept -- a large table, decimal
    commas, or a binary format); ``text_columns``: left-out text columns by name, (n,) str each;
    ``classes``: the known classes asked for with ``load_data(classes=...)``.
    """

    values: np.ndarray
    columns: tuple[str, ...]  # d names
    kept_rows: np.ndarray  # (n,) int64: 0-based data-row index in the file of each kept row
    report: LoadReport
    row_names: np.ndarray | None = None
    cell_text: np.ndarray | None = None
    text_columns: dict[str, np.ndarray] = field(default_factory=dict)
    classes: KnownClasses | None = None

    def row_ids(self) -> np.ndarray:
        """(n,) str: each kept row's identity, its row name, else its 1-based row number in the
        file's data (the header not counted)."""
        if self.row_names is not None:
            return self.row_names
        return (self.kept_rows + 1).astype(str)


def load_data(path: str | os.PathLike, columns: Sequence[str] | None = None, *,
              sheet: str | int | None = None, classes: str | int | None = None,
              wait_for_writer: float | None = None) -> LoadedData:
    """Read a data file; raise DataError with one clear line for anything unusable.

    ``path`` may also be a pipe, a FIFO, a device or ``-`` (standard input): such an input is
    read once, whole, up to ``inputs.STREAM_LIMIT_BYTES``. ``wait_for_writer``: the most
    seconds to wait for a program to start writing to a FIFO (None: as long as it takes).

    ``columns`` picks columns by name or by 0-based number (a string of digits that is not a
    column name is a number; numbers count every column of the file, text ones included).
    Without it every numeric column is used. Rows with a missing, NaN or infinite value in a
    used column are dropped and counted in the report.

    ``sheet`` picks a workbook's sheet by name or by 0-based number (a string of digits that is
    not a sheet name is a number); by default the first visible sheet holding data. Any other
    format with a ``sheet`` is an error.

    ``classes`` names a column (or gives its 0-based number) of known classes: text or
    integers, at most MAX_CLASSES different values; it is never a data column, and a row with
    an empty or missing cell there has no class (it is still fitted).
    """
    name = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
    if isinstance(columns, str):
        columns = [c for c in columns.split(",")]
    requested = None if columns is None else list(columns)
    opened = open_input(name, wait_for_writer=wait_for_writer)
    raw = _read(opened, requested, sheet, classes)
    if sheet is not None and raw.format != "xlsx":
        raise DataError(f"{opened.source}: a sheet was chosen ({sheet}), but this is not an Excel "
                        f"workbook ({raw.format})")
    try:
        return _finish(opened.source, raw, requested, classes)
    except DataError as exc:
        if sheet is None and len(raw.sheets) > 1:  # the first sheet with data may not be the data
            from emstudio.io._excel import other_sheets_hint

            raise DataError(f"{exc} {other_sheets_hint(raw.sheets, raw.sheet or '')}") from None
        raise


def workbook_sheets(path: str | os.PathLike) -> list[str]:
    """The sheet names of an Excel workbook, in order; [] for any other file, or one that cannot
    be read (load_data says why). Only regular files: a pipe read here would be gone for load_data."""
    import stat

    name = os.fsdecode(path)
    try:
        if not stat.S_ISREG(os.stat(name).st_mode):
            return []
        with open(name, "rb") as handle:
            magic = handle.read(4)
    except OSError:
        return []
    if not magic.startswith((b"PK\x03\x04", b"PK\x05\x06")) or _zip_kind(name, _suffix(name)[0]) != "xlsx":
        return []
    from emstudio.io._excel import workbook_sheets as sheet_names

    try:
        return sheet_names(name, name)
    except DataError:
        return []


# ---------------------------------------------------------------------------- dispatch
_COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")


def _suffix(name: str) -> tuple[str, str]:
    """(lower-case suffix without a trailing .gz/.bz2/.xz, that compression suffix or "")."""
    lower = os.path.basename(name).lower()
    compressed = next((c for c in _COMPRESSED_SUFFIXES if lower.endswith(c)), "")
    if compressed:
        lower = lower[:-len(compressed)]
    return os.path.splitext(lower)[1], compressed


def _compression(magic: bytes) -> str | None:
    """The compression of a text file from its first bytes: "gzip", "bzip2", "xz" or None."""
    if magic.startswith(b"\x1f\x8b"):
        return "gzip"
    if magic.startswith(b"BZh") and magic[3:4].isdigit() and magic[3:4] != b"0":
        return "bzip2"
    if magic.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    return None


def _read(opened: Input, requested: list[str] | None, sheet: str | int | None = None,
          classes: str | int | None = None) -> RawTable:
    """The raw table of an opened input. One open only: a regular file is handed on by name; a
    pipe, FIFO, device or standard input was read once, whole, and every reader gets those
    bytes (a second open would find them gone, or wait for a writer that never comes)."""
    source = opened.source
    magic = opened.head
    ext, compressed = _suffix(source)
    if not magic:
        raise DataError(f"{source}: the file is empty")

    if magic.startswith(b"\x93NUMPY"):
        from emstudio.io._numpy_files import read_npy

        return read_npy(opened.reader_input(), source)
    if magic.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        kind = _zip_kind(opened.reader_input(), ext)
        if kind == "npz":
            from emstudio.io._numpy_files import read_npz

            return read_npz(opened.reader_input(), source)
        if kind == "xlsx":
            from emstudio.io._excel import read_xlsx

            return read_xlsx(opened.reader_input(), source, sheet)
        raise DataError(f"{source}: a zip archive that is neither an .npz nor an .xlsx file; "
                        "extract the table first")
    if magic.startswith(b"PAR1"):
        from emstudio.io._parquet import read_parquet

        if opened.data is None:
            return read_parquet(opened.path, source)
        with _spilled(opened.data, ".parquet") as path:  # DuckDB reads Parquet only by name
            return read_parquet(path, source)
    for prefix, what in _FOREIGN_MAGIC:
        if magic.startswith(prefix):
            raise DataError(f"{source}: {what}")
    compression = _compression(magic)
    if compression is None and ext in _BINARY_SUFFIXES:
        raise DataError(f"{source}: not {_BINARY_SUFFIXES[ext]} file (damaged, or the name does "
                        "not match the contents)")
    from emstudio.io._text import read_text

    return read_text(opened.reader_input(), source, requested, ext + compressed, compression=compression,
                     keep_text=() if classes is None else (classes,))


@contextlib.contextmanager
def _spilled(data: bytes, suffix: str):
    """``data`` as a file in a private temporary folder, removed afterwards."""
    folder = tempfile.mkdtemp(prefix="emstudio-")
    try:
        path = os.path.join(folder, "data" + suffix)
        with open(path, "wb") as f:
            f.write(data)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _zip_kind(path, ext: str) -> str:
    if ext == ".npz":
        return "npz"
    if ext in (".xlsx", ".xlsm"):
        return "xlsx"
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except Exception:  # damaged archive: let the reader its name suggests report it
        return "npz" if ext == ".npz" else "xlsx" if ext.startswith(".xls") else "zip"
    if "[Content_Types].xml" in names:
        return "xlsx"
    if names and all(n.endswith(".npy") for n in names):
        return "npz"
    return "zip"


# ---------------------------------------------------------------------------- finishing
def _finish(source: str, raw: RawTable, requested: list[str] | None,
            classes: str | int | None = None) -> LoadedData:
    names = list(raw.names)
    reasons = dict(raw.reasons)
    numeric = list(raw.numeric)
    n = raw.n_rows
    blocks = raw.blocks

    where = [{j: p for p, j in enumerate(cols)} for cols, _ in blocks]

    def column(j: int) -> np.ndarray:
        parts = [arr[:, w[j]] for w, (_, arr) in zip(where, blocks)]
        return np.concatenate(parts) if parts else np.empty(0)

    # Row names: an unnamed first column holding 1..n (R) or 0..n-1 (pandas).
    not_default: set[int] = set()
    for j in sorted(raw.row_name_candidates):
        if j not in numeric:
            continue
        vals = column(j)
        if vals.size == n and n > 0 and np.array_equal(vals, np.arange(1, n + 1)):
            reasons[j] = "R row names"
            not_default.add(j)
        elif vals.size == n and n > 0 and np.array_equal(vals, np.arange(n)):
            reasons[j] = "row index"
            not_default.add(j)
        elif names[j] == "":
            filled = fill_empty_names(names)
            names[j] = filled[j]

    # Columns without a single finite value.
    any_finite = [np.isfinite(arr).any(axis=0) for _, arr in blocks]
    any_number = [~np.isnan(arr).all(axis=0) for _, arr in blocks]
    empty: dict[int, str] = {}
    for j in numeric:
        if j in not_default:
            continue
        if not any(f[w[j]] for f, w in zip(any_finite, where)):
            has_number = any(h[w[j]] for h, w in zip(any_number, where))
            empty[j] = "no finite values" if has_number else "no values"
    del any_finite, any_number

    class_column = None if classes is None else find_column(source, classes, names)
    if requested is not None:
        used = resolve_columns(source, requested, names, numeric, reasons)
        if class_column in used:
            raise DataError(f"{source}: column {short(names[class_column])} cannot be both a data column "
                            "and the known classes")
    else:
        used = [j for j in numeric if j not in not_default and j not in empty and j != class_column]
        if not used:
            raise no_numeric_error(source, names, {**reasons, **empty})
    class_text = None
    if class_column is not None:
        class_text = _class_text(source, raw, names[class_column], class_column, column)
        reasons[class_column] = "known classes"

    used_set = set(used)
    left_out = []
    for j, name in enumerate(names):
        if j in used_set:
            continue
        if j in reasons:
            why = reasons[j]
        elif j in empty:
            why = empty[j]
        else:
            why = "not selected"
        left_out.append((name, why))

    texts = raw.texts
    values, kept = _assemble(blocks, used, n)  # empties ``blocks`` as it goes
    columns = tuple(names[j] for j in used)
    if values.shape[0] == 0:
        raise DataError(
            f"{source}: no rows left: each of the {n} rows has a missing, NaN or infinite value "
            f"in {name_list(list(columns))}"
        )
    report = LoadReport(
        source=source,
        format=raw.format,
        columns_used=columns,
        columns_left_out=tuple(left_out),
        n_rows_read=n,
        n_dropped=n - values.shape[0],
        notes=tuple(raw.notes),
        sheets=tuple(raw.sheets),
        sheet=raw.sheet,
    )
    all_rows = kept.shape[0] == n

    def per_kept_row(text: np.ndarray) -> np.ndarray:
        return text if all_rows else text[kept]

    row_names = None
    for j, why in reasons.items():
        if why == "row names" and j in texts:
            row_names = per_kept_row(texts[j])
    cell_text = None
    if all(j in texts for j in used):
        cell_text = np.column_stack([per_kept_row(texts[j]) for j in used])
    text_columns = {names[j]: per_kept_row(t) for j, t in texts.items()
                    if j not in used_set and reasons.get(j) != "row names"}
    known = None
    if class_text is not None:
        try:
            known = known_classes(names[class_column], per_kept_row(class_text))
        except DataError as exc:
            raise DataError(f"{source}: {exc}") from None
    return LoadedData(values=values, columns=columns, kept_rows=kept, report=report, row_names=row_names,
                      cell_text=cell_text, text_columns=text_columns, classes=known)


def known_classes(column: str, text: np.ndarray) -> KnownClasses:
    """Known classes from a column's cells (n,) str: a missing marker (``NA``, ``?``, "" …) is no
    class. DataError when the column has no class at all, or more than MAX_CLASSES."""
    text = np.asarray(text, dtype=str)
    missing = np.isin(np.char.lower(np.char.strip(text)), list(MISSING_TOKENS))
    known = KnownClasses.from_values(column, np.where(missing, "", text) if missing.any() else text)
    if not known.names:
        raise DataError(f"column {short(column)} has no values to read as classes")
    if len(known.names) > MAX_CLASSES:
        raise DataError(f"column {short(column)} has {len(known.names)} different values; known classes "
                        f"are at most {MAX_CLASSES} groups")
    return known


def _class_text(source: str, raw: RawTable, name: str, j: int, column) -> np.ndarray:
    """(n_rows,) str: the cells of the class column as written, or its numbers as shortest text."""
    if j in raw.texts:
        return raw.texts[j]
    if j in raw.numeric:
        return number_texts(column(j))
    why = raw.reasons.get(j, "not read")
    raise DataError(f"{source}: column {short(name)} cannot be read as known classes ({why})")


def _assemble(blocks: list[tuple[tuple[int, ...], np.ndarray]], used: list[int],
              n: int) -> tuple[np.ndarray, np.ndarray]:
    """Stack the used columns of every block, without the rows that are not all finite.

    A single block (the usual case) is compacted in place; several blocks are released as they
    are copied. Either way the peak memory stays near one copy of the data.
    """
    masks = []
    total = 0
    positions = []
    for cols, arr in blocks:
        where = {j: p for p, j in enumerate(cols)}
        pos = [where[j] for j in used]
        keep = np.ones(arr.shape[0], dtype=bool)
        for p in pos:
            keep &= np.isfinite(arr[:, p])
        masks.append(keep)
        positions.append(pos)
        total += int(keep.sum())

    if len(blocks) == 1:
        cols, arr = blocks.pop()
        keep = masks[0]
        pos = positions[0]
        kept = np.arange(n, dtype=np.int64) if total == n else np.flatnonzero(keep).astype(np.int64)
        if arr.dtype == np.float64 and arr.flags.c_contiguous and arr.flags.owndata:
            return _compact_in_place(arr, pos, keep, total), kept
        values = np.ascontiguousarray(arr[np.ix_(np.flatnonzero(keep), pos)], dtype=np.float64)
        return values, kept

    values = np.empty((total, len(used)), dtype=np.float64)
    kept = np.empty(total, dtype=np.int64)
    out = 0
    first_row = 0
    for keep, pos in zip(masks, positions):
        cols, arr = blocks.pop(0)
        rows = arr.shape[0]
        k = int(keep.sum())
        if k:
            idx = np.flatnonzero(keep)
            values[out:out + k] = arr[np.ix_(idx, pos)]
            kept[out:out + k] = idx + first_row
        out += k
        first_row += rows
        del arr
    return values, kept


def _compact_in_place(arr: np.ndarray, pos: list[int], keep: np.ndarray, total: int) -> np.ndarray:
    """Keep rows ``keep`` and columns ``pos`` of ``arr`` (which this module owns), in place.

    Rows are moved in chunks towards the front of the same memory: a chunk is read before
    anything after it is written, so nothing is overwritten before it is read.
    """
    n, width = arr.shape
    d = len(pos)
    if total == n and pos == list(range(width)):
        return arr
    flat = arr.reshape(-1)
    out = 0
    step = 1 << 15
    for r in range(0, n, step):
        block = arr[r:r + step]
        m = keep[r:r + step]
        if not m.all():
            block = block[m]
        if pos != list(range(width)):
            block = block[:, pos]
        c = block.shape[0]
        flat[out * d:(out + c) * d] = block.reshape(-1)
        out += c
    del flat, block
    arr.resize((total, d), refcheck=False)
    return arr
