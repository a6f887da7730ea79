"""The criterion table that ``select`` prints (mixtures and factor models alike)."""

from __future__ import annotations

from collections.abc import Sequence

#: Characters of one cell: the value in 13, then its mark (* chosen, ! flagged, or a space).
CELL_WIDTH = 14


def criterion_table(criterion: str, flag_meaning: str, headers: Sequence[str],
                    rows: Sequence[tuple[str, Sequence[tuple[float, str] | None]]]) -> str:
    """The table's text: a legend line, the column headers, then one line per row.

    ``rows``: (label, cells), a cell being (value, mark) or None for a cell with no fit (shown
    "-"); the labels' column is as wide as the longest label, so the headers stand over their values.
    """
    width = max([len(label) for label, _ in rows] + [4]) + 2
    lines = [f"{criterion.upper()} (lower is better); * = chosen, ! = {flag_meaning}",
             (" " * width + "".join(f"{header:>{CELL_WIDTH - 1}} " for header in headers)).rstrip()]
    for label, cells in rows:
        text = "".join(f"{'-':>{CELL_WIDTH - 1}} " if cell is None else f"{cell[0]:>{CELL_WIDTH - 1}.2f}{cell[1]}"
                       for cell in cells)
        lines.append(f"{label:<{width}}{text}")
    return "\n".join(lines) + "\n"
