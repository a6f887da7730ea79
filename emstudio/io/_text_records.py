"""Records and fields of delimited text: splitting one line, iterating over the records of a block
with their line numbers (the ``csv`` module, quote-aware), finding where the last complete record
of a buffer ends, and counting every record's fields at once with numpy (the check that lets a
block go to ``numpy.loadtxt``)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import numpy as np

from emstudio.io._common import one_line

WHITESPACE = " "  # stands for "runs of spaces and tabs"
SINGLE = "\x1f"  # stands for "one column": a byte that does not occur in real text

SAMPLE_RECORDS = 200  # records used to sniff the delimiter, the header and the column kinds

_WS_TOKEN = re.compile(r'"((?:[^"]|"")*)"|(\S+)')


class RecordError(Exception):
    """The csv module could not read a record (its message, and the line)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(line, message)
        self.line = line
        self.message = message


def split_line(line: str, delim: str) -> list[str]:
    if delim == WHITESPACE:
        return [m.group(2) if m.group(1) is None else m.group(1).replace('""', '"')
                for m in _WS_TOKEN.finditer(line)]
    try:
        return next(csv.reader([line.replace("\r", "")], delimiter=delim, quotechar='"', strict=False), [])
    except csv.Error:
        return []


def iter_records(text: str, delim: str, line_no: int) -> Iterator[tuple[int, list[str]]]:
    """(first line number, fields) of every record in ``text`` (``\\n`` line ends, no ``\\r``)."""
    if delim == WHITESPACE:
        for i, line in enumerate(text.split("\n")):
            if line.strip():
                yield line_no + i, split_line(line, WHITESPACE)
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
            raise RecordError(line_no + reader.line_num - 1, one_line(str(exc))) from None
        yield line_no + before, fields
        before = reader.line_num


def sample_records(text: str, delim: str, line_no: int, at_eof: bool) -> list[tuple[int, list[str]]]:
    out = []
    for rec_line, fields in iter_records(text, delim, line_no):
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        out.append((rec_line, fields))
        if len(out) > SAMPLE_RECORDS:
            break
    if len(out) > SAMPLE_RECORDS or (not at_eof and len(out) > 1):
        out.pop()  # may be cut short by the end of the sample
    return out


def complete_records(buf: bytes) -> int:
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


def field_counts(u: np.ndarray, delim: str) -> np.ndarray:
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
