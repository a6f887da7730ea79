"""`emstudio select --model fa|mfa` end to end: each cell is the `fit` of its own K and q, the
selection file's factor form and its round trips, one-line errors, and Ctrl+C/SIGTERM."""

import json
import os
import signal
import sys

import numpy as np
import pytest

from tests.cli.test_fit_command import assert_one_clear_line, emstudio
from tests.cli.test_select_interrupt import PATIENCE, _alive, _descendants, _start, _stderr_lines, _wait_until


@pytest.fixture(scope="module")
def factor_data(tmp_path_factory):
    """Two groups of rows, each driven by one factor of its own, in five columns."""
    rng = np.random.default_rng(3)
    parts = []
    for shift in (0.0, 6.0):
        z = rng.normal(size=(200, 1))
        parts.append(z @ rng.normal(size=(1, 5)) * 1.5 + rng.normal(size=(200, 5)) * 0.6 + shift)
    path = tmp_path_factory.mktemp("data") / "groups.csv"
    np.savetxt(path, np.vstack(parts), delimiter=",", header="a,b,c,d,e", comments="", fmt="%.10g")
    return path


def test_each_factor_analysis_cell_is_the_fit_of_its_q_with_the_same_seed(tmp_path, factor_data):
    out = tmp_path / "sel.json"
    code, stdout, stderr = emstudio("select", factor_data, "--model", "fa", "--factors", "0-3", "--restarts", "3",
                                    "--seed", "5", "--jobs", "2", "--out", out)
    assert code == 0, stderr
    content = json.loads(out.read_text())
    assert content["format"] == "emstudio.model-selection" and content["model"] == "fa"
    assert [(m["k"], m["factors"]) for m in content["models"]] == [(1, q) for q in range(4)]
    for model in content["models"]:
        alone = tmp_path / f"fa{model['factors']}.json"
        code, _, stderr = emstudio("fit", factor_data, "--model", "fa", "--factors", str(model["factors"]),
                                   "--restarts", "3", "--seed", "5", "--out", alone)
        assert code == 0, stderr
        fitted = json.loads(alone.read_text())
        for key in ("log_likelihood", "bic", "aic", "n_parameters"):
            assert model[key] == pytest.approx(fitted[key], rel=1e-12), key
    chosen = min(content["models"], key=lambda m: m["bic"])
    best = content["best"]
    assert best["format"] == "emstudio.factor-analysis" and best["n_factors"] == chosen["factors"]
    assert best["bic"] == chosen["bic"]
    assert f"chosen: factor analysis, q={chosen['factors']}" in stdout and "*" in stdout


def test_the_mixture_grid_and_its_selection_file(tmp_path, factor_data):
    out = tmp_path / "sel.json"
    code, stdout, stderr = emstudio("select", factor_data, "--model", "mfa", "--k", "1-3", "--factors", "0-2",
                                    "--psi", "per-component", "--restarts", "2", "--out", out)
    assert code == 0, stderr
    content = json.loads(out.read_text())
    assert content["model"] == "mfa" and content["psi_type"] == "per-component" and content["criterion"] == "bic"
    assert [(m["k"], m["factors"]) for m in content["models"]] == [(k, q) for k in (1, 2, 3) for q in (0, 1, 2)]
    eligible = [m for m in content["models"] if not m["heywood"]]
    chosen = min(eligible, key=lambda m: m["bic"])
    best = content["best"]
    assert (best["settings"]["k"], best["n_factors"]) == (chosen["k"], chosen["factors"]) == (2, 1)
    assert best["format"] == "emstudio.factor-mixture" and best["psi_type"] == "per-component"
    assert "K=1" in stdout and "q=2" in stdout and "chosen: K=2 factor analysers, Ψ per component, q=1" in stdout
    # the best model is a start for its own model (K from the file), for a Gaussian mixture, and a model to predict with
    again = tmp_path / "again.json"
    code, _, stderr = emstudio("fit", factor_data, "--model", "mfa", "--factors", "1", "--psi", "per-component",
                               "--init", out, "--out", again)
    assert code == 0, stderr
    refit = json.loads(again.read_text())
    assert refit["settings"]["k"] == 2 and refit["log_likelihood"] >= best["log_likelihood"] - 1e-6
    code, _, stderr = emstudio("fit", factor_data, "--model", "mfa", "--init", out, "--out", again)  # K, q, Ψ from it
    assert code == 0, stderr
    refit = json.loads(again.read_text())
    assert (refit["settings"]["k"], refit["n_factors"], refit["psi_type"]) == (2, 1, "per-component")
    code, _, stderr = emstudio("fit", factor_data, "--model", "mfa", "--init", out, "--psi", "shared")
    assert_one_clear_line(code, stderr)
    assert "Ψ per component" in stderr
    gaussian = tmp_path / "gaussian.json"
    code, _, stderr = emstudio("fit", factor_data, "--init", out, "--max-iter", "0", "--reg-covar", "0", "--out", gaussian)
    assert code == 0, stderr
    assert json.loads(gaussian.read_text())["log_likelihood"] == pytest.approx(best["log_likelihood"], rel=1e-9)
    code, stdout, stderr = emstudio("predict", factor_data, "--model", out)
    assert code == 0, stderr
    assert "K=2 model" in stdout


def test_a_heywood_cell_is_marked_and_not_chosen(tmp_path):
    rng = np.random.default_rng(10)
    z = rng.normal(size=(300, 1))
    X = np.hstack([z, z * 2 + rng.normal(size=(300, 1)) * 1e-9, z + rng.normal(size=(300, 1)),
                   -z + rng.normal(size=(300, 1))])
    data = tmp_path / "heywood.npy"
    np.save(data, X)
    out = tmp_path / "sel.json"
    code, stdout, stderr = emstudio("select", data, "--model", "fa", "--factors", "0-1", "--restarts", "2",
                                    "--tol", "1e-10", "--max-iter", "5000", "--out", out)
    assert code == 0, stderr
    zero, one = json.loads(out.read_text())["models"]
    assert one["heywood"] and one["n_heywood"] == 2 and one["bic"] < zero["bic"]
    assert json.loads(out.read_text())["best"]["n_factors"] == 0
    assert "Heywood case: K=1 q=1: 2/2" in stderr
    assert "!" in stdout and "chosen: factor analysis, q=0" in stdout


@pytest.mark.parametrize("args, words", [
    (["--model", "fa", "--factors", "1-5"], "q goes up to 4"),
    (["--model", "mfa", "--factors", "5"], "factors must be fewer than columns"),
    (["--model", "fa", "--factors", "-1"], "at least 0"),
    (["--model", "mfa", "--factors", "3-1"], "reversed"),
    (["--model", "mfa", "--factors", "1", "--k", "401-500"], "the data allow K up to 400"),
    (["--model", "mfa", "--factors", "1", "--k", "0-3"], "at least 1"),
    (["--model", "fa", "--factors", "1", "--k", "1-3"], "use --model mfa"),
    (["--model", "fa"], "needs --factors"),
    (["--model", "mfa", "--factors", "1", "--covariance", "full"], "--covariance is for Gaussian mixtures"),
    (["--model", "mfa", "--factors", "1", "--init", "result.json"], "takes a start method"),
    (["--factors", "1"], "--factors is for --model fa or mfa"),
    (["--psi", "shared"], "--psi is for --model fa or mfa"),
    (["--model", "fa", "--factors", "1", "--prior", "conjugate"], "--prior is for Gaussian mixtures"),
])
def test_bad_requests_are_one_line(tmp_path, factor_data, args, words):
    code, _, stderr = emstudio("select", factor_data, *args, cwd=tmp_path)
    assert_one_clear_line(code, stderr)
    assert words in stderr


@pytest.fixture
def long_factor_grid(tmp_path):
    """A mixture-of-factor-analysers grid that runs for minutes."""
    rng = np.random.default_rng(0)
    data = tmp_path / "points.npy"
    np.save(data, rng.normal(size=(3000, 6)))
    out = tmp_path / "selection.json"
    args = [sys.executable, "-m", "emstudio", "select", str(data), "--model", "mfa", "--k", "1-10",
            "--factors", "0-4", "--restarts", "50", "--tol", "0", "--max-iter", "100000", "--jobs", "2",
            "--out", str(out)]
    return args, out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="processes are followed in /proc")
def test_ctrl_c_stops_the_factor_grid_and_ends_every_worker(long_factor_grid):
    args, out = long_factor_grid
    process, workers = _start(args)
    family = _descendants(process.pid)
    os.killpg(process.pid, signal.SIGINT)  # as a terminal does: parent and workers alike
    try:
        _, stderr = process.communicate(timeout=PATIENCE)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130
    lines = _stderr_lines(stderr)
    assert len(lines) == 1 and "interrupted after" in lines[0] and "of 50 models" in lines[0], stderr
    assert not out.exists()
    assert _wait_until(lambda: not any(_alive(pid) for pid in family | workers))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="processes are followed in /proc")
def test_sigterm_stops_the_factor_grid_and_ends_every_worker(long_factor_grid):
    args, out = long_factor_grid
    process, workers = _start(args)
    process.terminate()
    try:
        _, stderr = process.communicate(timeout=PATIENCE)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 143
    lines = _stderr_lines(stderr)
    assert len(lines) == 1 and "terminated after" in lines[0], stderr
    assert not out.exists()
    assert _wait_until(lambda: not any(_alive(pid) for pid in workers))
