"""The controller's hand edits: the state on screen changed by hand becomes an "edit" entry of
the history, frozen components, and undo/redo (the whole state before an edit is put back)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emstudio.gui.snapshot import Frame


@dataclass(frozen=True, eq=False)
class _State:
    """What undo puts back: the history, the entry on screen and the state on screen (whose frame
    carries its frozen flags)."""

    history: tuple
    index: int
    current: Frame | None



class UndoableEdits:
    """Mixed into the Controller (which has ``data``, ``state``, ``history``, ``index``,
    ``current``, ``settings``, the signals and the run ids these methods use)."""

    def _init_edits(self) -> None:
        # Hand edits are undone by putting back the whole state before them (K-sized frames: cheap).
        self._undo: list[_State] = []
        self._redo: list[_State] = []
        self._edit_run = -1  # the run id of the edit being measured (a failed one is not kept)
        self._redo_before_edit: list[_State] = []

    @property
    def frozen(self) -> np.ndarray | None:
        """(K,) bool of the state on screen: the components EM keeps as they are (None: none).
        Each frame carries its own flags, so scrubbing the history shows, and Run from there uses,
        the flags of that moment."""
        return None if self.current is None else self.current.frozen

    def frozen_flags(self) -> np.ndarray:
        """(K,) bool of the state on screen, all False when none is frozen (a copy to edit)."""
        K = self.current.params.n_components
        frozen = self.frozen
        return frozen.copy() if frozen is not None and frozen.shape == (K,) else np.zeros(K, bool)

    def edit(self, params, note: str, frozen: np.ndarray | None = None) -> bool:
        """Make ``params`` (the state on screen changed by hand) the state on screen, as an "edit"
        entry of the history after the entry on screen; ``frozen`` (K,) bool replaces the frozen
        components (None: keep them). ``params`` may be a function of the data X giving the
        parameters (same K), made on the worker thread. Undoable. Stops a run first."""
        if self.data is None or self.current is None or self.state == "stepping" or self.current.factor is not None:
            return False  # (a factor model's components are ΛΛᵀ + Ψ: no hand edits)
        if self.state == "running":
            self.stop()
        self._push(self._undo)
        self._redo_before_edit, self._redo = self._redo, []  # given back if the edit fails
        if 0 <= self.index < len(self.history) - 1:
            del self.history[self.index + 1:]
        iteration = self.current.iteration - (1 if self.current.kind == "E" else 0)
        if frozen is None:
            frozen = self.frozen
        self.fresh = False
        self._set_state("stepping")
        self._edit_run = self._new_run()
        self._send_edit.emit(self._edit_run, params, iteration, float(self.settings.reg_covar), note, frozen)
        self.undo_changed.emit(True, False)
        return True

    def set_frozen(self, k: int, frozen: bool) -> bool:
        """Freeze (or free) component k: the M-steps keep it as it is. An undoable edit."""
        if self.current is None:
            return False
        flags = self.frozen_flags()
        if not 0 <= k < flags.size or flags[k] == frozen:
            return False
        flags[k] = frozen
        return self.edit(self.current.params, f"{'froze' if frozen else 'freed'} component {k + 1}", flags)

    def undo(self) -> bool:
        """Put back the state before the last hand edit."""
        return self._swap(self._undo, self._redo)

    def redo(self) -> bool:
        """Do again the hand edit undone last."""
        return self._swap(self._redo, self._undo)

    def _swap(self, source: list, target: list) -> bool:
        if not source or self.data is None or self.state == "stepping":
            return False
        if self.state == "running":
            self.stop()
        self._push(target)
        self._restore(source.pop())
        self.fresh = False
        return True

    def _restore(self, state: _State) -> None:
        """Put ``state`` on screen: history, entry, state, and its colours."""
        self.history, self.index, self.current = list(state.history), state.index, state.current
        self._show_restored()

    def _show_restored(self) -> None:
        """Tell the views: the state on screen (its colours asked for), the history, undo/redo."""
        self._pending = self._pending_colours = None
        if self.current is not None:
            self.display.emit(self.current, None)
            self._request_colours(self.current.params)
        self.history_changed.emit(len(self.history), self.index)
        self.undo_changed.emit(bool(self._undo), bool(self._redo))

    def restore_saved(self, history, index: int, current, undo, redo, restarts, fresh: bool) -> None:
        """Put back a saved workspace's fit (gui/workspace_state.py): its history with the entry
        and the state on screen, the undo and redo stacks, the restarts' curves."""
        self.stop()
        self.history, self.index = list(history), index
        self.current = current if current is not None else (history[index] if 0 <= index < len(history) else None)
        self._undo, self._redo = list(undo), list(redo)
        self.restarts, self.fresh = restarts, fresh
        self._show_restored()

    def _push(self, stack: list) -> None:
        stack.append(_State(tuple(self.history), self.index, self.current))

    def _forget_edits(self) -> None:
        if self._undo or self._redo:
            self._undo.clear()
            self._redo.clear()
            self.undo_changed.emit(False, False)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)
