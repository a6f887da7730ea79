"""Every command example in the README runs as written in a fresh checkout: the data it names is
shipped (emstudio/samples/), and each line exits 0 and writes the files it names.

The lines run in README order in one folder holding the checkout's emstudio/ and a `run` that is
this Python's `emstudio` (./run itself only makes sure of .venv first), so an example that uses an earlier one's output (`--init
fit.json`) finds it. Lines that open the window (`./run`, `./run gui`), set up the machine
(apt-get, git clone), or take minutes (benchmarks) are not run here; the README's set-up is checked
on a bare Debian (see docs/design.md) and the window by tests/gui."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# `./run` alone and `./run gui` open the window: the only commands not run here.
WINDOW_COMMANDS = ("gui",)


def _shell_lines(markdown: str) -> list[str]:
    """The lines of the ```sh blocks, without comments."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", markdown, flags=re.S):
        for line in block.splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def _runnable(line: str) -> bool:
    """A line that uses the program without a window (`./run fit ...`, `./run predict ...`), maybe piped."""
    command = line.split("|")[-1].split()
    return command[:1] == ["./run"] and len(command) > 1 and command[1] not in WINDOW_COMMANDS


def _outputs(line: str) -> list[str]:
    words = shlex.split(line.split("|")[-1])
    return [words[i + 1] for i, w in enumerate(words[:-1])
            if w in ("--out", "--labels", "--density") and words[i + 1] != "-"]


def test_every_example_names_shipped_data_or_an_earlier_output():
    lines = [line for line in _shell_lines((ROOT / "README.md").read_text()) if _runnable(line)]
    made = set()
    for line in lines:
        for word in shlex.split(line.replace("|", " ")):
            if re.search(r"\.(csv|tsv|txt|npy|npz|xlsx|parquet|json)$", word) and word not in _outputs(line):
                assert (ROOT / word).exists() or word in made, f"README: {line!r} uses {word}, which a fresh checkout lacks"
        made.update(_outputs(line))


def test_every_example_runs_as_written(tmp_path):
    lines = [line for line in _shell_lines((ROOT / "README.md").read_text()) if _runnable(line)]
    assert len(lines) >= 8, lines  # the README's examples were found
    # The package itself, so that emstudio/samples/NAME.csv is there and is the code that runs.
    (tmp_path / "emstudio").symlink_to(ROOT / "emstudio")
    (tmp_path / "run").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m emstudio "$@"\n')
    (tmp_path / "run").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    for line in lines:
        done = subprocess.run(["bash", "-o", "pipefail", "-c", line], cwd=tmp_path, capture_output=True, text=True,
                              timeout=600, env=env)
        assert done.returncode == 0, f"README: {line!r} failed:\n{done.stderr}"
        assert "Traceback" not in done.stderr
        for output in _outputs(line):
            assert (tmp_path / output).stat().st_size > 0, f"README: {line!r} wrote no {output}"


def _set_up_blocks() -> list[str]:
    """The sh blocks of the README's "Setting up", as tools/bare-debian-check.sh reads them."""
    section = (ROOT / "README.md").read_text().split("## Setting up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def _installed_by(block: str) -> list[str]:
    line = next(line for line in block.splitlines() if "apt-get install -y" in line)
    return line.split("apt-get install -y", 1)[1].split("#")[0].split()


def test_the_set_up_section_names_what_the_code_checks():
    """The packages the README installs are the ones emstudio.system_libraries checks (so ./test
    and the window ask for nothing the README left out), in the blocks bare-debian-check.sh follows."""
    from emstudio.system_libraries import FONT_PACKAGE, OFFSCREEN_LIBRARIES, X11_LIBRARIES

    first, window, virtual = _set_up_blocks()[:3]
    assert "python3-venv" in _installed_by(first) and "git clone URL " in first
    assert first.strip().splitlines()[-1] == "./test"
    qt_line = [line for line in first.splitlines() if "libglib2.0-0" in line]
    assert qt_line and qt_line[0].split("install -y", 1)[1].split() == [*OFFSCREEN_LIBRARIES.values(), FONT_PACKAGE]
    assert _installed_by(window) == list(X11_LIBRARIES.values()) and window.strip().endswith("./run")
    assert _installed_by(virtual) == ["xvfb", "xauth"] and virtual.strip().endswith("./run")
    assert "xvfb-run" in virtual.strip().splitlines()[-1]
