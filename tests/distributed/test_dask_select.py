"""`emstudio select --engine dask`: the cells of the in-memory `select`, each fitted on the cluster."""

import json

import numpy as np
import pytest

from emstudio.cli import main
from tests.conftest import blobs

pytest.importorskip("distributed")

RTOL = 1e-10


@pytest.mark.parametrize("grid", [["--k", "1-3", "--covariance", "full,diag"],
                                  ["--k", "1-2", "--covariance", "spherical", "--standardize"]])
def test_the_selection_equals_the_in_memory_one(dask_client, tmp_path, capsys, grid):
    path = tmp_path / "x.npy"
    np.save(path, blobs([500, 400], [[0, 0], [2, 1]], [1.0, 0.7], seed=3))
    # few short runs and a short long run: the cells' every start, warm start and em-EM choice,
    # in few passes (each a round trip to the cluster)
    common = [*grid, "--restarts", "2", "--short-iter", "3", "--max-iter", "8", "--tol", "0", "-q"]
    assert main(["select", str(path), *common, "--out", str(tmp_path / "memory.json")]) == 0
    assert main(["select", str(path), *common, "--out", str(tmp_path / "dask.json"), "--engine", "dask",
                 "--scheduler", dask_client.scheduler.address, "--block-rows", "300"]) == 0
    memory, dask = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("memory", "dask"))
    assert len(dask["models"]) == len(memory["models"]) == (6 if "full,diag" in grid else 2)
    for got, want in zip(dask["models"], memory["models"]):
        for key in ("covariance_type", "k", "n_iter", "total_iterations", "starts", "kept_start", "n_collapsed"):
            assert got[key] == want[key], key
        for key in ("log_likelihood", "bic", "aic", "icl"):
            assert got[key] == pytest.approx(want[key], rel=RTOL), key
    best_got, best_want = dask["best"], memory["best"]
    assert (best_got["covariance_type"], len(best_got["weights"])) == (best_want["covariance_type"],
                                                                         len(best_want["weights"]))
    assert best_got["settings"]["engine"] == "dask"
    assert best_got["settings"].get("standardize") is best_want["settings"].get("standardize")
    for name in ("weights", "means", "covariances"):
        b = np.asarray(best_want[name])
        np.testing.assert_allclose(best_got[name], b, rtol=RTOL, atol=RTOL * np.abs(b).max())
    assert "900 rows, 2 columns (x0, x1) in 3 blocks" in capsys.readouterr().err


@pytest.mark.parametrize("options, needle", [
    (["--jobs", "2"], "--jobs is for the in-memory engine"),
    (["--model", "fa", "--factors", "1", "--prior", "conjugate"], "--prior is for Gaussian mixtures"),
])
def test_select_options_that_do_not_apply_are_one_line(tmp_path, capsys, options, needle):
    np.save(tmp_path / "x.npy", np.zeros((10, 2)))
    assert main(["select", str(tmp_path / "x.npy"), "--engine", "dask", *options]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and needle in err, err


def test_a_dask_option_without_the_engine_is_one_line(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((10, 2)))
    assert main(["select", str(tmp_path / "x.npy"), "--workers", "2"]) == 1
    assert "--workers is for --engine dask" in capsys.readouterr().err
