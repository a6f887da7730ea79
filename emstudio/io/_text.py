"""Delimited text: CSV, TSV, semicolon CSV with decimal commas, whitespace-separated columns.

How a file is read (each stage in a module of its own):

1. The head of the file (at least ~30 lines) tells the encoding (UTF-8, UTF-8 with BOM, UTF-16
   with BOM, otherwise Windows-1252/Latin-1), whether it is text at all, and the line ending
   (``_text_source``); then which lines before the table are blank, ``#`` comments or Excel's
   ``sep=;`` hint (``_text_dialect``).
2. The delimiter is sniffed on a sample of records: every candidate (tab, semicolon, comma,
   pipe, runs of spaces) that splits most records into the same number (> 1) of fields is
   scored by how many numeric fields it yields; the best one wins. A semicolon, tab, pipe or
   whitespace file whose numbers look like ``1,5`` is read with a decimal comma (``_text_dialect``).
3. The first record is a header when it has text above a numeric column (or is all text)
   (``_text_dialect``). Columns holding text in the sample are left out now; the rest are parsed.
4. The body is read in blocks of complete records (``_text_body``). Each block goes through
   ``numpy.loadtxt`` (C speed, ``_text_numbers``) after a vectorised check that every record has
   the expected number of fields (``_text_records``); missing markers (``NA``, empty fields...)
   are rewritten to ``nan`` first if needed. Only a block that still fails is read by the ``csv``
   module, cell by cell, which finds the exact line of a ragged record or the first text value in
   a column thought numeric.
"""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Sequence

from emstudio.errors import DataError
from emstudio.io._common import (
    TEXT,
    RawTable,
    find_column,
    kind_of_text,
    no_numeric_error,
    resolve_columns,
    short,
)
from emstudio.io._text_body import BodyReader, offset_of_line, rows_hint
from emstudio.io._text_dialect import (
    DELIM_NAMES,
    KIND_CELLS,
    format_name,
    read_header,
    read_preamble,
    sniff,
)
from emstudio.io._text_records import SINGLE, WHITESPACE
from emstudio.io._text_source import TextSource


def read_text(path: str | io.BytesIO, source: str, requested: Sequence[str | int] | None, ext: str,
              gzipped: bool = False, compression: str | None = None,
              keep_text: Sequence[str | int] = ()) -> RawTable:
    """The raw table of a text file. ``keep_text``: columns (names or numbers) whose cells' text
    must be kept whatever they hold (a column of known classes)."""
    src = TextSource(path, source, compression or ("gzip" if gzipped else None))
    try:
        return _TextReader(src, source, requested, ext, keep_text).read()
    finally:
        src.close()


#: Bytes of a text file's start read to find where its body starts (text_body_start).
BODY_SAMPLE_BYTES = 1 << 20


def text_body_start(path: str, source: str) -> int | None:
    """The byte offset in the text file ``path`` of its first data line (after blank and comment
    lines and the header), as the reader finds it; None when the file's rows cannot be cut at byte
    offsets on line ends (compressed, UTF-16 or with CR-only line ends) or when the file's start
    does not read as a table (its own read then says why)."""
    try:
        with open(path, "rb") as handle:
            sample = handle.read(BODY_SAMPLE_BYTES)
            at_eof = not handle.read(1)
    except OSError:
        return None
    if not at_eof:
        sample = sample[: sample.rfind(b"\n") + 1]
    if not sample or b"\n" not in sample or sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    src = TextSource(io.BytesIO(sample), source, None)
    try:
        reader = _TextReader(src, source, None, os.path.splitext(source)[1].lower())
        reader.read()
    except DataError:
        return None
    finally:
        src.close()
    return None if src.cr_only else reader.body_start


class _TextReader:
    """One read of one text table: its stages in order, from the head to the raw table."""

    def __init__(self, src: TextSource, source: str, requested: Sequence[str | int] | None, ext: str,
                 keep_text: Sequence[str | int] = ()):
        self.src = src
        self.keep_text = tuple(keep_text)
        self.source = source
        self.requested = requested
        self.ext = ext
        self.notes: list[str] = []
        if src.compression:
            self.notes.append(f"{src.compression}-compressed")

    def read(self) -> RawTable:
        head, at_eof = self.src.read_head()
        if not head.strip():
            if at_eof:
                raise DataError(f"{self.source}: the file is empty")
        head, at_eof, self.encoding = self.src.head_encoding(head, at_eof, self.notes)
        if at_eof and not head.endswith(b"\n"):
            head += b"\n"
        complete = head if at_eof else head[: head.rfind(b"\n") + 1]

        # Lines before the table: blank lines, # comments, Excel's "sep=;".
        preamble = read_preamble(complete)
        start, n_comments = preamble.start, preamble.n_comments
        if start < 0:
            if not at_eof:
                raise DataError(f"{self.source}: no table in the first {len(head) >> 20} MB of the file")
            if n_comments or preamble.forced:
                raise DataError(f"{self.source}: the file has no data (only comments or blank lines)")
            raise DataError(f"{self.source}: the file is empty")
        if n_comments:
            self.notes.append(f"skipped {n_comments} comment line{'s' if n_comments > 1 else ''}")
        first_line = preamble.first_line  # 1-based line number of the first record

        sample_text = complete[start:].decode(self.encoding, errors="replace").replace("\r", "")
        delim, d, records, decimal_comma = sniff(self.source, sample_text, first_line, preamble.forced, at_eof)

        header = read_header(self.source, records, d, delim, decimal_comma, preamble, self.encoding, self.notes)
        names, data_records = header.names, header.data_records
        row_name_candidates = header.row_name_candidates

        # Column kinds from the sample.
        reasons: dict[int, str] = {}
        text_at: dict[int, tuple[int, str]] = {}
        sample_full = [(line, f) for line, f in data_records if len(f) == d][: max(2, KIND_CELLS // d)]
        for j in range(d):
            first_text = next(((line, f[j]) for line, f in sample_full
                               if kind_of_text(f[j], decimal_comma) == TEXT), None)
            if first_text is not None:
                reasons[j] = "row names" if j in row_name_candidates else "not numeric"
                text_at[j] = first_text
        candidates = [j for j in range(d) if j not in reasons]
        if not data_records and at_eof:
            raise DataError(f"{self.source}: the file has a header row but no data rows")

        if self.requested is not None:
            usecols = resolve_columns(self.source, self.requested, names, candidates, reasons)
        else:
            usecols = list(candidates)
            if not usecols:
                raise no_numeric_error(self.source, names, reasons)

        # Text kept beside the numbers: the text columns (known classes, row names) and the
        # columns asked for; the used cells too (a labels file writes them as they were read),
        # unless the table is large or its numbers have decimal commas.
        text_columns = sorted(set(reasons) | {find_column(self.source, c, names) for c in self.keep_text})
        cell_columns = [] if decimal_comma else [j for j in usecols if j not in text_columns]
        # Skip the head up to the body, then parse the body block by block.
        body_line = header.body_line
        body_offset = offset_of_line(complete, body_line)
        # Where the body starts in the file's own bytes (a BOM before the head included): the
        # head a piece of the file read by byte range is given again (text_body_start).
        self.body_start = self.src.prefix + body_offset
        body = BodyReader(self.src, self.source, delim, d, decimal_comma, self.encoding,
                          self.requested, names, candidates)
        blocks, n_rows, late, texts = body.read(head[body_offset:], body_line, usecols,
                                                rows_hint(self.src, complete, body_offset),
                                                text_columns, cell_columns)
        if n_rows == 0:
            if header.has_header:
                raise DataError(f"{self.source}: the file has a header row but no data rows")
            raise DataError(f"{self.source}: the file is empty")
        for j, (line, token) in late.items():
            reasons[j] = f"not numeric ({short(token)} on line {line})"
            text_at[j] = (line, token)
        numeric = [j for j in usecols if j not in late]

        fmt = format_name(delim, self.ext)
        if decimal_comma:
            self.notes.append("decimal comma")
        default_delim = {"csv": ",", "tsv": "\t", "text": WHITESPACE}[fmt]
        if delim not in (default_delim, SINGLE):
            self.notes.append(f"separator {DELIM_NAMES[delim]}")
        return RawTable(
            format=fmt,
            names=names,
            n_rows=n_rows,
            numeric=numeric,
            blocks=blocks,
            reasons=reasons,
            row_name_candidates=row_name_candidates & set(numeric),
            notes=self.notes,
            texts=texts,
            text_at=text_at,
        )
