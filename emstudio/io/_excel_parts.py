"""Excel workbooks' XML parts: the streaming parse (a DTD or an entity declaration refused),
the relationships, the sheet list, the shared strings, the date styles and cell references.
Each part is checked against the decompression limits of :mod:`emstudio.io._limits` first."""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Callable
from xml.parsers import expat

from emstudio.io._limits import check_zip_member

_FEED_BYTES = 1 << 20
_MAX_COLUMNS = 16384  # XFD, Excel's last column
_MAX_ROWS = 1 << 20  # 1048576, Excel's last row
_REL_NS = "relationships"  # the end of the relationship namespaces (transitional and strict)
_CELL_REF = re.compile(r"([A-Za-z]{1,3})(\d{1,7})$")
_DATE_FORMAT_IDS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47})
_FORMAT_LITERALS = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|_.')


class _Stop(Exception):
    """Raised by a handler to end the parse early (the first cell of a sheet was found)."""


class _Refused(Exception):
    """A DTD or an entity declaration: refused whatever it declares."""


# ---------------------------------------------------------------------------- XML streaming
def _parse(archive: zipfile.ZipFile, name: str, source: str, what: str,
           start: Callable[[str, dict], None], end: Callable[[str], None] | None = None,
           text: Callable[[str], None] | None = None) -> None:
    """Stream part ``name`` through expat with the given handlers (element names without
    their namespace prefix). Refuses a DTD, entities and a part past the decompression limits."""
    check_zip_member(archive.getinfo(name), source, what)
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.ordered_attributes = False

    def refuse(*args):
        raise _Refused()

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = lambda tag, attrs: start(tag.rpartition(":")[2], attrs)
    if end is not None:
        parser.EndElementHandler = lambda tag: end(tag.rpartition(":")[2])
    if text is not None:
        parser.CharacterDataHandler = text
    with archive.open(name) as stream:
        while True:
            chunk = stream.read(_FEED_BYTES)
            parser.Parse(chunk, not chunk)
            if not chunk:
                break


def _local_attrs(attrs: dict) -> dict:
    return {key.rpartition(":")[2]: value for key, value in attrs.items()}


# ---------------------------------------------------------------------------- workbook parts
def _relationships(archive: zipfile.ZipFile, part: str, source: str) -> dict[str, tuple[str, str]]:
    """Id -> (type's last word, archive path of the target) of ``part``'s relationships."""
    folder, base = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", base + ".rels")
    found: dict[str, tuple[str, str]] = {}
    if rels_name not in archive.NameToInfo:
        return found

    def start(tag: str, attrs: dict) -> None:
        if tag == "Relationship" and attrs.get("TargetMode") != "External":
            target = attrs.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            found[attrs.get("Id", "")] = (attrs.get("Type", "").rpartition("/")[2], path)

    _parse(archive, rels_name, source, "the workbook's relationships", start)
    return found


def _workbook_part(archive: zipfile.ZipFile, source: str) -> str:
    for kind, path in _relationships(archive, "", source).values():
        if kind == "officeDocument":
            return path
    return "xl/workbook.xml"


class _Sheet:
    def __init__(self, name: str, part: str | None, hidden: bool):
        self.name = name
        self.part = part  # None: a chart sheet or a sheet whose part is missing (no cells)
        self.hidden = hidden


def _sheets(archive: zipfile.ZipFile, workbook: str, source: str,
            rels: dict[str, tuple[str, str]]) -> list[_Sheet]:
    sheets: list[_Sheet] = []

    def start(tag: str, attrs: dict) -> None:
        if tag != "sheet":
            return
        local = _local_attrs(attrs)
        rel = rels.get(local.get("id", ""))
        part = rel[1] if rel and rel[0] == "worksheet" and rel[1] in archive.NameToInfo else None
        sheets.append(_Sheet(local.get("name", f"sheet {len(sheets) + 1}"), part,
                             local.get("state", "visible") != "visible"))

    _parse(archive, workbook, source, "the workbook part", start)
    return sheets


def _shared_strings(archive: zipfile.ZipFile, part: str | None, source: str) -> list[str]:
    """The shared strings: the text of every ``<si>`` (rich-text runs joined, phonetic runs left out)."""
    strings: list[str] = []
    if part is None or part not in archive.NameToInfo:
        return strings
    state = {"in_t": False, "skip": 0}
    pieces: list[str] = []

    def start(tag: str, attrs: dict) -> None:
        if tag == "si":
            pieces.clear()
        elif tag == "rPh":
            state["skip"] += 1
        elif tag == "t" and not state["skip"]:
            state["in_t"] = True

    def end(tag: str) -> None:
        if tag == "si":
            strings.append("".join(pieces))
        elif tag == "rPh":
            state["skip"] -= 1
        elif tag == "t":
            state["in_t"] = False

    def text(data: str) -> None:
        if state["in_t"]:
            pieces.append(data)

    _parse(archive, part, source, "the shared strings", start, end, text)
    return strings


def is_date_format(code: str) -> bool:
    """Whether an Excel number format shows a date or a time (quoted text and [...] left out)."""
    code = _FORMAT_LITERALS.sub("", code.split(";")[0])
    return re.search(r"[dmhysDMHYS]", code) is not None


def _date_styles(archive: zipfile.ZipFile, part: str | None, source: str) -> frozenset[int]:
    """Indices of the cell styles (``s``) whose number format is a date or a time."""
    if part is None or part not in archive.NameToInfo:
        return frozenset()
    custom: dict[int, str] = {}
    formats: list[int] = []
    state = {"in_xfs": False}

    def start(tag: str, attrs: dict) -> None:
        if tag == "numFmt":
            try:
                custom[int(attrs.get("numFmtId", "-1"))] = attrs.get("formatCode", "")
            except ValueError:
                pass
        elif tag == "cellXfs":
            state["in_xfs"] = True
        elif tag == "xf" and state["in_xfs"]:
            try:
                formats.append(int(attrs.get("numFmtId", "0")))
            except ValueError:
                formats.append(0)

    def end(tag: str) -> None:
        if tag == "cellXfs":
            state["in_xfs"] = False

    _parse(archive, part, source, "the styles", start, end)
    return frozenset(i for i, f in enumerate(formats)
                     if f in _DATE_FORMAT_IDS or (f in custom and is_date_format(custom[f])))


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def _range(ref: str) -> tuple[int, int, int, int] | None:
    """(first row, first column, last row, last column), 0-based, of ``A1:C3``; None if invalid."""
    parts = ref.split(":")
    corners = []
    for part in parts[:2]:
        m = _CELL_REF.match(part.replace("$", ""))
        if not m:
            return None
        corners.append((int(m.group(2)) - 1, _column_number(m.group(1))))
    if len(corners) == 1:
        corners.append(corners[0])
    (r0, c0), (r1, c1) = corners
    return min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1)
