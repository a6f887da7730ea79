"""packaging/: the desktop entry and the AppStream metainfo pass their validators (run when
desktop-file-validate and appstreamcli are installed: .ci/run installs them), name the one
application id, and install-desktop-entry.sh puts them and the icon where desktops look."""

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from emstudio import __version__
from emstudio.icons import APP_ID, PNG_SIZES, icon_png, icon_svg

ROOT = Path(__file__).resolve().parents[2]
DESKTOP = ROOT / "packaging" / f"{APP_ID}.desktop"
METAINFO = ROOT / "packaging" / f"{APP_ID}.metainfo.xml"


def _desktop_keys(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if "=" in line)


def test_the_desktop_entry_and_metainfo_name_one_application_and_this_version():
    keys = _desktop_keys(DESKTOP)
    assert keys["Icon"] == APP_ID and keys["Exec"].split()[:2] == ["emstudio", "gui"]
    component = ET.parse(METAINFO).getroot()
    assert component.findtext("id") == APP_ID
    assert component.find("launchable").text == DESKTOP.name
    assert component.find("releases/release").get("version") == __version__


def test_the_icon_ships_at_every_size():
    from PIL import Image

    assert icon_svg().read_text().startswith("<svg")
    for size in PNG_SIZES:
        with Image.open(icon_png(size)) as image:
            assert image.size == (size, size)


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils is not installed")
def test_desktop_file_validate_accepts_the_entry():
    done = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "", done.stdout + done.stderr  # not even a hint


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream is not installed")
def test_appstreamcli_validates_the_metainfo():
    done = subprocess.run(["appstreamcli", "validate", "--no-net", str(METAINFO)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_install_desktop_entry_puts_the_entry_metainfo_and_icons_under_prefix(tmp_path):
    env = {**os.environ, "PREFIX": str(tmp_path)}
    done = subprocess.run(["bash", str(ROOT / "packaging" / "install-desktop-entry.sh"), "/opt/emstudio/emstudio"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    share = tmp_path / "share"
    entry = share / "applications" / DESKTOP.name
    assert _desktop_keys(entry)["Exec"] == "/opt/emstudio/emstudio gui %f"
    assert (share / "metainfo" / METAINFO.name).read_bytes() == METAINFO.read_bytes()
    assert (share / "icons/hicolor/scalable/apps" / f"{APP_ID}.svg").read_bytes() == icon_svg().read_bytes()
    for size in PNG_SIZES:
        assert (share / f"icons/hicolor/{size}x{size}/apps/{APP_ID}.png").read_bytes() == icon_png(size).read_bytes()
    if shutil.which("desktop-file-validate"):
        assert subprocess.run(["desktop-file-validate", str(entry)]).returncode == 0
    refused = subprocess.run(["bash", str(ROOT / "packaging" / "install-desktop-entry.sh"), "/my apps/emstudio"],
                             capture_output=True, text=True, env=env)
    assert refused.returncode == 1 and len(refused.stderr.splitlines()) == 1
