"""Make EM Studio's application icon: emstudio/icons/emstudio.svg and its PNG renderings
(16 … 512 px), package data so that the window, the desktop entry and the bundle all find them.
Deterministic: run it again, same files.

    QT_QPA_PLATFORM=offscreen python tools/make_icons.py

The picture is what the program draws: three Gaussian components as ellipses in the first three
component colours (emstudio.core.palette), each with a few of its points, on a light tile.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from emstudio.core.palette import palette

ICONS = Path(__file__).resolve().parents[1] / "emstudio" / "icons"
SIZES = (16, 32, 48, 64, 128, 256, 512)
# (centre x, centre y, semi-axes a, b, angle in degrees) on a 512 × 512 canvas, y down.
COMPONENTS = [
    (206, 300, 140, 70, -38),
    (326, 200, 124, 60, -14),
    (340, 350, 88, 56, 58),
]
POINTS_PER_COMPONENT = 7


def _colour(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(round(c)) for c in rgb))


def _points(rng, cx, cy, a, b, angle) -> np.ndarray:
    """(POINTS_PER_COMPONENT, 2) points drawn from the component, kept inside its ellipse."""
    z = np.empty((0, 2))
    while len(z) < POINTS_PER_COMPONENT:  # inside the ellipse, and apart so that each dot shows
        candidate = rng.standard_normal(2) * 0.55
        if np.hypot(*candidate) < 0.72 and all(np.hypot(*((candidate - p) * (a, b))) > 34 for p in z):
            z = np.vstack([z, candidate])
    t = math.radians(angle)
    rotation = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    return (z * (a, b)) @ rotation.T + (cx, cy)


def icon_svg() -> str:
    rng = np.random.default_rng(7)
    colours = [_colour(c) for c in palette(len(COMPONENTS))]
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="0 0 512 512">',
        "  <title>EM Studio</title>",
        '  <rect x="24" y="24" width="464" height="464" rx="92" fill="#fbfbf8" stroke="#c9c9cf" stroke-width="8"/>',
    ]
    for (cx, cy, a, b, angle), colour in zip(COMPONENTS, colours):
        parts.append(f'  <ellipse cx="{cx}" cy="{cy}" rx="{a}" ry="{b}" transform="rotate({angle} {cx} {cy})" '
                     f'fill="{colour}" fill-opacity="0.22" stroke="{colour}" stroke-width="16"/>')
    for (cx, cy, a, b, angle), colour in zip(COMPONENTS, colours):
        for x, y in _points(rng, cx, cy, a, b, angle):
            parts.append(f'  <circle cx="{x:.1f}" cy="{y:.1f}" r="11" fill="{colour}" stroke="#ffffff" '
                         'stroke-width="3"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def render_png(svg: Path, size: int, out: Path) -> None:
    from PySide6 import QtCore, QtGui, QtSvg

    image = QtGui.QImage(size, size, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QtCore.Qt.GlobalColor.transparent)
    painter = QtGui.QPainter(image)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    QtSvg.QSvgRenderer(str(svg)).render(painter)
    painter.end()
    if not image.save(str(out)):
        raise SystemExit(f"could not write {out}")


def main() -> None:
    from PySide6 import QtGui

    app = QtGui.QGuiApplication.instance() or QtGui.QGuiApplication([])  # QImage text needs one
    svg = ICONS / "emstudio.svg"
    svg.write_text(icon_svg())
    for size in SIZES:
        render_png(svg, size, ICONS / f"emstudio-{size}.png")
    print(f"wrote {svg} and {len(SIZES)} PNGs ({', '.join(map(str, SIZES))} px)")
    del app


if __name__ == "__main__":
    main()
