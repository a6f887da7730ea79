"""The sample data sets, shipped inside the package (package data), so that every way of running
EM Studio finds them: a checkout (./run), `pip install .`, a wheel, an sdist and the PyInstaller
bundle. Made by tools/make_samples.py (iris.csv is R's iris data).

`emstudio samples` prints their paths: `emstudio fit "$(emstudio samples overlapping)" --k 3`."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

# (file, label, what it shows): the window offers these on first start and in File ▸ Samples.
WINDOW_SAMPLES = [
    ("separated.csv", "Well separated", "three round clusters far apart: EM settles in a few iterations"),
    ("overlapping.csv", "Overlapping", "three clusters that overlap: mixed responsibilities, slow convergence"),
    ("elongated.csv", "Elongated", "two long, crossing clusters: try full against diagonal covariances"),
    ("one_d.csv", "One dimension", "a 1-D mixture of three normals: histogram and densities"),
    ("four_d.csv", "Four dimensions", "d = 4: choose the axes; ellipses are the exact marginals"),
]
# The window leaves iris out of its first page: it is for comparing a fit with known classes.
ALL_SAMPLES = WINDOW_SAMPLES + [
    ("iris.csv", "Iris", "Fisher's iris: four measurements and the known Species (--classes Species)"),
]


def samples_dir() -> Path:
    """The folder holding the sample files. Every supported install (checkout, wheel, sdist,
    one-folder bundle) unpacks package data onto the file system, so this is a real folder."""
    return Path(str(resources.files(__name__)))


def sample_path(name: str) -> Path | None:
    """The sample called ``name`` ("iris" or "iris.csv"), or None when there is no such sample."""
    filename = name if name.endswith(".csv") else f"{name}.csv"
    if filename not in {file for file, _, _ in ALL_SAMPLES}:
        return None
    path = samples_dir() / filename
    return path if path.is_file() else None
