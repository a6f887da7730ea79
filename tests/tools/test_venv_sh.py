"""tools/venv.sh, which ./run and ./test source: a half-made .venv (no pip in it, no python, an
install that failed) is removed and made again; a Python that cannot make one (Debian's python3
without python3-venv) is named with the package that fixes it, in one line.

Each test works on a throwaway checkout holding venv.sh. The Python on PATH is this test's own
Python behind a stand-in whose `-m venv` makes a stand-in .venv and whose `pip install` only
records that it ran (or fails, when told to): the script's decisions are under test, not pip —
every ./test run and the bare-Debian check in the README exercise the real install."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# python3.11 on PATH: the real Python, except that `-m venv DIR` makes a stand-in venv.
PYTHON = """#!/bin/bash
if [ "$1 $2" = "-m venv" ]; then
    mkdir -p "$3/bin" && cp "{venv_python}" "$3/bin/python"
    echo "made $3" >> "{log}"
    exit 0
fi
exec "{real}" "$@"
"""
# .venv/bin/python: the real Python, except that `-m pip install` writes bin/emstudio (or fails
# while the file FAIL exists) and `import emstudio` needs that install.
VENV_PYTHON = """#!/bin/bash
bin="$(dirname "$0")"
case "$*" in
    "-m pip install"*)
        echo "pip $*" >> "{log}"
        if [ -f "{fail}" ]; then echo "ERROR: No matching distribution found"; exit 1; fi
        printf '#!/bin/sh\\n' > "$bin/emstudio" && chmod +x "$bin/emstudio"; exit 0;;
    "-c import emstudio") [ -x "$bin/emstudio" ]; exit;;
esac
exec "{real}" "$@"
"""


@pytest.fixture
def checkout(tmp_path):
    root = tmp_path / "checkout"
    (root / "tools").mkdir(parents=True)
    (root / "tools" / "venv.sh").write_text((ROOT / "tools" / "venv.sh").read_text())
    (root / "pyproject.toml").write_text("[project]\nname = 'emstudio'\n")
    return root


def _ensure_venv(tmp_path: Path, root: Path, ensurepip: bool = True):
    """ensure_venv "" in ``root``, with only the stand-in python3.11 on PATH; returns (process, log)."""
    shims, log, fail = tmp_path / "shims", tmp_path / "log", tmp_path / "FAIL"
    shims.mkdir(exist_ok=True)
    names = dict(real=sys.executable, log=log, fail=fail, venv_python=shims / "venv-python")
    (shims / "venv-python").write_text(VENV_PYTHON.format(**names))
    (shims / "python3.11").write_text(PYTHON.format(**names))
    for shim in ("venv-python", "python3.11"):
        (shims / shim).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = f"{shims}:/usr/bin:/bin"
    if not ensurepip:
        # Debian ships ensurepip in python3.X-venv: without it, `import ensurepip` fails like this.
        shadow = tmp_path / "shadow" / "ensurepip"
        shadow.mkdir(parents=True, exist_ok=True)
        (shadow / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'ensurepip'\")\n")
        env["PYTHONPATH"] = str(shadow.parent)
    done = subprocess.run(["bash", "-c", f'source {root / "tools" / "venv.sh"}; ensure_venv ""'],
                          capture_output=True, text=True, timeout=120, env=env)
    lines = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return done, lines


def _whole(venv: Path) -> bool:
    return (venv / "bin" / "emstudio").exists() and (venv / ".emstudio-installed-run").exists() and \
        not (venv / ".emstudio-install-failed").exists()


def test_first_use_makes_the_venv_then_nothing_to_do(tmp_path, checkout):
    done, log = _ensure_venv(tmp_path, checkout)
    assert done.returncode == 0, done.stderr
    assert log[0] == f"made {checkout / '.venv'}" and log[1].startswith("pip -m pip install")
    assert _whole(checkout / ".venv")
    again, log = _ensure_venv(tmp_path, checkout)
    assert again.returncode == 0 and again.stderr == "" and log == []


def test_a_venv_without_pip_is_made_again(tmp_path, checkout):
    venv = checkout / ".venv"
    # What `python3 -m venv` leaves on Debian without python3-venv: a python, and no pip.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    done, log = _ensure_venv(tmp_path, checkout)
    assert done.returncode == 0, done.stderr
    assert "has no pip" in done.stderr and "making it again" in done.stderr
    assert log[0] == f"made {venv}" and _whole(venv)


def test_a_venv_without_python_is_made_again(tmp_path, checkout):
    (checkout / ".venv" / "bin").mkdir(parents=True)  # an interrupted creation
    done, log = _ensure_venv(tmp_path, checkout)
    assert done.returncode == 0, done.stderr
    assert "has no working python" in done.stderr and log[0].startswith("made") and _whole(checkout / ".venv")


def test_a_failed_install_makes_the_venv_again_next_time(tmp_path, checkout):
    (tmp_path / "FAIL").touch()
    failed, _ = _ensure_venv(tmp_path, checkout)
    assert failed.returncode == 1
    assert failed.stderr.splitlines()[-1].startswith("emstudio: installing into .venv failed")
    assert "No matching distribution" in failed.stderr
    (tmp_path / "FAIL").unlink()
    done, log = _ensure_venv(tmp_path, checkout)
    assert done.returncode == 0, done.stderr
    assert "install that failed" in done.stderr and "making it again" in done.stderr
    assert log[0].startswith("made") and _whole(checkout / ".venv")


def test_a_changed_pyproject_reinstalls_into_the_same_venv(tmp_path, checkout):
    _ensure_venv(tmp_path, checkout)
    (checkout / "pyproject.toml").write_text("[project]\nname = 'emstudio'\nversion = '1'\n")
    done, log = _ensure_venv(tmp_path, checkout)
    assert done.returncode == 0 and len(log) == 1 and log[0].startswith("pip")  # no new venv


def test_a_python_without_ensurepip_names_python3_venv_in_one_line(tmp_path, checkout):
    done, log = _ensure_venv(tmp_path, checkout, ensurepip=False)
    assert done.returncode == 1 and log == []
    assert done.stderr.count("\n") == 1 and "sudo apt-get install -y python3-venv" in done.stderr
    assert not (checkout / ".venv").exists()
