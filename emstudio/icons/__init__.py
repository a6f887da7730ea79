"""EM Studio's application icon, shipped inside the package (package data) so that the window of
every install shows it: emstudio.svg and PNG renderings emstudio-SIZE.png (made by
tools/make_icons.py). The desktop entry installs the same files under the application id."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: The application's id: the desktop entry's and AppStream's name (packaging/), the icon's name there.
APP_ID = "io.github.emstudio.EMStudio"
PNG_SIZES = (16, 32, 48, 64, 128, 256, 512)


def icons_dir() -> Path:
    return Path(str(resources.files(__name__)))


def icon_svg() -> Path:
    return icons_dir() / "emstudio.svg"


def icon_png(size: int) -> Path:
    return icons_dir() / f"emstudio-{size}.png"
