"""One renderer for every picture: `emstudio plot` at a chosen size, the window's export, and
`emstudio animate` (GIF frames)."""

import numpy as np
import pytest
from PySide6 import QtGui

from emstudio.gui.picture import layout_size, parse_size, picture_title
from tests.gui.conftest import sample
from tests.gui.test_commands import _emstudio


def test_parse_and_layout_sizes():
    assert parse_size("1600x1200") == (1600, 1200)
    assert parse_size("800×600") == (800, 600)
    for bad in ("1600", "axb", "10x10", "99999x100"):
        with pytest.raises(ValueError):
            parse_size(bad)
    assert layout_size((2000, 1200)) == ((1000, 600), 2.0)  # drawn larger, laid out as on screen
    assert layout_size((640, 480)) == ((640, 480), 1.0)


def test_title_names_the_file_never_its_folder():
    title = picture_title("/home/someone/data/faithful.csv", 3, "full", -1130.264, 23, "converged")
    assert title == "faithful.csv: K = 3 full, log L = −1130.26, iteration 23, converged"


def test_plot_at_a_chosen_size(tmp_path):
    png = tmp_path / "fit.png"
    done = _emstudio("plot", sample("overlapping.csv"), "--k", "3", "--size", "1200x700", "--out", str(png))
    assert done.returncode == 0, done.stderr
    image = QtGui.QImage(str(png))
    assert (image.width(), image.height()) == (1200, 700)
    done = _emstudio("plot", sample("overlapping.csv"), "--size", "big", "--out", str(png))
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "--size" in done.stderr


def test_the_legend_grows_with_the_picture(qtbot):
    from emstudio.core.em import FitSettings, fit_mixture
    from emstudio.gui.picture import PictureRenderer
    from emstudio.io.data import load_data

    data = load_data(sample("overlapping.csv"))
    params = fit_mixture(data.values, FitSettings(k=3)).params
    heights = {}
    for width in (1000, 2000):
        with PictureRenderer(data.values, data.columns, size=(width, width * 3 // 4)) as renderer:
            renderer.draw(params, "title")
            image = renderer.image()
            assert (image.width(), image.height()) == (width, width * 3 // 4)
            heights[width] = renderer.plot.legend.height() * renderer.scale
    assert heights[2000] == pytest.approx(2 * heights[1000], rel=0.05)  # in proportion to the picture


def test_animate_writes_a_gif_of_the_run(tmp_path):
    from PIL import Image

    gif = tmp_path / "run.gif"
    done = _emstudio("animate", sample("overlapping.csv"), "--k", "3", "--init", "seed-step0", "--max-iter", "12",
                     "--tol", "0", "--size", "400x320", "--out", str(gif), timeout=300)
    assert done.returncode == 0, done.stderr
    with Image.open(gif) as image:
        assert image.size == (400, 320)
        assert image.n_frames == 13  # iterations 0…12
        first = np.asarray(image.convert("RGB")).copy()
        image.seek(image.n_frames - 1)
        last = np.asarray(image.convert("RGB"))
        assert image.info["duration"] >= 1000  # the fitted model is held
    assert not np.array_equal(first, last)  # the ellipses moved
    done = _emstudio("animate", sample("overlapping.csv"), "--out", str(tmp_path / "run.avi"))
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and ".gif or .mp4" in done.stderr


def test_animate_writes_an_mp4_that_ffmpeg_decodes(tmp_path):
    """MP4 through the ffmpeg imageio-ffmpeg ships (a test dependency) or the one on the PATH."""
    import subprocess

    from emstudio.animate import ffmpeg_executable

    ffmpeg = ffmpeg_executable()
    if ffmpeg is None:
        pytest.skip("no ffmpeg (pip install imageio-ffmpeg)")
    mp4 = tmp_path / "run.mp4"
    done = _emstudio("animate", sample("overlapping.csv"), "--k", "3", "--init", "seed-step0", "--max-iter", "6",
                     "--tol", "0", "--size", "320x240", "--fps", "5", "--out", str(mp4), timeout=300)
    assert done.returncode == 0, done.stderr
    assert mp4.read_bytes()[4:8] == b"ftyp"  # an MP4 container
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".emstudio-")]  # no temporary left
    decoded = subprocess.run([ffmpeg, "-v", "error", "-i", str(mp4), "-f", "framemd5", "-"],
                             capture_output=True, text=True, timeout=120)
    assert decoded.returncode == 0, decoded.stderr
    frames = [line for line in decoded.stdout.splitlines() if line and not line.startswith("#")]
    assert len(frames) >= 7  # iterations 0…6, each held for its duration


def test_window_exports_its_picture_and_animation(window, qtbot, tmp_path):
    from PIL import Image

    from emstudio.gui.picture import export_plot_picture

    from tests.gui.test_window import _load, _run_to_end

    _load(qtbot, window)
    _run_to_end(qtbot, window)
    c = window.controller
    png = tmp_path / "picture.png"
    export_plot_picture(str(png), window.plot, window.dataset.values, window.dataset.columns, c.current,
                        title="t", size=(900, 600))
    image = QtGui.QImage(str(png))
    assert (image.width(), image.height()) == (900, 600)
    gif = tmp_path / "run.gif"
    assert window.animation_export.action.isEnabled()
    assert window.animation_export.export(str(gif))
    with Image.open(gif) as animation:
        assert animation.n_frames >= 2
    assert not window.banner.isVisible()
