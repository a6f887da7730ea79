"""Result, parameter and labels files: docs/formats.md's shapes, round trips, atomic writes."""

import json
import os

import numpy as np
import pytest

from emstudio.core import FitSettings, fit_mixture, log_likelihood
from emstudio.errors import EmstudioError, ParameterError
from emstudio.io.atomic import atomic_write_text, refuse_overwriting_inputs
from emstudio.io.results import labels_csv, read_params_file, write_labels, write_result
from tests.conftest import DATASETS

COV_TYPES = ["full", "tied", "diag", "spherical"]


@pytest.fixture(scope="module")
def data():
    return DATASETS["2d"]()


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_result_file_has_formats_fields(tmp_path, data, covariance_type):
    result = fit_mixture(data, FitSettings(k=3, covariance_type=covariance_type))
    path = tmp_path / "r.json"
    write_result(path, result, source="d.csv", columns=["a", "b"], n_dropped=2)
    content = json.loads(path.read_text())
    assert content["format"] == "emstudio.gaussian-mixture" and content["version"] == 1
    assert content["covariance_type"] == covariance_type
    assert np.array(content["covariances"]).shape == (3, 2, 2)  # always K full d×d matrices
    assert np.array(content["means"]).shape == (3, 2) and len(content["weights"]) == 3
    for key in ("log_likelihood", "bic", "aic", "icl", "n_iter", "converged", "degenerate_components",
                "data", "settings", "history"):
        assert key in content
    assert content["data"] == {"source": "d.csv", "columns": ["a", "b"], "n_samples": data.shape[0], "n_dropped": 2}
    assert content["settings"]["k"] == 3 and content["settings"]["init"] == "auto"  # the default start
    assert content["history"][-1]["iteration"] == content["n_iter"]
    full = np.array(content["covariances"])
    if covariance_type == "tied":
        assert np.allclose(full, full[0])
    if covariance_type in ("diag", "spherical"):
        assert np.allclose(full, np.eye(2) * np.diagonal(full, axis1=1, axis2=2)[:, :, None])
    # The log-likelihood is exactly that of the parameters in the file.
    from emstudio.io.results import params_from_dict

    params = params_from_dict(content, covariance_type)
    assert abs(log_likelihood(data, params) - content["log_likelihood"]) <= 1e-9 * abs(content["log_likelihood"])
    # ICL = BIC − 2 Σ log maxₖ rᵢₖ ≥ BIC.
    assert content["icl"] >= content["bic"]


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_any_result_file_is_a_valid_start(tmp_path, data, covariance_type):
    result = fit_mixture(data, FitSettings(k=3, covariance_type=covariance_type))
    path = tmp_path / "r.json"
    write_result(path, result, source="d.csv", columns=["a", "b"])
    start = read_params_file(path, covariance_type)
    assert np.allclose(start.covariances, result.params.covariances)
    again = fit_mixture(data, FitSettings(k=3, covariance_type=covariance_type, init=start))
    assert again.log_likelihood >= result.log_likelihood - 1e-9 * abs(result.log_likelihood)
    assert again.n_iter <= 2


def test_minimal_parameter_file_and_type_conversion(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"weights": [0.5, 0.5], "means": [[0, 0], [3, 3]],
                                "covariances": [[[2, 0.5], [0.5, 1]], [[1, 0], [0, 3]]]}))
    assert read_params_file(path, "diag").covariances.tolist() == [[2, 1], [1, 3]]
    assert read_params_file(path, "spherical").covariances.tolist() == [1.5, 2.0]
    assert np.allclose(read_params_file(path, "tied").covariances, [[1.5, 0.25], [0.25, 2]])


@pytest.mark.parametrize("content, message", [
    ({"means": [[0]], "covariances": [[[1]]]}, "missing weights"),
    ({"weights": [1.0], "means": [[0, 0]], "covariances": [[[1, 0], [0, -1]]]}, "not positive-definite"),
    ({"weights": [0.7, 0.7], "means": [[0], [1]], "covariances": [[[1]], [[1]]]}, "sum to 1"),
    ({"weights": [1.0], "means": [[0, 0]], "covariances": [[1, 0]]}, "K full d×d"),
    ({"weights": ["a"], "means": [[0]], "covariances": [[[1]]]}, "must be numbers"),
])
def test_bad_parameter_files_are_clear_errors(tmp_path, content, message):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ParameterError, match=message):
        read_params_file(path, "full")


def test_unreadable_parameter_files(tmp_path):
    with pytest.raises(EmstudioError, match="no such file"):
        read_params_file(tmp_path / "missing.json", "full")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(EmstudioError, match="not valid JSON"):
        read_params_file(tmp_path / "bad.json", "full")


def test_labels_file_layout(tmp_path):
    X = np.array([[0.0, 1.0], [10.0, 11.0]])
    resp = np.array([[0.9, 0.1], [0.2, 0.8]])
    text = labels_csv(X, ["a", "b,c"], resp)
    lines = text.splitlines()
    assert lines[0] == 'row,a,"b,c",component,p1,p2'
    assert lines[1] == "1,0,1,1,0.9,0.1" and lines[2] == "2,10,11,2,0.2,0.8"
    write_labels(tmp_path / "l.csv", X, ["a", "b"], resp, row_ids=["x", "y, z"])
    assert (tmp_path / "l.csv").read_text().splitlines()[2].startswith('"y, z",10,11,2,')
    write_labels(tmp_path / "l.csv", X, ["a", "b"], resp)
    back = np.loadtxt(tmp_path / "l.csv", delimiter=",", skiprows=1)
    assert (back[:, 0] == [1, 2]).all() and (back[:, 1:3] == X).all() and (back[:, 4:] == resp).all()


def test_labels_write_numbers_as_their_shortest_text():
    X = np.array([[3.6, 0.1 + 0.2], [1e-300, -0.0], [12345678901234567.0, 2.5e16]])
    resp = np.array([[1.0, 0.0], [1 / 3, 2 / 3], [0.5, 0.5]])
    lines = labels_csv(X, ["a", "b"], resp).splitlines()
    assert lines[1] == "1,3.6,0.30000000000000004,1,1,0"
    assert lines[2].split(",")[1:3] == ["1e-300", "-0"]
    assert lines[3].split(",")[3] == "1"  # a tie goes to the first component, as argmax and mclust's map
    back = np.array([[float(v) for v in line.split(",")[1:]] for line in lines[1:]])
    assert (back[:, :2] == X).all() and (back[:, 3:] == resp).all()


def test_atomic_write_keeps_old_file_when_the_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("old")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(EmstudioError, match="No space left"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left behind


def test_atomic_write_replaces_and_keeps_permissions_usual(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert os.stat(target).st_mode & 0o644 == 0o644


def test_output_equal_to_input_is_refused(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("a\n1\n")
    with pytest.raises(EmstudioError, match="input data"):
        refuse_overwriting_inputs(tmp_path / "." / "d.csv", [data])
    refuse_overwriting_inputs(tmp_path / "other.csv", [data])
