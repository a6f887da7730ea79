"""Excel: the table of a sheet from its present cells (header, column kinds, merged ranges filled
with their top-left value, the numeric block and the text columns)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from emstudio.errors import DataError
from emstudio.io._common import (
    MISSING,
    NUM,
    TEXT,
    RawTable,
    fill_empty_names,
    is_header,
    number_texts,
    unique_names,
)
from emstudio.io._excel_parts import _MAX_COLUMNS, _range
from emstudio.io._limits import available_memory

if TYPE_CHECKING:
    from emstudio.io._excel import _Cells

#: The most cells merged ranges may fill; a range reaching far past the data is clipped to the
#: data's extent first, so only a sheet made to explode gets near this.
MAX_FILLED_CELLS = 20_000_000


def _name(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    return str(value).strip()


def _fill_merges(cells: _Cells, rows: np.ndarray, cols: np.ndarray, kinds: np.ndarray,
                 values: np.ndarray, text_ids: np.ndarray, source: str):
    """Fill the blank cells of every merged range with its top-left cell's kind and value.

    Ranges are clipped to the extent of the present cells (a range reaching to XFD1048576 fills
    nothing past the data). Returns the arrays with the filled cells added, and a note (or None).
    """
    if not cells.merges or rows.size == 0:
        return rows, cols, kinds, values, text_ids, None
    last_row, last_col = int(rows.max()), int(cols.max())
    key = rows * _MAX_COLUMNS + cols
    order = np.argsort(key, kind="stable")
    sorted_keys = key[order]

    def find(r: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Index into the arrays of each cell (r, c), or -1 where it is blank."""
        k = r * _MAX_COLUMNS + c
        pos = np.searchsorted(sorted_keys, k)
        pos = np.minimum(pos, sorted_keys.size - 1)
        hit = sorted_keys[pos] == k
        return np.where(hit, order[pos], -1)

    ranges = []
    total = 0
    for ref in cells.merges:
        bounds = _range(ref)
        if bounds is None:
            continue
        r0, c0, r1, c1 = bounds
        r1, c1 = min(r1, last_row), min(c1, last_col)
        if r0 > r1 or c0 > c1 or (r0 == r1 and c0 == c1):
            continue
        total += (r1 - r0 + 1) * (c1 - c0 + 1)
        if total > MAX_FILLED_CELLS:
            raise DataError(f"{source}: merged cells cover more than {MAX_FILLED_CELLS:,} cells of the "
                            "table; unmerge them (Excel: Merge & Center, Unmerge Cells)")
        ranges.append((r0, c0, r1, c1))
    # A merged header (one name over several columns) names each of its columns.
    for r0, c0, r1, c1 in ranges:
        if r0 == cells.top and c0 in cells.first_row:
            for c in range(c0 + 1, c1 + 1):
                cells.first_row.setdefault(c, cells.first_row[c0])
    anchors = find(np.array([r[0] for r in ranges], dtype=np.int64),
                   np.array([r[1] for r in ranges], dtype=np.int64)) if ranges else np.empty(0, np.int64)
    new = [(rows, cols, kinds, values, text_ids)]
    filled = 0
    used_ranges = 0
    for (r0, c0, r1, c1), anchor in zip(ranges, anchors.tolist()):
        if anchor < 0:
            continue  # a merged range whose top-left cell is blank: nothing to fill with
        rr, cc = np.meshgrid(np.arange(r0, r1 + 1, dtype=np.int64), np.arange(c0, c1 + 1, dtype=np.int64),
                             indexing="ij")
        rr, cc = rr.ravel(), cc.ravel()
        blank = find(rr, cc) < 0
        count = int(blank.sum())
        if not count:
            continue
        new.append((rr[blank], cc[blank], np.full(count, kinds[anchor], dtype=kinds.dtype),
                    np.full(count, values[anchor]), np.full(count, text_ids[anchor], dtype=text_ids.dtype)))
        filled += count
        used_ranges += 1
    if not filled:
        return rows, cols, kinds, values, text_ids, None
    rows, cols, kinds, values, text_ids = (np.concatenate(parts) for parts in zip(*new))
    s = "s" if used_ranges != 1 else ""
    note = (f"{used_ranges} merged range{s} filled with {'their' if s else 'its'} top-left value "
            f"({filled:,} cell{'s' if filled != 1 else ''})")
    return rows, cols, kinds, values, text_ids, note


def _table(cells: _Cells, source: str, notes: list[str]) -> RawTable:
    rows = np.frombuffer(cells.rows, dtype=np.int64) if len(cells.rows) else np.empty(0, np.int64)
    cols = np.frombuffer(cells.cols, dtype=np.dtype("l")).astype(np.int64)
    kinds = np.frombuffer(cells.kinds, dtype=np.int8) if len(cells.kinds) else np.empty(0, np.int8)
    values = np.frombuffer(cells.values, dtype=np.float64) if len(cells.values) else np.empty(0)
    text_ids = np.frombuffer(cells.text_ids, dtype=np.int64) if len(cells.text_ids) else np.empty(0, np.int64)
    rows, cols, kinds, values, text_ids, merged = _fill_merges(cells, rows, cols, kinds, values, text_ids, source)
    if merged:
        notes.append(merged)
    if rows.size == 0:
        raise DataError(f"{source}: the workbook is empty")

    # Rows without a present cell are skipped; the rest are numbered densely from the top.
    row_numbers, position = np.unique(rows, return_inverse=True)
    position = position.reshape(-1)
    width = int(cols.max()) + 1
    first = [MISSING] * width
    top = position == 0
    for c, k in zip(cols[top].tolist(), kinds[top].tolist()):
        first[c] = k
    below = ~top
    text_below = np.zeros(width, dtype=bool)
    text_below[cols[below & (kinds == TEXT)]] = True
    number_below = np.zeros(width, dtype=bool)
    number_below[cols[below & (kinds == NUM)]] = True
    header = is_header(first, (number_below & ~text_below).tolist())

    row_name_candidates: set[int] = set()
    if header:
        raw_first = cells.first_row if int(row_numbers[0]) == cells.top else {}
        names = [_name(raw_first.get(j)) for j in range(width)]
        if row_numbers.size == 1:
            raise DataError(f"{source}: the sheet has a header row but no data rows")
        if names[0] in ("", "Unnamed: 0"):
            row_name_candidates.add(0)
        data = below
        n_rows = row_numbers.size - 1
        offset = 1
    else:
        names = [f"x{j}" for j in range(width)]
        notes.append("no header: columns named x0, x1, ...")
        data = np.ones(rows.size, dtype=bool)
        n_rows = row_numbers.size
        offset = 0
    names = unique_names(names)
    filled = fill_empty_names(names)
    names = [n if j in row_name_candidates else f for j, (n, f) in enumerate(zip(names, filled))]

    text_in_data = text_below if header else np.zeros(width, dtype=bool)
    if not header:
        text_in_data[cols[kinds == TEXT]] = True
    present = np.zeros(width, dtype=bool)
    present[cols[data]] = True
    reasons: dict[int, str] = {}
    numeric: list[int] = []
    for j in range(width):
        if text_in_data[j]:
            reasons[j] = "row names" if j in row_name_candidates else "not numeric"
        elif not present[j]:
            reasons[j] = "no values"  # nothing below the header: not a column of data
        else:
            numeric.append(j)

    need = n_rows * max(len(numeric), 1) * 8
    if need > available_memory() // 2:
        raise DataError(f"{source}: the sheet's table of {n_rows:,} rows × {len(numeric):,} columns is too "
                        "large for the memory")
    table = np.full((n_rows, len(numeric)), np.nan)
    slot = np.full(width, -1, dtype=np.int64)
    slot[numeric] = np.arange(len(numeric))
    take = data & (slot[cols] >= 0) & (kinds == NUM)
    table[position[take] - offset, slot[cols[take]]] = values[take]
    texts = {j: _column_text(cells.texts, cols, kinds, values, text_ids, data, position - offset, j, n_rows)
             for j in range(width) if text_in_data[j]}
    return RawTable(format="xlsx", names=names, n_rows=n_rows, numeric=numeric,
                    blocks=[(tuple(numeric), table)], reasons=reasons,
                    row_name_candidates=row_name_candidates & set(numeric), notes=notes, texts=texts)


def _column_text(pool: list[str], cols, kinds, values, text_ids, data, row_of, j: int, n_rows: int) -> np.ndarray:
    """(n_rows,) str: column ``j``'s cells as text (a number as its shortest text, blank as "")."""
    out = np.full(n_rows, "", dtype=object)
    here = np.flatnonzero(data & (cols == j))
    for i, kind, value, text_id in zip(here.tolist(), kinds[here].tolist(), values[here].tolist(),
                                       text_ids[here].tolist()):
        if text_id >= 0:
            out[row_of[i]] = pool[text_id]
        elif kind == NUM:
            out[row_of[i]] = number_texts(np.array([value]))[0]
    return out.astype(str)
