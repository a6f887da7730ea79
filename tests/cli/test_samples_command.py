"""`emstudio samples [NAME]`: where the shipped sample data sets are (package data), and
`emstudio --version`."""

from pathlib import Path

from emstudio import __version__
from emstudio.samples import ALL_SAMPLES, samples_dir
from tests.cli.test_fit_command import emstudio


def test_samples_lists_every_sample_with_a_path_that_exists(tmp_path):
    code, stdout, stderr = emstudio("samples", cwd=tmp_path)
    assert code == 0 and stderr == ""
    paths = [Path(line.split()[1]) for line in stdout.splitlines() if not line.startswith(" ")]
    assert [p.name for p in paths] == [name for name, _, _ in ALL_SAMPLES]
    assert all(p.is_file() and p.parent == samples_dir() for p in paths)


def test_a_sample_by_name_is_its_path_and_fits(tmp_path):
    code, stdout, _ = emstudio("samples", "iris", cwd=tmp_path)
    assert code == 0 and stdout == f"{samples_dir() / 'iris.csv'}\n"
    code, stdout, stderr = emstudio("fit", stdout.strip(), "--k", "3", "--classes", "Species", cwd=tmp_path)
    assert code == 0 and "adjusted Rand index" in stdout, stderr


def test_an_unknown_sample_is_one_line_naming_the_samples(tmp_path):
    code, stdout, stderr = emstudio("samples", "penguins", cwd=tmp_path)
    assert code == 1 and stdout == "" and len(stderr.splitlines()) == 1
    assert "no sample called 'penguins'" in stderr and "overlapping" in stderr


def test_version_is_the_package_version():
    code, stdout, _ = emstudio("--version")
    assert (code, stdout) == (0, f"emstudio {__version__}\n")
