"""Loading a data file into the float array a fit uses, with a report of what was left out.

Readable: delimited text (CSV, semicolon CSV with decimal commas, TSV, whitespace-separated;
optionally gzip-, bzip2- or xz-compressed), NumPy ``.npy`` / ``.npz``, Excel ``.xlsx`` and Apache Parquet.
The format is recognised from the file's first bytes, the extension only breaks ties.

Everything that makes a file unusable raises :class:`emstudio.errors.DataError` with one line
that starts with the file name. Nothing here prints, and no Qt is imported; the heavy optional
readers (openpyxl, duckdb) are imported only when a file needs them.

Which reader a file goes to is decided in ``_dispatch``; the raw table it gives becomes the
LoadedData (defined in ``loaded``) in ``_finish``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from emstudio.errors import DataError
from emstudio.io._dispatch import read_raw, suffix_of, zip_kind
from emstudio.io._finish import finish
from emstudio.io.inputs import open_input
from emstudio.io.loaded import MAX_CLASSES, LoadedData, LoadReport

__all__ = ["DataError", "LoadReport", "LoadedData", "load_data", "workbook_sheets", "READABLE_SUFFIXES", "MAX_CLASSES"]

#: File name endings the loader is made for (the window's file dialog filter uses these).
READABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".dat", ".csv.gz", ".tsv.gz", ".txt.gz",
                     ".csv.bz2", ".tsv.bz2", ".txt.bz2", ".csv.xz", ".tsv.xz", ".txt.xz",
                     ".npy", ".npz", ".xlsx", ".xlsm", ".parquet", ".pq")


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
    raw = read_raw(opened, requested, sheet, classes)
    if sheet is not None and raw.format != "xlsx":
        raise DataError(f"{opened.source}: a sheet was chosen ({sheet}), but this is not an Excel "
                        f"workbook ({raw.format})")
    try:
        return finish(opened.source, raw, requested, classes)
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
    if not magic.startswith((b"PK\x03\x04", b"PK\x05\x06")) or zip_kind(name, suffix_of(name)[0]) != "xlsx":
        return []
    from emstudio.io._excel import workbook_sheets as sheet_names

    try:
        return sheet_names(name, name)
    except DataError:
        return []
