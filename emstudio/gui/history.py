"""The history bar under the plot (play, the slider through every kept iteration, the iteration
label) and the history panels it drives: the log-likelihood curve and the lower-bound panel."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

PLAY_INTERVAL_MS = 120
#: While EM runs, the log-likelihood curve, the lower-bound panel and the indicator are redrawn at
#: most this often (the plot of the data follows every drawn frame). Each redraw costs Python time
#: on the window's thread, which shares the GIL with the worker: redrawing every panel at ~60 Hz
#: stretched the longest event-loop stall from 35 to ~90 ms (benchmarks/bench_gui.py, 1e5 points).
PANEL_INTERVAL_MS = 100


class JumpSlider(QtWidgets.QSlider):
    """A slider that goes where it is clicked (a plain QSlider only pages towards the click), and
    can be dragged on from there."""

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.button() == QtCore.Qt.MouseButton.LeftButton and self.maximum() > self.minimum():
            option = QtWidgets.QStyleOptionSlider()
            self.initStyleOption(option)
            style = self.style()
            handle = style.subControlRect(QtWidgets.QStyle.ComplexControl.CC_Slider, option,
                                          QtWidgets.QStyle.SubControl.SC_SliderHandle, self)
            at = event.position().toPoint()
            if not handle.contains(at):
                groove = style.subControlRect(QtWidgets.QStyle.ComplexControl.CC_Slider, option,
                                              QtWidgets.QStyle.SubControl.SC_SliderGroove, self)
                if self.orientation() == QtCore.Qt.Orientation.Horizontal:
                    position, span = at.x() - groove.x() - handle.width() // 2, groove.width() - handle.width()
                else:
                    position, span = at.y() - groove.y() - handle.height() // 2, groove.height() - handle.height()
                self.setValue(QtWidgets.QStyle.sliderValueFromPosition(self.minimum(), self.maximum(), position,
                                                                       max(span, 1), option.upsideDown))
        super().mousePressEvent(event)


class HistoryBar:
    """Owns ``slider``, ``label``, the play timer and the panels' redraw timer. ``bar`` is the
    layout to put under the plot."""

    def __init__(self, window) -> None:
        self.window = window
        self.slider = JumpSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Scrub through every iteration of the fit: the ellipses, the table and the "
                               "log-likelihood mark follow. Run or step from here to continue EM "
                               "from that iteration.")
        self.slider.setEnabled(False)
        # A short slider still scrubs: on a small screen the room goes to the docks beside the plot.
        self.slider.setMinimumWidth(5 * self.slider.fontMetrics().horizontalAdvance("0"))
        self.play_button = QtWidgets.QToolButton()
        self.play_button.setDefaultAction(window.actions["play"])
        self.label = QtWidgets.QLabel("no fit yet")
        self.label.setMinimumWidth(120)
        self.label.setToolTip("The iteration on screen, of all kept")
        self.slider.setAccessibleName("History")
        self.bar = QtWidgets.QHBoxLayout()
        # No "History" word before the slider: ▶, the slider and "iteration i of m" say it, and on a
        # small screen its room goes to the docks beside the plot.
        self.bar.addWidget(self.play_button)
        self.bar.addWidget(self.slider, 1)
        self.bar.addWidget(self.label)
        self.shade_button = QtWidgets.QToolButton()
        self.shade_button.setDefaultAction(window.actions["shade_uncertainty"])
        self.bar.addWidget(self.shade_button)
        self.slider.valueChanged.connect(self._on_slider)
        self.play_timer = QtCore.QTimer(window)
        self.play_timer.setInterval(PLAY_INTERVAL_MS)
        self.play_timer.timeout.connect(self._play_tick)
        self.panels_timer = QtCore.QTimer(window)
        self.panels_timer.setSingleShot(True)
        self.panels_timer.setInterval(PANEL_INTERVAL_MS)
        self.panels_timer.timeout.connect(self.refresh_panels)

    # ------------------------------------------------------------------ the slider
    def on_history_changed(self, count: int, index: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(count - 1, 0))
        self.slider.setValue(max(index, 0))
        self.slider.blockSignals(False)
        self.update_panels()

    def _on_slider(self, value: int) -> None:
        self.window.controller.show_history(value)

    def set_enabled(self, on: bool) -> None:
        self.slider.setEnabled(on)
        self.window.actions["play"].setEnabled(on)

    # ------------------------------------------------------------------ playing
    def toggle_play(self) -> None:
        if self.play_timer.isActive():
            self.stop_play()
            return
        c = self.window.controller
        if len(c.history) < 2 or c.state == "running":
            return
        if self.slider.value() >= self.slider.maximum():
            self.slider.setValue(0)
        self.play_timer.start()
        self.window.actions["play"].setText("❙❙")

    def stop_play(self) -> None:
        self.play_timer.stop()
        self.window.actions["play"].setText("▶")

    def _play_tick(self) -> None:
        value = self.slider.value()
        if value >= self.slider.maximum():
            self.stop_play()
        else:
            self.slider.setValue(value + 1)

    # ------------------------------------------------------------------ the panels
    def refresh_panels(self) -> None:
        w = self.window
        w.edits.place_handles()
        if w.controller.state == "running":
            # Two events, so that the event loop breathes between them during a run.
            self.update_history_view(bound=False)
            QtCore.QTimer.singleShot(0, w, lambda: w.link.show_bound(w.controller.current))
        else:
            self.update_history_view()

    def update_panels(self) -> None:
        """The history views now, or, while EM runs, at most every PANEL_INTERVAL_MS."""
        if self.window.controller.state == "running":
            if not self.panels_timer.isActive():
                self.panels_timer.start()
        else:
            self.panels_timer.stop()
            self.update_history_view()

    def update_history_view(self, bound: bool = True) -> None:
        w = self.window
        c = w.controller
        history = c.history
        if bound:
            w.link.show_bound(c.current)
        w.likelihood.show_restarts(c.restarts if history else None)
        w.report.show_monotonicity(history)
        if not history:
            w.likelihood.show_history(np.empty(0), np.empty(0), None)
            self.label.setText("no fit yet")
            return
        iterations = np.array([f.iteration for f in history], dtype=float)
        log_l = np.array([f.mean_log_likelihood for f in history])
        edited = np.array([f.kind == "edit" for f in history])
        index = c.index
        current = history[index] if 0 <= index < len(history) else history[-1]
        w.likelihood.show_history(iterations, log_l, (current.iteration, current.mean_log_likelihood), edited)
        self.show_label()
        if c.state == "running" and c.current is not None:
            w.report.show_frame(c.current)  # during a run, with the label and the bound panel

    def show_label(self) -> None:
        """"iteration i of m", and what is on screen when it is not a whole iteration."""
        c = self.window.controller
        history, index, shown = c.history, c.index, c.current
        if not history:
            return
        entry = history[index] if 0 <= index < len(history) else history[-1]
        if shown is not None and shown.kind == "E" and shown is not entry:
            # A lone E-step starts the next iteration: named as the status line and the bound
            # panel name it (iteration t, E-step), with the whole iterations kept.
            text = f"iteration {shown.iteration}: E-step · {history[-1].iteration} done"
        else:
            text = f"iteration {entry.iteration} of {history[-1].iteration}"
            if entry.kind == "edit":
                text += f" · {entry.note}"
        self.label.setText(text)
