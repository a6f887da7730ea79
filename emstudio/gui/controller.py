"""The controller: owns the worker thread, the history of the fit, and what is on screen.

Requests from the controls come in as method calls; they go to the worker as queued signals
with a fresh run id. Frames come back; frames of a run that was stopped (a stale run id) are
dropped; every kept iteration enters the history; the views are told at most once per screen
frame (a ~60 Hz timer), with the newest frame only.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6 import QtCore

from emstudio.core.em import FitSettings
from emstudio.core.factor import FactorParams, FactorSettings
from emstudio.core.params import MixtureParams
from emstudio.gui.undo import UndoableEdits
from emstudio.gui.snapshot import Dataset  # noqa: F401 - the window's data, reached from here too
from emstudio.gui.worker import (
    Colours,
    EmWorker,
    Frame,
    Gate,
    RestartCurves,
    RunOutcome,
    RunRequest,
    limit_blas_once,
)

FRAME_INTERVAL_MS = 16
#: The screen follows a run no faster than it can be drawn: after a drawing that took c ms the
#: next comes at least c · (1 / DRAW_SHARE − 1) ms later (at most MAX_FRAME_INTERVAL_MS), so that
#: drawing takes at most this share of the window thread's time. Drawing holds the GIL the worker
#: needs: drawing every 16 ms whatever it cost made a K = 8 fit with restarts run 3× slower in the
#: window than headless (colouring each point is the costly part). Frames between drawings are
#: kept in the history, never lost; the newest is drawn.
DRAW_SHARE = 0.5
MAX_FRAME_INTERVAL_MS = 250


class Controller(QtCore.QObject, UndoableEdits):
    """States: "empty" (no data), "idle", "running", "stepping". See the module docstring."""

    # to the worker (queued: the worker lives on another thread)
    _send_data = QtCore.Signal(object, object, object)  # values, axes, ClusterSession or None
    _send_axes = QtCore.Signal(object)
    _send_run = QtCore.Signal(int, object)
    _send_start = QtCore.Signal(int, object)
    _send_step = QtCore.Signal(int, str, object, int, object, object)
    _send_edit = QtCore.Signal(int, object, int, float, str, object)
    _send_colour = QtCore.Signal(int, object)
    _send_shading = QtCore.Signal(int, str)

    # to the views and the window
    display = QtCore.Signal(object, object)  # Frame (no colours), Colours or None (keep)
    history_changed = QtCore.Signal(int, int)  # number of entries, index shown
    state_changed = QtCore.Signal(str)
    outcome = QtCore.Signal(object)  # RunOutcome of every request (after the state changed)
    error = QtCore.Signal(str)
    data_changed = QtCore.Signal(object)  # Dataset
    axes_changed = QtCore.Signal(object)
    undo_changed = QtCore.Signal(bool, bool)  # something to undo, something to redo

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        limit_blas_once()
        self.gate = Gate()
        self.thread = QtCore.QThread()
        self.thread.setObjectName("em-worker")
        self.worker = EmWorker(self.gate)
        self.worker.moveToThread(self.thread)
        queued = QtCore.Qt.ConnectionType.QueuedConnection
        self._send_data.connect(self.worker.set_data, queued)
        self._send_axes.connect(self.worker.set_axes, queued)
        self._send_run.connect(self.worker.run, queued)
        self._send_start.connect(self.worker.start, queued)
        self._send_step.connect(self.worker.step, queued)
        self._send_edit.connect(self.worker.edit, queued)
        self._send_colour.connect(self.worker.colour, queued)
        self._send_shading.connect(self.worker.set_shading, queued)
        self.worker.frame.connect(self._on_frame, queued)
        self.worker.finished.connect(self._on_finished, queued)
        self.worker.colours_ready.connect(self._on_colours, queued)
        self.thread.start()

        self.data: Dataset | None = None
        self.axes: tuple[int, int] = (0, 1)
        self.settings = FitSettings()
        self.factor: FactorSettings | None = None  # a factor model instead of the Gaussian mixture
        self.pace = 0.0
        self.shading = "responsibility"  # or "uncertainty" (set_shading)
        self.history: list[Frame] = []
        self.index = -1  # history entry on screen
        self.current: Frame | None = None  # the state on screen (may be an E half-step)
        self.state = "empty"
        self.fresh = True  # the next Run starts from nothing (with restarts)
        self.last_outcome: RunOutcome | None = None
        self.restarts: RestartCurves | None = None  # every restart's curve, after a Run with restarts
        # Hand edits are undone by putting back the whole state before them (K-sized frames: cheap).
        self._init_edits()
        self._next_id = 0
        self._accepted = -1  # run id whose frames are kept
        self._colour_request = 0
        self._pending: Frame | None = None
        self._history_dirty = False
        self._pending_colours: Colours | None = None
        self._last_colours: Colours | None = None
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(FRAME_INTERVAL_MS)
        self._timer.timeout.connect(self._flush)
        self._closed = False

    # ------------------------------------------------------------------ data and settings
    def set_data(self, dataset: Dataset) -> None:
        # Forget the old fit before stopping it, so that nothing of it is drawn on the new data.
        self._pending = self._pending_colours = None
        self.history = []
        self.current = None
        self.stop()
        self.data = dataset
        d = dataset.values.shape[1]
        self.axes = (0, 1 if d > 1 else 0)
        self._send_data.emit(dataset.values, self.axes, dataset.cluster)
        self.restarts = None
        self.history = []
        self.index = -1
        self.current = None
        self._last_colours = None
        # Nothing drawn or coloured for the old data may reach the new one.
        self._pending = self._pending_colours = None
        self._colour_request += 1
        self.fresh = True
        self._forget_edits()
        self._set_state("idle")
        self.data_changed.emit(dataset)
        self.history_changed.emit(0, -1)

    def set_axes(self, x: int, y: int) -> None:
        if self.data is None or (x, y) == self.axes:
            return
        self.axes = (x, y)
        self._send_axes.emit(self.axes)
        self.axes_changed.emit(self.axes)
        if self.current is not None:
            self._request_colours(self.current.params)
            self.display.emit(self.current, None)

    def set_settings(self, settings: FitSettings) -> None:
        """New settings from the controls; a new K, covariance, start, seed or restarts means the
        next Run starts afresh."""
        old = self.settings
        structural = (old.k, old.covariance_type, old.init, old.seed, old.restarts) != (
            settings.k, settings.covariance_type, settings.init, settings.seed, settings.restarts)
        self.settings = settings
        if structural:
            self.fresh = True

    def set_factor(self, factor: FactorSettings | None) -> None:
        """Fit a factor model (factor analysis, a mixture of factor analysers) instead of the
        Gaussian mixture of ``settings``, or (None) the mixture again. A new model, K, q, Ψ, start,
        seed or restarts means the next Run starts afresh."""
        def shape(f):
            return None if f is None else (f.k, f.n_factors, f.psi, f.init, f.seed, f.restarts)
        if shape(factor) != shape(self.factor):
            self.fresh = True
        self.factor = factor

    @property
    def fit_settings(self) -> FitSettings | FactorSettings:
        """What Run, the steps and Re-initialise fit: the factor model's settings, or the mixture's."""
        return self.factor if self.factor is not None else self.settings

    def _continues(self, frame: Frame) -> bool:
        """Whether EM may go on from ``frame``: it is a state of the model fitted now."""
        return isinstance(frame.theta, FactorParams) == (self.factor is not None)

    def set_pace(self, seconds: float) -> None:
        self.pace = max(0.0, float(seconds))

    def set_shading(self, shading: str) -> None:
        """Shade the drawn points (or the density image) by "responsibility" or "uncertainty". The
        worker keeps the choice for every later frame and answers with the state on screen
        recoloured; a run under way takes it when it ends (the worker is busy with it until then)."""
        if shading == self.shading:
            return
        self.shading = shading
        # A fresh request id: colours asked for before the switch are for the old shading.
        self._colour_request += 1
        self._send_shading.emit(self._colour_request, shading)

    # ------------------------------------------------------------------ requests
    def _new_run(self) -> int:
        self._next_id += 1
        self._accepted = self._next_id
        self.gate.open(self._next_id)
        return self._next_id

    def run(self) -> None:
        """Run EM: continue from the state on screen, or start afresh (with restarts)."""
        if self.data is None or self.state in ("running", "stepping"):
            return  # while stepping (a start being made), Run waits for it
        if self.fresh or self.current is None or not self._continues(self.current):
            request = RunRequest(self.fit_settings, pace=self.pace)
            self.history = []
            self.restarts = None
            self.index = -1
            self._forget_edits()
        else:
            base = self.history[self.index] if 0 <= self.index < len(self.history) else self.current
            del self.history[self.index + 1:]
            request = RunRequest(self.fit_settings, start=base.theta, start_iteration=base.iteration, pace=self.pace,
                                 frozen=base.frozen, start_reg_covar=base.reg_covar)
        self.fresh = False
        run_id = self._new_run()
        self._set_state("running")
        self._send_run.emit(run_id, request)

    def stop(self) -> None:
        """Stop (or pause) a run: effective at once for the window, within one iteration for the worker."""
        self.gate.close()
        self._accepted = -1
        if self.state in ("running", "stepping"):
            self._flush()
            if self.current is not None and self.current.kind != "M":
                self._request_colours(self.current.params)
            self._set_state("idle")
            self.last_outcome = RunOutcome(-1, "stopped")
            self.outcome.emit(self.last_outcome)

    def reinitialise(self) -> None:
        """A new start from the current settings (iteration 0), shown and kept as history."""
        if self.data is None:
            return
        self.stop()
        self._begin_fresh()
        self._send_start.emit(self._new_run(), self.fit_settings)

    def start_from(self, params: MixtureParams) -> None:
        """Use ``params`` (an imported parameter file) as the start."""
        if self.data is None:
            return
        self.stop()
        self.settings = FitSettings(k=params.n_components, covariance_type=self.settings.covariance_type,
                                    init=params, seed=self.settings.seed, restarts=1,
                                    max_iter=self.settings.max_iter, tol=self.settings.tol,
                                    reg_covar=self.settings.reg_covar)
        self.factor = None  # a parameter file starts a Gaussian mixture
        self._begin_fresh()
        self._send_start.emit(self._new_run(), self.settings)

    def _begin_fresh(self) -> None:
        self.history = []
        self.restarts = None
        self.current = None
        self.index = -1
        self.fresh = False
        self._forget_edits()
        self._set_state("stepping")

    def step(self, kind: str) -> None:
        """One half-step: "E", "M", or a whole iteration "EM"."""
        if self.data is None or self.state in ("running", "stepping"):
            return
        params, iteration = None, 0
        if not self.fresh and self.current is not None and self._continues(self.current):
            if 0 <= self.index < len(self.history) - 1:  # stepping from a past iteration
                del self.history[self.index + 1:]
                base = self.history[self.index]
                if self.current.kind != "E" or self.current.iteration != base.iteration + 1:
                    self.current = base
            params, iteration = self.current.theta, self.current.iteration
            if self.current.kind == "E":
                iteration -= 1
        else:
            self.history = []
            self.restarts = None
            self.index = -1
            self._forget_edits()
        self.fresh = False
        self._set_state("stepping")
        self._send_step.emit(self._new_run(), kind, params, iteration, self.fit_settings,
                             None if params is None else self.current.frozen)

    def show_history(self, index: int) -> None:
        """Put history entry ``index`` on screen (ellipses and table at once, colours when computed)."""
        if not self.history or self.state == "running":
            return
        index = int(np.clip(index, 0, len(self.history) - 1))
        self.index = index
        self.current = self.history[index]
        self._pending = self.current
        self._pending_colours = None
        self._flush()
        self._request_colours(self.current.params)
        self.history_changed.emit(len(self.history), index)

    def _request_colours(self, params: MixtureParams) -> None:
        self._colour_request += 1
        self._send_colour.emit(self._colour_request, params)

    # ------------------------------------------------------------------ from the worker
    @QtCore.Slot(object)
    def _on_frame(self, frame: Frame) -> None:
        if frame.run_id != self._accepted:
            return  # from a run that was stopped
        bare = frame.without_colours()
        if frame.kind == "edit":
            self.history.append(bare)  # every edit its own entry, even at the same iteration
            self.index = len(self.history) - 1
            self._history_dirty = True
        elif frame.kind in ("start", "iteration", "M"):
            if frame.restart > 0 and self.history and self.history[-1].restart != frame.restart:
                self.history = []
            last = self.history[-1] if self.history else None
            if last is not None and (last.kind, last.iteration) == (frame.kind, frame.iteration):
                self.history[-1] = bare  # a repeated M-step gives the same θ: one entry, not two
            else:
                self.history.append(bare)
            self.index = len(self.history) - 1
            self._history_dirty = True  # told with the next drawn frame
        self.current = bare
        self._pending = bare
        if frame.colours is not None:
            self._pending_colours = frame.colours
        if not self._timer.isActive():
            self._timer.start()

    @QtCore.Slot(int, object)
    def _on_colours(self, request_id: int, colours: Colours) -> None:
        if request_id != self._colour_request:
            return
        self._last_colours = colours
        if self.current is not None:
            self.display.emit(self.current, colours)

    @QtCore.Slot(object)
    def _on_finished(self, outcome: RunOutcome) -> None:
        if outcome.state == "failed" and outcome.run_id in (-1, self._accepted):
            if outcome.run_id == self._edit_run and self._undo:
                self._redo = self._redo_before_edit  # the edit did not happen: nothing changes
                self._restore(self._undo.pop())
            self._accepted = -1
            self._flush()
            self._set_state("idle")
            self.last_outcome = outcome
            self.error.emit(outcome.message)
            self.outcome.emit(outcome)
            return
        if outcome.run_id != self._accepted:
            return
        self._flush()
        if outcome.history:  # restarts: keep the best one's history
            self.restarts = outcome.restarts
            self.history = list(outcome.history)
            self.index = len(self.history) - 1
            self.current = self.history[-1]
            self.display.emit(self.current, None)
            self.history_changed.emit(len(self.history), self.index)
        if self.current is not None and self.current.kind in ("iteration", "start") and outcome.state != "done":
            self._request_colours(self.current.params)  # the colours of the final state, exactly
        self._accepted = -1
        self.gate.close()
        self.last_outcome = outcome
        self._set_state("idle")
        self.outcome.emit(outcome)

    def _flush(self) -> None:
        """Draw the newest pending frame (called by the ~60 Hz timer)."""
        frame, colours = self._pending, self._pending_colours
        self._pending = self._pending_colours = None
        if frame is None:
            self._timer.stop()
            return
        if colours is not None:
            self._last_colours = colours
        started = time.perf_counter()
        self.display.emit(frame, colours)
        if self._history_dirty:
            self._history_dirty = False
            self.history_changed.emit(len(self.history), self.index)
        self._pace_drawing(time.perf_counter() - started)

    def _pace_drawing(self, seconds: float) -> None:
        """Wait before the next drawing in proportion to what this one cost (see DRAW_SHARE)."""
        wait_ms = seconds * 1000 * (1 / DRAW_SHARE - 1)
        interval = int(min(MAX_FRAME_INTERVAL_MS, max(FRAME_INTERVAL_MS, wait_ms)))
        if interval != self._timer.interval() or self._timer.isActive():
            self._timer.setInterval(interval)  # restarts an active timer: the wait counts from now

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    # ------------------------------------------------------------------ end
    def shutdown(self) -> None:
        """Stop any run, then stop the thread and wait for it (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        self._timer.stop()
        self.gate.close()
        self._accepted = -1
        self.thread.quit()
        self.thread.wait()
        # The thread has finished: release the worker's engines here (a queued request would
        # arrive after the thread's event loop ended and never run).
        self.worker.shutdown()
