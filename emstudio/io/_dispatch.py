"""Which reader an input goes to, from its first bytes (the extension only breaks ties): NumPy,
Excel and Parquet files by their magic numbers, formats that are not tables refused by theirs,
everything else read as (possibly compressed) delimited text."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import zipfile

from emstudio.errors import DataError
from emstudio.io._common import RawTable
from emstudio.io.inputs import Input

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

_COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")


def suffix_of(name: str) -> tuple[str, str]:
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


def read_raw(opened: Input, requested: list[str] | None, sheet: str | int | None = None,
             classes: str | int | None = None) -> RawTable:
    """The raw table of an opened input. One open only: a regular file is handed on by name; a
    pipe, FIFO, device or standard input was read once, whole, and every reader gets those
    bytes (a second open would find them gone, or wait for a writer that never comes)."""
    source = opened.source
    magic = opened.head
    ext, compressed = suffix_of(source)
    if not magic:
        raise DataError(f"{source}: the file is empty")

    if magic.startswith(b"\x93NUMPY"):
        from emstudio.io._numpy_files import read_npy

        return read_npy(opened.reader_input(), source)
    if magic.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        kind = zip_kind(opened.reader_input(), ext)
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


def zip_kind(path, ext: str) -> str:
    """What a zip archive holds: "npz", "xlsx", or "zip" (neither)."""
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
