"""Status reporting: the status line, the state word, errors (the banner), what a frame is, and the
monotonicity indicator (did log L ever fall between two EM iterations?)."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

MONOTONE_STYLE = "padding: 1px 6px;"


def not_an_em_step(before, after) -> bool:
    """Whether history entry ``after`` was reached from ``before`` by something other than EM with
    the same model: a start, a hand edit, or a change of covariance model or reg_covar between them.
    No rise of log L is promised there."""
    return (after.kind in ("start", "edit") or after.params.covariance_type != before.params.covariance_type
            or after.reg_covar != before.reg_covar)


class MonotonicityCheck:
    """The falls of log L in a history, checked once per entry: a run appends entries, so each
    update looks only at what is new (a history of 20,000 iterations is redrawn ~60 times a second)."""

    def __init__(self) -> None:
        self._length, self._last, self.steps, self.falls = 0, None, 0, []

    def update(self, history) -> tuple[int, list]:
        """(EM steps checked, falls (core.checks.Fall, index into ``history``)) of ``history``."""
        from emstudio.core.checks import Fall, likelihood_falls, reg_covar_allowance

        m = self._length
        if not (0 < m <= len(history) and history[m - 1] is self._last):
            m, self.steps, self.falls = 0, 0, []  # not the same history grown: from the start
        begin = max(m - 1, 0)
        part = history[begin:]
        if len(part) > (1 if m else 0):
            breaks = [True] + [not_an_em_step(a, b) for a, b in zip(part, part[1:])]
            self.steps += breaks.count(False)
            # What reg_covar lets each step lower log L (Nₖ of the q the M-step used: the state before's).
            allowances = [0.0] + [reg_covar_allowance(a.params, b.params, a.component_sizes, b.reg_covar)
                                  if not broken and b.log_likelihood < a.log_likelihood else 0.0
                                  for a, b, broken in zip(part, part[1:], breaks[1:])]
            found = likelihood_falls([f.log_likelihood for f in part], [f.reg_covar_binds for f in part], breaks,
                                     allowances)
            self.falls += [Fall(f.index + begin, f.drop, f.explained) for f in found]
        self._length, self._last = len(history), history[-1] if history else None
        return self.steps, self.falls


def describe_frame(frame) -> str:
    """The status line for history entry ``frame``: which iteration, what step, log L, its change."""
    parts = []
    if frame.n_restarts > 1:
        parts.append(f"start {frame.restart + 1}/{frame.n_restarts}")
    if frame.kind == "edit":
        parts.append(f"iteration {frame.iteration}: edit — {frame.note}. Run (Space) or step to let EM go on "
                     "from here; Ctrl+Z undoes it")
    elif frame.kind == "E":
        parts.append(f"iteration {frame.iteration}: after the E-step")
    elif frame.kind == "M":
        parts.append(f"iteration {frame.iteration}: after the M-step")
    else:
        parts.append(f"iteration {frame.iteration}")
    parts.append(f"log L = {frame.log_likelihood:.6f} ({frame.mean_log_likelihood:.5f} per sample)")
    if frame.change is not None:
        parts.append(f"change {frame.change:+.3g} per sample")
    if frame.converged:
        parts.append("converged")
    if frame.identical:  # issue 10, item 8: a pair EM cannot separate
        from emstudio.core.checks import identical_warning

        parts.append(identical_warning(frame.identical, short=True))
    return "   ·   ".join(parts)


class Report:
    """Owns the status bar (the message line ``status``, the ``monotone_label`` indicator and the
    ``state_label`` word) and the error banner's text. Every part says things through it."""

    def __init__(self, window) -> None:
        self.window = window
        bar = window.statusBar()
        self.status = QtWidgets.QLabel("Open a data file or choose a sample to begin.")
        bar.addWidget(self.status, 1)
        self.monotone_label = QtWidgets.QPushButton()
        self.monotone_label.setFlat(True)
        self.monotone_label.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.monotone_label.clicked.connect(self.go_to_first_fall)
        # Always there (empty while there is nothing to check) and always the same padding: a
        # change of its height changes the status bar's, which re-lays out and repaints every
        # panel in the middle of a run.
        self.monotone_label.setStyleSheet(MONOTONE_STYLE)
        self._first_fall: int | None = None
        self._monotonicity = MonotonicityCheck()
        bar.addPermanentWidget(self.monotone_label)
        self.state_label = QtWidgets.QLabel()
        bar.addPermanentWidget(self.state_label)

    def say(self, text: str) -> None:
        """The status line."""
        self.status.setText(text)

    def set_state_word(self, word: str) -> None:
        """The word at the right of the status bar: ready, running…, converged, …"""
        self.state_label.setText(word)

    def show_error(self, message: str) -> None:
        """The first paragraph in the banner and the status line; the rest as the banner's tooltip."""
        first, _, details = message.partition("\n\n")
        banner = self.window.banner
        banner.show_message(first)
        if details:
            banner.setToolTip(details)
        self.status.setText(first)

    def show_frame(self, frame) -> None:
        self.status.setText(describe_frame(frame))

    def show_monotonicity(self, history) -> None:
        """The indicator in the status bar: did log L ever fall from one EM iteration to the next?
        Hand edits and starts are not EM steps and are left out; a fall within what reg_covar allows
        (core.checks.reg_covar_allowance) is the documented reg_covar effect (docs/results.md), shown
        but not called a fault."""
        label = self.monotone_label
        steps, falls = self._monotonicity.update(history)
        if not steps:
            label.setText("")
            label.setStyleSheet(MONOTONE_STYLE)
            label.setToolTip("")
            self._first_fall = None
            return
        faults = [f for f in falls if not f.explained]
        shown = faults or falls
        self._first_fall = shown[0].index if shown else None
        n = history[0].n_samples
        if faults:
            worst = faults[0]
            text = f"✗ log L fell at iteration {history[worst.index].iteration} (by {worst.drop / n:.3g} per sample)"
            style = MONOTONE_STYLE + "color: white; background: #c62828; border-radius: 3px;"
            tip = ("EM promises that log L never falls from one iteration to the next, and here it did where "
                   "reg_covar does not explain it. This is a fault: please report it with the data and settings. "
                   "Click to go to that iteration.")
        elif falls:
            largest = max(f.drop for f in falls) / n
            text = f"⚠ log L fell {len(falls)}× (≤ {largest:.2g} per sample), within what reg_covar allows"
            style = MONOTONE_STYLE + "color: #6d4c00; background: #fff3cd; border-radius: 3px;"
            tip = ("Expected, not a fault: with reg_covar·I added to each covariance the M-step maximises "
                   "Q − (reg/2) Σₖ Nₖ tr Σₖ⁻¹, not Q, so log L may fall by at most (reg/2) Σₖ Nₖ times the fall "
                   "of tr Σₖ⁻¹ — checked at each of these falls. It happens with healthy components too; the "
                   "penalty is large only where a component collapses (see docs/results.md). With reg_covar 0 "
                   "the M-step is exact and log L never falls. Click to go to the first such iteration.")
        else:
            text = "✓ log L never fell"
            style = MONOTONE_STYLE + "color: #2e7d32;"
            tip = (f"Checked after each of the {steps} EM iteration{'s' * (steps != 1)} of this history (hand edits, "
                   "starts and model changes aside): log L(θₜ) ≥ log L(θₜ₋₁) up to float rounding (1e-9 of "
                   "|log L|), as the lower-bound argument guarantees for an exact M-step.")
        # Only what changed: a new text re-lays the status bar out, a new style sheet re-polishes.
        if label.text() != text:
            label.setText(text)
        if label.styleSheet() != style:
            label.setStyleSheet(style)
        label.setToolTip(tip)

    def go_to_first_fall(self) -> None:
        if self._first_fall is not None and self.window.controller.state != "running":
            self.window.history.slider.setValue(self._first_fall)
