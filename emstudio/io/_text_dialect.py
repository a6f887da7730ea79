"""How a text table is written, read from its head: the lines before the table (blank lines,
``#`` comments, Excel's ``sep=;`` hint), the delimiter and the decimal comma (sniffed on a sample
of records), whether the first record is a header, and the columns' names."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from emstudio.errors import DataError
from emstudio.io._common import (
    MISSING,
    NUM,
    TEXT,
    fill_empty_names,
    is_header,
    kind_of_text,
    looks_decimal_comma,
    unique_names,
)
from emstudio.io._text_records import SINGLE, WHITESPACE, RecordError, sample_records, split_line

SCORE_CELLS = 20_000  # at most this many cells per candidate delimiter are tried as numbers
KIND_CELLS = 200_000  # at most this many cells are looked at to find text columns

_CANDIDATES = ("\t", ";", ",", "|", WHITESPACE)  # in order of preference on a tie
_PRIORITY = {d: len(_CANDIDATES) - i for i, d in enumerate(_CANDIDATES)}
DELIM_NAMES = {"\t": "tab", ";": "';'", ",": "','", "|": "'|'", WHITESPACE: "spaces", SINGLE: "none"}

_SEP_HINT = re.compile(rb'^"?sep=(.)"?[,;\t]*$')

Records = list[tuple[int, list[str]]]  # (1-based line number, fields) of each record


@dataclass(frozen=True)
class Preamble:
    """The lines before the table."""

    start: int  # byte offset of the first record in the head; -1: the head holds none
    first_line: int  # 1-based line number of the first record
    forced: str | None  # the delimiter Excel's "sep=" line names
    n_comments: int  # "#" comment lines
    last_comment: bytes | None  # the last comment's text, after "#"


@dataclass(frozen=True)
class Header:
    """The columns' names and where the data records start."""

    has_header: bool  # the first record names the columns
    names: list[str]  # d unique names (the row names' column may stay "")
    row_name_candidates: set[int]  # columns that may hold row names
    data_records: Records  # the sample's records below the header
    body_line: int  # 1-based line number where the body starts


def read_preamble(complete: bytes) -> Preamble:
    """Skip blank lines, ``#`` comments and Excel's ``sep=;`` in ``complete`` (whole lines)."""
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
    return Preamble(start, line_no, forced, n_comments, last_comment)


def sniff(source: str, text: str, first_line: int, forced: str | None,
          at_eof: bool) -> tuple[str, int, Records, bool]:
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
            records = sample_records(text, delim, first_line, at_eof)
        except RecordError as exc:
            if delim == SINGLE and best is None:
                raise DataError(f"{source}: line {exc.line}: {exc.message}") from None
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
                     or header_layout(records[0][1], full, d, delim) != "bad")
        key = (header_ok, n_good / len(data_records), n_good / max(len(full) * d, 1),
               _PRIORITY.get(delim, 0))
        if best is None or key > best[0]:
            best = (key, delim, d, records, dc)
    if best is None:
        raise DataError(f"{source}: the file is empty")
    _, delim, d, records, dc = best
    return delim, d, records, dc


def _has_decimal_comma(records: Records, d: int) -> bool:
    return any(looks_decimal_comma(t) for _, f in records if len(f) == d for t in f)


def read_header(source: str, records: Records, d: int, delim: str, decimal_comma: bool,
                preamble: Preamble, encoding: str, notes: list[str]) -> Header:
    """Whether the first record is a header, and the columns' names: the header's, the names on
    a comment line right above the data, or x0, x1, ... (a note for ``notes`` says which)."""
    first_line = preamble.first_line
    first_no, first = records[0]
    full = [f for _, f in records[1:] if len(f) == d][: max(2, KIND_CELLS // d)]
    kinds_below = [{kind_of_text(f[j], decimal_comma) for f in full} for j in range(d)]
    numeric_below = [NUM in k and TEXT not in k for k in kinds_below]
    layout = header_layout(first, full, d, delim)
    aligned = _align(first, layout, d)
    first_kinds = [kind_of_text(t, decimal_comma) for t in aligned]
    if layout == "row-names":
        first_kinds[0] = MISSING
    has_header = bool(records) and is_header(first_kinds, numeric_below)
    if has_header and layout == "bad":
        raise DataError(f"{source}: line {first_no} has {len(first)} "
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
        names = (_names_from_comment(preamble.last_comment, d, delim, encoding)
                 if preamble.n_comments else None)
        if names is None:
            names = [f"x{j}" for j in range(d)]
            notes.append("no header: columns named x0, x1, ...")
        else:
            notes.append("column names taken from the comment line above the data")
        data_records = records
        body_line = first_line
    keep_empty = {0} if row_name_candidates else set()
    names = unique_names(names)
    names = [n if j in keep_empty else f for j, (n, f) in enumerate(zip(names, fill_empty_names(names)))]
    return Header(has_header, names, row_name_candidates, data_records, body_line)


def header_layout(first: list[str], full: list[list[str]], d: int, delim: str) -> str:
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


def _align(first: list[str], layout: str, d: int) -> list[str]:
    if layout == "row-names":
        return [""] + list(first)
    if layout == "trailing":
        return list(first) + [""]
    if len(first) >= d:
        return list(first[:d])
    return list(first) + [""] * (d - len(first))


def _names_from_comment(comment: bytes | None, d: int, delim: str, encoding: str) -> list[str] | None:
    """``# a b c`` right above the data (numpy.savetxt's header) names the columns."""
    if not comment:
        return None
    text = comment.decode(encoding, errors="replace")
    for parts in (split_line(text, delim), text.split()):
        if len(parts) == d and all(kind_of_text(p) == TEXT for p in parts):
            return [p.strip() for p in parts]
    return None


def format_name(delim: str, ext: str) -> str:
    """The report's format: "csv", "tsv" or "text", from the delimiter, else the file's extension."""
    if delim in (",", ";", "|"):
        return "csv"
    if delim == "\t":
        return "tsv"
    if delim == WHITESPACE:
        return "text"
    plain = ext.split(".")[1] if ext else ""  # ".csv.gz" -> "csv"
    if plain == "csv":
        return "csv"
    if plain in ("tsv", "tab"):
        return "tsv"
    return "text"
