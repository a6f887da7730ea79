"""The parameter table: one row per component, in its colour, with numbers a person can read.

Columns: the component's number on its colour, πₖ, Nₖ, μₖ on every data column (d > 2 scrolls
sideways, nothing is elided), Σₖ on the axes shown as standard deviations σ and their
correlation ρ, and λmin while some component collapses. A cell's tooltip holds the full
matrices (Σₖ, and its standard deviations and correlations on every column).
"""

from __future__ import annotations

import html
import math

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from emstudio.core.geometry import shown_columns
from emstudio.core.numbers import (
    clean_symmetric,
    display_eigenvalue,
    format_number,
    format_share,
    std_and_correlation,
)
from emstudio.core.palette import palette, srgb_to_lab

COLLAPSE_RED = "#d62728"
COLLAPSE_BACKGROUND = "#fde2e1"
RIGHT = QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
#: A typical row of a 2-D fit as the table writes it (component, π, N, μ x, μ y, σ x, σ y, ρ; the
#: separated sample's first component: 4 significant digits, 3 for ρ): the table reads when its
#: columns have room for this row.
TYPICAL_2D_ROW = ("3", "0.374", "149.6", "0.01682", "−0.05461", "0.9146", "0.8712", "−0.0444")


def text_on(rgb) -> QtGui.QColor:
    """Black or white text, whichever reads better on a swatch of ``rgb``."""
    return QtGui.QColor("black" if srgb_to_lab(np.asarray(rgb, dtype=np.float64))[0] > 60 else "white")


def column_headers(columns, axes, d: int) -> list[str]:
    """The table's headers for data ``columns`` (d names) with ``axes`` shown."""
    shown = shown_columns(axes) if d > 1 else [0]
    headers = ["", "π", "N"] + [f"μ {columns[j]}" for j in range(d)]
    headers += [f"σ {columns[j]}" for j in shown]
    if len(shown) == 2:
        headers.append("ρ")
    headers.append("λmin")
    return headers


def matrix_html(title: str, names, matrix: np.ndarray, formatter) -> str:
    """An HTML table of ``matrix`` (d, d) with row and column ``names``."""
    head = "".join(f"<th>&nbsp;{html.escape(str(n))}&nbsp;</th>" for n in names)
    rows = []
    for name, row in zip(names, matrix):
        cells = "".join(f"<td align='right'>&nbsp;{formatter(v)}&nbsp;</td>" for v in row)
        rows.append(f"<tr><th align='left'>{html.escape(str(name))}</th>{cells}</tr>")
    return f"<div><b>{title}</b></div><table cellspacing='0'><tr><th></th>{head}</tr>{''.join(rows)}</table>"


def covariance_tooltip(k: int, covariance: np.ndarray, columns) -> str:
    """Component k's (0-based) full Σₖ, and its standard deviations and correlations."""
    cov = clean_symmetric(covariance)
    std, corr = std_and_correlation(cov)
    scale = float(np.max(np.abs(cov))) if cov.size else None
    sd = "&nbsp; ".join(f"σ {html.escape(str(n))} = {format_number(s)}" for n, s in zip(columns, std))
    return ("<html>" + matrix_html(f"Σ<sub>{k + 1}</sub> (covariance)", columns, cov,
                                   lambda v: format_number(v, 5, scale))
            + f"<div style='margin-top:4px'>{sd}</div>"
            + matrix_html("correlations ρ", columns, corr, lambda v: format_number(v, 3)) + "</html>")


class ParameterTable(QtWidgets.QTableWidget):
    """πₖ, Nₖ, μₖ and Σₖ (as σ and ρ on the axes shown) of every component. A collapsing
    component's row is red and its λmin (smallest eigenvalue of Σₖ − reg_covar·I) is shown."""

    def __init__(self, parent=None) -> None:
        super().__init__(0, 4, parent)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.setAlternatingRowColors(True)
        self.setHorizontalScrollMode(QtWidgets.QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setTextElideMode(QtCore.Qt.TextElideMode.ElideNone)  # d > 2 scrolls, nothing is cut
        header = self.horizontalHeader()
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.marked: list[int] = []  # the rows marked as collapsing
        self.headers: list[str] = []
        self.LAMBDA_COLUMN = 3
        self.setToolTip("Each component: weight πₖ, effective size Nₖ = Σᵢ rᵢₖ, mean μₖ, and Σₖ on the axes "
                        "shown as standard deviations σ and their correlation ρ.\n"
                        "Hover a σ or ρ cell for the full covariance matrix. A red row is a component that is "
                        "collapsing: its covariance is (nearly) flat or it holds too few points for what its model estimates for it alone; λmin is the smallest "
                        "eigenvalue of Σₖ − reg_covar·I.")
        self.setWordWrap(False)

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt API
        return QtCore.QSize(440, 150)

    def readable_width(self) -> int:
        """The width, from this font, that shows every column of a typical 2-D fit's table (wider
        data scroll sideways): each cell's text and padding as the table sizes its columns, and
        the frame."""
        metrics = QtGui.QFontMetricsF(self.font())  # the delegate rounds each text's width up
        style = self.style()
        padding = 2 * (style.pixelMetric(QtWidgets.QStyle.PixelMetric.PM_FocusFrameHMargin, None, self) + 1) + 1
        minimum = self.horizontalHeader().minimumSectionSize()
        columns = sum(max(math.ceil(metrics.horizontalAdvance(text)) + padding, minimum) for text in TYPICAL_2D_ROW)
        return columns + 2 * self.frameWidth()

    def _set_headers(self, headers: list[str]) -> None:
        if headers == self.headers:
            return
        self.headers = headers
        self.setColumnCount(len(headers))
        self.setHorizontalHeaderLabels(headers)
        # A column hidden under the old headers (the λmin column of an empty table is column 3)
        # would hide a data column of the new ones: all shown, then λmin hidden again by _mark.
        for column in range(len(headers)):
            self.setColumnHidden(column, False)
        self.LAMBDA_COLUMN = len(headers) - 1
        self.setRowCount(0)  # rebuilt with the new columns

    def _ensure_rows(self, k: int) -> None:
        if self.rowCount() == k and all(self.item(r, c) is not None for r in range(k)
                                        for c in range(self.columnCount())):
            return
        self.setRowCount(k)
        for r in range(k):
            for c in range(self.columnCount()):
                item = QtWidgets.QTableWidgetItem()
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter if c == 0 else RIGHT)
                self.setItem(r, c, item)

    def show_frame(self, frame, axes: tuple[int, int], columns) -> None:
        if frame is None:
            self.setRowCount(0)
            self.marked = []
            self.setColumnHidden(self.LAMBDA_COLUMN, True)
            return
        params = frame.params
        k, d = params.n_components, params.n_features
        self._set_headers(column_headers(columns, axes, d))
        self._ensure_rows(k)
        full = params.full_covariances()
        shown = shown_columns(axes) if d > 1 else [0]
        colours = palette(k)
        mean_scale = float(np.max(np.abs(params.means))) if params.means.size else None
        for r in range(k):
            swatch = self.item(r, 0)
            swatch.setBackground(QtGui.QColor(*(int(v) for v in colours[r])))
            swatch.setForeground(text_on(colours[r]))
            swatch.setText(str(r + 1))
            swatch.setToolTip(f"Component {r + 1}: its colour on the plot")
            self.item(r, 1).setText(format_share(params.weights[r]))
            self.item(r, 2).setText(f"{frame.component_sizes[r]:.1f}")
            for j in range(d):
                cell = self.item(r, 3 + j)
                cell.setText(format_number(params.means[r, j], 4, mean_scale))
                cell.setToolTip(f"μ of component {r + 1} on {columns[j]}: {params.means[r, j]:.10g}")
            std, corr = std_and_correlation(full[r][np.ix_(shown, shown)])
            tip = covariance_tooltip(r, full[r], columns)
            column = 3 + d
            for s in std:
                self.item(r, column).setText(format_number(s))
                self.item(r, column).setToolTip(tip)
                column += 1
            if len(shown) == 2:
                self.item(r, column).setText(format_number(corr[0, 1], 3))
                self.item(r, column).setToolTip(tip)
        self._mark(frame, k)

    def _mark(self, frame, k: int) -> None:
        """Red text on a pale red background for the rows of collapsing components, with λmin."""
        collapse = {c.component: c for c in frame.collapse if c.component < k}
        self.marked = sorted(collapse)
        self.setColumnHidden(self.LAMBDA_COLUMN, not collapse)
        red, pale = QtGui.QColor(COLLAPSE_RED), QtGui.QColor(COLLAPSE_BACKGROUND)
        for r in range(k):
            entry = collapse.get(r)
            lam = self.item(r, self.LAMBDA_COLUMN)
            lam.setText("" if entry is None else display_eigenvalue(entry.smallest_eigenvalue))
            tip = "" if entry is None else (
                f"Component {r + 1} is collapsing: λmin = {display_eigenvalue(entry.smallest_eigenvalue)}, "
                f"Nₖ = {entry.size:.1f}. Right-click for fixes.")
            for c in range(1, self.columnCount()):
                item = self.item(r, c)
                item.setForeground(red if entry is not None else QtGui.QBrush())
                item.setBackground(pale if entry is not None else QtGui.QBrush())
                if c in (1, 2, self.LAMBDA_COLUMN):
                    item.setToolTip(tip)
            self.item(r, 0).setText(f"{r + 1}⚠" if entry is not None else str(r + 1))
