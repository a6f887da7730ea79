"""`emstudio predict`: a fitted model applied to new data, by column name, with one-line errors."""

import json

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from tests.cli.test_fit_command import assert_one_clear_line, emstudio


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("predict")
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + 5])
    train = folder / "train.csv"
    np.savetxt(train, X, delimiter=",", header="height,width", comments="", fmt="%.10g")
    # new data: the columns in another order, an extra column and a row with a missing value
    new = folder / "new.csv"
    new.write_text("width,label,height\n0.5,a,0.1\n5.2,b,4.9\n,c,1.0\n-0.3,d,0.2\n")
    model = folder / "model.json"
    code, _, stderr = emstudio("fit", train, "--k", "2", "--out", model)
    assert code == 0, stderr
    return folder, train, new, model


def test_density_and_labels_follow_the_models_columns(files, tmp_path):
    folder, _, new, model = files
    labels, density = tmp_path / "labels.csv", tmp_path / "density.csv"
    code, stdout, stderr = emstudio("predict", new, "--model", model, "--labels", labels, "--density", density)
    assert code == 0, stderr
    result = json.loads(model.read_text())
    rows = np.array([[0.1, 0.5], [4.9, 5.2], [0.2, -0.3]])  # (height, width), the missing row left out
    expected = np.log(sum(w * multivariate_normal(m, c).pdf(rows) for w, m, c in
                          zip(result["weights"], result["means"], result["covariances"])))
    lines = density.read_text().splitlines()
    assert lines[0] == "row,log_density"
    assert [int(line.split(",")[0]) for line in lines[1:]] == [1, 2, 4]
    np.testing.assert_allclose([float(line.split(",")[1]) for line in lines[1:]], expected, rtol=1e-12)
    assert len(labels.read_text().splitlines()) == 4
    assert "1 row" in stderr  # the load report says a row was left out


def test_a_selection_file_and_a_factor_mixture_are_models(files, tmp_path):
    folder, train, new, _ = files
    selection, mfa = tmp_path / "selection.json", tmp_path / "mfa.json"
    assert emstudio("select", train, "--k", "1-2", "--covariance", "full", "--restarts", "1",
                    "--jobs", "1", "--out", selection, "-q")[0] == 0
    assert emstudio("fit", train, "--model", "mfa", "--k", "2", "--factors", "1", "--out", mfa)[0] == 0
    for model in (selection, mfa):
        code, stdout, stderr = emstudio("predict", new, "--model", model)
        assert code == 0, stderr
        assert stdout.startswith("3 rows under the K=") and "component 1" in stdout


@pytest.mark.parametrize("model_text, words", [
    (None, "no such file"),
    ("{", "not valid JSON"),
    ('{"weights": [1], "means": [[0, 0]], "covariances": [[[1, 0], [0, 1]]]}', "which columns"),
])
def test_bad_models_get_one_line(files, tmp_path, model_text, words):
    folder, _, new, _ = files
    model = tmp_path / "m.json"
    if model_text is not None:
        model.write_text(model_text)
    code, _, stderr = emstudio("predict", new, "--model", model)
    assert_one_clear_line(code, stderr)
    assert words in stderr


def test_missing_columns_are_named(files, tmp_path):
    _, _, _, model = files
    other = tmp_path / "other.csv"
    other.write_text("height,depth\n1,2\n3,4\n")
    code, _, stderr = emstudio("predict", other, "--model", model)
    assert_one_clear_line(code, stderr)
    assert "no column width" in stderr and "fitted on height, width" in stderr
