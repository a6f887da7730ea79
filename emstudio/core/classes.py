"""A fit compared with known classes: the confusion table, the adjusted Rand index and the
classification error, as mclust's ``adjustedRandIndex`` and ``classError`` give them.

Classes arrive as integer codes into a list of class names (``-1`` where a row has no class),
components as 0-based numbers (the most responsible component of each row). Rows without a class
take no part in the comparison, as R's ``table`` leaves NA out.

mclust (R/util.R, version 6.1) computes, for a classification ``a`` (the components) and known
classes ``b``:
- ``adjustedRandIndex(a, b)``: Hubert & Arabie's adjusted Rand index from the pair counts of the
  contingency table; 1 when the table is 1 × 1.
- ``classError(a, b)`` through ``mapClass(a, b)``: each component is mapped to the class holding
  most of its rows, and each class to the component holding most of its rows (ties go to the
  first in order: components by number, classes in their sorted order). A row is misclassified
  under the first map when its component's class is not its class, under the second when its
  class's component is not its component. The error rate is the larger of the two counts over
  the number of rows, and the misclassified rows are those of that map (the second on a tie).
  (mclust matches by name instead when both arguments are factors or character vectors with as
  many levels; a fit's components are numbers, so that branch never applies here.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ClassComparison", "KnownClasses", "adjusted_rand_index", "class_codes_of", "class_error",
           "compare_table", "compare_with_classes", "confusion_table"]


def confusion_table(class_codes: np.ndarray, components: np.ndarray, n_classes: int, k: int) -> np.ndarray:
    """Counts (n_classes, K) int64: rows known classes, columns components.

    class_codes (n,) int in 0 … n_classes − 1 (−1: no class, not counted); components (n,) int in
    0 … K − 1.
    """
    codes = np.asarray(class_codes, dtype=np.int64)
    comp = np.asarray(components, dtype=np.int64)
    if codes.shape != comp.shape:
        raise ValueError(f"{codes.shape[0]} class codes but {comp.shape[0]} components")
    keep = codes >= 0
    flat = codes[keep] * k + comp[keep]
    return np.bincount(flat, minlength=n_classes * k).reshape(n_classes, k)


def _pairs(counts: np.ndarray) -> float:
    """Σ C(c, 2) of the counts, in float64 as R's ``choose`` gives it."""
    c = np.asarray(counts, dtype=np.float64)
    return float(np.sum(c * (c - 1.0) / 2.0))


def adjusted_rand_index(table: np.ndarray) -> float:
    """The adjusted Rand index of a contingency table (any orientation), as mclust's
    ``adjustedRandIndex``: 1 for identical partitions, about 0 for independent ones; NaN when it
    is 0/0 (both partitions all singletons)."""
    tab = np.asarray(table, dtype=np.float64)
    # R's table() has only the values that occur: drop empty rows and columns.
    tab = tab[tab.sum(axis=1) > 0][:, tab.sum(axis=0) > 0]
    if tab.shape == (1, 1):
        return 1.0
    a = _pairs(tab)
    b = _pairs(tab.sum(axis=1)) - a
    c = _pairs(tab.sum(axis=0)) - a
    n = tab.sum()
    d = n * (n - 1.0) / 2.0 - a - b - c
    total = a + b + c + d
    expected = (a + b) * (a + c) / total if total else 0.0
    numerator = a - expected
    denominator = (a + b + a + c) / 2.0 - expected
    if denominator == 0.0:
        return float("nan")
    return float(numerator / denominator)


def class_error(class_codes: np.ndarray, components: np.ndarray, n_classes: int,
                k: int) -> tuple[float, np.ndarray]:
    """mclust's ``classError(components, classes)``: (error rate, misclassified rows).

    class_codes (n,) int, −1 for no class; components (n,) int 0 … K − 1. The class codes must
    follow the classes' sorted order (mclust breaks ties by it). Rows without a class are not
    counted; the rate is over the rows with one, and the misclassified rows are 0-based
    positions in the whole input.
    """
    codes = np.asarray(class_codes, dtype=np.int64)
    comp = np.asarray(components, dtype=np.int64)
    table = confusion_table(codes, comp, n_classes, k)
    n = int(table.sum())
    if n == 0:
        return float("nan"), np.empty(0, dtype=np.int64)
    # argmax takes the first maximum, as R's match(max, row) does; the order of the rows and
    # columns is components by number and classes sorted, as R's table() orders them.
    component_to_class = table.argmax(axis=0)  # (K,) for components present
    class_to_component = table.argmax(axis=1)  # (n_classes,) for classes present
    keep = codes >= 0
    rows = np.flatnonzero(keep)
    wrong_one = component_to_class[comp[keep]] != codes[keep]
    wrong_two = class_to_component[codes[keep]] != comp[keep]
    wrong = wrong_one if wrong_one.sum() > wrong_two.sum() else wrong_two
    misclassified = rows[wrong]
    return misclassified.size / n, misclassified


@dataclass(frozen=True)
class ClassComparison:
    """A fit against known classes. ``table`` (n_classes, K): rows ``class_names``, columns the
    components 1 … K as a person reads them (column j is component j + 1)."""

    column: str  # the classes' column in the data
    class_names: tuple[str, ...]
    table: np.ndarray
    ari: float
    error: float
    misclassified: np.ndarray  # (m,) 0-based row positions
    n_compared: int  # rows with a class
    n_without_class: int
    #: misclassified rows counted from the table alone (a fit on a cluster: the rows themselves
    #: are not gathered); None: ``misclassified.size``
    n_misclassified: int | None = None

    @property
    def n_wrong(self) -> int:
        return self.misclassified.size if self.n_misclassified is None else self.n_misclassified

    def lines(self) -> list[str]:
        """The comparison as plain text lines: the confusion table, then ARI and error."""
        k = self.table.shape[1]
        head = [self.column or "class"] + [str(j + 1) for j in range(k)]
        body = [[name] + [str(int(v)) for v in row] for name, row in zip(self.class_names, self.table)]
        widths = [max(len(r[c]) for r in [head] + body) for c in range(k + 1)]
        out = [f"known classes ({self.column}) against components:"]
        for r in [head] + body:
            out.append("  " + "  ".join(cell.ljust(w) if c == 0 else cell.rjust(w)
                                        for c, (cell, w) in enumerate(zip(r, widths))))
        wrong = self.n_wrong
        out.append(f"adjusted Rand index {self.ari:.4f}; classification error {self.error:.4f} "
                   f"({wrong} of {self.n_compared} rows)")
        if self.n_without_class:
            s = "s" if self.n_without_class != 1 else ""
            out.append(f"{self.n_without_class} row{s} without a class not compared")
        return out


@dataclass(frozen=True)
class KnownClasses:
    """Known classes of the rows of a data set: ``codes`` (n,) int64 into ``names`` (in R's sorted
    order, see :func:`class_codes_of`), −1 for a row without a class; ``column``: where from."""

    column: str
    codes: np.ndarray
    names: tuple[str, ...]

    @classmethod
    def from_values(cls, column: str, values) -> KnownClasses:
        codes, names = class_codes_of(values)
        return cls(column, codes, names)

    def subset(self, rows: np.ndarray) -> KnownClasses:
        """The classes of ``rows`` (0-based positions), with the same class names."""
        return KnownClasses(self.column, self.codes[rows], self.names)


def compare_with_classes(known: KnownClasses, resp_or_labels: np.ndarray, k: int) -> ClassComparison:
    """Compare the components with known classes. ``resp_or_labels``: responsibilities (n, K)
    (each row's component is its first largest, as mclust's ``map`` takes it) or components
    (n,) 0 … K − 1."""
    labels = np.asarray(resp_or_labels)
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)
    codes = np.asarray(known.codes, dtype=np.int64)
    n_classes = len(known.names)
    table = confusion_table(codes, labels, n_classes, k)
    error, wrong = class_error(codes, labels, n_classes, k)
    n_compared = int(table.sum())
    return ClassComparison(column=known.column, class_names=known.names, table=table,
                           ari=adjusted_rand_index(table) if n_compared else float("nan"), error=error,
                           misclassified=wrong, n_compared=n_compared,
                           n_without_class=int(codes.shape[0] - n_compared))


def compare_table(column: str, class_names: tuple[str, ...], table: np.ndarray,
                  n_without_class: int) -> ClassComparison:
    """The comparison of :func:`compare_with_classes` from its confusion table alone (n_classes, K)
    (rows ``class_names`` in class_codes_of's order): the same ARI, error rate and number of
    misclassified rows, since mclust's maps and both error counts depend on the counts only (a
    tie between the maps has the same count either way); the rows themselves are not known."""
    table = np.asarray(table, dtype=np.int64)
    n = int(table.sum())
    if n == 0:
        error, wrong = float("nan"), 0
    else:
        component_to_class = table.argmax(axis=0)  # first maximum, as class_error takes it
        class_to_component = table.argmax(axis=1)
        classes, components = np.indices(table.shape)
        wrong_one = int(table[component_to_class[components] != classes].sum())
        wrong_two = int(table[class_to_component[classes] != components].sum())
        wrong = wrong_one if wrong_one > wrong_two else wrong_two
        error = wrong / n
    return ClassComparison(column=column, class_names=tuple(class_names), table=table,
                           ari=adjusted_rand_index(table) if n else float("nan"), error=error,
                           misclassified=np.empty(0, dtype=np.int64), n_compared=n,
                           n_without_class=int(n_without_class), n_misclassified=wrong)


def class_codes_of(values) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes (n,) int64 and sorted class names of class values (text; ``None`` or "" for none).

    The order is R's for a factor made from the column: numbers in numeric order when every
    class is a number, else text order (by code point, R's C locale).
    """
    texts = ["" if v is None else str(v).strip() for v in values]
    names = sorted({t for t in texts if t != ""}, key=_class_sort_key(texts))
    index = {name: i for i, name in enumerate(names)}
    codes = np.fromiter((index.get(t, -1) for t in texts), dtype=np.int64, count=len(texts))
    return codes, tuple(names)


def _class_sort_key(texts):
    def number(t: str) -> float | None:
        try:
            return float(t)
        except ValueError:
            return None

    present = {t for t in texts if t != ""}
    if present and all(number(t) is not None for t in present):
        return lambda t: (number(t), t)
    return lambda t: t
