"""The link from the controller (worker → snapshot) to the window: every shown frame drawn in the
views, and every state change turned into what can be done now (actions enabled or not)."""

from __future__ import annotations


class WorkerLink:
    """Connects the controller's signals to the views; ``on_state`` is the one place that enables
    and disables actions by state."""

    def __init__(self, window) -> None:
        self.window = window

    def connect(self) -> None:
        w = self.window
        c = w.controller
        c.display.connect(self.on_display)
        c.history_changed.connect(w.history.on_history_changed)
        c.state_changed.connect(self.on_state)
        c.outcome.connect(self.on_outcome)
        c.error.connect(w.report.show_error)
        c.axes_changed.connect(w.files.on_axes)
        c.undo_changed.connect(w.edits.on_undo_changed)
        w.controls.settings_changed.connect(c.set_settings)
        w.controls.factor_changed.connect(c.set_factor)
        w.controls.pace_changed.connect(c.set_pace)
        w.controls.axes_changed.connect(c.set_axes)
        # The histogram's bins: the Bins control sets the plot's, the plot says how many "auto" gave.
        w.controls.bins_changed.connect(w.plot.set_bins)
        w.controls.sheet_chosen.connect(w.files.read_sheet)
        w.plot.bins_drawn.connect(w.controls.show_bins)
        c.set_settings(w.controls.settings())
        c.set_factor(w.controls.factor_settings())
        c.set_pace(w.controls.pace_seconds())

    def on_display(self, frame, colours) -> None:
        """A frame (a history entry with its colours) is to be shown: plot, table, collapse bar,
        status line; the history panels follow at their own pace while EM runs."""
        w = self.window
        c = w.controller
        frozen = c.frozen
        w.plot.set_frozen(frozen if frozen is not None and frozen.shape == (frame.params.n_components,) else None)
        w.plot.show_frame(frame, colours)
        if w.editor.preview_params is not None:  # new colours mid-drag: keep the dragged shape
            w.plot.show_components(w.editor.preview_params)
        running = c.state == "running"
        # While EM runs the invisible mean handles follow with the panels (10 Hz); the visible axis
        # handles of a selected component follow every frame.
        if not running or w.editor.selected >= 0:
            w.edits.place_handles()
        if not running and not c.fresh and isinstance(c.settings.init, str) and frame.factor is None:
            w.edits.sync_k(frame.params)  # K shows the components on screen (scrubbing across an edit)
        if w.edits.select_when_shown is not None and frame.kind == "edit":
            w.editor.select(w.edits.select_when_shown)
            w.edits.select_when_shown = None
        w.table.show_frame(frame, c.axes, w.dataset.columns)
        w.edits.mark_frozen(frame.params.n_components)
        w.edits.show_collapse(frame)
        # The status line, the history label and the bound panel name the same iteration: while
        # EM runs all three follow at the panels' pace (update_panels), else at once.
        if running:
            w.history.update_panels()
        else:
            self.show_bound(frame)
            w.report.show_frame(frame)
        if frame.kind == "E":
            w.history.show_label()

    def show_bound(self, frame) -> None:
        c = self.window.controller
        self.window.bound_view.show_state(c.history, frame, c.index)
        self.window.derivation.show_state(c.history, frame, c.index)

    def on_state(self, state: str) -> None:
        w = self.window
        actions = w.actions
        running = state == "running"
        busy = state in ("running", "stepping")
        has_data = state != "empty"
        has_fit = bool(w.controller.history)
        for name in ("run", "step_e", "step_m", "step", "reinit", "import_start"):
            actions[name].setEnabled(has_data and not busy)
        actions["run_pause"].setEnabled(has_data and state != "stepping")
        actions["pause"].setEnabled(running)
        actions["stop"].setEnabled(running)
        for button in (w.collapse_bar.raise_button, w.collapse_bar.remove_button, w.collapse_bar.reseed_button):
            button.setEnabled(has_data and state != "stepping")
        for name in ("save_workspace", "save_workspace_as"):
            actions[name].setEnabled(has_data)
        for name in ("export_params", "export_labels", "export_picture", "export_animation"):
            actions[name].setEnabled(has_data and has_fit and not running)
        current = w.controller.current
        if current is not None and current.factor is not None and current.factor.n_components == 1:
            actions["export_labels"].setEnabled(False)  # factor analysis has one component: no labels
        editable = w.controller.current is not None and not w.edits.factor_shown()  # a factor model: no hand edits
        for name in ("add_component", "delete_component", "freeze_component"):
            actions[name].setEnabled(has_data and editable and state != "stepping")
        w.edits.on_undo_changed()
        w.history.set_enabled(has_fit and not running)
        actions["select_models"].setEnabled(has_data)
        w.controls.set_editable(not running)
        if hasattr(w, "cluster_link"):
            w.cluster_link.restrict()  # what data on a cluster cannot do, with the reason
        words = {"empty": "", "idle": "ready", "running": "running…", "stepping": "working…"}
        w.report.set_state_word(words.get(state, state))

    def on_outcome(self, outcome) -> None:
        w = self.window
        self.on_state(w.controller.state)
        text = {"converged": "converged", "max-iter": "reached the most iterations without converging",
                "stopped": w.requests.stop_word}.get(outcome.state)
        if text:
            w.report.set_state_word(text)
        w.requests.stop_word = "stopped"
        w.history.panels_timer.stop()
        w.history.refresh_panels()
        if outcome.state != "failed" and w.controller.current is not None:
            w.report.show_frame(w.controller.current)  # the last frame of a run was drawn while running
