"""The bound view: log L and the lower bound F over EM's half-steps, the KL gap shaded between them.

Every iteration t is two half-steps. After the E-step (Eₜ) q = p(z | x, θₜ₋₁), so the bound
touches: F = log L(θₜ₋₁), KL = 0. After the M-step (Mₜ) θₜ maximises Q(θ | θₜ₋₁): F rose by ΔF and
a gap KL ≥ 0 opened, so log L(θₜ) = F + KL rose by ΔF + KL ≥ ΔF. Drawn over half-steps, log L is a
staircase (flat over each E-step: θ does not move) and F a saw-tooth that touches it at every E.

:func:`half_step_series` and :func:`describe` are pure (frames in, numbers and words out); the
widgets only draw what they are given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from emstudio.core.checks import FALL_TOLERANCE
from emstudio.core.estep import BoundTerms
from emstudio.gui.views import INK, MAX_DOTS, _style_plot
from emstudio.gui.worker import Frame

LOG_L_COLOUR = "#1f77b4"
BOUND_COLOUR = "#ff7f0e"
GAP_RGBA = (214, 39, 40, 80)
MARKER_COLOUR = "#d62728"
#: Half-steps drawn unless "all" is ticked: five iterations, each half-step labelled.
WINDOW = 10
#: The y-scale keeps the half-steps of the iteration on screen and of the one before it (see
#: :func:`y_range`) at least a third of the plot's height. log L's steps shrink as EM converges:
#: a first iteration's big step would flatten the gap of the third one to a pixel, while against
#: its own iteration's step a gap is always a visible fraction. "all" shows the whole climb.
FOCUS_SHARE = 1 / 3


# ---------------------------------------------------------------------- the series (pure)
@dataclass(frozen=True, eq=False)
class HalfStepSeries:
    """The half-steps E1, M1, E2, M2, … of a fit, in order.

    kinds: "E" or "M" per half-step; iterations: the iteration each belongs to; terms: the bound
    terms of (q, θ) at that half-step (sums over the samples); after_e: the terms of the same
    iteration's E-step, (q, θ that made q) — for an E half-step its own terms, None if unknown;
    shown: the position of the half-step on screen, None when the state on screen has no q (a
    start). ``log_l`` and ``bound`` (m,) are log L and F per sample, as the log-likelihood plot.
    edits: positions between half-steps (i − 0.5) where θ was changed by hand: the curves may
    jump either way there, which is no EM step.
    """

    kinds: tuple[str, ...]
    iterations: tuple[int, ...]
    terms: tuple[BoundTerms, ...]
    after_e: tuple[BoundTerms | None, ...]
    n_samples: int
    shown: int | None
    log_l: np.ndarray
    bound: np.ndarray
    edits: tuple[float, ...] = ()

    def __len__(self) -> int:
        return len(self.kinds)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(f"{kind}{iteration}" for kind, iteration in zip(self.kinds, self.iterations))

    @property
    def kl(self) -> np.ndarray:
        """KL per sample (m,): the height of the shaded gap."""
        return self.log_l - self.bound


EMPTY = HalfStepSeries((), (), (), (), 1, None, np.empty(0), np.empty(0))


def half_step_series(history: Sequence[Frame], current: Frame | None, index: int) -> HalfStepSeries:
    """The half-steps of ``history`` (the controller's kept frames) and of ``current``.

    A kept frame of an iteration (a run's "iteration" or a step's "M") gives its E point (from
    ``terms_after_e``) and its M point (from ``terms``); a "start" gives none. A ``current`` E frame
    (a lone E-step, not kept in the history) adds a trailing E point, and is the half-step on
    screen; otherwise the M point of ``history[index]`` is.
    """
    kinds: list[str] = []
    iterations: list[int] = []
    terms: list[BoundTerms] = []
    after_e: list[BoundTerms | None] = []
    shown = None
    n = 1
    edits: list[float] = []
    for position, frame in enumerate(history):
        if frame.kind == "edit" and kinds:
            edits.append(len(kinds) - 0.5)
        if frame.terms is None:
            continue
        n = frame.n_samples
        if frame.terms_after_e is not None:
            kinds.append("E")
            iterations.append(frame.iteration)
            terms.append(frame.terms_after_e)
            after_e.append(frame.terms_after_e)
        kinds.append("M")
        iterations.append(frame.iteration)
        terms.append(frame.terms)
        after_e.append(frame.terms_after_e)
        if position == index:
            shown = len(kinds) - 1
    if current is not None and current.kind == "E" and current.terms is not None:
        n = current.n_samples
        kinds.append("E")
        iterations.append(current.iteration)
        terms.append(current.terms)
        after_e.append(current.terms)
        shown = len(kinds) - 1
    if not kinds:
        return HalfStepSeries((), (), (), (), n, None, np.empty(0), np.empty(0))
    log_l = np.fromiter((t.log_likelihood for t in terms), float, len(terms)) / n
    bound = np.fromiter((t.expected_complete + t.entropy for t in terms), float, len(terms)) / n
    return HalfStepSeries(tuple(kinds), tuple(iterations), tuple(terms), tuple(after_e), n, shown, log_l, bound,
                          tuple(dict.fromkeys(edits)))


def visible_window(length: int, shown: int | None, width: int = WINDOW) -> tuple[int, int]:
    """First and last position drawn (inclusive): the last ``width`` half-steps, or, when the one
    on screen is earlier, a window holding it with a quarter of the window after it."""
    if length <= width:
        return 0, max(length - 1, 0)
    last = length - 1
    if shown is not None and shown < length - width // 4:
        last = min(length - 1, max(shown + width // 4, width - 1))
    return last - width + 1, last


def focus(series: HalfStepSeries, first: int, last: int) -> tuple[int, int]:
    """First and last position (inclusive) that must be seen at a readable scale: the half-steps
    of the iteration on screen and of the one before it, and the half-step after it (the latest
    two iterations when nothing drawn is on screen), within the drawn ``first``…``last``."""
    anchor = series.shown if series.shown is not None and first <= series.shown <= last else last
    iteration = series.iterations[anchor]
    start = anchor
    while start > first and series.iterations[start - 1] >= iteration - 1:
        start -= 1
    return start, min(last, anchor + 1)


def y_range(series: HalfStepSeries, first: int, last: int, whole: bool = False) -> tuple[float, float]:
    """The values (per sample) the plot's height spans, before padding: every drawn half-step,
    but, unless ``whole``, no more than the focus half-steps' span / FOCUS_SHARE — older, far
    lower half-steps run off the bottom."""
    low = float(series.bound[first:last + 1].min())
    high = float(series.log_l[first:last + 1].max())
    if whole:
        return low, high
    start, end = focus(series, first, last)
    focus_low = float(series.bound[start:end + 1].min())
    focus_high = float(series.log_l[start:end + 1].max())
    room = (focus_high - focus_low) * (1 / FOCUS_SHARE - 1)
    return max(low, focus_low - room), min(high, focus_high + room)


def _g(value: float, digits: int = 8) -> str:
    return f"{value:.{digits}g}".replace("-", "−")


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "") + _g(value, 4)


def _kl_text(t: BoundTerms) -> str:
    """KL for the values table: right after an E-step it is zero up to round-off (−2e−13), which
    would only puzzle a reader: say ≈ 0 instead."""
    if abs(t.kl) <= 1e-9 * max(abs(t.log_likelihood), 1.0):
        return "≈ 0"
    return _g(t.kl, 3)


def describe(series: HalfStepSeries, frame_kind: str | None) -> str:
    """A short plain-language caption of the half-step on screen and why log L cannot fall.

    ``frame_kind`` is the kind of the frame on screen ("start", "E", "M", "iteration", or None with
    nothing fitted): a run's iteration is told as both of its half-steps.
    """
    if frame_kind is None:
        return "Step E (E), Step M (M) or Run (Space) to see EM's lower bound F climb under log L."
    if frame_kind == "edit":
        return ("A hand edit: θ was changed by hand, not by EM, so log L may have gone either way (the "
                "orange dashed line). There is no q for this θ yet — Step E (E) sets q = p(z | x, θ), the "
                "bound touches log L again, and from there every EM step climbs as before.")
    i = series.shown
    if i is None:
        return ("A start: θ is set but there is no q yet, so there is no bound to draw — press Step E (E) "
                "to set q = p(z | x, θ) and see F touch log L.")
    t = series.terms[i]
    iteration = series.iterations[i]
    if series.kinds[i] == "E":
        text = (f"E-step {iteration}: q = p(z | x, θ), the posterior under θ, so KL = 0 and the bound "
                "touches log L. θ did not move, so log L stayed")
        if i > 0 and series.kinds[i - 1] == "M":
            text += f"; F rose by {_g(t.lower_bound - series.terms[i - 1].lower_bound, 4)} to meet it"
        return text + ". Next: Step M (M)."
    e = series.after_e[i]
    if e is None:
        return f"Iteration {iteration}: log L = F + KL with KL ≥ 0."
    rise_f = t.lower_bound - e.lower_bound
    rise_l = t.log_likelihood - e.log_likelihood
    if frame_kind == "iteration":
        head = (f"Iteration {iteration}, E then M: the E-step made q = p(z | x, θ) (KL = 0, F = log L); the "
                f"M-step maximised Q, so F rose by ΔF = {_g(rise_f, 4)}")
    else:
        head = (f"M-step {iteration}: θ maximises Q(θ | θₜ) for this q and Ent(q) is unchanged, so F rose by "
                f"ΔF = {_g(rise_f, 4)}")
    rounding = FALL_TOLERANCE * max(abs(t.log_likelihood), 1.0)  # float sums over n samples
    if rise_f < -rounding:
        # reg_covar·I added to a covariance is not Q's maximiser: only a collapsing component shows it.
        return (head + ". F fell: the reg_covar added to a collapsing component's covariance moved θ off "
                f"Q's maximum. log L changed by {_signed(rise_l)}.")
    if abs(rise_f) <= rounding and abs(rise_l) <= rounding:
        return (head + " — that is, not at all (to rounding): θ is already Q's maximiser for this q, so EM "
                "has converged here; log L and F stay where they are.")
    return (head + f" and KL = {_g(t.kl, 3)} ≥ 0 opened: log L rose by ΔF + KL = {_g(rise_l, 4)} ≥ ΔF. "
            "It cannot fall (as H(θ | θₜ) ≥ H(θₜ | θₜ)).")


# ---------------------------------------------------------------------- the plot
class BoundPlot(pg.PlotWidget):
    """log L and F per sample over half-steps, the KL gap shaded, the half-step on screen marked.

    Draws the last :data:`WINDOW` half-steps, or those around the one on screen, scaled so that
    the latest two iterations fill at least a third of the height (the gap stays visible when it
    has shrunk to 1e-6); or every half-step at once (:meth:`set_show_all`).
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="w")
        self.plot_item: pg.PlotItem = self.getPlotItem()
        _style_plot(self.plot_item)
        self.plot_item.setMenuEnabled(False)
        self.plot_item.hideButtons()
        self.plot_item.setMouseEnabled(x=False, y=False)  # the range follows the half-steps
        self.plot_item.getViewBox().disableAutoRange()
        self.plot_item.setLabel("left", "per sample", color=INK)
        self.show_all = False
        self.series = EMPTY
        self.window = (0, -1)
        self.redraws = 0
        # Items, made once.
        # connect="finite": a NaN breaks both curves (and the shaded gap) where a hand edit split them.
        self.bound_curve = pg.PlotDataItem(pen=pg.mkPen(BOUND_COLOUR, width=2), symbol="o", symbolSize=5,
                                           symbolBrush=BOUND_COLOUR, symbolPen=None, connect="finite")
        self.log_l_curve = pg.PlotDataItem(pen=pg.mkPen(LOG_L_COLOUR, width=2), symbol="o", symbolSize=5,
                                           symbolBrush=LOG_L_COLOUR, symbolPen=None, connect="finite")
        self.gap = pg.FillBetweenItem(self.log_l_curve, self.bound_curve, brush=pg.mkBrush(*GAP_RGBA))
        self.line = pg.InfiniteLine(angle=90, pen=pg.mkPen(MARKER_COLOUR, width=1, style=QtCore.Qt.PenStyle.DotLine))
        self.marker = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(MARKER_COLOUR), pen=pg.mkPen("w", width=1.5))
        self.placeholder = pg.TextItem("", color="#777", anchor=(0.5, 0.5))
        # Hand edits: one item of vertical dashes (broken by NaN) between the half-steps they split.
        self.edit_lines = pg.PlotDataItem(connect="finite", pen=pg.mkPen("#e07b00", width=1.5,
                                                                          style=QtCore.Qt.PenStyle.DashLine))
        for z, item in enumerate((self.edit_lines, self.gap, self.bound_curve, self.log_l_curve, self.line,
                                  self.marker, self.placeholder)):
            self.plot_item.addItem(item)
            item.setZValue(z)
        self.line.setVisible(False)
        self.setToolTip("EM's two curves over half-steps: log L(θ) (blue) and the lower bound F(q, θ) = Q + Ent "
                        "(orange), per sample.\nThe shaded gap between them is KL(q ‖ p(z | x, θ)) ≥ 0: zero after "
                        "every E-step (the bound touches), open after every M-step.\nThe red mark is the "
                        "half-step on screen.")
        self.setMinimumHeight(110)
        self.show_series(EMPTY)

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt API
        # Small: the dock gives it the room left over by the values and the caption.
        return QtCore.QSize(440, 160)

    def set_show_all(self, show_all: bool) -> None:
        self.show_all = bool(show_all)
        self.show_series(self.series)

    def show_series(self, series: HalfStepSeries) -> None:
        self.series = series
        m = len(series)
        vb = self.plot_item.getViewBox()
        if m == 0:
            for item in (self.log_l_curve, self.bound_curve, self.edit_lines):
                item.setData([], [])
            self.marker.setData([], [])
            self.line.setVisible(False)
            self.window = (0, -1)
            self.placeholder.setText("no half-steps yet: Step E (E), Step M (M) or Run")
            self.placeholder.setPos(0.5, 0.5)
            self.placeholder.setVisible(True)
            for name in ("bottom", "left"):  # no numbers on an empty plot
                self.plot_item.getAxis(name).setTicks([[], []])
            vb.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
            self.redraws += 1
            return
        self.placeholder.setVisible(False)
        self.plot_item.getAxis("left").setTicks(None)
        first, last = (0, m - 1) if self.show_all else visible_window(m, series.shown)
        self.window = (first, last)
        x = np.arange(first, last + 1, dtype=float)
        log_l, bound = series.log_l[first:last + 1], series.bound[first:last + 1]
        # The half-steps either side of a hand edit are not joined: no EM step led from one to the other.
        cuts = [int(np.ceil(e)) - first for e in series.edits if first < e < last]
        if cuts:
            x = np.insert(x, cuts, np.nan)
            log_l, bound = np.insert(log_l, cuts, np.nan), np.insert(bound, cuts, np.nan)
        drawn = self.log_l_curve.getData()
        if not (drawn[0] is not None and np.array_equal(drawn[0], x, equal_nan=True)
                and np.array_equal(drawn[1], log_l, equal_nan=True)
                and np.array_equal(self.bound_curve.getData()[1], bound, equal_nan=True)):
            # Only when the curves changed: scrubbing a long history with "all" ticked moves the
            # marker alone (redrawing 40,000 points and their gap took ~0.4 s a step).
            dots = "o" if len(x) <= MAX_DOTS else None
            for curve, y in ((self.log_l_curve, log_l), (self.bound_curve, bound)):
                if curve.opts["symbol"] != dots:
                    curve.setSymbol(dots)
                curve.setData(x, y)
        shown = series.shown
        if shown is not None and first <= shown <= last:
            self.marker.setData([shown, shown], [series.log_l[shown], series.bound[shown]])
            self.line.setValue(shown)
            self.line.setVisible(True)
        else:
            self.marker.setData([], [])
            self.line.setVisible(False)
        low, high = y_range(series, first, last, self.show_all)
        # One lone point (a first E-step) has no span of its own: give it a little room.
        span = max(high - low, (1e-3 if first == last else 1e-12) * max(abs(high), 1.0))
        bottom, top = low - 0.08 * span, high + 0.12 * span
        vb.setRange(xRange=(first - 0.6, last + 0.6), yRange=(bottom, top), padding=0)
        edits = [e for e in series.edits if first - 0.6 <= e <= last + 0.6]
        self.edit_lines.setData(np.repeat(edits, 3), np.tile([bottom, top, np.nan], len(edits)))
        self._set_ticks()
        self.redraws += 1

    def _set_ticks(self) -> None:
        """A label per half-step when they fit, else every s-th iteration's E (an even stride)."""
        first, last = self.window
        labels = self.series.labels
        count = last - first + 1
        axis = self.plot_item.getAxis("bottom")
        widest = QtGui.QFontMetrics(axis.style["tickFont"] or self.font()).horizontalAdvance(labels[last])
        room = max(2, int(self.plot_item.getViewBox().width() // (widest + 10)))
        positions = range(first, last + 1)
        if count <= room:
            major = [(p, labels[p]) for p in positions]
            minor = []
        else:
            stride = 2 * math.ceil(count / (2 * room))
            start = next((p for p in positions if self.series.kinds[p] == "E"), first)
            major = [(p, labels[p]) for p in range(start, last + 1, stride)]
            # A minor tick per half-step while they stay apart; "all" of a long run would be a grey wall.
            minor = [(p, "") for p in positions] if count <= 3 * room else []
        self.plot_item.getAxis("bottom").setTicks([major, minor])

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        # pyqtgraph resizes the view from inside PlotWidget's own __init__, before ours has run.
        if len(getattr(self, "series", EMPTY)):
            self._set_ticks()


# ---------------------------------------------------------------------- the panel
VALUE_ROWS = (
    # (key, name, tooltip) in reading order, two per row
    ("log_l", "log L", "log L(θ) = Σᵢ log Σₖ πₖ N(xᵢ | μₖ, Σₖ), summed over the samples"),
    ("bound", "F = Q + Ent", "The lower bound F(q, θ) = Q(θ | θₜ) + Ent(q) ≤ log L(θ)"),
    ("kl", "KL = log L − F", "KL(q ‖ p(z | x, θ)) ≥ 0: the gap between log L and F; zero right after an E-step"),
    ("q", "Q(θ | θₜ)", "Expected complete-data log-likelihood Σᵢₖ qᵢₖ [log πₖ + log N(xᵢ | μₖ, Σₖ)], q made by θₜ"),
    ("ent", "Ent(q)", "Entropy of the responsibilities, −Σᵢₖ qᵢₖ log qᵢₖ (an M-step leaves it alone)"),
    ("h", "H(θ | θₜ)", "H(θ | θₜ) = log L(θ) − Q(θ | θₜ) = Ent(q) + KL, the first seed's second term"),
    ("h0", "H(θₜ | θₜ)", ("H at the θₜ that made q (right after the E-step, where it equals Ent(q)): "
                          "H(θ | θₜ) ≥ H(θₜ | θₜ), so log L rises at least as much as Q")),
)


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
            f"<span style='color:{LOG_L_COLOUR}'>━</span> log L &nbsp; "
            f"<span style='color:{BOUND_COLOUR}'>━</span> F = Q + Ent &nbsp; "
            f"<span style='background:rgba{GAP_RGBA[:3] + (0.4,)}'>&nbsp;&nbsp;&nbsp;</span> KL gap &nbsp; "
            f"<span style='color:{MARKER_COLOUR}'>●</span> on screen")
        self.legend.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        header.addWidget(self.legend, 1)
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
        grid = QtWidgets.QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
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
        grid.setColumnMinimumWidth(2, 10)
        layout.addLayout(grid)
        self.caption = QtWidgets.QLabel()
        self.caption.setWordWrap(True)
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
        self.clear()

    def clear(self) -> None:
        """Nothing fitted (new data)."""
        self._key, self._stamp = (None, None, None), ()
        self._shown_args = None
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
        if i is None:
            self._show_values(None, current)
            what = "a hand edit" if current is not None and current.kind == "edit" else "a start"
            self.where.setText(f"iteration {current.iteration if current else 0}: {what}, no q yet")
        else:
            self._show_values(i, current)
            self.where.setText(f"at {series.labels[i]} — sums over the {series.n_samples:,} samples "
                               "(the plot: per sample)")
        self.caption.setText(describe(series, current.kind if current is not None else None))

    def _show_all(self, show_all: bool) -> None:
        """The "all" box: every half-step, or the window of the latest (the series is remade)."""
        self.plot.show_all = bool(show_all)
        self._stamp = ()
        if self._shown_args is not None:
            self.show_state(*self._shown_args)
        else:
            self.plot.set_show_all(show_all)

    def _show_values(self, i: int | None, current: Frame | None) -> None:
        if i is None:
            for key, label in self.values.items():
                label.setText(_g(current.log_likelihood) if key == "log_l" and current is not None else "—")
            return
        t = self.series.terms[i]
        e = self.series.after_e[i]
        shown = {"log_l": _g(t.log_likelihood), "bound": _g(t.lower_bound), "kl": _kl_text(t),
                 "q": _g(t.expected_complete), "ent": _g(t.entropy), "h": _g(t.h),
                 "h0": _g(e.h) if e is not None else "—"}
        for key, text in shown.items():
            self.values[key].setText(text)
