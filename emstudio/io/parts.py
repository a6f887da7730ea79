"""Parts of one data file, each read as emstudio.io.data.load_data reads a whole file: the blocks a
cluster's workers read of a large CSV/text file (byte ranges cut on line ends) or of a Parquet file
(rows of whole row groups). See emstudio.distributed.sources, which cuts the file."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

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
    them; or ``row_range`` (start, stop) of a Parquet file's rows. Give the ``columns`` decided
    for the whole file (emstudio.distributed.columns, from every part's :func:`survey_part`): a part
    alone may not show them (a column empty in the first part, text further on), and a part's
    row numbers are never taken for row names here."""
    name = os.fsdecode(path)
    source = display_name(name)
    requested = None if columns is None else list(columns)
    if row_range is not None:
        from emstudio.io._parquet import read_parquet

        raw = read_parquet(name, source, rows=row_range)
    else:
        head, data = _part_bytes(name, source, byte_range, head_bytes)
        raw = read_raw(Input(source, None, head + data, (head + data)[:16]), requested, None, classes)
    # A part whose every row misses a value keeps none: the whole file's rows are what count.
    return finish(source, raw, requested, classes, part=True)


def _part_bytes(name: str, source: str, byte_range: tuple[int, int] | None, head_bytes: int) -> tuple[bytes, bytes]:
    """(the head given again before a part that starts past it, the part's own bytes)."""
    start, stop = byte_range if byte_range is not None else (0, os.path.getsize(name))
    try:
        with open(name, "rb") as handle:
            head = handle.read(head_bytes) if start > 0 else b""
            handle.seek(start)
            return head, handle.read(stop - start)
    except OSError as exc:
        raise DataError(f"{source}: cannot read the file ({exc.strerror or exc})") from None


@dataclass(frozen=True)
class PartSurvey:
    """What one part says of the file's columns, before any is chosen (emstudio.distributed.columns
    merges the parts' surveys into the decision load_data takes reading the file whole).

    ``names``: the columns; ``numeric``: those holding only numbers (or nothing) in this part;
    ``reasons``: why the others are not numeric, as the reader says; ``text_at``: column -> (line,
    cell) of its first text cell; ``finite`` / ``number``: columns with a finite value / a number
    (±inf included); ``candidates``: the numeric columns that may be row names (unnamed, first);
    ``counting``: those of them that count up by one row after row (1, 2, 3 … R's row names) ->
    their first value; ``rows``: rows read.
    Text parts: lines are counted in the part as read (its head first when ``head_lines`` > 0);
    ``lines``: line ends in the part's own bytes (the next part's lines start after them).
    ``error``: the one-line message when the part cannot be read (with the lines as counted here);
    ``quoted_line_end``: the part has a line with an odd number of double quotes, a quoted field
    holding a line end."""

    names: tuple[str, ...] = ()
    numeric: frozenset[int] = frozenset()
    reasons: dict[int, str] = field(default_factory=dict)
    text_at: dict[int, tuple[int, str]] = field(default_factory=dict)
    finite: frozenset[int] = frozenset()
    number: frozenset[int] = frozenset()
    counting: dict[int, float] = field(default_factory=dict)
    candidates: frozenset[int] = frozenset()
    rows: int = 0
    notes: tuple[str, ...] = ()
    head_lines: int = 0
    lines: int = 0
    error: str | None = None
    quoted_line_end: bool = False


def survey_part(path: str | os.PathLike, *, classes: str | int | None = None,
                byte_range: tuple[int, int] | None = None, head_bytes: int = 0,
                row_range: tuple[int, int] | None = None) -> PartSurvey:
    """The :class:`PartSurvey` of a part of a file (arguments as :func:`load_data_part`): every
    column read, none chosen. Never raises DataError: a part that cannot be read says why."""
    name = os.fsdecode(path)
    source = display_name(name)
    head = data = b""
    try:
        if row_range is not None:
            from emstudio.io._parquet import read_parquet

            raw = read_parquet(name, source, rows=row_range)
        else:
            head, data = _part_bytes(name, source, byte_range, head_bytes)
            raw = read_raw(Input(source, None, head + data, (head + data)[:16]), None, None, classes)
    except DataError as exc:
        return PartSurvey(head_lines=head.count(b"\n"), lines=data.count(b"\n"), error=str(exc),
                          quoted_line_end=_odd_quotes_on_a_line(data))
    where = [{j: p for p, j in enumerate(cols)} for cols, _ in raw.blocks]
    finite, number, counting = set(), set(), {}
    for j in raw.numeric:
        parts = [arr[:, w[j]] for w, (_, arr) in zip(where, raw.blocks)]
        column = np.concatenate(parts) if parts else np.empty(0)
        if np.isfinite(column).any():
            finite.add(j)
        if not np.isnan(column).all():
            number.add(j)
        if j in raw.row_name_candidates and column.size and np.isfinite(column[0]) and np.array_equal(
                column, column[0] + np.arange(column.size)):
            counting[j] = float(column[0])
    return PartSurvey(tuple(raw.names), frozenset(raw.numeric), dict(raw.reasons), dict(raw.text_at),
                      frozenset(finite), frozenset(number), counting, frozenset(raw.row_name_candidates), raw.n_rows, tuple(raw.notes),
                      head.count(b"\n"), data.count(b"\n"))


def _odd_quotes_on_a_line(data: bytes) -> bool:
    """Whether a line of ``data`` has an odd number of double quotes (a quoted field goes on past
    its line end): one look at the bytes."""
    if b'"' not in data:
        return False
    u = np.frombuffer(data, dtype=np.uint8)
    quotes_before = np.cumsum(u == ord('"'))
    ends = np.flatnonzero(u == ord("\n"))
    per_line = np.diff(np.concatenate([[0], quotes_before[ends], quotes_before[-1:]]))
    return bool((per_line % 2).any())
