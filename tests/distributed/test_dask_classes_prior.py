"""`fit --engine dask` with `--classes` (the comparison with known classes), `--prior conjugate`
(MAP-EM) and `--model fa|mfa`: the in-memory fit's output."""

import json

import numpy as np
import pytest

from emstudio.cli import main
from emstudio.samples import sample_path as _sample_path

pytest.importorskip("distributed")

RTOL = 1e-10


def sample_path(name):
    return str(_sample_path(name))


def _dask(client, *options):
    return ["--engine", "dask", "--scheduler", client.scheduler.address, *options]


@pytest.fixture(scope="module")
def iris_coded(tmp_path_factory):
    """iris with its species as numbers 1-3 (a numeric column, left out of the data as classes)
    in the middle, one species missing, and a header line the blocks read again."""
    lines = open(sample_path("iris")).read().splitlines()
    codes = {'"setosa"': "1", '"versicolor"': "2", '"virginica"': "3"}
    body = []
    for i, line in enumerate(lines[1:]):
        *numbers, species = line.split(",")
        body.append(",".join(numbers[:2] + ["NA" if i == 60 else codes[species]] + numbers[2:]))
    path = tmp_path_factory.mktemp("dask-classes") / "iris_coded.csv"
    path.write_text('"a","b","species","c","d"\n' + "\n".join(body) + "\n")
    return str(path)


@pytest.mark.parametrize("which", ["iris", "coded"])
def test_classes_compare_as_in_memory(dask_client, iris_coded, capsys, which):
    data, column = (sample_path("iris"), "Species") if which == "iris" else (iris_coded, "species")
    common = [data, "--k", "3", "--seed", "1", "--classes", column, "--tol", "0", "--max-iter", "30"]
    assert main(["fit", *common]) == 0
    want = capsys.readouterr().out
    assert main(["fit", *common, *_dask(dask_client, "--block-bytes", "1000")]) == 0
    got = capsys.readouterr().out
    comparison = want[want.index("known classes"):]
    assert got[got.index("known classes"):] == comparison
    assert ("1 row without a class not compared" in comparison) is (which == "coded")


def test_classes_of_an_array_are_refused(dask_client, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(50, 2)))
    assert main(["fit", str(tmp_path / "x.npy"), "--classes", "x1", *_dask(dask_client)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--classes with --engine dask needs table files" in err[0]


@pytest.mark.parametrize("covariance", ["full", "tied", "diag", "spherical", "EVI"])
def test_prior_fits_as_in_memory(dask_client, tmp_path, covariance):
    common = [sample_path("iris"), "--k", "3", "--seed", "2", "--covariance", covariance, "--prior", "conjugate",
              "--tol", "0", "--max-iter", "25", "-q"]
    assert main(["fit", *common, "--out", str(tmp_path / "memory.json")]) == 0
    assert main(["fit", *common, "--out", str(tmp_path / "dask.json"), *_dask(dask_client, "--block-bytes",
                                                                               "1500")]) == 0
    memory, dask = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("memory", "dask"))
    assert dask["n_iter"] == memory["n_iter"] == 25
    assert dask["settings"]["prior"] == "conjugate"
    for name in ("log_likelihood", "log_prior"):
        assert dask[name] == pytest.approx(memory[name], rel=RTOL)
    for name in ("weights", "means", "covariances"):
        b = np.asarray(memory[name])
        np.testing.assert_allclose(dask[name], b, rtol=RTOL, atol=RTOL * np.abs(b).max())


def test_prior_for_a_model_without_one_is_one_line(dask_client, capsys):
    assert main(["fit", sample_path("iris"), "--k", "2", "--covariance", "VEV", "--prior", "conjugate",
                 *_dask(dask_client)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not available for the VEV model" in err[0]


@pytest.mark.parametrize("model, options", [("fa", ["--factors", "2"]),
                                            ("mfa", ["--k", "2", "--factors", "1", "--seed", "3"]),
                                            ("mfa", ["--k", "3", "--factors", "1", "--psi", "per-component"])])
def test_factor_models_fit_as_in_memory(dask_client, tmp_path, capsys, model, options):
    common = [sample_path("iris"), "--model", model, *options, "--tol", "0", "--max-iter", "15"]
    labels = (lambda name: ["--labels", str(tmp_path / f"{name}.csv")]) if model == "mfa" else (lambda name: [])
    assert main(["fit", *common, "--out", str(tmp_path / "memory.json"), *labels("memory")]) == 0
    want = capsys.readouterr().out
    assert main(["fit", *common, "--out", str(tmp_path / "dask.json"), *labels("dask"),
                 *_dask(dask_client, "--block-bytes", "1500")]) == 0
    got = capsys.readouterr().out
    if model == "mfa":  # the components' labels: row, cells, component
        got_rows, want_rows = ((tmp_path / f"{n}.csv").read_text().splitlines() for n in ("dask", "memory"))
        assert [r.split(",")[:6] for r in got_rows] == [r.split(",")[:6] for r in want_rows]
    assert got.splitlines()[1:] == want.splitlines()[1:] and got.split(":")[0] == want.split(":")[0]
    memory, dask = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("memory", "dask"))
    assert dask["n_iter"] == memory["n_iter"] == 15 and dask["settings"]["engine"] == "dask"
    assert dask["log_likelihood"] == pytest.approx(memory["log_likelihood"], rel=RTOL)
    for name in ("weights", "means", "loadings", "psi"):
        b = np.asarray(memory[name])
        np.testing.assert_allclose(dask[name], b, rtol=RTOL, atol=RTOL * np.abs(b).max())


def test_select_with_prior_equals_in_memory(dask_client, tmp_path):
    common = [sample_path("iris"), "--k", "1-3", "--covariance", "full,diag", "--prior", "conjugate",
              "--restarts", "2", "--seed", "3", "--max-iter", "20", "--tol", "0", "-q"]
    assert main(["select", *common, "--out", str(tmp_path / "memory.json")]) == 0
    assert main(["select", *common, "--out", str(tmp_path / "dask.json"), *_dask(dask_client)]) == 0
    memory, dask = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("memory", "dask"))
    assert len(dask["models"]) == len(memory["models"]) == 6
    for got, want in zip(dask["models"], memory["models"]):
        assert (got["covariance_type"], got["k"], got["n_iter"]) == (want["covariance_type"], want["k"], want["n_iter"])
        assert got["bic"] == pytest.approx(want["bic"], rel=RTOL)


def test_select_of_factor_models_reads_the_dask_options(capsys):
    # they were left unread: the grid ran in memory
    assert main(["select", sample_path("iris"), "--model", "fa", "--factors", "1-2", "--workers", "2"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--workers is for --engine dask" in err[0]


@pytest.mark.parametrize("model, options", [("fa", ["--factors", "0-2"]),
                                            ("mfa", ["--k", "1-2", "--factors", "0-1", "--psi", "per-component"])])
def test_select_of_factor_models_equals_in_memory(dask_client, tmp_path, capsys, model, options):
    common = [sample_path("iris"), "--model", model, *options, "--restarts", "2", "--seed", "4",
              "--max-iter", "12", "--tol", "0"]
    assert main(["select", *common, "--out", str(tmp_path / "memory.json")]) == 0
    want = capsys.readouterr().out
    assert main(["select", *common, "--out", str(tmp_path / "dask.json"), *_dask(dask_client, "--block-rows", "60")]) == 0
    assert capsys.readouterr().out == want  # the same table, the same choice
    memory, dask = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("memory", "dask"))
    assert len(dask["models"]) == len(memory["models"]) == (3 if model == "fa" else 4)
    for got, wanted in zip(dask["models"], memory["models"]):
        assert (got["k"], got["factors"], got["converged"]) == (wanted["k"], wanted["factors"], wanted["converged"])
        for key in ("log_likelihood", "bic"):
            assert got[key] == pytest.approx(wanted[key], rel=RTOL), key
    b = np.asarray(memory["best"]["loadings"])
    np.testing.assert_allclose(dask["best"]["loadings"], b, rtol=RTOL, atol=RTOL * np.abs(b).max())
