"""tools/system-libraries.sh, which ./test runs before pytest: as root with apt-get it installs Qt's
missing system libraries; otherwise it prints the one command that does and stops (exit 1).

The checker (.venv's python -m emstudio.system_libraries), `id` and `apt-get` are stand-ins on PATH,
so nothing is installed and no root is needed."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _stand_in(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


@pytest.fixture
def machine(tmp_path):
    """A fake machine lacking libegl1 and fonts-dejavu-core until apt-get installs them."""
    bin_dir, venv = tmp_path / "bin", tmp_path / "venv"
    bin_dir.mkdir()
    (venv / "bin").mkdir(parents=True)
    installed = tmp_path / "installed"
    # The checker: prints what is missing until the stand-in apt-get has "installed" it.
    _stand_in(venv / "bin" / "python", f'[ -f {installed} ] && echo "" || echo "libegl1 fonts-dejavu-core"\n')
    _stand_in(bin_dir / "apt-get", f'echo "$@" >> {tmp_path / "apt.log"}\n'
                                   f'case "$1" in install) : > {installed};; esac\n')

    def run(uid: int, with_apt: bool = True):
        _stand_in(bin_dir / "id", f"echo {uid}\n")
        if not with_apt:
            (bin_dir / "apt-get").unlink()
        # Only the stand-ins on PATH: the machine's own apt-get must never run here.
        env = dict(os.environ, PATH=str(bin_dir))
        script = f'source {ROOT / "tools/system-libraries.sh"}; VENV={venv}; ensure_qt_libraries offscreen'
        done = subprocess.run(["/bin/bash", "-c", script], capture_output=True, text=True, timeout=60, env=env)
        log = tmp_path / "apt.log"
        return done, (log.read_text().splitlines() if log.exists() else [])

    return run


def test_as_root_with_apt_get_the_missing_packages_are_installed(machine):
    done, apt = machine(uid=0)
    assert done.returncode == 0, done.stderr
    assert "installing the system libraries Qt needs" in done.stderr and "libegl1 fonts-dejavu-core" in done.stderr
    assert apt[0] == "update -qq"
    assert apt[1].startswith("install -y") and apt[1].endswith("libegl1 fonts-dejavu-core")


def test_not_root_the_one_command_is_printed_and_the_run_stops(machine):
    done, apt = machine(uid=1000)
    assert done.returncode == 1 and apt == []
    assert "sudo apt-get update && sudo apt-get install -y libegl1 fonts-dejavu-core" in done.stderr
    assert "Traceback" not in done.stderr


def test_root_without_apt_get_gets_the_command_too(machine):
    done, apt = machine(uid=0, with_apt=False)
    assert done.returncode == 1 and "apt-get install -y libegl1 fonts-dejavu-core" in done.stderr


def test_nothing_missing_is_silent(machine, tmp_path):
    (tmp_path / "installed").touch()
    done, apt = machine(uid=1000)
    assert done.returncode == 0 and done.stderr == "" and apt == []
