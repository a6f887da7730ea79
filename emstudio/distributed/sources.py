"""Data sets too large for one machine's memory, as blocks of rows a cluster's workers read.

DATA is a `.npy` file (memory-mapped, read in row blocks), a Zarr array (read in blocks of whole
chunks of rows), a folder of Parquet files, or a glob of
files of one format (CSV/TSV/text or Parquet: one block per file, read by emstudio.io's own
readers, so each file's columns, missing values and notes are handled as `emstudio fit` handles
them). The client only lists the blocks (:func:`find_blocks`); the workers read them
(:func:`read_block`), so the files must be at the same path on every worker.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass

import numpy as np

from emstudio.errors import DataError, EmstudioError

#: Bytes of float64 values per row block of a `.npy` file: large enough that a block's pass costs
#: far more than the scheduler's ~1 ms per task, small enough that a few fit in a worker's memory.
NPY_BLOCK_BYTES = 64 << 20
_GLOB_CHARACTERS = "*?["


@dataclass(frozen=True)
class BlockSpec:
    """Where a block's rows are: ``kind`` "npy" or "zarr" (rows [start, stop) of the array in
    ``path``) or "table" (the whole file ``path``, read by emstudio.io.data.load_data)."""

    kind: str
    path: str
    start: int = 0
    stop: int = 0

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


@dataclass(frozen=True, eq=False)
class LoadedBlock:
    """A block as read: ``values`` (m, d) float64, every value finite; ``columns`` (d names);
    ``n_dropped``: rows left out for a missing, NaN or infinite value; ``notes``: the reader's."""

    values: np.ndarray
    columns: tuple[str, ...]
    n_dropped: int
    notes: tuple[str, ...] = ()


def find_blocks(data: str, block_rows: int | None = None, min_blocks: int = 1) -> list[BlockSpec]:
    """The blocks of DATA, in a fixed order (files sorted by path, then rows). A `.npy` file is cut
    into ``block_rows`` rows, or else into equal blocks of at most NPY_BLOCK_BYTES, at least
    ``min_blocks`` of them (so that every worker has some). DataError when DATA names nothing
    readable."""
    if os.path.isdir(data) and is_zarr_array(data):
        return _array_blocks(data, "zarr", block_rows, min_blocks)
    if os.path.isdir(data):
        files = sorted(glob.glob(os.path.join(data, "**", "*.parquet"), recursive=True))
        if not files:
            raise DataError(f"{data}: a folder with no .parquet files (a Parquet data set is a folder of them)")
    elif any(c in data for c in _GLOB_CHARACTERS):
        files = sorted(f for f in glob.glob(data, recursive=True) if os.path.isfile(f))
        if not files:
            raise DataError(f"{data}: no file matches this pattern")
    elif os.path.isfile(data):
        files = [data]
    else:
        raise DataError(f"{data}: no such file or folder")
    kinds = {_kind_of(f) for f in files}
    if len(kinds) > 1:
        raise DataError(f"{data}: the files mix .npy and table formats; give files of one format")
    if kinds == {"npy"}:
        return [block for f in files for block in _array_blocks(f, "npy", block_rows, min_blocks)]
    return [BlockSpec("table", f) for f in files]


def _kind_of(path: str) -> str:
    return "npy" if path.lower().endswith(".npy") else "table"


def is_zarr_array(path: str) -> bool:
    """Whether the folder ``path`` holds a Zarr array (format 3 or 2)."""
    return os.path.isfile(os.path.join(path, "zarr.json")) or os.path.isfile(os.path.join(path, ".zarray"))


def _open_array(path: str, kind: str):
    if kind == "npy":
        return np.load(path, mmap_mode="r", allow_pickle=False)
    try:
        import zarr
    except ImportError:
        raise DataError(f"{os.path.basename(path)}: a Zarr array needs zarr: pip install 'emstudio[cluster]'") from None
    return zarr.open_array(path, mode="r")


def array_shape(path: str, kind: str = "npy") -> tuple[int, int]:
    """(rows, columns) of a `.npy` file or Zarr array of real numbers, from its header (nothing
    else is read)."""
    name = os.path.basename(path.rstrip(os.sep))
    try:
        array = _open_array(path, kind)
    except DataError:
        raise
    except Exception as exc:  # numpy's and zarr's many ways of saying "not an array"
        raise DataError(f"{name}: not a readable {'.npy' if kind == 'npy' else 'Zarr'} array ({exc})") from None
    if array.dtype.names is not None or array.dtype.kind not in "iuf":
        raise DataError(f"{name}: the array holds {array.dtype}, not real numbers "
                        "(a structured array needs the in-memory engine)")
    if array.ndim not in (1, 2) or array.shape[0] == 0:
        raise DataError(f"{name}: the array has shape {array.shape}; a table needs rows and 1 or 2 dimensions")
    return array.shape[0], 1 if array.ndim == 1 else array.shape[1]


def _array_blocks(path: str, kind: str, block_rows: int | None, min_blocks: int) -> list[BlockSpec]:
    n, d = array_shape(path, kind)
    if block_rows:
        rows = block_rows
    else:
        count = max(min_blocks, -(-8 * n * d // NPY_BLOCK_BYTES))
        rows = max(1, -(-n // count))
        if kind == "zarr":  # whole chunks per block (each read and decompressed once), rounded down
            chunk = _open_array(path, kind).chunks[0]  # so that the blocks are still at least min_blocks
            rows = max(1, rows // chunk) * chunk
    return [BlockSpec(kind, path, a, min(a + rows, n)) for a in range(0, n, rows)]


def npy_columns(d: int, requested: list[str] | None) -> tuple[list[int], tuple[str, ...]]:
    """The columns x0 … x(d−1) of an array (as emstudio.io names them) that ``requested`` picks, by
    name or 0-based number: (indices, names)."""
    names = [f"x{j}" for j in range(d)]
    if not requested:
        return list(range(d)), tuple(names)
    indices = []
    for item in requested:
        if item in names:
            indices.append(names.index(item))
        elif item.isdigit() and int(item) < d:
            indices.append(int(item))
        else:
            raise DataError(f"no column {item!r}: the array's columns are {', '.join(names)}")
    return indices, tuple(names[j] for j in indices)


def read_block(spec: BlockSpec, columns: list[str] | None) -> LoadedBlock:
    """Read one block (on a worker). Rows with a missing, NaN or infinite value are dropped and
    counted. DataError naming the file for anything unreadable."""
    return read_block_with_rows(spec, columns)[0]


def read_block_with_rows(spec: BlockSpec, columns: list[str] | None) -> tuple[LoadedBlock, np.ndarray, np.ndarray | None,
                                                                              np.ndarray | None]:
    """:func:`read_block`, and what a labels file says of each kept row: (the block, the rows'
    0-based positions among the block's rows (m,), the file's row names (m,) str or None, the cells'
    text as read (m, d) str or None)."""
    if spec.kind in ("npy", "zarr"):
        array = _open_array(spec.path, spec.kind)
        d = 1 if array.ndim == 1 else array.shape[1]
        indices, names = npy_columns(d, columns)
        rows = np.asarray(array[spec.start:spec.stop]).reshape(-1, d)
        with np.errstate(over="ignore", invalid="ignore"):
            values = np.ascontiguousarray(rows[:, indices], dtype=np.float64)
        finite = np.isfinite(values).all(axis=1)
        dropped = int(values.shape[0] - finite.sum())
        if dropped:
            values = np.ascontiguousarray(values[finite])
        return LoadedBlock(values, names, dropped), np.flatnonzero(finite), None, None
    from emstudio.io.data import load_data

    try:
        loaded = load_data(spec.path, columns=columns)
    except EmstudioError as exc:
        message = str(exc)
        raise DataError(message if spec.name in message else f"{spec.name}: {message}") from None
    block = LoadedBlock(loaded.values, tuple(loaded.columns), int(loaded.report.n_dropped),
                        tuple(loaded.report.notes))
    return block, loaded.kept_rows, loaded.row_names, loaded.cell_text


def estimated_bytes(blocks: list[BlockSpec]) -> int:
    """About how many bytes the blocks take in memory as float64 (for choosing to persist them):
    exact for arrays; for other files a multiple of their size on disk (Parquet compresses)."""
    total = 0
    widths: dict[str, int] = {}
    for spec in blocks:
        if spec.kind in ("npy", "zarr"):
            if spec.path not in widths:
                widths[spec.path] = array_shape(spec.path, spec.kind)[1]
            total += 8 * (spec.stop - spec.start) * widths[spec.path]
        else:
            size = os.path.getsize(spec.path)
            total += 4 * size if spec.path.lower().endswith(".parquet") else size
    return total
