"""Geometry honest to the maths: View ▸ Equal aspect (one data unit as long on both axes, so
Σ = I draws as a circle), and the start's θ₀ drawn as soon as a start is chosen.

``install(window)`` adds both to a main window; they talk to it only through its controller's
signals, its controls' ``settings_changed``, its plot and its View menu.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore

from emstudio.core.placement import equal_aspect_by_default

#: Above this many samples no preview is computed (a k-means of millions of rows would compete
#: with the run the person is about to start); Run and Re-initialise still show θ₀.
PREVIEW_LIMIT = 200_000


class _Answer(QtCore.QObject):
    ready = QtCore.Signal(int, object)  # generation, MixtureParams or None


class _StartJob(QtCore.QRunnable):
    """θ₀ of the settings on a pool thread: the same start the worker makes (same seed)."""

    def __init__(self, generation: int, X: np.ndarray, settings, answer: _Answer) -> None:
        super().__init__()
        self.generation, self.X, self.settings, self.answer = generation, X, settings, answer

    def run(self) -> None:  # noqa: D401 - Qt API
        from emstudio.core.init import initial_params

        s = self.settings
        try:
            s.validate()
            seed = np.random.SeedSequence(s.seed).spawn(max(s.restarts, 1))[0]
            params = initial_params(self.X, s.k, s.covariance_type, s.init, np.random.default_rng(seed), s.reg_covar)
        except Exception:  # noqa: BLE001 - a start that cannot be made is reported by Run, not here
            params = None
        self.answer.ready.emit(self.generation, params)


class ViewOptions(QtCore.QObject):
    """The equal-aspect toggle and the θ₀ preview of one window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.plot = window.plot
        self.controller = window.controller
        self.action = window.actions["equal_aspect"]  # View ▸ Equal aspect (actions.py) calls set_equal_aspect
        self._chosen_by_hand = False
        self.generation = 0
        self.preview_params = None  # the θ₀ drawn before any run (None: no preview on screen)
        self.pool = QtCore.QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._answer = _Answer(self)
        self._answer.ready.connect(self._preview_ready)
        self.controller.data_changed.connect(self._data_changed)
        self.controller.axes_changed.connect(lambda *_: self._default_aspect())
        self.controller.display.connect(lambda *_: self._forget_preview())
        self.controller.state_changed.connect(lambda state: self._forget_preview() if state != "idle" else None)
        window.controls.settings_changed.connect(self.request_preview)

    # ------------------------------------------------------------------ equal aspect
    def set_equal_aspect(self, on: bool) -> None:
        """View ▸ Equal aspect chosen by hand: kept until other data is loaded."""
        self._chosen_by_hand = True
        self.action.setChecked(bool(on))
        self.plot.set_equal_aspect(on)
        self.plot.plot_item.getViewBox().autoRange(padding=0.04)
        self.plot.place_legend()

    def _set_checked(self, on: bool) -> None:
        """The default for the data on screen (not a choice by hand)."""
        self.action.setChecked(bool(on))
        self.plot.set_equal_aspect(on)

    def _default_aspect(self) -> None:
        dataset = getattr(self.window, "dataset", None)
        if dataset is None or self._chosen_by_hand:
            return
        self._set_checked(equal_aspect_by_default(dataset.values, self.controller.axes))

    def _data_changed(self, dataset) -> None:
        self._chosen_by_hand = False
        self._default_aspect()
        self.request_preview()

    # ------------------------------------------------------------------ θ₀ preview
    def request_preview(self, *_) -> None:
        """Draw θ₀ of the chosen start while nothing has run from it yet."""
        self.generation += 1
        c = self.controller
        dataset = getattr(self.window, "dataset", None)
        settings = c.settings
        if (dataset is None or c.state != "idle" or not c.fresh or not isinstance(settings.init, str)
                or dataset.values.shape[0] > PREVIEW_LIMIT):
            return
        self.pool.start(_StartJob(self.generation, dataset.values, settings, self._answer))

    def _preview_ready(self, generation: int, params) -> None:
        c = self.controller
        if generation != self.generation or params is None or c.state != "idle" or not c.fresh:
            return
        self.preview_params = params
        self.plot.show_components(params)
        self.window.report.say(f"θ₀ of this start drawn (iteration 0, before any E-step): "
                                   f"Run or Step to begin from it.")

    def _forget_preview(self) -> None:
        self.generation += 1  # a preview still being computed is no longer wanted
        self.preview_params = None

    def wait(self) -> None:
        """Wait for a preview being computed (tests; closing the window)."""
        self.pool.waitForDone()


def install(window) -> ViewOptions:
    """View ▸ Equal aspect (the action and its menu entry are made by actions.py) and the θ₀
    preview, for ``window`` (a MainWindow)."""
    return ViewOptions(window)
