"""The system libraries Qt loads, by Debian package, and the one command that installs those missing.

Qt's wheel (PySide6-Essentials) brings Qt itself but not the system libraries it links against.
Without one, ``import PySide6.QtCore`` raises ImportError (a traceback, and pytest-qt stops the
whole test run with INTERNALERROR before any test), and Qt's X platform aborts the process with a
page of text. So the command (before it imports Qt) and ``./test`` (before pytest) check first and
say the one command that installs what is missing (docs/design.md, "Known facts of the toolchain").
No Qt is imported here.

As a program (``./test`` runs it): ``python -m emstudio.system_libraries offscreen|x11`` prints the
missing Debian packages on one line (nothing when all are there) and exits 0.
"""

from __future__ import annotations

import glob
import os
import sys

# What Qt needs for any window, pictures and the offscreen platform the tests use (the soname
# Qt's libraries link against → the Debian package that provides it). Found with `ldd` on
# libQt6Core, libQt6Gui, libQt6Widgets and the offscreen plugin of PySide6-Essentials 6.10.3.
OFFSCREEN_LIBRARIES = {
    "libglib-2.0.so.0": "libglib2.0-0", "libEGL.so.1": "libegl1", "libGL.so.1": "libgl1",
    "libX11.so.6": "libx11-6", "libdbus-1.so.3": "libdbus-1-3", "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6", "libxkbcommon.so.0": "libxkbcommon0",
}
# Without any font every label is drawn as empty boxes (nothing fails: it is checked by hand).
FONT_PACKAGE = "fonts-dejavu-core"
FONT_FOLDERS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")

# What Qt's xcb platform (a real X display, or Xvfb) loads on top of those.
X11_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1", "libxcb-image.so.0": "libxcb-image0",
    "libxcb-randr.so.0": "libxcb-randr0", "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0", "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0", "libX11-xcb.so.1": "libx11-xcb1",
}

NEEDS = ("offscreen", "x11")


def _loads(library: str) -> bool:
    import ctypes

    try:
        ctypes.CDLL(library)
    except OSError:
        return False
    return True


def _has_a_font() -> bool:
    for folder in FONT_FOLDERS:
        folder = os.path.expanduser(folder)
        for pattern in ("*.ttf", "*.otf", "*.ttc", "*.pfb", "*.pcf.gz"):
            if glob.glob(os.path.join(folder, "**", pattern), recursive=True):
                return True
    return False


def missing_packages(need: str = "offscreen") -> list[str]:
    """The Debian packages Qt needs for ``need`` ("offscreen": tests, pictures, any window;
    "x11": a window on an X display, which needs the offscreen set too) that this machine lacks,
    in a fixed order. Empty off Linux, where the wheels bring what they need."""
    if need not in NEEDS:
        raise ValueError(f"need is one of {', '.join(NEEDS)}, not {need!r}")
    if not sys.platform.startswith("linux"):
        return []
    libraries = dict(OFFSCREEN_LIBRARIES)
    if need == "x11":
        libraries.update(X11_LIBRARIES)
    missing = [package for library, package in libraries.items() if not _loads(library)]
    if not _has_a_font():
        missing.append(FONT_PACKAGE)
    return missing


def install_command(packages: list[str]) -> str:
    """The one line that installs ``packages`` on Debian or Ubuntu (with sudo unless root;
    `apt-get update` first because a fresh machine has no package lists)."""
    sudo = "" if hasattr(os, "geteuid") and os.geteuid() == 0 else "sudo "
    return f"{sudo}apt-get update && {sudo}apt-get install -y {' '.join(packages)}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in NEEDS:
        sys.stderr.write(f"usage: python -m emstudio.system_libraries {'|'.join(NEEDS)}\n")
        return 2
    print(" ".join(missing_packages(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
