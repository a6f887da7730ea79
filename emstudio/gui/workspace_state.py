"""The window's state taken for a workspace (:func:`capture`, on the window's thread: references
to immutable things, never copies) and put back (:func:`restore`); finding a saved workspace's
data (:func:`find_data`), asking the person when the file moved or changed."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

from emstudio.errors import WorkspaceError
from emstudio.gui.snapshot import Dataset
from emstudio.gui.workspace_codec import DataReference, WindowState
from emstudio.io.workspace import file_digest


def capture(window, embed: bool | None = None) -> WindowState | None:
    """What the window shows now, as a workspace (None with no data, or data on a Dask cluster: a
    workspace cannot keep them). Cheap: the history's frames are shared, not copied."""
    w = window
    c = w.controller
    if w.dataset is None or c.data is None or w.dataset.cluster is not None:
        return None
    controls, grid = w.controls, w.selection
    classes = w.known_classes.classes
    view = {
        "axes": [int(a) for a in c.axes], "tab": w.tabs.currentIndex(), "shading": c.shading,
        "equal_aspect": w.actions["equal_aspect"].isChecked(), "bins": controls.bins.value(),
        "pace": controls.pace.currentIndex(), "kind": controls.model_kind(), "factors": controls.factors.value(),
        "psi": controls.psi.currentData(), "factor_init": controls.factor_init.currentData(),
        "classes": None if classes is None else classes.column,
        "grid": {"k_range": grid.k_range.text(), "types": grid.covariance_types(),
                 "criterion": grid.criterion_name(), "restarts": grid.restarts.value()},
        "workspace_path": w.workspace.path,
        "embed": w.workspace.embed_always,
    }
    return WindowState(dataset=w.dataset, request=w.files.loaded_request, embed=True if embed else None,
                       settings=c.settings, factor=c.factor, history=tuple(c.history), index=c.index,
                       current=c.current, undo=tuple(c._undo), redo=tuple(c._redo), restarts=c.restarts,
                       fresh=c.fresh, cells=tuple(grid.cells), selection=grid.selection, view=view)


def restore(window, state: WindowState) -> None:
    """Show ``state`` (whose ``dataset`` has been found): the data, the Fit panel, the history with
    the entry on screen, the undo and redo stacks, the grid and the view's toggles."""
    w = window
    c = w.controller
    view = state.view
    w.files.set_dataset(state.dataset)
    w.files.loaded_request = state.request
    controls = w.controls
    controls.set_settings(state.settings)
    kind = view.get("kind", "mixture" if state.factor is None else state.factor.model)
    controls.set_kind(kind if kind in ("mixture", "fa", "mfa") else "mixture")
    if state.factor is not None:
        controls.factors.setValue(state.factor.n_factors)
        controls.psi.setCurrentIndex(max(controls.psi.findData(state.factor.psi), 0))
        if isinstance(state.factor.init, str):
            controls.factor_init.setCurrentIndex(max(controls.factor_init.findData(state.factor.init), 0))
    _set_index(controls.pace, view.get("pace"))
    if isinstance(view.get("bins"), int):
        controls.bins.setValue(view["bins"])
    axes = view.get("axes")
    d = state.dataset.values.shape[1]
    if isinstance(axes, list) and len(axes) == 2 and all(isinstance(a, int) and 0 <= a < d for a in axes):
        controls.x_axis.setCurrentIndex(axes[0])
        controls.y_axis.setCurrentIndex(axes[1])
        c.set_axes(*axes)
    # The controller last: the controls' signals above may have marked the next run as fresh.
    c.settings, c.factor = state.settings, state.factor
    c.restore_saved(state.history, state.index, state.current, state.undo, state.redo, state.restarts, state.fresh)
    _restore_grid(w.selection, state)
    w.requests.set_uncertainty_shading(view.get("shading") == "uncertainty")
    if isinstance(view.get("equal_aspect"), bool) and view["equal_aspect"] != w.actions["equal_aspect"].isChecked():
        w.view_options.set_equal_aspect(view["equal_aspect"])
    column = view.get("classes")
    if isinstance(column, str) and column in w.known_classes.columns():
        w.known_classes.choose(column)
    if isinstance(view.get("tab"), int) and 0 <= view["tab"] < w.tabs.count():
        w.tabs.setCurrentIndex(view["tab"])
    w.workspace.embed_always = bool(view.get("embed", False))
    w.actions["embed_data"].setChecked(w.workspace.embed_always)
    w.link.on_state(c.state)


def _set_index(combo, index) -> None:
    if isinstance(index, int) and 0 <= index < combo.count():
        combo.setCurrentIndex(index)


def _restore_grid(panel, state: WindowState) -> None:
    grid = state.view.get("grid") or {}
    if isinstance(grid.get("k_range"), str):
        panel.k_range.setText(grid["k_range"])
    if isinstance(grid.get("types"), list):
        panel.set_covariance_types([t for t in grid["types"] if isinstance(t, str)])
    _set_index(panel.criterion, panel.criterion.findData(grid.get("criterion")))
    if isinstance(grid.get("restarts"), int):
        panel.restarts.setValue(grid["restarts"])
    panel.show_saved(list(state.cells), state.selection)


# ---------------------------------------------------------------------- the data
class DataChoice:
    """What the person may answer when the data file moved or changed."""

    EMBEDDED = "embedded"
    LOCATE = "locate"


def find_data(ref: DataReference, read: Callable, ask_choice: Callable, ask_file: Callable,
              keep_dir: Callable[[], str], background: Callable = lambda work: work()) -> Dataset | None:
    """The saved workspace's data: the file it names if it is unchanged (same size and SHA-256);
    else, as the person chooses, the embedded copy or a file they locate (which must be the same
    data). None when they cancel. WorkspaceError (one line) when what is found is not the data
    the workspace was saved with: never a silently different fit.

    ``read(path, columns, classes, sheet)``: a Dataset or a message; ``ask_choice(reason,
    embedded)``: DataChoice or None; ``ask_file(ref)``: a path or None; ``keep_dir()``: a folder
    where the embedded copy is written to be read (it lives as long as the window);
    ``background(work)``: runs ``work()`` (hashing, reading: long for large data) off the window's
    thread and gives its result."""
    name = os.path.basename(ref.path)
    if ref.values is not None:
        return ref.values_dataset()
    reason = background(lambda: _why_not_usable(ref))
    path = ref.path
    if reason is not None:
        choice = ask_choice(reason, ref.embedded is not None)
        if choice is None:
            return None
        if choice == DataChoice.EMBEDDED and ref.embedded is not None:
            path = os.path.join(tempfile.mkdtemp(dir=keep_dir()), ref.embedded_name or name)
            with open(path, "wb") as handle:
                handle.write(ref.embedded)
        else:
            path = ask_file(ref)
            if not path:
                return None
            if background(lambda: _why_not_usable(ref, path)) is not None:
                raise WorkspaceError(f"{os.path.basename(path)} is not the data this workspace was saved with "
                                     f"(its size or contents differ from {name}'s)")
    outcome = background(lambda: read(path, *ref.request))
    if isinstance(outcome, str):
        raise WorkspaceError(f"its data {name} cannot be read: {outcome}")
    if outcome.values.shape != (ref.n, ref.d) or tuple(outcome.columns) != ref.columns:
        raise WorkspaceError(f"its data {name} reads as {outcome.values.shape[0]:,} × {outcome.values.shape[1]} "
                             f"now, not {ref.n:,} × {ref.d} as when it was saved")
    return outcome


def _why_not_usable(ref: DataReference, path: str | None = None) -> str | None:
    """Why the file at ``path`` (the saved path by default) is not the saved data, or None."""
    path = path or ref.path
    name = os.path.basename(ref.path)
    try:
        size, digest = file_digest(path)
    except (OSError, ValueError):
        return f"The data file {name} is no longer at {os.path.dirname(ref.path) or '.'}."
    if ref.sha256 is None:
        return None
    if not ref.matches(size, digest):
        return f"The data file {name} has changed since the workspace was saved."
    return None
