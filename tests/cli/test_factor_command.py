"""`emstudio fit --model fa|mfa`: result files of their own type, valid as starts, one-line errors."""

import json
import re

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from tests.cli.test_fit_command import assert_one_clear_line, emstudio


@pytest.fixture(scope="module")
def factor_csv(tmp_path_factory):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(240, 2))
    X = z @ rng.normal(size=(2, 5)) + rng.normal(size=(240, 5)) * 0.7
    X[120:] += 5.0
    path = tmp_path_factory.mktemp("data") / "scores.csv"
    np.savetxt(path, X, delimiter=",", header="a,b,c,d,e", comments="", fmt="%.10g")
    return path, X


def test_factor_analysis_writes_its_own_result_type(tmp_path, factor_csv):
    path, X = factor_csv
    out = tmp_path / "fa.json"
    code, stdout, stderr = emstudio("fit", path, "--model", "fa", "--factors", "2", "--out", out)
    assert code == 0, stderr
    result = json.loads(out.read_text())
    assert result["format"] == "emstudio.factor-analysis" and result["n_factors"] == 2
    assert np.shape(result["loadings"]) == (1, 5, 2) and np.shape(result["psi"]) == (5,)
    cov = np.array(result["covariances"][0])
    expected = multivariate_normal(result["means"][0], cov).logpdf(X).sum()
    assert result["log_likelihood"] == pytest.approx(expected, rel=1e-9)
    assert result["n_parameters"] == 5 * 2 - 1 + 5 + 5
    assert "factor analysis, q=2" in stdout and "uniqueness" in stdout and "varimax" in stdout


def test_a_factor_result_is_a_start_for_its_model_and_for_a_mixture(tmp_path, factor_csv):
    path, _ = factor_csv
    out = tmp_path / "mfa.json"
    code, _, stderr = emstudio("fit", path, "--model", "mfa", "--k", "2", "--factors", "1",
                               "--psi", "per-component", "--out", out)
    assert code == 0, stderr
    first = json.loads(out.read_text())
    assert first["format"] == "emstudio.factor-mixture" and np.shape(first["psi"]) == (2, 5)
    again = tmp_path / "again.json"
    code, _, stderr = emstudio("fit", path, "--model", "mfa", "--factors", "1", "--psi", "per-component",
                               "--init", out, "--out", again)
    assert code == 0, stderr
    assert json.loads(again.read_text())["log_likelihood"] >= first["log_likelihood"] - 1e-6
    code, stdout, stderr = emstudio("fit", path, "--init", out, "--k", "2", "--max-iter", "0")
    assert code == 0, stderr
    shown = float(re.search(r"log L = (\S+)", stdout).group(1))
    assert shown == pytest.approx(first["log_likelihood"], rel=1e-8)


def test_mixture_labels_are_written(tmp_path, factor_csv):
    path, X = factor_csv
    labels = tmp_path / "labels.csv"
    code, _, stderr = emstudio("fit", path, "--model", "mfa", "--k", "2", "--factors", "1", "--labels", labels)
    assert code == 0, stderr
    assert len(labels.read_text().splitlines()) == X.shape[0] + 1


@pytest.mark.parametrize("args, words", [
    (["--model", "fa"], "needs --factors"),
    (["--model", "fa", "--factors", "5"], "fewer than columns"),
    (["--model", "fa", "--factors", "1", "--k", "3"], "use --model mfa"),
    (["--model", "fa", "--factors", "1", "--labels", "x.csv"], "--labels needs components"),
    (["--model", "mfa", "--factors", "1", "--init", "seed-step0"], "neither a start"),
    (["--factors", "2"], "--factors is for --model fa or mfa"),
])
def test_impossible_factor_requests_get_one_line(tmp_path, factor_csv, args, words):
    path, _ = factor_csv
    code, _, stderr = emstudio("fit", path, *args, cwd=tmp_path)
    assert_one_clear_line(code, stderr)
    assert words in stderr


def test_a_gaussian_mixture_result_is_not_a_factor_start(tmp_path, factor_csv):
    path, _ = factor_csv
    gmm = tmp_path / "gmm.json"
    assert emstudio("fit", path, "--out", gmm)[0] == 0
    code, _, stderr = emstudio("fit", path, "--model", "fa", "--factors", "1", "--init", gmm)
    assert_one_clear_line(code, stderr)
    assert "emstudio.gaussian-mixture" in stderr
