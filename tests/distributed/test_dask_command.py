"""`emstudio fit --engine dask`: the same result file as `emstudio fit`, one line for each problem."""

import json
import os
import signal
import sys

import numpy as np
import pytest

from emstudio.cli import main
from tests.conftest import blobs

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def npy(tmp_path_factory):
    path = tmp_path_factory.mktemp("dask-cli") / "x.npy"
    np.save(path, blobs([900, 700], [[0, 0], [2, 1]], [1.0, 0.7], seed=3))
    return path


def _result(path):
    return json.loads(path.read_text())


def test_the_result_file_matches_the_in_memory_fit(dask_client, npy, tmp_path, capsys):
    start = tmp_path / "start.json"
    assert main(["fit", str(npy), "--k", "2", "--max-iter", "0", "--out", str(start), "-q"]) == 0
    common = ["--init", str(start), "--tol", "0", "--max-iter", "7", "-q"]
    assert main(["fit", str(npy), *common, "--out", str(tmp_path / "memory.json")]) == 0
    assert main(["fit", str(npy), *common, "--out", str(tmp_path / "dask.json"), "--engine", "dask",
                 "--scheduler", dask_client.scheduler.address, "--block-rows", "500"]) == 0
    memory, dask = _result(tmp_path / "memory.json"), _result(tmp_path / "dask.json")
    assert dask["settings"]["engine"] == "dask"
    assert dask["data"]["n_samples"] == memory["data"]["n_samples"] == 1600
    assert dask["log_likelihood"] == pytest.approx(memory["log_likelihood"], rel=1e-10)
    assert dask["n_iter"] == memory["n_iter"] == 7
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(dask[name], memory[name], rtol=1e-10, atol=1e-12)
    err = capsys.readouterr().err
    assert "1600 rows, 2 columns (x0, x1) in 4 blocks" in err


def _one_error_line(capsys, *needles):
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("emstudio: error: "), err
    for needle in needles:
        assert needle in err, err


def test_an_unreachable_scheduler_is_one_line(npy, capsys):
    assert main(["fit", str(npy), "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9",
                 "--connect-timeout", "0.5"]) == 1
    _one_error_line(capsys, "cannot reach the Dask scheduler at tcp://127.0.0.1:9")


def test_without_dask_installed_the_line_says_how_to_install_it(npy, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed → ImportError
    assert main(["fit", str(npy), "--engine", "dask"]) == 1
    _one_error_line(capsys, "pip install 'emstudio[cluster]'")


@pytest.mark.parametrize("options, needle", [
    (["--workers", "3"], "--workers is for --engine dask"),
    (["--engine", "dask", "--classes", "x0"], "--classes with --engine dask needs table files"),
    (["--engine", "dask", "--sheet", "1"], "--sheet is not available with --engine dask"),
    (["--engine", "dask", "--scheduler", "tcp://127.0.0.1:9", "--workers", "2"], "--workers is for the local cluster"),
])
def test_options_that_do_not_apply_are_one_line(npy, capsys, options, needle):
    assert main(["fit", str(npy), *options]) == 1
    _one_error_line(capsys, needle)


def test_a_worker_killed_mid_fit_changes_nothing(dask_client, npy):
    """The killed worker's blocks are recomputed from the file (their lineage) and the sums still
    add up the same fixed tree: the same numbers as a fit where nothing happened."""
    from emstudio.core.em import FitSettings, fit_mixture
    from emstudio.core.init import initial_params
    from emstudio.distributed.engine import ClusterEngine
    from emstudio.distributed.fit import fit_on_cluster
    from emstudio.distributed.sources import find_blocks

    X = np.load(npy)
    settings = FitSettings(k=2, init=initial_params(X, 2, "full", "kmeans", np.random.default_rng(0), 1e-6),
                           tol=0, max_iter=6)
    pids = dask_client.run(os.getpid)
    victim = max(pids.values())

    def kill_once(restart, snapshot):
        if snapshot.iteration == 2 and victim in dask_client.run(os.getpid).values():
            os.kill(victim, signal.SIGKILL)

    try:
        with ClusterEngine(dask_client, find_blocks(str(npy), block_rows=200), "full") as engine:
            result = fit_on_cluster(engine, settings, on_snapshot=kill_once)
    finally:
        dask_client.wait_for_workers(2, timeout=60)  # the nanny starts a new worker for the others
    assert victim not in dask_client.run(os.getpid).values()
    expected = fit_mixture(X, settings)
    assert result.log_likelihood == pytest.approx(expected.log_likelihood, rel=1e-10)
    np.testing.assert_allclose(result.params.covariances, expected.params.covariances, rtol=1e-10)
