"""The Derivation tab: the seeds' argument in six steps, each with the numbers of the state on screen.

The numbers (core.derivation) take a pass over the data, so they are computed on a background
thread, only while the tab is shown, and only for the newest state asked for (a run moves on
faster than they could follow; the state a person stops at is the one computed).
"""

from __future__ import annotations

import threading

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from emstudio.gui.bound_plot import BOUND_COLOUR, LOG_L_COLOUR
from emstudio.gui.plot_style import INK, _style_plot, show_axis_values

from emstudio.gui.derivation_text import NOTATION, STEPS, step_html


def q_source(history, frame, index: int):
    """The θₜ whose posterior is the q of ``frame`` (None: no q — a start or an edit).

    Right after an E-step q comes from the θ on screen (an E-step is not a history entry: ``index``
    is then the entry it follows); after an M-step, or a run's iteration (E then M), history entry
    ``index``, from the entry before it."""
    if frame.kind in ("start", "edit"):
        return None
    if frame.kind == "E":
        return frame.params
    before = history[index - 1] if 0 < index < len(history) + 1 else None
    if before is None or before.params.n_components != frame.params.n_components:
        return None
    return before.params


class UniformBoundPicture(pg.PlotWidget):
    """Step 1 drawn: log L(θ) and, under it, the bound F(uniform q, θ) that any q gives, with the gap
    between them (KL of the uniform q) — per sample, as the Lower bound panel draws."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="w")
        item = self.getPlotItem()
        _style_plot(item)
        item.setMenuEnabled(False)
        item.setMouseEnabled(False, False)
        item.setLabel("left", "per sample", color=INK)
        item.getAxis("bottom").setTicks([[(0, "log L(θ)"), (1, "F(uniform q, θ)")]])
        self.gap = pg.BarGraphItem(x=[0.5], height=[0.0], y0=[0.0], width=1.6, brush=pg.mkBrush(214, 39, 40, 45),
                                   pen=None)
        self.log_l = pg.ScatterPlotItem(size=12, brush=pg.mkBrush(LOG_L_COLOUR), pen=None)
        self.bound = pg.ScatterPlotItem(size=12, brush=pg.mkBrush(BOUND_COLOUR), pen=None)
        self.levels = pg.PlotDataItem(pen=pg.mkPen(INK, width=1, style=QtCore.Qt.PenStyle.DashLine), connect="pairs")
        for z, part in enumerate((self.gap, self.levels, self.log_l, self.bound)):
            part.setZValue(z)
            item.addItem(part)
        item.setXRange(-0.6, 1.6, padding=0)
        self.setFixedHeight(170)
        show_axis_values(item, False)

    def show_numbers(self, numbers) -> None:
        if numbers is None:
            for part in (self.log_l, self.bound, self.levels):
                part.setData([], [])
            self.gap.setOpts(height=[0.0])
            show_axis_values(self.getPlotItem(), False)
            return
        n = numbers.n_samples
        top, low = numbers.log_likelihood / n, numbers.uniform_bound / n
        self.log_l.setData([0], [top])
        self.bound.setData([1], [low])
        self.levels.setData([-0.5, 1.5, -0.5, 1.5], [top, top, low, low])
        self.gap.setOpts(y0=[low], height=[top - low])
        span = max(top - low, 1e-12)
        self.getPlotItem().setYRange(low - 0.15 * span, top + 0.15 * span, padding=0)
        show_axis_values(self.getPlotItem(), True)


class DerivationPanel(QtWidgets.QWidget):
    """Six steps in a list; the chosen one's text and numbers beside it."""

    _computed = QtCore.Signal(int, object)  # request id, Derivation or the message of why not

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.steps = QtWidgets.QListWidget()
        for title, tip in (*STEPS, NOTATION):
            item = QtWidgets.QListWidgetItem(title)
            item.setToolTip(tip)
            self.steps.addItem(item)
        self.steps.setWordWrap(True)
        self.steps.setMaximumWidth(170)
        self.steps.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Expanding)
        right = QtWidgets.QVBoxLayout()
        self.where = QtWidgets.QLabel("No fit yet: open data, then Step E (E), Step M (M) or Run (Space).")
        self.where.setStyleSheet("color: #444;")
        self.where.setWordWrap(True)
        self.text = QtWidgets.QTextBrowser()
        self.text.setOpenExternalLinks(False)
        buttons = QtWidgets.QHBoxLayout()
        self.previous_button = QtWidgets.QPushButton("◀ Previous step")
        self.next_button = QtWidgets.QPushButton("Next step ▶")
        buttons.addWidget(self.previous_button)
        buttons.addStretch(1)
        buttons.addWidget(self.next_button)
        right.addWidget(self.where)
        self.picture = UniformBoundPicture()
        self.picture.setToolTip("Step 1 drawn: any q gives a lower bound F(q, θ) ≤ log L(θ); the uniform one "
                                "lies far below (the shaded gap is its KL)")
        right.addWidget(self.picture)
        right.addWidget(self.text, 1)
        right.addLayout(buttons)
        layout.addWidget(self.steps)
        layout.addLayout(right, 1)
        self.steps.currentRowChanged.connect(lambda _: self._render())
        self.previous_button.clicked.connect(lambda: self.steps.setCurrentRow(max(0, self.steps.currentRow() - 1)))
        self.next_button.clicked.connect(
            lambda: self.steps.setCurrentRow(min(len(STEPS), self.steps.currentRow() + 1)))
        self._computed.connect(self._on_computed, QtCore.Qt.ConnectionType.QueuedConnection)
        self.values = None  # (n, d) the data
        self.columns: tuple[str, ...] = ()
        self.axis = 0
        self.numbers = None  # the Derivation on screen
        self.frame = None  # the history entry it is of
        self._wanted = None  # (request id, frame, q params): the newest state asked for
        self._request_id = 0
        self._busy = False
        self.steps.setCurrentRow(0)

    # ------------------------------------------------------------------ input
    def set_data(self, values, columns) -> None:
        self.values, self.columns = values, tuple(columns)
        self.numbers, self._wanted = None, None
        self.where.setText("No fit yet: Step E (E), Step M (M) or Run (Space).")
        self._render()

    def set_axis(self, axis: int) -> None:
        self.axis = axis
        self._render()

    def show_state(self, history, frame, index: int | None) -> None:
        """Show the numbers of ``frame``, the state on screen (history entry ``index``, or the
        E-step after it); computed when the tab is on screen."""
        if self.values is None or frame is None or index is None:
            self.numbers, self.frame, self._wanted = None, None, None
            self._render()
            return
        if getattr(frame, "factor", None) is not None:  # the steps are the mixture's argument
            self.numbers, self.frame, self._wanted = None, None, None
            self.where.setText("A factor model is on screen: these steps follow the Gaussian mixture's argument "
                               "(docs/factor-analysis.md walks factor analysis through the same bound; the "
                               "Lower bound panel shows its terms).")
            self._render()
            return
        if frame.params is None or not hasattr(frame.params, "covariance_type"):
            return
        self._request_id += 1
        self._wanted = (self._request_id, frame, q_source(history, frame, index))
        self._compute_if_shown()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._compute_if_shown()

    # ------------------------------------------------------------------ computing
    def _compute_if_shown(self) -> None:
        if self._busy or self._wanted is None or not self.isVisible():
            return
        request_id, frame, q_params = self._wanted
        self._wanted = None
        self._busy = True
        values = self.values
        self.where.setText(f"{self._state_words(frame)} — computing…")

        def work() -> None:
            from emstudio.core.derivation import derive
            from emstudio.errors import EmstudioError

            try:
                outcome = (derive(values, frame.params, q_params, frame.reg_covar, frame.frozen), frame)
            except (EmstudioError, ValueError, FloatingPointError, ArithmeticError, MemoryError) as exc:
                outcome = f"the numbers could not be computed: {exc}"
            try:
                self._computed.emit(request_id, outcome)
            except RuntimeError:
                pass  # the window was closed meanwhile

        threading.Thread(target=work, name="emstudio-derivation", daemon=True).start()

    def _on_computed(self, request_id: int, outcome) -> None:
        self._busy = False
        if isinstance(outcome, str):
            self.where.setText(outcome)
        else:
            self.numbers, frame = outcome
            self.frame = frame
            self.where.setText(f"The numbers of the state on screen: {self._state_words(frame)} "
                               f"(sums over the {self.numbers.n_samples:,} samples).")
            self._render()
        self._compute_if_shown()  # a newer state was asked for meanwhile

    @staticmethod
    def _state_words(frame) -> str:
        return {"start": f"the start (iteration {frame.iteration})",
                "edit": f"a hand edit (iteration {frame.iteration})",
                "E": f"iteration {frame.iteration}, after the E-step",
                "M": f"iteration {frame.iteration}, after the M-step"}.get(frame.kind, f"iteration {frame.iteration}")

    def _render(self) -> None:
        row = max(0, self.steps.currentRow())
        # New numbers keep the place in the text; another step starts at its top.
        position = self.text.verticalScrollBar().value() if row == getattr(self, "_row", None) else 0
        self._row = row
        self.text.setHtml(step_html(row, self.numbers, self.columns, min(self.axis, max(len(self.columns) - 1, 0))))
        self.picture.setVisible(row == 0)
        self.picture.show_numbers(self.numbers if row == 0 else None)
        self.text.verticalScrollBar().setValue(position)
        self.previous_button.setEnabled(row > 0)
        self.next_button.setEnabled(row < len(STEPS))
