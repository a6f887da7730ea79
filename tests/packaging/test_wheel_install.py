"""`python -m build` makes a wheel and an sdist holding the sample data sets and the icon, and the
wheel installed into a fresh virtual environment gives a working `emstudio`: its samples are
found (package data, not files next to the checkout) and fitted from a folder outside the checkout.

No network: the build runs without isolation (build and setuptools are in the test extra), the
wheel is installed with --no-deps, and the new environment reaches this interpreter's packages
(numpy, scipy, ...) through a .pth file. A .pth line only adds a folder to sys.path, so the
checkout's editable install there stays inert and the wheel's emstudio is the one imported.
About 10-20 s."""

import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from emstudio import __version__
from emstudio.icons import PNG_SIZES
from emstudio.samples import ALL_SAMPLES

ROOT = Path(__file__).resolve().parents[2]
DATA_FILES = ([f"emstudio/samples/{name}" for name, _, _ in ALL_SAMPLES] + ["emstudio/icons/emstudio.svg"]
              + [f"emstudio/icons/emstudio-{size}.png" for size in PNG_SIZES])


def _run(*args, cwd, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    done = _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT, cwd=out)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return {"wheel": next(out.glob("emstudio-*.whl")), "sdist": next(out.glob("emstudio-*.tar.gz"))}


def test_the_wheel_and_the_sdist_hold_the_samples_and_the_icon(built):
    assert built["wheel"].name == f"emstudio-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(built["wheel"]) as wheel:
        names = set(wheel.namelist())
    assert set(DATA_FILES) <= names, set(DATA_FILES) - names
    with tarfile.open(built["sdist"]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert set(DATA_FILES) <= names, set(DATA_FILES) - names


def test_the_installed_wheel_fits_a_packaged_sample_outside_the_checkout(built, tmp_path):
    # Nothing of the checkout's: a PYTHONPATH naming it would make pip think emstudio installed.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DISPLAY", "WAYLAND_DISPLAY")}
    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path, env=env).returncode == 0
    python, emstudio = venv / "bin" / "python", venv / "bin" / "emstudio"
    installed = _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
                     "--disable-pip-version-check", built["wheel"], cwd=tmp_path, env=env)
    assert installed.returncode == 0, installed.stderr
    new_site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                         cwd=tmp_path, env=env).stdout.strip())
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (new_site / "_emstudio_test_dependencies.pth").write_text("\n".join(sorted(here)) + "\n")

    work = tmp_path / "elsewhere"
    work.mkdir()
    where = _run(python, "-c", "import emstudio; print(emstudio.__file__)", cwd=work, env=env)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout + where.stderr

    version = _run(emstudio, "--version", cwd=work, env=env)
    assert (version.returncode, version.stdout.strip()) == (0, f"emstudio {__version__}")
    listed = _run(emstudio, "samples", cwd=work, env=env)
    assert listed.returncode == 0 and str(venv) in listed.stdout and str(ROOT) not in listed.stdout
    sample = _run(emstudio, "samples", "overlapping", cwd=work, env=env).stdout.strip()
    assert Path(sample).is_relative_to(venv) and Path(sample).is_file()

    fitted = _run(emstudio, "fit", sample, "--k", "2", "--out", "fit.json", cwd=work, env=env)
    assert fitted.returncode == 0 and "Traceback" not in fitted.stderr, fitted.stderr
    result = json.loads((work / "fit.json").read_text())
    assert result["data"] == {"source": "overlapping.csv", "columns": ["x", "y"], "n_samples": 500, "n_dropped": 0}
    assert len(result["weights"]) == 2 and result["converged"] is True
    # The installed program gives the checkout's answer.
    here = _run(sys.executable, "-m", "emstudio", "fit", ROOT / "emstudio/samples/overlapping.csv", "--k", "2",
                "--out", "-", "-q", cwd=ROOT)
    assert result["log_likelihood"] == json.loads(here.stdout)["log_likelihood"]
