"""Hands-on edits of the fit on screen: dragging means and axes, adding, deleting and freezing
components, undo and redo, component menus, and the three fixes for a collapsing component."""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6 import QtCore, QtWidgets

from emstudio.core.geometry import shown_columns
from emstudio.errors import EmstudioError


class HandEdits:
    """Owns the edits made by hand: wires ``window.editor`` (the plot's handles), the parameter
    table's clicks and menus and ``window.collapse_bar``; every edit goes to the controller as a
    history entry (Ctrl+Z undoes it)."""

    def __init__(self, window) -> None:
        self.window = window
        self.select_when_shown: int | None = None  # a component added by hand, selected once drawn
        self.collapse_choice: int | None = None  # the marked component the fixes act on
        self.column_means = None  # where an added component's unshown coordinates go
        editor = window.editor
        editor.preview.connect(self._on_edit_preview)
        editor.committed.connect(self.apply_edit)
        editor.drag_started.connect(self._on_drag_started)
        editor.drag_finished.connect(lambda: window.link.on_state(window.controller.state))
        # No drag while a step or an edit is being computed: the state under it is about to change.
        # A factor model's components are ΛΛᵀ + Ψ, not free covariances: no drags (nor edits).
        editor.drag_allowed = lambda: window.controller.state != "stepping" and not self.factor_shown()
        editor.component_menu.connect(self._component_menu)
        editor.space_menu.connect(self._space_menu)
        editor.add_requested.connect(self.add_component_at)
        bar = window.collapse_bar
        bar.raise_button.clicked.connect(self.fix_raise_reg_covar)
        bar.remove_button.clicked.connect(lambda: self.fix_remove())
        bar.reseed_button.clicked.connect(lambda: self.fix_reseed())
        table = window.table
        table.cellClicked.connect(self._on_table_click)
        table.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._table_menu)

    def factor_shown(self) -> bool:
        current = self.window.controller.current
        return current is not None and current.factor is not None

    def _refused_for_factor(self) -> bool:
        """A factor model is on screen: say that hand edits are the Gaussian mixture's."""
        if self.factor_shown():
            self.window.report.say("A factor model's components are ΛΛᵀ + Ψ, not free covariances: "
                                   "hand edits are for the Gaussian mixture.")
            return True
        return False

    def forget(self, dataset) -> None:
        """New data: no selection, no marked collapse; remember the data's column means."""
        self.column_means = dataset.values.mean(axis=0)
        self.window.editor.clear()
        self.collapse_choice = None
        self.window.collapse_bar.show_collapse(None, 0)

    def place_handles(self) -> None:
        w = self.window
        current = w.controller.current
        if current is not None:
            params = None if current.factor is not None else current.params  # no handles on a factor model
            w.editor.set_state(params, w.controller.axes, current.params.n_features == 1)

    def _on_drag_started(self) -> None:
        """A handle is grabbed: a run pauses so that the edit starts from the state on screen."""
        w = self.window
        w.history.stop_play()
        if w.controller.state == "running":
            w.requests.pause()
            self.place_handles()  # on the newest iteration, which the pause has just drawn
        # Nothing may change the state under the drag until it is dropped (_on_state on drop).
        for name in ("run", "run_pause", "step_e", "step_m", "step", "reinit", "undo", "redo", "add_component",
                     "delete_component", "freeze_component", "import_start"):
            w.actions[name].setEnabled(False)

    def _on_edit_preview(self, params) -> None:
        w = self.window
        w.plot.show_components(params)

    def apply_edit(self, params, note: str, frozen=None) -> bool:
        """Make ``params`` (the state on screen changed by hand) an edit in the history."""
        w = self.window
        if self._refused_for_factor():
            return False
        w.history.stop_play()
        w.banner.hide()
        if not w.controller.edit(params, note, frozen):
            if w.controller.current is not None:  # refused (busy): put back what is on screen
                w.link.on_display(w.controller.current, None)
            return False
        if not callable(params):  # a function of the data (a re-seed) keeps K
            self.sync_k(params)
        return True

    def sync_k(self, params) -> None:
        """K in the controls follows the components on screen, without making the next Run a fresh
        start. A start read from a file (or a selection cell) has its own K: after an edit that
        changes K, the edited parameters become that start, so the controls never disagree."""
        w = self.window
        c = w.controller
        k = params.n_components
        if c.settings.k == k:
            return
        if isinstance(c.settings.init, str):
            c.settings = dataclasses.replace(c.settings, k=k)
        else:
            w.controls.set_file_start(params, "hand edit")
            c.settings = dataclasses.replace(c.settings, k=k, init=params)
        w.controls.show_k(k)

    def _edit_target(self, k: int | None) -> int | None:
        w = self.window
        if w.controller.current is None:
            return None
        k = w.editor.selected if k is None else k
        if not 0 <= k < w.controller.current.params.n_components:
            w.report.say("Select a component first: click its mean (or use its row's right-click menu).")
            return None
        return k

    def delete_component(self, k: int | None = None) -> bool:
        """Delete component k (default: the selected one); the other weights are renormalised."""
        from emstudio.core.edits import remove_component

        w = self.window
        k = self._edit_target(k)
        if k is None:
            return False
        try:
            params = remove_component(w.controller.current.params, k)
        except EmstudioError as exc:
            w.report.show_error(f"Could not delete component {k + 1}: {exc}")
            return False
        flags = np.delete(w.controller.frozen_flags(), k)
        w.editor.select(-1)
        return self.apply_edit(params, f"deleted component {k + 1}", flags)

    def add_component_at(self, position=None) -> bool:
        """Add a component with its mean at ``position`` (x, y) on screen (None: the view's centre);
        its other coordinates are the data's means, its covariance the average of the others'."""
        from emstudio.core.edits import add_component

        w = self.window
        c = w.controller
        if c.current is None or w.dataset is None:
            w.report.say("Run or step EM first: components are added to a fit on screen.")
            return False
        if self._refused_for_factor():
            return False
        if position is None:
            centre = w.plot.plot_item.vb.viewRect().center()
            position = (centre.x(), centre.y())
        params = c.current.params
        mean = self.column_means.copy()
        columns = shown_columns(c.axes)
        mean[columns] = np.asarray(position, dtype=float)[: len(columns)]
        try:
            added = add_component(params, mean)
        except EmstudioError as exc:
            w.report.show_error(f"Could not add a component: {exc}")
            return False
        if self.apply_edit(added, f"added component {added.n_components}", np.append(c.frozen_flags(), False)):
            self.select_when_shown = added.n_components - 1  # once the worker measured it
            return True
        return False

    def toggle_freeze(self, k: int | None = None) -> bool:
        """Freeze component k (default: the selected one), or free it if it is frozen."""
        w = self.window
        if self._refused_for_factor():
            return False
        k = self._edit_target(k)
        if k is None:
            return False
        c = w.controller
        frozen = bool(c.frozen_flags()[k])
        if c.set_frozen(k, not frozen):
            return True  # the status line names the edit when the worker has measured it
        return False

    def undo(self) -> None:
        w = self.window
        w.history.stop_play()
        if w.controller.undo():
            self._after_undo("Undone")

    def redo(self) -> None:
        w = self.window
        w.history.stop_play()
        if w.controller.redo():
            self._after_undo("Redone")

    def _after_undo(self, word: str) -> None:
        w = self.window
        current = w.controller.current
        if current is not None:
            self.sync_k(current.params)
        w.report.say(f"{word}. Ctrl+Z undoes, Ctrl+Shift+Z redoes.")
        w.link.on_state(w.controller.state)

    def on_undo_changed(self, *_) -> None:
        w = self.window
        busy = w.controller.state == "stepping"
        w.actions["undo"].setEnabled(w.controller.can_undo and not busy)
        w.actions["redo"].setEnabled(w.controller.can_redo and not busy)

    def component_actions(self, k: int) -> QtWidgets.QMenu:
        """The menu of component k (right-click its mean or its row): freeze, delete, and for a
        collapsing component the three fixes."""
        w = self.window
        menu = QtWidgets.QMenu(w)
        frozen = bool(w.controller.frozen_flags()[k])
        menu.addAction(f"{'Free' if frozen else 'Freeze'} component {k + 1}", lambda: self.toggle_freeze(k))
        menu.addAction(f"Delete component {k + 1}", lambda: self.delete_component(k))
        if k in w.table.marked:
            menu.addSeparator()
            menu.addAction("Raise reg_covar ×10", self.fix_raise_reg_covar)
            menu.addAction(f"Re-seed component {k + 1}", lambda: self.fix_reseed(k))
        return menu

    def _component_menu(self, k: int, screen_pos) -> None:
        menu = self.component_actions(k)
        menu.exec(screen_pos)
        menu.deleteLater()

    def _space_menu(self, position, screen_pos) -> None:
        w = self.window
        if w.controller.current is None:
            return
        menu = QtWidgets.QMenu(w)
        menu.addAction("Add a component here", lambda: self.add_component_at(position))
        menu.exec(screen_pos)
        menu.deleteLater()

    def mark_frozen(self, k: int) -> None:
        """A ❄ in the number column of every frozen component's row."""
        w = self.window
        frozen = w.controller.frozen
        if frozen is None or frozen.shape != (k,):
            return
        for r in np.flatnonzero(frozen):
            item = w.table.item(int(r), 0)
            if item is not None:
                item.setText(item.text() + "❄")
                item.setToolTip(f"Component {r + 1} is frozen: EM's M-steps keep it as it is (F frees it)")

    # ------------------------------------------------------------------ collapsing components
    def collapse_target(self):
        """The marked component the fixes act on (core.edits.Collapse), or None when none is marked."""
        w = self.window
        frame = w.controller.current
        if frame is None or not frame.collapse:
            return None
        by_index = {c.component: c for c in frame.collapse}
        return by_index.get(self.collapse_choice, frame.collapse[0])

    def show_collapse(self, frame) -> None:
        w = self.window
        if frame is None or not frame.collapse:
            w.collapse_bar.show_collapse(None, 0)
            return
        w.collapse_bar.show_collapse(self.collapse_target(), len(frame.collapse))

    def _on_table_click(self, row: int, _column: int) -> None:
        w = self.window
        if row in w.table.marked:
            self.collapse_choice = row
            self.show_collapse(w.controller.current)

    def _table_menu(self, pos) -> None:
        w = self.window
        row = w.table.rowAt(pos.y())
        if 0 <= row < w.table.rowCount() and w.controller.current is not None:
            w.editor.select(row)
            menu = self.component_actions(row)
            menu.exec(w.table.viewport().mapToGlobal(pos))
            menu.deleteLater()

    def fix_raise_reg_covar(self) -> None:
        """reg_covar × 10 in the controls, then continue the fit from the state on screen."""
        w = self.window
        c = w.controller
        if c.data is None or c.state == "stepping":
            return
        if c.state == "running":
            c.stop()
        raised = c.settings.reg_covar * 10
        # Only reg_covar changes: the controls' other values (which may not describe the start on
        # screen) must not turn the next Run into a fresh start.
        blocked = w.controls.blockSignals(True)
        try:
            w.controls.reg_covar.set_value(raised)
        finally:
            w.controls.blockSignals(blocked)
        c.set_settings(dataclasses.replace(c.settings, reg_covar=raised))
        w.requests.run()

    def _fix_index(self, k: int | None) -> int | None:
        if k is not None:
            return k
        target = self.collapse_target()
        return None if target is None else target.component

    def fix_remove(self, k: int | None = None) -> bool:
        """Delete component k (default: the marked collapsing one): an undoable edit."""
        k = self._fix_index(k)
        if k is None:
            return False
        self.collapse_choice = None
        return self.delete_component(k)

    def fix_reseed(self, k: int | None = None) -> bool:
        """Re-seed component k (default: the marked one) at the least likely data point, with the
        data's covariance and weight 1/K: an undoable edit."""
        from emstudio.core.edits import reseed_component

        w = self.window
        k = self._fix_index(k)
        c = w.controller
        if k is None or c.current is None:
            return False
        current, reg_covar, rng = c.current.params, c.settings.reg_covar, np.random.default_rng()
        self.collapse_choice = None
        # Finding the least likely point is a pass over all the data: the worker makes it.
        return self.apply_edit(lambda X: reseed_component(current, k, X, rng, reg_covar=reg_covar),
                               f"re-seeded component {k + 1}")
