"""From the raw table a reader gives to the data a fit uses: row names recognised, columns
without values left out, the columns used chosen, the known classes read, and the rows with a
missing, NaN or infinite value dropped -- with the peak memory near one copy of the data."""

from __future__ import annotations

import numpy as np

from emstudio.errors import DataError
from emstudio.io._common import (
    RawTable,
    fill_empty_names,
    find_column,
    name_list,
    no_numeric_error,
    number_texts,
    resolve_columns,
    short,
)
from emstudio.io.loaded import LoadedData, LoadReport, known_classes


def finish(source: str, raw: RawTable, requested: list[str] | None,
           classes: str | int | None = None, part: bool = False) -> LoadedData:
    """The LoadedData of the raw table a reader gave for ``source``; ``requested`` and ``classes``
    as load_data takes them. Empties ``raw.blocks`` as it goes. ``part``: the table is a part
    of a file, read with the columns decided for the whole file (emstudio.distributed.columns):
    its row numbers are not taken for row names (the whole file's are), and it may keep no row or
    no known class (whoever reads all the parts checks the whole file's)."""
    names = list(raw.names)
    reasons = dict(raw.reasons)
    numeric = list(raw.numeric)
    n = raw.n_rows
    blocks = raw.blocks

    where = [{j: p for p, j in enumerate(cols)} for cols, _ in blocks]

    def column(j: int) -> np.ndarray:
        parts = [arr[:, w[j]] for w, (_, arr) in zip(where, blocks)]
        return np.concatenate(parts) if parts else np.empty(0)

    # Row names: an unnamed first column holding 1..n (R) or 0..n-1 (pandas).
    not_default: set[int] = set()
    for j in sorted(raw.row_name_candidates):
        if j not in numeric:
            continue
        vals = column(j) if not part else np.empty(0)
        if vals.size == n and n > 0 and np.array_equal(vals, np.arange(1, n + 1)):
            reasons[j] = "R row names"
            not_default.add(j)
        elif vals.size == n and n > 0 and np.array_equal(vals, np.arange(n)):
            reasons[j] = "row index"
            not_default.add(j)
        elif names[j] == "":
            filled = fill_empty_names(names)
            names[j] = filled[j]

    # Columns without a single finite value.
    any_finite = [np.isfinite(arr).any(axis=0) for _, arr in blocks]
    any_number = [~np.isnan(arr).all(axis=0) for _, arr in blocks]
    empty: dict[int, str] = {}
    for j in numeric:
        if j in not_default:
            continue
        if not any(f[w[j]] for f, w in zip(any_finite, where)):
            has_number = any(h[w[j]] for h, w in zip(any_number, where))
            empty[j] = "no finite values" if has_number else "no values"
    del any_finite, any_number

    class_column = None if classes is None else find_column(source, classes, names)
    if requested is not None:
        used = resolve_columns(source, requested, names, numeric, reasons)
        if class_column in used:
            raise DataError(f"{source}: column {short(names[class_column])} cannot be both a data column "
                            "and the known classes")
    else:
        used = [j for j in numeric if j not in not_default and j not in empty and j != class_column]
        if not used:
            raise no_numeric_error(source, names, {**reasons, **empty})
    class_text = None
    if class_column is not None:
        class_text = _class_text(source, raw, names[class_column], class_column, column)
        reasons[class_column] = "known classes"

    used_set = set(used)
    left_out = []
    for j, name in enumerate(names):
        if j in used_set:
            continue
        if j in reasons:
            why = reasons[j]
        elif j in empty:
            why = empty[j]
        else:
            why = "not selected"
        left_out.append((name, why))

    texts = raw.texts
    values, kept = _assemble(blocks, used, n)  # empties ``blocks`` as it goes
    columns = tuple(names[j] for j in used)
    if values.shape[0] == 0 and not part:
        raise DataError(
            f"{source}: no rows left: each of the {n} rows has a missing, NaN or infinite value "
            f"in {name_list(list(columns))}"
        )
    report = LoadReport(
        source=source,
        format=raw.format,
        columns_used=columns,
        columns_left_out=tuple(left_out),
        n_rows_read=n,
        n_dropped=n - values.shape[0],
        notes=tuple(raw.notes),
        sheets=tuple(raw.sheets),
        sheet=raw.sheet,
    )
    all_rows = kept.shape[0] == n

    def per_kept_row(text: np.ndarray) -> np.ndarray:
        return text if all_rows else text[kept]

    row_names = None
    for j, why in reasons.items():
        if why == "row names" and j in texts:
            row_names = per_kept_row(texts[j])
    cell_text = None
    if all(j in texts for j in used):
        cell_text = np.column_stack([per_kept_row(texts[j]) for j in used])
    text_columns = {names[j]: per_kept_row(t) for j, t in texts.items()
                    if j not in used_set and reasons.get(j) != "row names"}
    known = None
    if class_text is not None:
        try:
            known = known_classes(names[class_column], per_kept_row(class_text), whole=not part)
        except DataError as exc:
            raise DataError(f"{source}: {exc}") from None
    return LoadedData(values=values, columns=columns, kept_rows=kept, report=report, row_names=row_names,
                      cell_text=cell_text, text_columns=text_columns, classes=known)


def _class_text(source: str, raw: RawTable, name: str, j: int, column) -> np.ndarray:
    """(n_rows,) str: the cells of the class column as written, or its numbers as shortest text."""
    if j in raw.texts:
        return raw.texts[j]
    if j in raw.numeric:
        return number_texts(column(j))
    why = raw.reasons.get(j, "not read")
    raise DataError(f"{source}: column {short(name)} cannot be read as known classes ({why})")


def _assemble(blocks: list[tuple[tuple[int, ...], np.ndarray]], used: list[int],
              n: int) -> tuple[np.ndarray, np.ndarray]:
    """Stack the used columns of every block, without the rows that are not all finite.

    A single block (the usual case) is compacted in place; several blocks are released as they
    are copied. Either way the peak memory stays near one copy of the data.
    """
    masks = []
    total = 0
    positions = []
    for cols, arr in blocks:
        where = {j: p for p, j in enumerate(cols)}
        pos = [where[j] for j in used]
        keep = np.ones(arr.shape[0], dtype=bool)
        for p in pos:
            keep &= np.isfinite(arr[:, p])
        masks.append(keep)
        positions.append(pos)
        total += int(keep.sum())

    if len(blocks) == 1:
        cols, arr = blocks.pop()
        keep = masks[0]
        pos = positions[0]
        kept = np.arange(n, dtype=np.int64) if total == n else np.flatnonzero(keep).astype(np.int64)
        if arr.dtype == np.float64 and arr.flags.c_contiguous and arr.flags.owndata:
            return _compact_in_place(arr, pos, keep, total), kept
        values = np.ascontiguousarray(arr[np.ix_(np.flatnonzero(keep), pos)], dtype=np.float64)
        return values, kept

    values = np.empty((total, len(used)), dtype=np.float64)
    kept = np.empty(total, dtype=np.int64)
    out = 0
    first_row = 0
    for keep, pos in zip(masks, positions):
        cols, arr = blocks.pop(0)
        rows = arr.shape[0]
        k = int(keep.sum())
        if k:
            idx = np.flatnonzero(keep)
            values[out:out + k] = arr[np.ix_(idx, pos)]
            kept[out:out + k] = idx + first_row
        out += k
        first_row += rows
        del arr
    return values, kept


def _compact_in_place(arr: np.ndarray, pos: list[int], keep: np.ndarray, total: int) -> np.ndarray:
    """Keep rows ``keep`` and columns ``pos`` of ``arr`` (which this module owns), in place.

    Rows are moved in chunks towards the front of the same memory: a chunk is read before
    anything after it is written, so nothing is overwritten before it is read.
    """
    n, width = arr.shape
    d = len(pos)
    if total == n and pos == list(range(width)):
        return arr
    flat = arr.reshape(-1)
    out = 0
    step = 1 << 15
    for r in range(0, n, step):
        block = arr[r:r + step]
        m = keep[r:r + step]
        if not m.all():
            block = block[m]
        if pos != list(range(width)):
            block = block[:, pos]
        c = block.shape[0]
        flat[out * d:(out + c) * d] = block.reshape(-1)
        out += c
    del flat, block
    arr.resize((total, d), refcheck=False)
    return arr
