"""File ▸ Export animation…: the history on screen (every iteration kept, sampled when there are
many) as a GIF or MP4, drawn by the same renderer as every picture (emstudio.gui.picture) with
the window's axes, shading and aspect. ``install(window)`` adds the menu entry."""

from __future__ import annotations

import os
from PySide6 import QtCore, QtWidgets

from emstudio.animate import (
    DEFAULT_ANIMATION_SIZE,
    DEFAULT_FPS,
    DEFAULT_MAX_FRAMES,
    check_animation_path,
    pin_legend,
    frame_indices,
    qimage_to_rgb,
    write_animation,
)
from emstudio.errors import EmstudioError
from emstudio.gui.picture import model_label


def history_states(history, covariance_type: str, max_frames: int = DEFAULT_MAX_FRAMES) -> list[tuple]:
    """(iteration, params, log L, note) of the history entries chosen as frames: one per full
    iteration (the last state of each iteration number: after its M-step), hand edits included."""
    last_of: dict[int, object] = {}
    order: list[int] = []
    for frame in history:
        if frame.iteration not in last_of:
            order.append(frame.iteration)
        last_of[frame.iteration] = frame
    frames = [last_of[i] for i in order]
    chosen = frame_indices(len(frames), max_frames)
    states = []
    for position, index in enumerate(chosen):
        frame = frames[int(index)]
        last = position == len(chosen) - 1
        note = "start θ₀" if frame.iteration == 0 else ("edited by hand" if frame.kind == "edit" else
                                                         ("converged" if last and frame.converged else ""))
        states.append((frame.iteration, frame.theta, frame.log_likelihood, note))
    return states


def export_history_animation(path: str, plot, values, columns, history, *, source: str, covariance_type: str,
                             size=DEFAULT_ANIMATION_SIZE, fps: float = DEFAULT_FPS, progress=None) -> int:
    """Write the animation of ``history`` (Frames) as seen on ``plot``; returns the frame count.
    ``progress(done, total)`` may return False to cancel (nothing is written then)."""
    from emstudio.gui.picture import PictureRenderer, picture_title

    check_animation_path(path)
    states = history_states(history, covariance_type)
    if not states:
        raise EmstudioError("nothing fitted yet: run EM first")
    images = []
    with PictureRenderer(values, columns, plot.axes, size=size, shading=plot.shading,
                         equal_aspect=plot.equal_aspect) as renderer:
        renderer.plot.arrows.rotate = plot.arrows.rotate
        fixed = renderer.plot.fixed_range_for([getattr(s[1], "to_mixture", lambda p=s[1]: p)() for s in states])
        pin_legend(renderer, states, fixed)
        for done, (iteration, params, log_l, note) in enumerate(states, start=1):
            renderer.draw(params, picture_title(source, params.n_components, covariance_type, log_l, iteration, note))
            if fixed is not None:
                renderer.set_view_range(*fixed)
            images.append(qimage_to_rgb(renderer.image()))
            if progress is not None and progress(done, len(states)) is False:
                raise EmstudioError("cancelled")
    write_animation(path, images, fps=fps)
    return len(images)


class AnimationExport(QtCore.QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        # File ▸ Export animation… (actions.py) calls dialog; WorkerLink.on_state enables it.
        self.action = window.actions["export_animation"]

    def dialog(self) -> None:
        window = self.window
        # The same dialog as the other exports: it opens in the last export's folder, else the data's.
        exporter = window.exporter
        path = exporter._save_path("Export animation", "GIF animation (*.gif);;MP4 video (*.mp4)",
                                   f"{exporter._stem()}-run.gif")
        if path:
            self.export(path)

    def export(self, path: str) -> bool:
        """Write the animation of the history; True when written (errors go to the window's banner)."""
        window = self.window
        c = window.controller
        progress = QtWidgets.QProgressDialog("Drawing the frames…", "Cancel", 0, 100, window)
        progress.setWindowTitle("Export animation")
        progress.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(400)

        def step(done: int, total: int) -> bool:
            progress.setMaximum(total)
            progress.setValue(done)
            QtWidgets.QApplication.processEvents()
            return not progress.wasCanceled()

        try:
            count = export_history_animation(path, window.plot, window.dataset.values, window.dataset.columns,
                                             list(c.history), source=window.dataset.source,
                                             covariance_type=model_label(c.history[-1], c.settings.covariance_type)
                                             if c.history else c.settings.covariance_type, progress=step)
        except EmstudioError as exc:
            progress.close()
            if str(exc) != "cancelled":
                window.report.show_error(f"Could not write the animation to {os.path.basename(path)}: {exc}")
            return False
        except OSError as exc:
            progress.close()
            window.report.show_error(f"Could not write the animation to {os.path.basename(path)}: {exc.strerror or exc}")
            return False
        progress.close()
        window.report.say(f"Wrote {os.path.basename(path)} ({count} frames)")
        return True


def install(window) -> AnimationExport:
    """Add File ▸ Export animation… (after Export picture) to ``window``."""
    return AnimationExport(window)
