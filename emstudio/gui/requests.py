"""What the person asks EM to do: run, pause, stop, step, re-initialise, start from a
model-selection cell, shade by uncertainty. The controls' settings reach the controller through
their own signal; these are the requests made with them."""

from __future__ import annotations


class Requests:
    """Owns ``stop_word``: how the next stop is named (paused or stopped)."""

    def __init__(self, window) -> None:
        self.window = window
        self.stop_word = "stopped"

    def _before(self) -> None:
        """What every request that changes the fit does first: playback stops, old errors go."""
        self.window.history.stop_play()
        self.window.banner.hide()

    def _fields_valid(self) -> bool:
        """Whether the Fit panel's fields all hold values; if not, say which (EM never runs with a
        value other than the one on screen)."""
        wrong = self.window.controls.invalid_fields()
        if wrong:
            self.window.report.show_error("Not run: " + "; ".join(wrong) + ". Correct the field in the Fit panel.")
        return not wrong

    def run_or_pause(self) -> None:
        if self.window.controller.state == "running":
            self.pause()
        else:
            self.run()

    def run(self) -> None:
        self._before()
        if self._fields_valid():
            self.window.controller.run()

    def pause(self) -> None:
        self.stop_word = "paused"
        self.window.controller.stop()

    def stop(self) -> None:
        self.window.history.stop_play()
        self.stop_word = "stopped"
        self.window.controller.stop()

    def step(self, kind: str) -> None:
        self._before()
        if self._fields_valid():
            self.window.controller.step(kind)

    def reinitialise(self) -> None:
        self._before()
        if self._fields_valid():
            self.window.controller.reinitialise()

    def set_uncertainty_shading(self, on: bool) -> None:
        """View ▸ Shade by uncertainty (U): the points at once (the plot has their rᵢₖ), a density
        image when the worker has shaded it again."""
        w = self.window
        shading = "uncertainty" if on else "responsibility"
        w.actions["shade_uncertainty"].setChecked(on)
        w.plot.set_shading(shading)
        w.controller.set_shading(shading)

    def load_cell(self, cell) -> None:
        """Make a model-selection cell's fit the current state (as a start: iteration 0)."""
        w = self.window
        if w.dataset is None or cell.result is None:
            return
        self._before()
        params = cell.result.params
        w.controls.covariance.setCurrentIndex(w.controls.covariance.findData(cell.covariance_type))
        w.controls.set_file_start(params, f"{cell.covariance_type}, K = {cell.k} (selection)")
        w.controller.set_settings(w.controls.settings())
        w.controller.start_from(params)
        w.docks.show_mixture()
