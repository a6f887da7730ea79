"""emstudio.system_libraries: which Debian packages Qt lacks here, and the one command that installs them."""

import os
import subprocess
import sys

import pytest

from emstudio import system_libraries
from emstudio.system_libraries import OFFSCREEN_LIBRARIES, X11_LIBRARIES


@pytest.fixture
def lacking(monkeypatch):
    """Make the named sonames fail to load, as on a machine without their packages."""
    absent = set()
    monkeypatch.setattr(system_libraries, "_loads", lambda library: library not in absent)
    monkeypatch.setattr(system_libraries, "_has_a_font", lambda: "font" not in absent)
    monkeypatch.setattr(sys, "platform", "linux")
    return absent


def test_nothing_missing_gives_an_empty_list(lacking):
    assert system_libraries.missing_packages("offscreen") == []
    assert system_libraries.missing_packages("x11") == []


def test_missing_libraries_are_named_by_their_debian_package(lacking):
    lacking.update({"libglib-2.0.so.0", "libEGL.so.1", "libxcb-icccm.so.4", "font"})
    assert system_libraries.missing_packages("offscreen") == ["libglib2.0-0", "libegl1", "fonts-dejavu-core"]
    # The X set includes the offscreen set: a window on X loads both.
    assert system_libraries.missing_packages("x11") == ["libglib2.0-0", "libegl1", "libxcb-icccm4",
                                                        "fonts-dejavu-core"]


def test_every_library_of_both_sets_is_checked(lacking):
    lacking.update(OFFSCREEN_LIBRARIES)
    lacking.update(X11_LIBRARIES)
    assert system_libraries.missing_packages("offscreen") == list(OFFSCREEN_LIBRARIES.values())
    assert system_libraries.missing_packages("x11") == [*OFFSCREEN_LIBRARIES.values(), *X11_LIBRARIES.values()]


def test_off_linux_nothing_is_checked(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(system_libraries, "_loads", lambda library: False)
    assert system_libraries.missing_packages("x11") == []


def test_unknown_need_is_refused():
    with pytest.raises(ValueError):
        system_libraries.missing_packages("wayland")


def test_install_command_is_one_line_with_sudo_unless_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert system_libraries.install_command(["libegl1", "libgl1"]) == \
        "sudo apt-get update && sudo apt-get install -y libegl1 libgl1"
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert system_libraries.install_command(["libegl1"]) == "apt-get update && apt-get install -y libegl1"


def test_this_machine_has_what_the_tests_need():
    """./test installs or names these before pytest starts, so here none is missing."""
    assert system_libraries.missing_packages("offscreen") == []


def test_as_a_program_it_prints_the_missing_packages_on_one_line():
    done = subprocess.run([sys.executable, "-m", "emstudio.system_libraries", "offscreen"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "\n" and done.stderr == ""
    bad = subprocess.run([sys.executable, "-m", "emstudio.system_libraries"], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and "usage" in bad.stderr
