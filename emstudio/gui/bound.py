"""The Lower bound panel: the bound plot, the values of the half-step on screen, a caption.

Plot, values and caption are in one unit, chosen in the panel: per sample (the default, as the
log-likelihood plot) or sums over the samples. The parts: :mod:`bound_series` turns frames into
half-step series (pure), :mod:`bound_caption` words and numbers (pure), :mod:`bound_plot` draws.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6 import QtCore, QtGui, QtWidgets

from emstudio.gui.bound_caption import DEFAULT_DECIMALS, Numbers, describe, fixed, unit_name
from emstudio.gui.bound_plot import BOUND_COLOUR, GAP_RGBA, LOG_L_COLOUR, MARKER_COLOUR, BoundPlot
from emstudio.gui.bound_series import (  # noqa: F401 - the panel's names, for its users and tests
    EMPTY,
    PER_SAMPLE,
    SUMS,
    UNITS,
    WINDOW,
    HalfStepSeries,
    half_step_series,
    visible_window,
    y_range,
)
from emstudio.gui.worker import Frame

VALUE_ROWS = (
    # (key, name, tooltip) in reading order, two per row
    ("log_l", "log L", "log L(θ) = Σᵢ log Σₖ πₖ N(xᵢ | μₖ, Σₖ)"),
    ("bound", "F = Q + Ent", "The lower bound F(q, θ) = Q(θ | θₜ) + Ent(q) ≤ log L(θ)"),
    ("kl", "KL = log L − F", "KL(q ‖ p(z | x, θ)) ≥ 0: the gap between log L and F; zero right after an E-step"),
    ("q", "Q(θ | θₜ)", "Expected complete-data log-likelihood Σᵢₖ qᵢₖ [log πₖ + log N(xᵢ | μₖ, Σₖ)], q made by θₜ "
                       "(a factor model: also the expectation over its Gaussian q(z), of log N(xᵢ | μ + Λz, Ψ) "
                       "+ log N(z | 0, I))"),
    ("ent", "Ent(q)", "Entropy of the responsibilities, −Σᵢₖ qᵢₖ log qᵢₖ (a factor model adds its Gaussian "
                      "q(z)'s ½ log|2πeV| per sample); an M-step leaves it alone"),
    ("h", "H(θ | θₜ)", "H(θ | θₜ) = log L(θ) − Q(θ | θₜ) = Ent(q) + KL, the first seed's second term"),
    ("h0", "H(θₜ | θₜ)", ("H at the θₜ that made q (right after the E-step, where it equals Ent(q)): "
                          "H(θ | θₜ) ≥ H(θₜ | θₜ), so log L rises at least as much as Q")),
)
#: The gap bars' colour as it looks on white (the legend's swatch).
GAP_SWATCH = "#{:02x}{:02x}{:02x}".format(*(round(255 - GAP_RGBA[3] / 255 * (255 - c)) for c in GAP_RGBA[:3]))
UNIT_LABELS = {PER_SAMPLE: "per sample", SUMS: "sums"}


def repeats(previous: Frame | None, current: Frame | None) -> bool:
    """``current`` is the same half-step made again (Step E twice, Step M twice): a new frame of
    another request, of the same kind and iteration. Scrubbing shows the same frame objects."""
    return (previous is not None and current is not None and current is not previous
            and current.kind in ("E", "M") and current.kind == previous.kind
            and current.iteration == previous.iteration and current.run_id != previous.run_id)


class BoundPanel(QtWidgets.QScrollArea):
    """The bound plot, the values of the half-step on screen and a caption saying what happened.

    It scrolls when squeezed (a small window, many docks) instead of holding the window large.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        inner = QtWidgets.QWidget()
        self.setWidget(inner)
        layout = QtWidgets.QVBoxLayout(inner)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        header = QtWidgets.QHBoxLayout()
        self.legend = QtWidgets.QLabel(
            # Each entry unbreakable (a narrow dock wraps between entries, never inside one).
            f"<span style='color:{LOG_L_COLOUR}'>━</span>&nbsp;log&nbsp;L &nbsp; "
            f"<span style='color:{BOUND_COLOUR}'>━</span>&nbsp;F&nbsp;=&nbsp;Q&nbsp;+&nbsp;Ent &nbsp; "
            f"<span style='color:{GAP_SWATCH}'>█</span>&nbsp;KL&nbsp;gap &nbsp; "
            f"<span style='color:{MARKER_COLOUR}'>●</span>&nbsp;on&nbsp;screen")
        self.legend.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        header.addWidget(self.legend, 1)
        self.unit_box = QtWidgets.QComboBox()
        for unit in UNITS:
            self.unit_box.addItem(UNIT_LABELS[unit], unit)
        self.unit_box.setToolTip("The unit of the plot, the values and the caption: per sample (the sums "
                                 "divided by n, as the log-likelihood plot) or the sums over the samples")
        self.unit_box.currentIndexChanged.connect(self._unit_changed)
        header.addWidget(self.unit_box)
        self.all_box = QtWidgets.QCheckBox("all")
        self.all_box.setToolTip(f"Draw every half-step (unticked: {WINDOW} half-steps, scaled so that the gap of "
                                "the latest iterations shows)")
        self.all_box.toggled.connect(self._show_all)
        header.addWidget(self.all_box)
        layout.addLayout(header)
        self.plot = BoundPlot()
        layout.addWidget(self.plot, 1)

        self.where = QtWidgets.QLabel()
        self.where.setStyleSheet("color: #444;")
        # Its text changes every frame: its width must not re-lay the panel out (see the caption).
        self.where.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        layout.addWidget(self.where)
        layout.addLayout(self._values_grid())
        self.caption = QtWidgets.QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.caption.setStyleSheet("QLabel { background: #f4f6fa; border: 1px solid #dde2ea; border-radius: 4px;"
                                   " padding: 5px; color: #222; }")
        self.caption.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Minimum)
        # Four lines kept for the caption: a caption of another length would resize the plot above
        # it (a relayout and a repaint of the whole panel) at every frame of a run.
        self.caption.setMinimumHeight(4 * self.caption.fontMetrics().lineSpacing() + 14)
        layout.addWidget(self.caption)
        self._key: tuple = (None, None, None)
        self._stamp: tuple = ()
        self._shown_args: tuple | None = None  # what show_state drew last
        self._previous: Frame | None = None  # the frame on screen before this one (a repeated step?)
        self.clear()

    def _values_grid(self) -> QtWidgets.QGridLayout:
        grid = QtWidgets.QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        # Tight: at 1024 × 700 the two columns of values must fit the right-hand docks' width.
        grid.setHorizontalSpacing(5)
        grid.setVerticalSpacing(1)
        self.values: dict[str, QtWidgets.QLabel] = {}
        mono = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
        for position, (key, name, tip) in enumerate(VALUE_ROWS):
            row, column = divmod(position, 2)
            label = QtWidgets.QLabel(name)
            label.setToolTip(tip)
            value = QtWidgets.QLabel("—")
            value.setFont(mono)
            # Room for any value, so that new numbers never re-lay the panel out during a run.
            value.setMinimumWidth(QtGui.QFontMetrics(mono).horizontalAdvance("−1234567.8901") + 4)
            value.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
            value.setToolTip(tip)
            value.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(label, row, 3 * column)
            grid.addWidget(value, row, 3 * column + 1)
            self.values[key] = value
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(4, 1)
        grid.setColumnMinimumWidth(2, 6)
        return grid

    @property
    def unit(self) -> str:
        return self.unit_box.currentData()

    def set_unit(self, unit: str) -> None:
        """Show per sample (PER_SAMPLE) or sums (SUMS): plot, values and caption alike."""
        self.unit_box.setCurrentIndex(self.unit_box.findData(unit))

    def clear(self) -> None:
        """Nothing fitted (new data)."""
        self._key, self._stamp = (None, None, None), ()
        self._shown_args = None
        self._previous = None
        self.series = EMPTY
        self.plot.show_series(EMPTY)
        self._show_values(None, None)
        self.where.setText("")
        self.caption.setText(describe(EMPTY, None))

    def show_state(self, history: Sequence[Frame], current: Frame | None, index: int) -> None:
        """Show the fit's half-steps with ``current`` on screen (``index``: its place in the history)."""
        # The window calls this for every drawn frame and every history change; frames are
        # immutable, so the same objects mean the same picture.
        key = (history, history[-1] if history else None, current)
        stamp = (len(history), index)
        if stamp == self._stamp and all(a is b for a, b in zip(key, self._key)):
            return
        self._key, self._stamp = key, stamp
        self._shown_args = (history, current, index)
        previous, self._previous = self._previous, current
        self._draw(history, current, index, repeats(previous, current))

    def _draw(self, history: Sequence[Frame], current: Frame | None, index: int, repeated: bool = False) -> None:
        if current is None and not history:
            self.clear()
            return
        if not self.plot.show_all and len(history) > 2 * WINDOW:
            # Only the frames the window can draw: a run of 20,000 iterations would otherwise cost
            # ~20 ms per redraw. Each frame gives at most two half-steps; labels carry iterations.
            at = index if 0 <= index < len(history) else len(history) - 1
            first = max(0, at - WINDOW)
            history, index = history[first:at + WINDOW + 1], index - first if 0 <= index < len(history) else -1
        self.series = series = half_step_series(history, current, index)
        self.plot.show_series(series)
        i = series.shown
        self._show_values(i, current)
        if i is None:
            what = "a hand edit" if current is not None and current.kind == "edit" else "a start"
            self.where.setText(f"iteration {current.iteration if current else 0}: {what}, no q yet")
        else:
            self.where.setText(f"at {series.labels[i]} — {unit_name(self.unit, series.n_samples)}, "
                               "plot and numbers alike")
        self.caption.setText(describe(series, current.kind if current is not None else None, self.unit, repeated))

    def _redraw(self) -> None:
        """Draw the state shown last again (after a change of unit or of "all")."""
        self._stamp = ()
        if self._shown_args is not None:
            self._key, self._stamp = (None, None, None), ()
            self._draw(*self._shown_args)

    def _show_all(self, show_all: bool) -> None:
        """The "all" box: every half-step, or the window of the latest (the series is remade)."""
        self.plot.show_all = bool(show_all)
        if self._shown_args is not None:
            self._redraw()
        else:
            self.plot.set_show_all(show_all)

    def _unit_changed(self, *_) -> None:
        self.plot.unit = self.unit
        if self._shown_args is not None:
            self._redraw()
        else:
            self.plot.set_unit(self.unit)

    def _show_values(self, i: int | None, current: Frame | None) -> None:
        if i is None:
            for key, label in self.values.items():
                label.setText("—")
            if current is not None:  # a start or an edit: log L is known, the bound is not
                per = 1 if self.unit == SUMS else current.n_samples
                self.values["log_l"].setText(fixed(current.log_likelihood / per, DEFAULT_DECIMALS[self.unit]))
            return
        numbers = Numbers(self.series, i, self.unit)
        t = self.series.terms[i]
        e = self.series.after_e[i]
        shown = {"log_l": numbers.value(t.log_likelihood), "bound": numbers.value(t.lower_bound),
                 "kl": numbers.kl(t), "q": numbers.value(t.expected_complete), "ent": numbers.value(t.entropy),
                 "h": numbers.value(t.h), "h0": numbers.value(e.h) if e is not None else "—"}
        for key, text in shown.items():
            self.values[key].setText(text)
