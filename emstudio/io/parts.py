"""Parts of one data file, each read as emstudio.io.data.load_data reads a whole file: the blocks a
cluster's workers read of a large CSV/text file (byte ranges cut on line ends) or of a Parquet file
(rows of whole row groups). See emstudio.distributed.sources, which cuts the file."""

from __future__ import annotations

import os
from collections.abc import Sequence

from emstudio.errors import DataError
from emstudio.io._dispatch import read_raw
from emstudio.io._finish import finish
from emstudio.io.inputs import Input, display_name
from emstudio.io.loaded import LoadedData


def load_data_part(path: str | os.PathLike, columns: Sequence[str] | None = None, *,
                   classes: str | int | None = None, byte_range: tuple[int, int] | None = None,
                   head_bytes: int = 0, row_range: tuple[int, int] | None = None) -> LoadedData:
    """``byte_range`` (start, stop) of a text file, cut on line ends, read after the file's first
    ``head_bytes`` bytes (its lines before the body: comments, the header) when it starts past
    them; or ``row_range`` (start, stop) of a Parquet file's rows. Give the ``columns`` that the
    whole file uses: a part alone may not show them (a column of row numbers 1, 2, … is row names
    in the first part only)."""
    name = os.fsdecode(path)
    source = display_name(name)
    requested = None if columns is None else list(columns)
    if row_range is not None:
        from emstudio.io._parquet import read_parquet

        raw = read_parquet(name, source, rows=row_range)
    else:
        start, stop = byte_range if byte_range is not None else (0, os.path.getsize(name))
        try:
            with open(name, "rb") as handle:
                head = handle.read(head_bytes) if start > 0 else b""
                handle.seek(start)
                data = head + handle.read(stop - start)
        except OSError as exc:
            raise DataError(f"{source}: cannot read the file ({exc.strerror or exc})") from None
        raw = read_raw(Input(source, None, data, data[:16]), requested, None, classes)
    return finish(source, raw, requested, classes)
