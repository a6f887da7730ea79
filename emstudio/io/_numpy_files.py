"""NumPy's ``.npy`` and ``.npz`` files (never unpickled)."""

from __future__ import annotations

import zipfile

import numpy as np

from emstudio.errors import DataError
from emstudio.io._common import RawTable, one_line, unique_names
from emstudio.io._limits import check_zip_member

_NUMBER_KINDS = "iuf"


def read_npy(path: str, source: str) -> RawTable:
    try:
        arr = np.load(path, allow_pickle=False)
    except MemoryError:
        raise DataError(f"{source}: the array is too large for the memory") from None
    except Exception as exc:  # numpy raises many kinds on a damaged file
        raise DataError(f"{source}: not a valid .npy file ({_why(exc)})") from None
    if not isinstance(arr, np.ndarray):
        raise DataError(f"{source}: not a valid .npy file")
    return from_array(source, arr, "npy", [])


def read_npz(path: str, source: str) -> RawTable:
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            if not keys:
                raise DataError(f"{source}: the .npz file holds no arrays")
            if len(keys) == 1:
                key = keys[0]
            elif "X" in keys:
                key = "X"
            elif "data" in keys:
                key = "data"
            else:
                shown = ", ".join(keys[:20]) + (f", … ({len(keys)} in all)" if len(keys) > 20 else "")
                raise DataError(
                    f"{source}: the .npz file holds several arrays ({shown}); "
                    "name the one to fit X or data, or save only that array"
                )
            # The member's declared sizes are checked first: a small .npz can expand to gigabytes.
            names = archive.zip.namelist()
            member = key + ".npy" if key + ".npy" in names else key
            check_zip_member(archive.zip.getinfo(member), source, f"array {key!r}")
            arr = archive[key]
    except DataError:
        raise
    except MemoryError:
        raise DataError(f"{source}: the array is too large for the memory") from None
    except Exception as exc:  # BadZipFile, ValueError, OSError, EOFError, zlib.error...
        raise DataError(f"{source}: not a valid .npz file ({_why(exc)})") from None
    if not isinstance(arr, np.ndarray):  # pragma: no cover - np.load always gives arrays here
        raise DataError(f"{source}: not a valid .npz file")
    notes = [f"array {key!r} of {len(keys)}"] if len(keys) > 1 else []
    return from_array(source, arr, "npz", notes)


def _why(exc: BaseException) -> str:
    if isinstance(exc, zipfile.BadZipFile):
        return "damaged zip archive"
    if isinstance(exc, ValueError) and "allow_pickle" in str(exc):
        return "it holds Python objects, which are never loaded"
    text = one_line(str(exc), 120)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def from_array(source: str, arr: np.ndarray, fmt: str, notes: list[str]) -> RawTable:
    """A table from an array: 1-D is one column, 2-D has columns x0, x1...; fields name columns."""
    if arr.dtype.names is not None:
        return _from_structured(source, arr, fmt, notes)
    if arr.ndim == 0:
        raise DataError(f"{source}: the file holds a single value, not a table")
    if arr.ndim > 2:
        raise DataError(
            f"{source}: the array has {arr.ndim} dimensions {arr.shape}; a table needs 1 or 2"
        )
    if arr.dtype.kind not in _NUMBER_KINDS:
        what = {"b": "true/false values", "c": "complex numbers", "U": "text", "S": "bytes",
                "O": "Python objects", "M": "dates", "m": "time spans"}.get(arr.dtype.kind, str(arr.dtype))
        raise DataError(f"{source}: the array holds {what}, not real numbers")
    table = arr.reshape(-1, 1) if arr.ndim == 1 else arr
    n, d = table.shape
    if n == 0:
        raise DataError(f"{source}: the array has no rows")
    if d == 0:
        raise DataError(f"{source}: the array has no columns")
    with np.errstate(over="ignore", invalid="ignore"):
        values = np.ascontiguousarray(table, dtype=np.float64)
    names = [f"x{j}" for j in range(d)]
    return RawTable(format=fmt, names=names, n_rows=n, numeric=list(range(d)),
                    blocks=[(tuple(range(d)), values)], notes=notes)


def _from_structured(source: str, arr: np.ndarray, fmt: str, notes: list[str]) -> RawTable:
    if arr.ndim != 1:
        if arr.ndim == 0:
            raise DataError(f"{source}: the file holds a single record, not a table")
        arr = arr.reshape(-1)
    names = list(arr.dtype.names or ())
    n = arr.shape[0]
    if not names:
        raise DataError(f"{source}: the array has no columns")
    if n == 0:
        raise DataError(f"{source}: the array has no rows")
    reasons: dict[int, str] = {}
    numeric: list[int] = []
    columns = []
    for j, name in enumerate(names):
        fdt = arr.dtype.fields[name][0]
        if fdt.shape != ():
            reasons[j] = "holds an array per row"
        elif fdt.kind == "b":
            reasons[j] = "not numeric (true/false)"
        elif fdt.kind not in _NUMBER_KINDS:
            reasons[j] = "not numeric"
        else:
            numeric.append(j)
            with np.errstate(over="ignore", invalid="ignore"):
                columns.append(arr[name].astype(np.float64))
    values = np.column_stack(columns) if columns else np.empty((n, 0))
    return RawTable(format=fmt, names=unique_names(names), n_rows=n, numeric=numeric,
                    blocks=[(tuple(numeric), np.ascontiguousarray(values))],
                    reasons=reasons, notes=notes)
