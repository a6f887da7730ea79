"""Which columns a file cut into parts uses, decided for the whole file as emstudio.io.data.load_data
decides reading it whole: a first pass in which every part reports its columns
(emstudio.io.parts.survey_part), merged here on the client.

A part alone may not show what the file holds: a column empty throughout the first part has
values further on (it is kept), a column numeric in the first part holds text further on (it is
left out, with the file's line of its first text cell), a column of row numbers counts on through
every part (R's row names, left out). Line numbers in messages are the file's: each part reports
its line ends, the client adds them up.
"""

from __future__ import annotations

import re

from emstudio.errors import DataError
from emstudio.io._common import fill_empty_names, find_column, name_list, no_numeric_error, numeric_hint, short

_LINE = re.compile(r"\bline (\d+)")


def survey_parts(client, blocks, classes: str | None, run: str) -> list:
    """Every block's PartSurvey (emstudio.io.parts), one task per block, in block order."""
    from emstudio.distributed.tasks import survey

    futures = [client.submit(survey, spec, classes, key=f"emstudio-survey-{run}-{b}") for b, spec in enumerate(blocks)]
    try:
        return client.gather(futures)
    finally:
        client.cancel(futures)


def merged_columns(blocks, surveys, wanted: tuple[str, ...] | None,
                   classes: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the columns every block is read with, the "left out, why: names" lines) for the surveyed
    ``blocks`` (parts of one file, in order), as load_data decides for the whole file. DataError,
    in one line with the file's line numbers, for a part that cannot be read or a ``wanted``
    column that cannot be used."""
    name = blocks[0].name
    source = name
    lines_before, before = [], {}
    for spec, part in zip(blocks, surveys):
        lines_before.append(before.get(spec.path, 0))
        before[spec.path] = lines_before[-1] + part.lines

    def file_line(b: int, line: int) -> int:
        return line - surveys[b].head_lines + lines_before[b]

    if any(spec.kind == "text" and part.quoted_line_end for spec, part in zip(blocks, surveys)):
        raise DataError(f"{name}: a quoted field holds a line end, so the file cannot be cut into blocks "
                        "of lines; fit it without --engine dask, or write it without line ends inside quotes")
    for b, part in enumerate(surveys):
        if part.error is not None:
            message = _LINE.sub(lambda m: f"line {file_line(b, int(m.group(1)))}", part.error)
            raise DataError(message if blocks[b].name in message else f"{blocks[b].name}: {message}")

    first = surveys[0]
    names = list(first.names)
    for spec, part in zip(blocks, surveys):
        if list(part.names) != names:
            raise DataError(f"{spec.name} has the columns {name_list(list(part.names))} but {name} has "
                            f"{name_list(names)}: every file must have the same columns (choose common ones "
                            "with --columns)")
    reasons: dict[int, str] = {}
    late: dict[int, tuple[int, str]] = {}
    for j in range(len(names)):
        b = next((b for b, part in enumerate(surveys) if j not in part.numeric), None)
        if b is None:
            continue
        part = surveys[b]
        why = part.reasons.get(j, "not numeric")
        if (b > 0 or why.startswith("not numeric (")) and j in part.text_at:
            line, cell = part.text_at[j]
            late[j] = (file_line(b, line), cell)
            why = f"not numeric ({short(cell)} on line {late[j][0]})"
        reasons[j] = why
    numeric = [j for j in range(len(names)) if j not in reasons]
    # R's row names (1, 2, … n) or a row index (0, 1, … n − 1) through the whole file.
    for j in numeric:
        start = first.counting.get(j)
        if start not in (0.0, 1.0):
            continue
        at = start
        for part in surveys:
            if part.counting.get(j) != at:
                break
            at += part.rows
        else:
            if at > start:
                reasons[j] = "R row names" if start == 1.0 else "row index"
    row_names = {j for j, why in reasons.items() if why in ("R row names", "row index")}
    numeric = [j for j in numeric if j not in row_names]
    # An unnamed first column that is not row names is named (x0), as in memory; the parts are
    # asked for it by its 0-based number, since their header has no name for it.
    filled = fill_empty_names(names)
    by_number = {j for j in numeric if j in first.candidates and names[j] == ""}
    names = [filled[j] if j in by_number else n for j, n in enumerate(names)]
    empty = {}
    for j in numeric:
        if not any(j in part.finite for part in surveys):
            empty[j] = "no finite values" if any(j in part.number for part in surveys) else "no values"
    class_column = None if classes is None else find_column(source, classes, names)
    if class_column is not None:
        reasons[class_column] = "known classes"

    if wanted is not None:
        for label in wanted:
            j = names.index(label) if label in names else None
            if j is not None and j in late:
                line, cell = late[j]
                raise DataError(f"{source}: column {short(label)} is not numeric ({short(cell)} on line {line}); "
                                f"{numeric_hint(names, [c for c in numeric if c not in late])}")
        used = [str(names.index(label)) if label in names and names.index(label) in by_number else label
                for label in wanted]
    else:
        used_at = [j for j in numeric if j not in empty and j != class_column]
        if not used_at:
            raise no_numeric_error(source, names, {**reasons, **empty})
        used = [str(j) if j in by_number else names[j] for j in used_at]
    used_set = {names[int(label)] if label not in names and label.isdigit() and int(label) < len(names) else label
                for label in used}
    groups: dict[str, list[str]] = {}
    for j, column in enumerate(names):
        if column not in used_set:
            groups.setdefault(reasons.get(j) or empty.get(j) or "not selected", []).append(column)
    notes = tuple(f"left out, {why}: {name_list(columns)}" for why, columns in groups.items())
    return tuple(used), notes
