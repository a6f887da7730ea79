"""What loading a data file gives (emstudio.io.data.load_data): the float array a fit uses with
the text kept beside it (LoadedData), the report of what was used and left out (LoadReport), and
the known classes read from a column (known_classes)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from emstudio.core.classes import KnownClasses
from emstudio.errors import DataError
from emstudio.io._common import MISSING_TOKENS, name_list, short

#: Known classes are a handful of groups: a column with more different values is refused.
MAX_CLASSES = 100


@dataclass(frozen=True)
class LoadReport:
    """What loading did: columns used, columns left out and why, rows dropped, notes."""

    source: str  # file name as given
    format: str  # "csv", "tsv", "text", "npy", "npz", "xlsx", "parquet"
    columns_used: tuple[str, ...]
    columns_left_out: tuple[tuple[str, str], ...]  # (column name, reason)
    n_rows_read: int  # data rows in the file
    n_dropped: int  # rows dropped for missing/NaN/infinite values in the used columns
    notes: tuple[str, ...] = ()  # "decimal comma", "encoding latin-1", ...
    sheets: tuple[str, ...] = ()  # a workbook's sheet names, in order (empty for other formats)
    sheet: str | None = None  # the workbook's sheet that was read

    @property
    def n_rows_used(self) -> int:
        return self.n_rows_read - self.n_dropped

    def lines(self, source: str | None = None) -> list[str]:
        """Short human-readable lines for standard error or the window; ``source`` names the file
        instead of the path as given (the window shows the file's name, never the machine's path)."""
        d = len(self.columns_used)
        out = [
            f"{self.source if source is None else source} ({self.format}): {self.n_rows_used} of {self.n_rows_read} rows, "
            f"{d} column{'s' if d != 1 else ''}: {name_list(self.columns_used)}"
        ]
        groups: dict[str, list[str]] = {}
        for name, why in self.columns_left_out:
            groups.setdefault(why, []).append(name)
        for why, names in groups.items():
            out.append(f"left out, {why}: {name_list(names)}")
        if self.n_dropped:
            s = "s" if self.n_dropped != 1 else ""
            out.append(f"dropped {self.n_dropped} row{s} with a missing, NaN or infinite value")
        out.extend(f"note: {note}" for note in self.notes)
        return out


@dataclass(frozen=True)
class LoadedData:
    """The data to fit: ``values`` (n, d) float64, C-contiguous, every value finite.

    Beside the numbers, the text a labels file and known classes need (each per kept row):
    ``row_names`` (n,) str, the file's R-style row names (None: the file has none);
    ``cell_text`` (n, d) str, the used cells as written (None: not kept -- a large table, decimal
    commas, or a binary format); ``text_columns``: left-out text columns by name, (n,) str each;
    ``classes``: the known classes asked for with ``load_data(classes=...)``.
    """

    values: np.ndarray
    columns: tuple[str, ...]  # d names
    kept_rows: np.ndarray  # (n,) int64: 0-based data-row index in the file of each kept row
    report: LoadReport
    row_names: np.ndarray | None = None
    cell_text: np.ndarray | None = None
    text_columns: dict[str, np.ndarray] = field(default_factory=dict)
    classes: KnownClasses | None = None

    def row_ids(self) -> np.ndarray:
        """(n,) str: each kept row's identity, its row name, else its 1-based row number in the
        file's data (the header not counted)."""
        if self.row_names is not None:
            return self.row_names
        return (self.kept_rows + 1).astype(str)


def known_classes(column: str, text: np.ndarray, whole: bool = True) -> KnownClasses:
    """Known classes from a column's cells (n,) str: a missing marker (``NA``, ``?``, "" …) is no
    class. DataError when the column has no class at all, or more than MAX_CLASSES -- unless the
    cells are not the ``whole`` column (a part of a file: the client checks the parts' total)."""
    text = np.asarray(text, dtype=str)
    missing = np.isin(np.char.lower(np.char.strip(text)), list(MISSING_TOKENS))
    known = KnownClasses.from_values(column, np.where(missing, "", text) if missing.any() else text)
    if not whole:
        return known
    if not known.names:
        raise DataError(f"column {short(column)} has no values to read as classes")
    if len(known.names) > MAX_CLASSES:
        raise DataError(f"column {short(column)} has {len(known.names)} different values; known classes "
                        f"are at most {MAX_CLASSES} groups")
    return known
