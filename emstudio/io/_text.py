"""Delimited text: CSV, TSV, semicolon CSV with decimal commas, whitespace-separated columns.

How a file is read:

1. The head of the file (at least ~30 lines) tells the encoding (UTF-8, UTF-8 with BOM, UTF-16
   with BOM, otherwise Windows-1252/Latin-1), whether it is text at all, the line ending, and
   which lines before the table are blank, ``#`` comments or Excel's ``sep=;`` hint.
2. The delimiter is sniffed on a sample of records: every candidate (tab, semicolon, comma,
   pipe, runs of spaces) that splits most records into the same number (> 1) of fields is
   scored by how many numeric fields it yields; the best one wins. A semicolon, tab, pipe or
   whitespace file whose numbers look like ``1,5`` is read with a decimal comma.
3. The first record is a header when it has text above a numeric column (or is all text).
   Columns holding text in the sample are left out now; the rest are parsed.
4. The body is read in blocks of complete records. Each block goes through ``numpy.loadtxt``
   (C speed) after a vectorised check that every record has the expected number of fields;
   missing markers (``NA``, empty fields...) are rewritten to ``nan`` first if needed. Only a
   block that still fails is read by the ``csv`` module, cell by cell, which finds the exact
   line of a ragged record or the first text value in a column thought numeric.
"""

from __future__ import annotations

import codecs
import csv
import io
import lzma
import os
import re
import warnings
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import BinaryIO

import numpy as np

from emstudio.errors import DataError
from emstudio.io._common import (
    MISSING,
    MISSING_TOKENS,
    NAN,
    NUM,
    TEXT,
    RawTable,
    fill_empty_names,
    find_column,
    is_header,
    kind_of_text,
    looks_decimal_comma,
    no_numeric_error,
    numeric_hint,
    one_line,
    resolve_columns,
    short,
    to_float,
    unique_names,
)
from emstudio.io._limits import decompressing_reader

BLOCK_BYTES = 4 << 20  # bytes read per block of the body
HEAD_STEP = 256 << 10
HEAD_MAX = 8 << 20  # the head grows until it holds HEAD_MIN_LINES lines or reaches this size
HEAD_MIN_LINES = 30
SAMPLE_RECORDS = 200  # records used to sniff the delimiter, the header and the column kinds
SCORE_CELLS = 20_000  # at most this many cells per candidate delimiter are tried as numbers
KIND_CELLS = 200_000  # at most this many cells are looked at to find text columns
CELL_TEXT_CELLS = 1_000_000  # the used cells' text is kept for tables up to this many cells
UNKNOWN_ENCODING_SHARE = 0.3  # text that is not UTF-8 with more bytes > 127 than this is refused

WHITESPACE = " "  # stands for "runs of spaces and tabs"
SINGLE = "\x1f"  # stands for "one column": a byte that does not occur in real text
_CANDIDATES = ("\t", ";", ",", "|", WHITESPACE)  # in order of preference on a tie
_PRIORITY = {d: len(_CANDIDATES) - i for i, d in enumerate(_CANDIDATES)}
_DELIM_NAMES = {"\t": "tab", ";": "';'", ",": "','", "|": "'|'", WHITESPACE: "spaces", SINGLE: "none"}

_WS_TOKEN = re.compile(r'"((?:[^"]|"")*)"|(\S+)')
_SEP_HINT = re.compile(rb'^"?sep=(.)"?[,;\t]*$')

_GZIP_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)


class _Source:
    """The file's bytes, block after block, decompressed and with line ends made ``\\n``."""

    def __init__(self, path: str | io.BytesIO, source: str, compression: str | None) -> None:
        self.source = source
        self.compression = compression  # "gzip", "bzip2", "xz" or None
        try:
            # The loader gives the bytes of an input that can be read only once (a pipe).
            raw: BinaryIO = path if isinstance(path, io.BytesIO) else open(path, "rb")
        except OSError as exc:
            raise DataError(f"{source}: cannot read the file ({exc.strerror or exc})") from None
        # Compressed text is refused past a ratio or a size (a decompression bomb), as it is read.
        self._file: BinaryIO = decompressing_reader(raw, compression, source) if compression else raw
        self._raw = raw
        self.cr_only = False
        self.prefix = 0  # bytes of the file before the head as the reader sees it (a BOM)
        try:
            self.size: int | None = (None if compression else len(raw.getvalue()) if isinstance(raw, io.BytesIO)
                                     else os.fstat(raw.fileno()).st_size)
        except OSError:
            self.size = None

    def read(self, n: int) -> bytes:
        try:
            data = self._file.read(n)
        except _GZIP_ERRORS as exc:
            what = f"{self.compression} data" if self.compression else "file"
            raise DataError(f"{self.source}: cannot read the {what} ({one_line(str(exc))})") from None
        if self.cr_only:
            data = data.replace(b"\r", b"\n")
        return data

    def replace(self, data: bytes) -> None:
        """Go on reading from ``data`` instead (used after re-encoding UTF-16 as UTF-8)."""
        self.close()
        self._file = io.BytesIO(data)
        self.compression = None

    def close(self) -> None:
        try:
            self._file.close()
        finally:
            self._raw.close()


def read_text(path: str | io.BytesIO, source: str, requested: Sequence[str | int] | None, ext: str,
              gzipped: bool = False, compression: str | None = None,
              keep_text: Sequence[str | int] = ()) -> RawTable:
    """The raw table of a text file. ``keep_text``: columns (names or numbers) whose cells' text
    must be kept whatever they hold (a column of known classes)."""
    src = _Source(path, source, compression or ("gzip" if gzipped else None))
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
    src = _Source(io.BytesIO(sample), source, None)
    try:
        reader = _TextReader(src, source, None, os.path.splitext(source)[1].lower())
        reader.read()
    except DataError:
        return None
    finally:
        src.close()
    return None if src.cr_only else reader.body_start


class _TextReader:
    def __init__(self, src: _Source, source: str, requested: Sequence[str | int] | None, ext: str,
                 keep_text: Sequence[str | int] = ()):
        self.src = src
        self.keep_text = tuple(keep_text)
        self.source = source
        self.requested = requested
        self.ext = ext
        self.notes: list[str] = []
        if src.compression:
            self.notes.append(f"{src.compression}-compressed")

    # ------------------------------------------------------------------ head of the file
    def _read_head(self) -> tuple[bytes, bool]:
        head = self.src.read(HEAD_STEP)
        at_eof = len(head) < HEAD_STEP
        if not at_eof and b"\n" not in head and b"\r" in head:
            self.src.cr_only = True
            head = head.replace(b"\r", b"\n")
        while not at_eof and head.count(b"\n") < HEAD_MIN_LINES and len(head) < HEAD_MAX:
            more = self.src.read(HEAD_STEP)
            at_eof = len(more) < HEAD_STEP
            head += more
        if at_eof and b"\n" not in head and b"\r" in head:
            self.src.cr_only = True
            head = head.replace(b"\r", b"\n")
        return head, at_eof

    def _encoding(self, head: bytes, at_eof: bool) -> tuple[bytes, bool, str]:
        """Strip a BOM, re-encode UTF-16 as UTF-8, reject binary data; return the encoding."""
        if head.startswith(codecs.BOM_UTF8):
            self.src.prefix = 3
            return head[3:], at_eof, "utf-8"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            rest = [head]
            while True:
                more = self.src.read(BLOCK_BYTES)
                if not more:
                    break
                rest.append(more)
            try:
                text = b"".join(rest).decode("utf-16")
            except UnicodeDecodeError:
                raise DataError(f"{self.source}: the file starts like UTF-16 text but is not valid UTF-16") from None
            data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
            self.src.replace(data)
            self.src.size = len(data)
            self.src.cr_only = False
            self.notes.append("encoding UTF-16")
            head, at_eof = self._read_head()
            return head, at_eof, "utf-8"
        self._reject_binary(head)
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=at_eof)
            return head, at_eof, "utf-8"
        except UnicodeDecodeError:
            pass
        self._reject_unknown_encoding(head)
        try:
            codecs.getincrementaldecoder("cp1252")().decode(head, final=at_eof)
            self.notes.append("encoding latin-1 (Windows-1252)")
            return head, at_eof, "cp1252"
        except UnicodeDecodeError:
            self.notes.append("encoding latin-1")
            return head, at_eof, "latin-1"

    def _reject_unknown_encoding(self, head: bytes) -> None:
        """Not UTF-8, and mostly bytes above 127: no table in Latin-1 looks like that (its
        numbers, separators and most letters are ASCII). Read as Latin-1 it would be one long
        header line and "no data rows", which says nothing of the real problem."""
        visible = len(head) - sum(head.count(c) for c in b" \t\r\n")
        high = len(head.translate(None, bytes(range(128))))
        if visible and high > UNKNOWN_ENCODING_SHARE * visible:
            raise DataError(
                f"{self.source}: not text in a known encoding (UTF-8, UTF-16, Windows-1252 or "
                f"Latin-1): {100 * high // visible}% of its first {len(head):,} bytes are not ASCII; "
                "readable formats: CSV/TSV/text, .npy, .npz, .xlsx, .parquet"
            )

    def _reject_binary(self, head: bytes) -> None:
        if not head:
            return
        control = sum(head.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13))
        if b"\x00" in head or control > 0.02 * len(head):
            raise DataError(
                f"{self.source}: not a text table (the file holds binary data); readable formats: "
                "CSV/TSV/text, .npy, .npz, .xlsx, .parquet"
            )

    # ------------------------------------------------------------------ main
    def read(self) -> RawTable:
        head, at_eof = self._read_head()
        if not head.strip():
            if at_eof:
                raise DataError(f"{self.source}: the file is empty")
        head, at_eof, self.encoding = self._encoding(head, at_eof)
        if at_eof and not head.endswith(b"\n"):
            head += b"\n"
        complete = head if at_eof else head[: head.rfind(b"\n") + 1]

        # Lines before the table: blank lines, # comments, Excel's "sep=;".
        forced: str | None = None
        line_no = 0
        offset = 0
        n_comments = 0
        last_comment: bytes | None = None
        start = -1
        for raw_line in complete.split(b"\n")[:-1]:
            line_no += 1
            stripped = raw_line.strip()
            if not stripped:
                offset += len(raw_line) + 1
                continue
            if stripped.startswith(b"#"):
                n_comments += 1
                last_comment = stripped[1:].strip()
                offset += len(raw_line) + 1
                continue
            hint = _SEP_HINT.match(stripped)
            if hint and forced is None and n_comments == 0 and hint.group(1) in b",;\t| ":
                forced = hint.group(1).decode("ascii")
                if forced == " ":
                    forced = WHITESPACE
                offset += len(raw_line) + 1
                continue
            start = offset
            break
        if start < 0:
            if not at_eof:
                raise DataError(f"{self.source}: no table in the first {len(head) >> 20} MB of the file")
            if n_comments or forced:
                raise DataError(f"{self.source}: the file has no data (only comments or blank lines)")
            raise DataError(f"{self.source}: the file is empty")
        if n_comments:
            self.notes.append(f"skipped {n_comments} comment line{'s' if n_comments > 1 else ''}")
        first_line = line_no  # 1-based line number of the first record

        sample_text = complete[start:].decode(self.encoding, errors="replace").replace("\r", "")
        delim, d, records, decimal_comma = self._sniff(sample_text, first_line, forced, at_eof)
        self.delim = delim
        self.d = d
        self.decimal_comma = decimal_comma

        # Header.
        first_no, first = records[0]
        full = [f for _, f in records[1:] if len(f) == d][: max(2, KIND_CELLS // d)]
        kinds_below = [{kind_of_text(f[j], decimal_comma) for f in full} for j in range(d)]
        numeric_below = [NUM in k and TEXT not in k for k in kinds_below]
        layout = self._header_layout(first, full, d, delim)
        aligned = self._align(first, layout, d)
        first_kinds = [kind_of_text(t, decimal_comma) for t in aligned]
        if layout == "row-names":
            first_kinds[0] = MISSING
        has_header = bool(records) and is_header(first_kinds, numeric_below)
        if has_header and layout == "bad":
            raise DataError(f"{self.source}: line {first_no} has {len(first)} "
                            f"field{'s' if len(first) != 1 else ''}, expected {d}")
        row_name_candidates: set[int] = set()
        if has_header:
            names = [t.strip() for t in aligned]
            if layout == "row-names" or names[0] in ("", "Unnamed: 0"):
                row_name_candidates.add(0)
            data_records = records[1:]
            # The body starts on the second record's line (or the line after a lone header).
            body_line = records[1][0] if len(records) > 1 else first_line + 1
        else:
            names = self._names_from_comment(last_comment, d, delim) if n_comments else None
            if names is None:
                names = [f"x{j}" for j in range(d)]
                self.notes.append("no header: columns named x0, x1, ...")
            else:
                self.notes.append("column names taken from the comment line above the data")
            data_records = records
            body_line = first_line
        keep_empty = {0} if row_name_candidates else set()
        names = unique_names(names)
        names = [n if j in keep_empty else f for j, (n, f) in enumerate(zip(names, fill_empty_names(names)))]

        # Column kinds from the sample.
        reasons: dict[int, str] = {}
        sample_full = [f for _, f in data_records if len(f) == d][: max(2, KIND_CELLS // d)]
        for j in range(d):
            if any(kind_of_text(f[j], decimal_comma) == TEXT for f in sample_full):
                reasons[j] = "row names" if j in row_name_candidates else "not numeric"
        candidates = [j for j in range(d) if j not in reasons]
        if not data_records and at_eof:
            raise DataError(f"{self.source}: the file has a header row but no data rows")

        if self.requested is not None:
            usecols = resolve_columns(self.source, self.requested, names, candidates, reasons)
        else:
            usecols = list(candidates)
            if not usecols:
                raise no_numeric_error(self.source, names, reasons)

        # Skip the head up to the body, then parse the body block by block.
        self._names = names
        self._candidates = candidates
        # Text kept beside the numbers: the text columns (known classes, row names) and the
        # columns asked for; the used cells too (a labels file writes them as they were read),
        # unless the table is large or its numbers have decimal commas.
        text_columns = sorted(set(reasons) | {find_column(self.source, c, names) for c in self.keep_text})
        cell_columns = [] if decimal_comma else [j for j in usecols if j not in text_columns]
        body_offset = self._offset_of_line(complete, body_line)
        # Where the body starts in the file's own bytes (a BOM before the head included): the
        # head a piece of the file read by byte range is given again (text_body_start).
        self.body_start = self.src.prefix + body_offset
        blocks, n_rows, late, texts = self._parse_body(head[body_offset:], body_line, usecols,
                                                       self._rows_hint(complete, body_offset, head),
                                                       text_columns, cell_columns)
        if n_rows == 0:
            if has_header:
                raise DataError(f"{self.source}: the file has a header row but no data rows")
            raise DataError(f"{self.source}: the file is empty")
        for j, (line, token) in late.items():
            reasons[j] = f"not numeric ({short(token)} on line {line})"
        numeric = [j for j in usecols if j not in late]

        fmt = self._format_name(delim)
        if decimal_comma:
            self.notes.append("decimal comma")
        default_delim = {"csv": ",", "tsv": "\t", "text": WHITESPACE}[fmt]
        if delim not in (default_delim, SINGLE):
            self.notes.append(f"separator {_DELIM_NAMES[delim]}")
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
        )

    # ------------------------------------------------------------------ sniffing
    def _sniff(self, text: str, first_line: int, forced: str | None, at_eof: bool):
        """Pick the delimiter; return (delimiter, fields per record, sample records, decimal comma).

        Every candidate that splits a majority of the sample's records into the same number
        (> 1) of fields competes with "one column"; the winner lines up with the first record
        (the header) and gives the most numeric fields per record.
        """
        best = None
        for delim in ((forced,) if forced else _CANDIDATES) + (SINGLE,):
            if delim not in (WHITESPACE, SINGLE) and delim not in text:
                continue
            try:
                records = _sample_records(text, delim, first_line, at_eof)
            except _RecordError as exc:
                if delim == SINGLE and best is None:
                    raise DataError(f"{self.source}: line {exc.line}: {exc.message}") from None
                continue
            if not records:
                continue
            counts = [len(f) for _, f in records]
            d, hits = max(Counter(counts).items(), key=lambda kv: (kv[1], kv[0]))
            if delim == SINGLE:
                d = 1
            elif d < 2 or hits * 2 <= len(counts):
                continue
            dc = delim != "," and _has_decimal_comma(records, d)
            data_records = [f for _, f in records[1:]] or [f for _, f in records]
            data_records = data_records[: max(2, SCORE_CELLS // d)]
            full = [f for f in data_records if len(f) == d]
            # Cells that read as numbers or as missing values; records of the wrong length
            # count as none, so a delimiter that splits records unevenly scores low.
            n_good = sum(kind_of_text(t, dc) != TEXT for f in full for t in f)
            header_ok = (delim == SINGLE or len(records) == 1
                         or self._header_layout(records[0][1], full, d, delim) != "bad")
            key = (header_ok, n_good / len(data_records), n_good / max(len(full) * d, 1),
                   _PRIORITY.get(delim, 0))
            if best is None or key > best[0]:
                best = (key, delim, d, records, dc)
        if best is None:
            raise DataError(f"{self.source}: the file is empty")
        _, delim, d, records, dc = best
        return delim, d, records, dc

    @staticmethod
    def _header_layout(first: list[str], full: list[list[str]], d: int, delim: str) -> str:
        """How the first record lines up with the columns: "same", "row-names", "trailing" or "bad"."""
        k = len(first)
        if k == d:
            return "same"
        if k == d - 1 and full and all(f[-1].strip() == "" for f in full):
            return "trailing"
        if k == d - 1 and delim in ("\t", WHITESPACE):
            return "row-names"  # R's write.table: the header has no field over the row names
        if k > d and all(t.strip() == "" for t in first[d:]):
            return "same"  # trailing delimiters after the header
        return "bad"

    @staticmethod
    def _align(first: list[str], layout: str, d: int) -> list[str]:
        if layout == "row-names":
            return [""] + list(first)
        if layout == "trailing":
            return list(first) + [""]
        if len(first) >= d:
            return list(first[:d])
        return list(first) + [""] * (d - len(first))

    def _names_from_comment(self, comment: bytes | None, d: int, delim: str) -> list[str] | None:
        """``# a b c`` right above the data (numpy.savetxt's header) names the columns."""
        if not comment:
            return None
        text = comment.decode(self.encoding, errors="replace")
        for parts in (_split_line(text, delim), text.split()):
            if len(parts) == d and all(kind_of_text(p) == TEXT for p in parts):
                return [p.strip() for p in parts]
        return None

    @staticmethod
    def _offset_of_line(complete: bytes, line: int) -> int:
        offset = 0
        for _ in range(line - 1):
            nxt = complete.find(b"\n", offset)
            if nxt < 0:
                return len(complete)
            offset = nxt + 1
        return offset

    def _rows_hint(self, complete: bytes, body_offset: int, head: bytes) -> int | None:
        """Rough number of rows in the body, from the file size and the sample's bytes per row."""
        size = self.src.size
        if size is None:
            return None
        sample = complete[body_offset:]
        n_lines = sample.count(b"\n")
        if n_lines == 0 or not sample.strip():
            return None
        body_bytes = max(size - (self.src.prefix + body_offset), 0)
        return int(body_bytes / (len(sample) / n_lines)) + 1

    def _format_name(self, delim: str) -> str:
        if delim in (",", ";", "|"):
            return "csv"
        if delim == "\t":
            return "tsv"
        if delim == WHITESPACE:
            return "text"
        plain = self.ext.split(".")[1] if self.ext else ""  # ".csv.gz" -> "csv"
        if plain == "csv":
            return "csv"
        if plain in ("tsv", "tab"):
            return "tsv"
        return "text"

    # ------------------------------------------------------------------ the body
    def _parse_body(self, start: bytes, line_no: int, usecols: list[int], size_hint: int | None,
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
                more = self.src.read(BLOCK_BYTES)
                if not more:
                    eof = True
                buf += more
            if eof:
                chunk, buf = buf, b""
                if chunk and not chunk.endswith(b"\n"):
                    chunk += b"\n"
            else:
                cut = _complete_records(buf)
                if cut == 0 and len(buf) < 16 * BLOCK_BYTES:
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
            if arr.ndim == 2 and arr.shape[1] == len(cols) and arr.shape[0] == _field_counts(
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
        counts = _field_counts(u, self.delim)
        if counts.size and not (counts == self.d).all():
            return None
        n_expected = counts.size
        data = chunk.replace(b",", b".") if self.decimal_comma else chunk
        # A missing marker (NA, an empty field...) stops loadtxt: write "nan" in its place
        # wherever it fills a whole field, and try again (a few distinct markers at most).
        for _ in range(6):
            arr, bad = _loadtxt(data, self.delim, cols)
            if arr is not None:
                break
            if bad is None or bad.strip().lower() not in MISSING_TOKENS or bad != bad.strip():
                return None
            replaced = _fields_to_nan(data, bad.encode("latin-1"), self.delim)
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
            yield from _iter_records(text, self.delim, line_no)
        except _RecordError as exc:
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


# ---------------------------------------------------------------------- helpers
class _RecordError(Exception):
    """The csv module could not read a record (its message, and the line)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(line, message)
        self.line = line
        self.message = message


def _split_line(line: str, delim: str) -> list[str]:
    if delim == WHITESPACE:
        return [m.group(2) if m.group(1) is None else m.group(1).replace('""', '"')
                for m in _WS_TOKEN.finditer(line)]
    try:
        return next(csv.reader([line.replace("\r", "")], delimiter=delim, quotechar='"', strict=False), [])
    except csv.Error:
        return []


def _iter_records(text: str, delim: str, line_no: int) -> Iterator[tuple[int, list[str]]]:
    """(first line number, fields) of every record in ``text`` (``\\n`` line ends, no ``\\r``)."""
    if delim == WHITESPACE:
        for i, line in enumerate(text.split("\n")):
            if line.strip():
                yield line_no + i, _split_line(line, WHITESPACE)
        return
    reader = csv.reader(io.StringIO(text, newline="\n"), delimiter=delim, quotechar='"',
                        doublequote=True, strict=False)
    before = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _RecordError(line_no + reader.line_num - 1, one_line(str(exc))) from None
        yield line_no + before, fields
        before = reader.line_num


def _sample_records(text: str, delim: str, line_no: int, at_eof: bool) -> list[tuple[int, list[str]]]:
    out = []
    for rec_line, fields in _iter_records(text, delim, line_no):
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        out.append((rec_line, fields))
        if len(out) > SAMPLE_RECORDS:
            break
    if len(out) > SAMPLE_RECORDS or (not at_eof and len(out) > 1):
        out.pop()  # may be cut short by the end of the sample
    return out


def _has_decimal_comma(records: list[tuple[int, list[str]]], d: int) -> bool:
    return any(looks_decimal_comma(t) for _, f in records if len(f) == d for t in f)


def _complete_records(buf: bytes) -> int:
    """Length of the longest prefix of ``buf`` made of complete records (0 if none)."""
    end = buf.rfind(b"\n") + 1
    if end == 0:
        return 0
    if buf.count(b'"', 0, end) % 2 == 0:
        return end
    u = np.frombuffer(buf, dtype=np.uint8, count=end)
    quotes = np.flatnonzero(u == 34)
    newlines = np.flatnonzero(u == 10)
    outside = newlines[(np.searchsorted(quotes, newlines) & 1) == 0]
    return int(outside[-1]) + 1 if outside.size else 0


def _field_counts(u: np.ndarray, delim: str) -> np.ndarray:
    """Fields of every non-blank record in ``u`` (bytes ending with ``\\n``), quote-aware.

    Quotes toggle "inside a quoted field"; delimiters and line ends inside quotes do not count.
    A record is blank when it is empty (or only ``\\r``) -- or, for whitespace, only blanks.
    """
    newlines = np.flatnonzero(u == 10)
    quotes = np.flatnonzero(u == 34)
    if quotes.size:
        newlines = newlines[(np.searchsorted(quotes, newlines) & 1) == 0]
    if delim == WHITESPACE:
        space = (u == 32) | (u == 9) | (u == 13) | (u == 10) | (u == 11) | (u == 12)
        starts = ~space
        starts[1:] &= space[:-1]
        pos = np.flatnonzero(starts)
        del space, starts
        if quotes.size:
            pos = pos[(np.searchsorted(quotes, pos) & 1) == 0]
        per = np.diff(np.searchsorted(pos, newlines), prepend=0)
        return per[per > 0]
    pos = np.flatnonzero(u == ord(delim))
    if quotes.size:
        pos = pos[(np.searchsorted(quotes, pos) & 1) == 0]
    per = np.diff(np.searchsorted(pos, newlines), prepend=0) + 1
    starts = np.empty_like(newlines)
    starts[:1] = 0
    starts[1:] = newlines[:-1] + 1
    length = newlines - starts
    blank = (length == 0) | ((length == 1) & (u[np.minimum(starts, u.size - 1)] == 13))
    return per[~blank]


_BAD_TOKEN = re.compile(r"could not convert string '(.*)' to float64", re.DOTALL)


def _loadtxt(data: bytes, delim: str, cols: list[int]) -> tuple[np.ndarray | None, str | None]:
    """numpy.loadtxt on a block: (array, None), or (None, the token it could not read, if known)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.loadtxt(
                io.BytesIO(data),
                dtype=np.float64,
                delimiter=None if delim == WHITESPACE else delim,
                quotechar='"',
                comments=None,
                usecols=cols,
                ndmin=2,
                encoding="latin-1",
            )
    except ValueError as exc:
        match = _BAD_TOKEN.search(str(exc))
        return None, match.group(1) if match else None
    except Exception:  # any other failure sends the block to the careful reader
        return None, None
    if arr.ndim != 2 or arr.shape[1] != len(cols):
        return None, None
    return np.ascontiguousarray(arr), None


def _fields_to_nan(data: bytes, token: bytes, delim: str) -> bytes:
    """Write ``nan`` over every field of ``data`` that is exactly ``token`` (may be empty)."""
    if delim == WHITESPACE:
        if not token:
            return data
        before = (b" ", b"\t", b"\n")
        after = (b" ", b"\t", b"\n", b"\r")
    else:
        d = delim.encode("ascii")
        before = (d, b"\n")
        after = (d, b"\n", b"\r")
    for a in before:
        for b in after:
            if a == b"\n" and b in (b"\n", b"\r") and not token:
                continue  # an empty line is blank, not a missing value
            old, new = a + token + b, a + b"nan" + b
            data = data.replace(old, new).replace(old, new)  # twice: neighbours share a byte
    for b in after:
        if data.startswith(token + b) and (token or b not in (b"\n", b"\r")):
            data = b"nan" + data[len(token):]
            break
    return data
