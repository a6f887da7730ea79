"""`fit --engine dask --labels` and `--standardize`: the files the in-memory `fit` writes."""

import csv
import json

import numpy as np
import pytest

from emstudio.cli import main
from tests.conftest import blobs

pytest.importorskip("distributed")

RTOL = 1e-10


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """1,600 rows with one missing value: one .npy; three CSV files and the same rows as one CSV."""
    root = tmp_path_factory.mktemp("dask-labels")
    data = blobs([900, 700], [[10, 0], [12, 1]], [1.0, 0.7], seed=3)
    data[5, 1] = np.nan  # dropped: the row numbers skip it
    np.save(root / "x.npy", data)
    lines = ["NA" if not np.isfinite(row).all() else ",".join(repr(float(v)) for v in row) for row in data]
    lines = [line if "," in line else f"{float(data[i, 0])!r},NA" for i, line in enumerate(lines)]
    parts = np.array_split(np.arange(len(lines)), 3)
    for i, rows in enumerate(parts):
        (root / f"part{i}.csv").write_text("a,b\n" + "".join(lines[r] + "\n" for r in rows))
    (root / "all.csv").write_text("a,b\n" + "".join(line + "\n" for line in lines))
    start = root / "start.json"
    assert main(["fit", str(root / "x.npy"), "--k", "2", "--max-iter", "0", "--out", str(start), "-q"]) == 0
    return {"npy": str(root / "x.npy"), "glob": str(root / "part*.csv"), "all": str(root / "all.csv"),
            "start": str(start)}


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def _assert_same_labels(got_path, want_path):
    got, want = _rows(got_path), _rows(want_path)
    assert got[0] == want[0] and len(got) == len(want) == 1600  # header + 1,599 rows
    k = len(want[0]) - 4
    for a, b in zip(got[1:], want[1:]):
        assert a[:4] == b[:4]  # row, the cells as read, component: the same text
        np.testing.assert_allclose([float(v) for v in a[4:]], [float(v) for v in b[4:]], rtol=0, atol=RTOL)
    assert k == 2


def _dask(client, *options):
    return ["--engine", "dask", "--scheduler", client.scheduler.address, *options]


@pytest.mark.parametrize("kind, memory_kind", [("npy", "npy"), ("glob", "all")])
def test_the_labels_file_is_the_in_memory_one(dask_client, files, tmp_path, monkeypatch, kind, memory_kind):
    from emstudio.distributed import labels

    monkeypatch.setattr(labels, "LABEL_PIECE_ROWS", 300)  # pieces across the blocks of 500 rows
    common = ["--init", files["start"], "--tol", "0", "--max-iter", "5", "-q"]
    assert main(["fit", files[memory_kind], *common, "--labels", str(tmp_path / "memory.csv")]) == 0
    assert main(["fit", files[kind], *common, "--labels", str(tmp_path / "dask.csv"),
                 *_dask(dask_client, "--block-rows", "500")]) == 0
    _assert_same_labels(tmp_path / "dask.csv", tmp_path / "memory.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dask.csv", "memory.csv"]  # no temporary left
    if kind == "glob":  # the rows numbered on over the files, as in the one file
        assert [r[0] for r in _rows(tmp_path / "dask.csv")[5:8]] == ["5", "7", "8"]


def _same_result(got, want):
    assert got["n_iter"] == want["n_iter"]
    assert got["settings"]["standardize"] is want["settings"]["standardize"] is True
    assert got["covariance_type"] == want["covariance_type"]
    assert got["log_likelihood"] == pytest.approx(want["log_likelihood"], rel=RTOL)
    for name in ("weights", "means", "covariances"):
        b = np.asarray(want[name])
        np.testing.assert_allclose(got[name], b, rtol=RTOL, atol=RTOL * np.abs(b).max())


@pytest.mark.parametrize("start, covariance", [("file", "full"), ("kmeans", "spherical"), ("kmeans", "VEV")])
def test_standardize_fits_as_in_memory(dask_client, files, tmp_path, start, covariance):
    # kmeans: the default start on z-scores (the sample holds every row); spherical comes back diag
    init = ["--init", files["start"]] if start == "file" else ["--k", "2", "--seed", "4"]
    common = [*init, "--covariance", covariance, "--standardize", "--tol", "0", "--max-iter", "6", "-q"]
    assert main(["fit", files["npy"], *common, "--out", str(tmp_path / "memory.json")]) == 0
    assert main(["fit", files["npy"], *common, "--out", str(tmp_path / "dask.json"),
                 *_dask(dask_client, "--block-rows", "400")]) == 0
    memory, dask = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("memory", "dask"))
    _same_result(dask, memory)
    assert dask["settings"]["engine"] == "dask"


def test_standardize_with_labels_on_csv_files(dask_client, files, tmp_path):
    common = ["--init", files["start"], "--standardize", "--tol", "0", "--max-iter", "4", "-q"]
    assert main(["fit", files["all"], *common, "--labels", str(tmp_path / "memory.csv"),
                 "--out", str(tmp_path / "memory.json")]) == 0
    assert main(["fit", files["glob"], *common, "--labels", str(tmp_path / "dask.csv"),
                 "--out", str(tmp_path / "dask.json"), *_dask(dask_client)]) == 0
    _same_result(*(json.loads((tmp_path / f"{n}.json").read_text()) for n in ("dask", "memory")))
    _assert_same_labels(tmp_path / "dask.csv", tmp_path / "memory.csv")
