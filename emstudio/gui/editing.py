"""Hands on the components: drag a mean, drag an ellipse's axis handles to stretch and rotate it,
double-click to add a component, right-click a mean for its menu.

The editor only turns mouse gestures into new parameters (through ``emstudio.core.edits``); the
window decides what to do with them. While a handle is dragged the editor sends ``preview``
parameters (the plot redraws the ellipses at once, no pass over the data); when it is let go it
sends ``committed`` once, and the window makes that an edit in the history.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from emstudio.core.edits import ellipse_block, move_mean, set_shown_covariance
from emstudio.core.geometry import marginal
from emstudio.core.params import MixtureParams
from emstudio.errors import EmstudioError

HANDLE_Z = 40
PREMADE_HANDLES = 8


class Handle(pg.TargetItem):
    """A draggable point of the editor that also reports clicks (left: select, right: menu)."""

    clicked = QtCore.Signal(object, object)  # the handle, pyqtgraph's MouseClickEvent
    drag_started = QtCore.Signal(object)

    def __init__(self, role: str, component: int, **options) -> None:
        super().__init__(movable=True, **options)
        self.role = role  # "mean", "major" or "minor"
        self.component = component
        self.setZValue(HANDLE_Z)

    def mouseDragEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph API
        if ev.isStart() and ev.button() == QtCore.Qt.MouseButton.LeftButton:
            self.drag_started.emit(self)  # the editor may refuse it: then it clears ``movable``
            if not self.movable:
                ev.accept()  # swallowed: the view does not pan either
        super().mouseDragEvent(ev)
        if ev.isFinish():
            self.movable = True

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph API
        if ev.button() in (QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.MouseButton.RightButton):
            ev.accept()
            self.clicked.emit(self, ev)


def axis_handles(params: MixtureParams, k: int, axes: tuple[int, int], one_d: bool) -> np.ndarray:
    """Where component k's axis handles go: (2, 2) rows = the ends of the 1σ ellipse's major and
    minor semi-axes on screen (2-D), or (1, 2) = (μ + σ, 0) for 1-D data."""
    if one_d:
        mu, sigma = params.means[k, 0], float(np.sqrt(params.full_covariances()[k, 0, 0]))
        return np.array([[mu + sigma, 0.0]])
    means, covs = marginal(params, axes)
    values, vectors = np.linalg.eigh(covs[k])
    lengths = np.sqrt(np.maximum(values, 0.0))
    return np.array([means[k] + lengths[1] * vectors[:, 1], means[k] + lengths[0] * vectors[:, 0]])


def dragged(params: MixtureParams, role: str, k: int, axes: tuple[int, int], one_d: bool,
            position: np.ndarray) -> MixtureParams:
    """θ after dragging component k's ``role`` handle to ``position`` (x, y) on screen.

    mean: μₖ follows; major / minor: that semi-axis of the 1σ ellipse becomes position − μₖ (turning
    and stretching it) and the other keeps its length at right angles; 1-D: σₖ = |x − μₖ|.
    Raises EmstudioError for a position the covariance cannot take (on the mean itself).
    """
    position = np.asarray(position, dtype=np.float64)
    if role == "mean":
        return move_mean(params, k, axes, position)
    if one_d:
        sigma = abs(position[0] - params.means[k, 0])
        if not sigma > 0:
            raise EmstudioError("σ must be positive")
        return set_shown_covariance(params, k, axes, [[sigma * sigma]])
    means, covs = marginal(params, axes)
    lengths = np.sqrt(np.maximum(np.linalg.eigvalsh(covs[k]), 0.0))  # minor, major
    other = lengths[0] if role == "major" else lengths[1]
    return set_shown_covariance(params, k, axes, ellipse_block(position - means[k], other))


class ComponentEditor(QtCore.QObject):
    """The handles over a :class:`~emstudio.gui.views.MixturePlot`'s plot item."""

    preview = QtCore.Signal(object)  # MixtureParams while a handle is dragged
    committed = QtCore.Signal(object, str)  # MixtureParams, what was done
    drag_started = QtCore.Signal()
    drag_finished = QtCore.Signal()
    selection_changed = QtCore.Signal(int)  # component, or -1
    component_menu = QtCore.Signal(int, object)  # component, QPoint on screen
    add_requested = QtCore.Signal(object)  # (x, y) on screen where a component is wanted
    space_menu = QtCore.Signal(object, object)  # (x, y) right-clicked away from the handles, QPoint on screen

    def __init__(self, plot_item: pg.PlotItem, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.plot_item = plot_item
        self.params: MixtureParams | None = None
        self.axes: tuple[int, int] = (0, 1)
        self.one_d = False
        self.selected = -1
        self._drag: tuple[str, int, MixtureParams] | None = None  # role, k, θ when the drag began
        self._last_preview: MixtureParams | None = None
        self._latest: MixtureParams | None = None  # the state on screen now, if it changed mid-drag
        #: Asked when a handle is grabbed: False refuses the drag (the window is busy with a step).
        self.drag_allowed = lambda: True
        self._placing = False  # handles moved by the program, not the mouse
        self.mean_handles: list[Handle] = []
        self.major = self._make_handle("major", symbol="s", size=10)
        self.minor = self._make_handle("minor", symbol="d", size=11)
        # Made up front for the usual K: making them during a run's first frames costs event-loop time.
        self._add_mean_handles(PREMADE_HANDLES)
        plot_item.scene().sigMouseClicked.connect(self._on_scene_click)

    def _add_mean_handles(self, count: int) -> None:
        while len(self.mean_handles) < count:
            handle = self._make_handle("mean", len(self.mean_handles), symbol="o", size=17)
            # Invisible over the drawn mean until hovered: the plot's own dot stays what is seen.
            handle.setPen(pg.mkPen(None))
            handle.setBrush(pg.mkBrush(0, 0, 0, 0))
            self.mean_handles.append(handle)

    def _make_handle(self, role: str, k: int = -1, **style) -> Handle:
        handle = Handle(role, k, pen=pg.mkPen("#2b2b2b", width=1.5), hoverPen=pg.mkPen("#d62728", width=2.5),
                        brush=pg.mkBrush(255, 255, 255, 230), hoverBrush=pg.mkBrush(255, 220, 120, 255), **style)
        handle.sigPositionChanged.connect(self._on_moved)
        handle.sigPositionChangeFinished.connect(self._on_finished)
        handle.drag_started.connect(self._on_drag_started)
        handle.clicked.connect(self._on_clicked)
        handle.setVisible(False)
        self.plot_item.addItem(handle)
        return handle

    # ------------------------------------------------------------------ state
    @property
    def dragging(self) -> bool:
        return self._drag is not None

    @property
    def preview_params(self) -> MixtureParams | None:
        """The parameters the drag under way shows (None before the first move, or no drag)."""
        return self._last_preview if self._drag is not None else None

    def clear(self) -> None:
        """No components (new data, or the fit was forgotten)."""
        self.params = None
        self._drag = None
        self.select(-1)

    def set_state(self, params: MixtureParams | None, axes: tuple[int, int], one_d: bool) -> None:
        """The components on screen; while a handle is dragged only noted (the drop applies the
        gesture to it)."""
        if self._drag is not None:
            self._latest = params
            return
        self.params, self.axes, self.one_d = params, tuple(axes), one_d
        if params is None or self.selected >= params.n_components:
            self.selected = -1
        self._place()

    def select(self, k: int) -> None:
        k = k if self.params is not None and 0 <= k < self.params.n_components else -1
        changed = k != self.selected
        self.selected = k
        self._place()
        if changed:
            self.selection_changed.emit(k)

    def _place(self, params: MixtureParams | None = None) -> None:
        """Put every handle where ``params`` (default: the state on screen) puts it."""
        params = params if params is not None else self.params
        count = params.n_components if params is not None else 0
        self._add_mean_handles(count)
        self._placing = True
        try:
            if count:
                positions = (np.column_stack([params.means[:, 0], np.zeros(count)]) if self.one_d
                             else marginal(params, self.axes)[0])
            for k, handle in enumerate(self.mean_handles):
                handle.setVisible(k < count)
                if k < count:
                    handle.setPos(float(positions[k, 0]), float(positions[k, 1]))
            show_axes = count > 0 and 0 <= self.selected < count
            if show_axes:
                ends = self._nearest_ends(params, self.selected)
                self.major.setPos(float(ends[0, 0]), float(ends[0, 1]))
                if not self.one_d:
                    self.minor.setPos(float(ends[1, 0]), float(ends[1, 1]))
            self.major.setVisible(show_axes)
            self.minor.setVisible(show_axes and not self.one_d)
            self.major.component = self.minor.component = self.selected
        finally:
            self._placing = False

    # ------------------------------------------------------------------ gestures
    def _on_drag_started(self, handle: Handle) -> None:
        if handle.component < 0:
            return
        # First let the window pause a run: the newest iteration is drawn and the handles placed
        # on it (set_state) before the drag takes the state on screen as its starting point, so the
        # edit follows what is filed last in the history.
        if not self.drag_allowed():
            handle.movable = False
            return
        self.drag_started.emit()
        if self.params is None or handle.component >= self.params.n_components:
            return
        self._drag = (handle.role, handle.component, self.params)
        self._last_preview = self._latest = None
        if handle.role == "mean":
            self.select(handle.component)

    def _on_moved(self, handle: Handle) -> None:
        if self._placing or self._drag is None:
            return
        role, k, start = self._drag
        position = np.array([handle.pos().x(), handle.pos().y()])
        try:
            params = dragged(start, role, k, self.axes, self.one_d, position)
        except EmstudioError:
            return  # e.g. an axis handle dragged onto the mean: keep the last good shape
        self._last_preview = params
        self._place_others(handle, params)
        self.preview.emit(params)

    def _place_others(self, moving: Handle, params: MixtureParams) -> None:
        """The handles not under the mouse follow the previewed shape."""
        self._placing = True
        try:
            k = self.selected
            if 0 <= k < params.n_components:
                ends = self._nearest_ends(params, k)
                if moving is not self.major:
                    self.major.setPos(float(ends[0, 0]), float(ends[0, 1]))
                if moving is not self.minor and not self.one_d:
                    self.minor.setPos(float(ends[1, 0]), float(ends[1, 1]))
        finally:
            self._placing = False

    def _nearest_ends(self, params: MixtureParams, k: int) -> np.ndarray:
        """axis_handles, each on the end of its axis nearest to where its handle is now: an axis has
        two ends, and a handle let go on one should not jump to the other."""
        ends = axis_handles(params, k, self.axes, self.one_d)
        if self.one_d or self.major.component != k:
            return ends
        centre = params.means[k, list(self.axes)]
        for row, handle in enumerate((self.major, self.minor)):
            if handle.isVisible():
                here = np.array([handle.pos().x(), handle.pos().y()])
                mirrored = 2 * centre - ends[row]
                if np.hypot(*(mirrored - here)) < np.hypot(*(ends[row] - here)):
                    ends[row] = mirrored
        return ends

    def _on_finished(self, handle: Handle) -> None:
        if self._drag is None:
            return
        role, k, start = self._drag
        params, latest, self._drag, self._latest = self._last_preview, self._latest, None, None
        if params is not None and latest is not None and latest is not start:
            # The state on screen changed under the drag: the gesture applies to the newest one.
            try:
                here = np.array([handle.pos().x(), handle.pos().y()])
                params = dragged(latest, role, k, self.axes, self.one_d, here)
            except EmstudioError:
                params = None
        if latest is not None:
            self.params = latest
        self.drag_finished.emit()
        if params is None:
            self._place()
            return
        what = {"mean": "moved", "major": "reshaped", "minor": "reshaped"}[role]
        self.params = params
        self._place()
        self.committed.emit(params, f"{what} component {k + 1}")

    def _on_clicked(self, handle: Handle, ev) -> None:
        if handle.component < 0:
            return
        self.select(handle.component)
        if ev.button() == QtCore.Qt.MouseButton.RightButton:
            self.component_menu.emit(handle.component, ev.screenPos().toPoint())

    def _on_scene_click(self, ev) -> None:
        if ev.isAccepted() and not ev.double():
            return
        if not self.plot_item.vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        if any(h.isVisible() and h.mouseHovering for h in [*self.mean_handles, self.major, self.minor]):
            return
        point = self.plot_item.vb.mapSceneToView(ev.scenePos())
        if ev.double() and ev.button() == QtCore.Qt.MouseButton.LeftButton:
            self.add_requested.emit((point.x(), point.y()))
        elif ev.button() == QtCore.Qt.MouseButton.LeftButton and not ev.isAccepted():
            self.select(-1)
        elif ev.button() == QtCore.Qt.MouseButton.RightButton and not ev.isAccepted():
            self.space_menu.emit((point.x(), point.y()), ev.screenPos().toPoint())
