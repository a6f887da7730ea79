"""A run of EM as an animation (GIF, or MP4 when ffmpeg is at hand): the classic picture of EM
on Old Faithful, one frame per iteration, drawn by the same renderer as every other picture.

``emstudio animate DATA [fit options] --out run.gif`` makes it headless; the window's File ▸
Export animation… makes it of the history on screen. Qt is imported only when frames are drawn.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np

from emstudio.errors import EmstudioError

ANIMATION_SUFFIXES = (".gif", ".mp4")
#: Frames shown at most; a longer run shows every early iteration and fewer later ones.
DEFAULT_MAX_FRAMES = 60
DEFAULT_FPS = 4.0
#: The last frame (the fitted model) is held this many seconds before the animation loops.
HOLD_LAST_SECONDS = 2.0
DEFAULT_ANIMATION_SIZE = (800, 640)


def frame_indices(n_states: int, max_frames: int = DEFAULT_MAX_FRAMES) -> np.ndarray:
    """Which of ``n_states`` states (iterations 0…n_states−1) become frames, sorted (m,) int.

    Every state when they fit; otherwise the first and the last always, and states spaced evenly
    in log(1 + t) between — EM moves most in its first iterations, so those are all shown and
    the slow end is sampled."""
    n_states, max_frames = int(n_states), max(2, int(max_frames))
    if n_states <= 0:
        return np.empty(0, dtype=np.int64)
    if n_states <= max_frames:
        return np.arange(n_states)
    picked = np.unique(np.rint(np.expm1(np.linspace(0.0, np.log1p(n_states - 1), max_frames))).astype(np.int64))
    # Rounding merges early indices: fill up with the earliest states not yet taken.
    missing = max_frames - len(picked)
    if missing > 0:
        extra = np.setdiff1d(np.arange(n_states), picked)[:missing]
        picked = np.union1d(picked, extra)
    return picked


def frame_durations(count: int, fps: float, hold_last: float = HOLD_LAST_SECONDS) -> list[int]:
    """Each frame's duration in milliseconds: 1/fps, the last one held ``hold_last`` seconds."""
    if count <= 0:
        return []
    step = int(round(1000.0 / max(float(fps), 0.1)))
    durations = [step] * count
    durations[-1] = max(step, int(round(1000.0 * hold_last)))
    return durations


def ffmpeg_executable() -> str | None:
    """An ffmpeg to write MP4 with: on the PATH, or the one the imageio-ffmpeg package ships."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg  # optional: pip install imageio-ffmpeg
    except ImportError:
        return None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # noqa: BLE001 - a broken optional package is the same as none
        return None


def check_animation_path(path: str) -> str:
    """The suffix of an animation file (".gif" or ".mp4"), or one clear error."""
    suffix = os.path.splitext(str(path))[1].lower()
    if suffix not in ANIMATION_SUFFIXES:
        raise EmstudioError(f"{os.path.basename(str(path))}: an animation is written as .gif or .mp4")
    if suffix == ".mp4" and ffmpeg_executable() is None:
        raise EmstudioError("writing MP4 needs ffmpeg (install it, or 'pip install imageio-ffmpeg'); "
                            "a .gif needs nothing more")
    return suffix


def qimage_to_rgb(image) -> np.ndarray:
    """A QImage → (h, w, 3) uint8 RGB array (a copy)."""
    from PySide6 import QtGui

    rgb = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    w, h, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    buffer = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=stride * h).reshape(h, stride)
    return buffer[:, :3 * w].reshape(h, w, 3).copy()


def encode_gif(frames: list[np.ndarray], durations: list[int]) -> bytes:
    """Frames (h, w, 3) uint8 as a looping GIF (one adaptive palette per frame)."""
    import io

    from PIL import Image

    images = [Image.fromarray(f, "RGB").quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
              for f in frames]
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0,
                   optimize=False, disposal=1)
    return out.getvalue()


def encode_mp4(frames: list[np.ndarray], durations: list[int], path: str) -> None:
    """Frames as an H.264 MP4 by ffmpeg (each frame repeated for its duration at 25 fps)."""
    import tempfile

    ffmpeg = ffmpeg_executable()
    if ffmpeg is None:
        raise EmstudioError("writing MP4 needs ffmpeg (install it, or 'pip install imageio-ffmpeg')")
    h, w, _ = frames[0].shape
    w2, h2 = w - w % 2, h - h % 2  # H.264 wants even sides
    rate = 25
    folder = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(suffix=".mp4", dir=folder, prefix=".emstudio-")
    os.close(fd)
    command = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w2}x{h2}",
               "-r", str(rate), "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
               temporary]
    try:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        for frame, ms in zip(frames, durations):
            data = np.ascontiguousarray(frame[:h2, :w2]).tobytes()
            for _ in range(max(1, int(round(ms * rate / 1000.0)))):
                process.stdin.write(data)
        process.stdin.close()
        error = process.stderr.read().decode(errors="replace").strip()
        if process.wait() != 0:
            raise EmstudioError(f"ffmpeg could not write the MP4: {error.splitlines()[-1] if error else 'failed'}")
        with open(temporary, "rb") as handle:
            content = handle.read()
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    from emstudio.io.atomic import atomic_write_bytes

    atomic_write_bytes(path, content)


def render_frames(values: np.ndarray, columns, states, *, source: str, covariance_type: str,
                  axes=None, size=DEFAULT_ANIMATION_SIZE, equal_aspect: bool = False, progress=None) -> list[np.ndarray]:
    """One picture (h, w, 3) per state; ``states``: (iteration, params, log L, note) each.

    The view range is fixed from the first to the last frame (the data's range grown to hold
    every frame's 2σ ellipses), so the ellipses move and the axes do not."""
    from emstudio.gui.picture import PictureRenderer, picture_title

    frames = []
    with PictureRenderer(values, columns, axes, size=size, equal_aspect=equal_aspect) as renderer:
        fixed = renderer.plot.fixed_range_for([s[1] for s in states])
        pin_legend(renderer, states, fixed)
        for index, (iteration, params, log_l, note) in enumerate(states):
            renderer.draw(params, picture_title(source, params.n_components, covariance_type, log_l, iteration, note))
            if fixed is not None:
                renderer.set_view_range(*fixed)
            frames.append(qimage_to_rgb(renderer.image()))
            if progress is not None:
                progress(index + 1, len(states))
    return frames


def pin_legend(renderer, states, fixed) -> None:
    """Place the legend once, where the last state (the fitted model) leaves room, and keep it
    there for every frame: a legend jumping between corners would distract from the ellipses."""
    if not states:
        return
    renderer.draw(states[-1][1], "")
    if fixed is not None:
        renderer.set_view_range(*fixed)
    renderer.plot.place_legend()
    renderer.plot.legend.moved_by_hand = True


def write_animation(path: str, frames: list[np.ndarray], fps: float = DEFAULT_FPS) -> None:
    """Write ``frames`` as GIF or MP4 by the suffix of ``path`` (atomically)."""
    suffix = check_animation_path(path)
    if not frames:
        raise EmstudioError("no frames to write")
    durations = frame_durations(len(frames), fps)
    if suffix == ".gif":
        from emstudio.io.atomic import atomic_write_bytes

        atomic_write_bytes(path, encode_gif(frames, durations))
    else:
        encode_mp4(frames, durations, path)


def states_of_snapshots(snapshots, max_frames: int, converged: bool) -> list[tuple]:
    """(iteration, params, log L, note) of the snapshots chosen as frames."""
    chosen = frame_indices(len(snapshots), max_frames)
    states = []
    for position, i in enumerate(chosen):
        s = snapshots[int(i)]
        last = position == len(chosen) - 1
        note = "start θ₀" if s.iteration == 0 else ("converged" if last and converged else "")
        states.append((s.iteration, s.params, s.log_likelihood, note))
    return states
