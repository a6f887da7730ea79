"""Data sets too large for one machine's memory, as blocks of rows a cluster's workers read.

DATA is a `.npy` file (memory-mapped, read in row blocks), a Zarr array (read in blocks of whole
chunks of rows), a folder of Parquet files, one CSV/TSV/text or Parquet file, or a glob of files of
one format. Every block is read by emstudio.io's own readers, so its columns, missing values and
notes are handled as `emstudio fit` handles them. A large text file is cut into byte ranges on
line ends (fsspec's ``seek_delimiter``, which dask's ``read_bytes`` cuts files with), each read
after the file's head (comments, header) again; a Parquet file into blocks of whole row groups.
The client only lists the blocks (:func:`find_blocks`); the workers read them
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
#: The smallest block of a text file cut to give every worker blocks (smaller ones only when asked
#: for with --block-bytes or --block-rows): below it a file is one block.
TEXT_MIN_BLOCK_BYTES = 1 << 20
#: Kinds of blocks that are a part of a table file: "text" bytes [start, stop) of a text file (after
#: its first ``head`` bytes), "parquet" rows [start, stop) of a Parquet file.
PART_KINDS = ("text", "parquet")
_GLOB_CHARACTERS = "*?["


@dataclass(frozen=True)
class BlockSpec:
    """Where a block's rows are: ``kind`` "npy" or "zarr" (rows [start, stop) of the array in
    ``path``), "table" (the whole file ``path``, read by emstudio.io.data.load_data), "text" (bytes
    [start, stop) of a text file, cut on line ends, read after its first ``head`` bytes) or
    "parquet" (rows [start, stop) of a Parquet file, whole row groups)."""

    kind: str
    path: str
    start: int = 0
    stop: int = 0
    head: int = 0

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


def find_blocks(data: str, block_rows: int | None = None, min_blocks: int = 1,
                block_bytes: int | None = None) -> list[BlockSpec]:
    """The blocks of DATA, in a fixed order (files sorted by path, then rows). A `.npy` file or
    Zarr array is cut into ``block_rows`` rows, or blocks of ``block_bytes`` bytes of float64
    values, or else into equal blocks of at most NPY_BLOCK_BYTES, at least ``min_blocks`` of them
    (so that every worker has some). A Parquet file is cut the same way, rounded to whole row
    groups; a text file into ``block_bytes`` bytes of the file (``block_rows``: that many of its
    first lines' bytes), or else into equal blocks of at most NPY_BLOCK_BYTES, at least
    ``min_blocks`` of them when they are not smaller than TEXT_MIN_BLOCK_BYTES. DataError when DATA
    names nothing readable."""
    if os.path.isdir(data) and is_zarr_array(data):
        return _array_blocks(data, "zarr", block_rows, min_blocks, block_bytes)
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
        return [block for f in files for block in _array_blocks(f, "npy", block_rows, min_blocks, block_bytes)]
    cut = block_rows or block_bytes or len(files) < min_blocks or any(
        os.path.getsize(f) > NPY_BLOCK_BYTES for f in files)
    if not cut:
        return [BlockSpec("table", f) for f in files]
    share = max(1, -(-min_blocks // len(files)))  # blocks per file for every worker to have some
    return [block for f in files for block in _file_blocks(f, block_rows, block_bytes, share)]


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


def _array_blocks(path: str, kind: str, block_rows: int | None, min_blocks: int,
                  block_bytes: int | None = None) -> list[BlockSpec]:
    n, d = array_shape(path, kind)
    if block_rows:
        rows = block_rows
    elif block_bytes:
        rows = max(1, block_bytes // (8 * d))
    else:
        count = max(min_blocks, -(-8 * n * d // NPY_BLOCK_BYTES))
        rows = max(1, -(-n // count))
        if kind == "zarr":  # whole chunks per block (each read and decompressed once), rounded down
            chunk = _open_array(path, kind).chunks[0]  # so that the blocks are still at least min_blocks
            rows = max(1, rows // chunk) * chunk
    return [BlockSpec(kind, path, a, min(a + rows, n)) for a in range(0, n, rows)]


def _file_blocks(path: str, block_rows: int | None, block_bytes: int | None, min_blocks: int) -> list[BlockSpec]:
    """The blocks of one table file: parts of a text or Parquet file, or the whole file (any other
    format, a text file that cannot be cut by bytes, a file smaller than one block)."""
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic == b"PAR1":
        return _parquet_blocks(path, block_rows, block_bytes, min_blocks)
    if magic.startswith((b"PK", b"\x93NUM", b"\x1f\x8b", b"BZh", b"\xfd7zX")):
        return [BlockSpec("table", path)]
    from emstudio.io._text import text_body_start

    body = text_body_start(path, os.path.basename(path))
    size = os.path.getsize(path)
    if body is None or body >= size:
        return [BlockSpec("table", path)]
    if block_bytes:
        step = block_bytes
    elif block_rows:  # that many lines' bytes, as the body's first lines measure them
        with open(path, "rb") as handle:
            handle.seek(body)
            sample = handle.read(1 << 20)
        lines = max(1, sample.count(b"\n") + (not sample.endswith(b"\n")))
        step = max(1, -(-len(sample) * block_rows // lines))
    else:
        step = max(TEXT_MIN_BLOCK_BYTES, min(NPY_BLOCK_BYTES, -(-(size - body) // min_blocks)))
    return _text_cuts(path, body, size, step)


def _text_cuts(path: str, body: int, size: int, step: int) -> list[BlockSpec]:
    """Byte ranges of about ``step`` bytes of a text file's body, each starting on a line: the
    first from byte 0 (it holds the head), the others read after the head (``head`` = body)."""
    from fsspec.utils import seek_delimiter

    cuts = [0]
    with open(path, "rb") as handle:
        nominal = body + step
        while nominal < size:
            handle.seek(nominal - 1)  # a line that starts at ``nominal`` starts the next block
            seek_delimiter(handle, b"\n", 1 << 16)
            at = handle.tell()
            if at >= size:
                break
            if at > cuts[-1]:
                cuts.append(at)
            nominal = max(at, nominal) + step
    cuts.append(size)
    if len(cuts) == 2:
        return [BlockSpec("table", path)]
    return [BlockSpec("text", path, a, b, body) for a, b in zip(cuts[:-1], cuts[1:])]


def _parquet_blocks(path: str, block_rows: int | None, block_bytes: int | None, min_blocks: int) -> list[BlockSpec]:
    """Blocks of whole row groups of a Parquet file, of about ``block_rows`` rows (or
    ``block_bytes`` of float64 values, or equal blocks of at most NPY_BLOCK_BYTES, at least
    ``min_blocks`` of them): a row group is never cut (it is the file's unit of reading)."""
    from emstudio.io._parquet import row_group_sizes

    groups = row_group_sizes(path)
    n = sum(groups)
    if len(groups) < 2:
        return [BlockSpec("table", path)]
    bytes_per_row = max(8.0, 4 * os.path.getsize(path) / n)  # as estimated_bytes guesses it
    if block_rows:
        target = block_rows
    elif block_bytes:
        target = max(1, int(block_bytes / bytes_per_row))
    else:
        target = min(-(-n // min_blocks), max(1, int(NPY_BLOCK_BYTES / bytes_per_row)))
    blocks, start, rows = [], 0, 0
    for size in groups:
        rows += size
        if rows - start >= target:
            blocks.append(BlockSpec("parquet", path, start, rows))
            start = rows
    if rows > start:
        blocks.append(BlockSpec("parquet", path, start, rows))
    return blocks


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


def read_block(spec: BlockSpec, columns: list[str] | None, classes: str | None = None) -> LoadedBlock:
    """Read one block (on a worker). Rows with a missing, NaN or infinite value are dropped and
    counted. ``classes``: a column of known classes, never a data column. DataError naming the
    file for anything unreadable."""
    return read_block_with_rows(spec, columns, classes)[0]


def load_table_block(spec: BlockSpec, columns: list[str] | None, classes: str | None = None):
    """A table file's block as emstudio.io reads it (a LoadedData): the whole file or its part."""
    from emstudio.io.data import load_data
    from emstudio.io.parts import load_data_part

    try:
        if spec.kind == "text":
            return load_data_part(spec.path, columns, classes=classes, byte_range=(spec.start, spec.stop),
                                  head_bytes=spec.head)
        if spec.kind == "parquet":
            return load_data_part(spec.path, columns, classes=classes, row_range=(spec.start, spec.stop))
        return load_data(spec.path, columns=columns, classes=classes)
    except EmstudioError as exc:
        message = str(exc)
        raise DataError(message if spec.name in message else f"{spec.name}: {message}") from None


def read_block_with_rows(spec: BlockSpec, columns: list[str] | None,
                         classes: str | None = None) -> tuple[LoadedBlock, np.ndarray, np.ndarray | None,
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
    loaded = load_table_block(spec, columns, classes)
    block = LoadedBlock(loaded.values, tuple(loaded.columns), int(loaded.report.n_dropped),
                        tuple(loaded.report.notes))
    return block, loaded.kept_rows, loaded.row_names, loaded.cell_text


def estimated_bytes(blocks: list[BlockSpec]) -> int:
    """About how many bytes the blocks take in memory as float64 (for choosing to persist them):
    exact for arrays; for other files a multiple of their size on disk (Parquet compresses)."""
    total = 0
    widths: dict[str, int] = {}
    group_rows: dict[str, int] = {}
    for spec in blocks:
        if spec.kind in ("npy", "zarr"):
            if spec.path not in widths:
                widths[spec.path] = array_shape(spec.path, spec.kind)[1]
            total += 8 * (spec.stop - spec.start) * widths[spec.path]
        elif spec.kind == "text":
            total += spec.stop - spec.start
        else:
            size = os.path.getsize(spec.path)
            if spec.kind == "parquet":
                from emstudio.io._parquet import row_group_sizes

                if spec.path not in group_rows:
                    group_rows[spec.path] = max(1, sum(row_group_sizes(spec.path)))
                size = size * (spec.stop - spec.start) // group_rows[spec.path]
            total += 4 * size if spec.path.lower().endswith(".parquet") else size
    return total
