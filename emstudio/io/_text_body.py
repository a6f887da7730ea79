"""The body of a text table, read block after block of complete records into one float array.

Each block goes through ``numpy.loadtxt`` (C speed) after a vectorised check that every record
has the expected number of fields; missing markers (``NA``, empty fields...) are rewritten to
``nan`` first if needed. Only a block that still fails is read by the ``csv`` module, cell by
cell, which finds the exact line of a ragged record or the first text value in a column thought
numeric. The text of some columns is kept beside the numbers (known classes, row names, the
used cells as written).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator, Sequence

import numpy as np

from emstudio.errors import DataError
from emstudio.io import _text_source
from emstudio.io._common import MISSING_TOKENS, NAN, numeric_hint, short, to_float
from emstudio.io._text_numbers import fields_to_nan, loadtxt_block
from emstudio.io._text_records import WHITESPACE, RecordError, complete_records, field_counts, iter_records
from emstudio.io._text_source import TextSource

CELL_TEXT_CELLS = 1_000_000  # the used cells' text is kept for tables up to this many cells


def offset_of_line(complete: bytes, line: int) -> int:
    """The byte offset in ``complete`` (whole lines) of the 1-based line ``line``."""
    offset = 0
    for _ in range(line - 1):
        nxt = complete.find(b"\n", offset)
        if nxt < 0:
            return len(complete)
        offset = nxt + 1
    return offset


def rows_hint(src: TextSource, complete: bytes, body_offset: int) -> int | None:
    """Rough number of rows in the body, from the file size and the sample's bytes per row."""
    size = src.size
    if size is None:
        return None
    sample = complete[body_offset:]
    n_lines = sample.count(b"\n")
    if n_lines == 0 or not sample.strip():
        return None
    body_bytes = max(size - (src.prefix + body_offset), 0)
    return int(body_bytes / (len(sample) / n_lines)) + 1


class BodyReader:
    """Reads the records below the header of a file whose dialect is known."""

    def __init__(self, src: TextSource, source: str, delim: str, d: int, decimal_comma: bool, encoding: str,
                 requested: Sequence[str | int] | None, names: list[str], candidates: list[int]) -> None:
        self.src = src
        self.source = source
        self.delim = delim
        self.d = d  # fields per record
        self.decimal_comma = decimal_comma
        self.encoding = encoding
        # A requested column found to hold text is an error that names the columns still usable.
        self.requested = requested
        self._names = names
        self._candidates = candidates

    def read(self, start: bytes, line_no: int, usecols: list[int], size_hint: int | None,
             text_columns: Sequence[int] = (), cell_columns: Sequence[int] = ()):
        """Parse the body into one (rows, len(usecols)) array; return it, the row count, late
        text, and the cells' text of ``text_columns`` (always) and ``cell_columns`` (while the
        table stays under CELL_TEXT_CELLS cells) as {column: (rows,) str}.

        Rows go straight into one buffer sized from the file size and the sample's bytes per
        record, grown in place if needed and trimmed in place at the end: the peak memory stays
        near the size of the result.
        """
        if size_hint is not None and size_hint * len(cell_columns) > CELL_TEXT_CELLS:
            cell_columns = ()
        keep = list(text_columns) + list(cell_columns)
        text_parts: dict[int, list[np.ndarray]] = {j: [] for j in keep}
        k = len(usecols)
        position = {j: p for p, j in enumerate(usecols)}
        capacity = max(1024, int(size_hint * 1.05) + 64) if size_hint else 65536
        out = np.empty((capacity, k), dtype=np.float64)
        late: dict[int, tuple[int, str]] = {}
        cols = list(usecols)
        n_rows = 0
        buf = start
        eof = False
        while True:
            if not eof:
                more = self.src.read_block()
                if not more:
                    eof = True
                buf += more
            if eof:
                chunk, buf = buf, b""
                if chunk and not chunk.endswith(b"\n"):
                    chunk += b"\n"
            else:
                cut = complete_records(buf)
                # No complete record yet (an open quote): read on, up to 16 blocks, then cut at
                # a line end. BLOCK_BYTES is looked up at each call (tests shrink the blocks).
                if cut == 0 and len(buf) < 16 * _text_source.BLOCK_BYTES:
                    continue
                if cut == 0:
                    cut = buf.rfind(b"\n") + 1 or len(buf)
                chunk, buf = buf[:cut], buf[cut:]
            if chunk:
                arr, found = self._parse_chunk(chunk, line_no, cols)
                rows = arr.shape[0]
                if n_rows + rows > out.shape[0]:
                    out.resize((max(n_rows + rows, int(out.shape[0] * 1.5)), k), refcheck=False)
                if len(cols) == k:
                    out[n_rows:n_rows + rows] = arr
                else:
                    target = out[n_rows:n_rows + rows]
                    target[...] = np.nan
                    for c, j in enumerate(cols):
                        target[:, position[j]] = arr[:, c]
                    del target
                if keep:
                    text = self._chunk_text(chunk, line_no, keep)
                    if text.shape[0] != rows:  # cannot happen; never pair wrong rows with text
                        keep, text_parts = [], {}
                    for c, j in enumerate(keep):
                        text_parts[j].append(text[:, c])
                    if cell_columns and (n_rows + rows) * len(cell_columns) > CELL_TEXT_CELLS:
                        for j in cell_columns:  # too large to keep: written as shortest text instead
                            text_parts.pop(j, None)
                        keep = [j for j in keep if j not in cell_columns]
                        cell_columns = ()
                n_rows += rows
                for j, where in found.items():
                    if self.requested is not None:
                        name = self._names[j] or str(j)
                        still = [c for c in self._candidates if c not in found and c not in late]
                        raise DataError(
                            f"{self.source}: column {short(name)} is not numeric "
                            f"({short(where[1])} on line {where[0]}); {numeric_hint(self._names, still)}"
                        )
                    late.setdefault(j, where)
                cols = [j for j in cols if j not in late]
                line_no += chunk.count(b"\n")
            if eof:
                break
        out.resize((n_rows, k), refcheck=False)
        texts = {j: (np.concatenate(parts) if parts else np.empty(0, dtype=str)) for j, parts in text_parts.items()}
        return [(tuple(usecols), out)], n_rows, late, texts

    def _chunk_text(self, chunk: bytes, line_no: int, cols: list[int]) -> np.ndarray:
        """The cells of ``cols`` in one block of complete records as text (rows, len(cols)),
        blanks around each cell stripped: numpy.loadtxt's C reader, else the csv module."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                arr = np.loadtxt(io.BytesIO(chunk), dtype=str, delimiter=None if self.delim == WHITESPACE else
                                 self.delim, quotechar='"', comments=None, usecols=cols, ndmin=2,
                                 encoding=self.encoding)
            if arr.ndim == 2 and arr.shape[1] == len(cols) and arr.shape[0] == field_counts(
                    np.frombuffer(chunk, dtype=np.uint8), self.delim).size:
                return np.char.strip(arr)
        except Exception:  # ragged or oddly quoted records: the careful reader below
            pass
        rows = [[fields[j].strip() for j in cols] for _, fields in self._checked_records(chunk, line_no)]
        return np.array(rows, dtype=str).reshape(len(rows), len(cols))

    def _parse_chunk(self, chunk: bytes, line_no: int, cols: list[int]):
        """Parse one block of complete records; return ((rows, len(cols)) array, late text)."""
        if not cols:
            n = self._count_rows_slow(chunk, line_no)
            return np.empty((n, 0)), {}
        fast = self._parse_fast(chunk, cols)
        if fast is not None:
            return fast, {}
        return self._parse_slow(chunk, line_no, cols)

    def _parse_fast(self, chunk: bytes, cols: list[int]) -> np.ndarray | None:
        u = np.frombuffer(chunk, dtype=np.uint8)
        counts = field_counts(u, self.delim)
        if counts.size and not (counts == self.d).all():
            return None
        n_expected = counts.size
        data = chunk.replace(b",", b".") if self.decimal_comma else chunk
        # A missing marker (NA, an empty field...) stops loadtxt: write "nan" in its place
        # wherever it fills a whole field, and try again (a few distinct markers at most).
        for _ in range(6):
            arr, bad = loadtxt_block(data, self.delim, cols)
            if arr is not None:
                break
            if bad is None or bad.strip().lower() not in MISSING_TOKENS or bad != bad.strip():
                return None
            replaced = fields_to_nan(data, bad.encode("latin-1"), self.delim)
            if replaced == data:
                return None
            data = replaced
        else:
            return None
        if arr.shape[0] != n_expected:
            return None
        return arr

    def _records(self, chunk: bytes, line_no: int) -> Iterator[tuple[int, list[str]]]:
        text = chunk.decode(self.encoding, errors="replace").replace("\r", "")
        try:
            yield from iter_records(text, self.delim, line_no)
        except RecordError as exc:
            raise DataError(f"{self.source}: line {exc.line}: {exc.message}") from None

    def _parse_slow(self, chunk: bytes, line_no: int, cols: list[int]):
        dc = self.decimal_comma
        values: list[list[float]] = [[] for _ in cols]
        late: dict[int, tuple[int, str]] = {}
        for rec_line, fields in self._checked_records(chunk, line_no):
            for k, j in enumerate(cols):
                v = to_float(fields[j], dc)
                if v is None:
                    if j not in late:
                        late[j] = (rec_line, fields[j])
                    v = NAN
                values[k].append(v)
        n = len(values[0]) if values else 0
        arr = np.empty((n, len(cols)), dtype=np.float64)
        for k in range(len(cols)):
            arr[:, k] = values[k]
        return arr, late

    def _checked_records(self, chunk: bytes, line_no: int) -> Iterator[tuple[int, list[str]]]:
        d = self.d
        for rec_line, fields in self._records(chunk, line_no):
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if len(fields) != d:
                raise DataError(f"{self.source}: line {rec_line} has {len(fields)} "
                                f"field{'s' if len(fields) != 1 else ''}, expected {d}")
            yield rec_line, fields

    def _count_rows_slow(self, chunk: bytes, line_no: int) -> int:
        return sum(1 for _ in self._checked_records(chunk, line_no))
