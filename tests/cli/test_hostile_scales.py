"""`emstudio fit` on hostile scales (issue 10, items 2, 8, 9 and the numeric parts of 13): the answer
is right in every column's own units, or one line says why not and what helps."""

import json

import numpy as np
import pytest

from tests.cli.test_fit_command import assert_one_clear_line, emstudio


def _csv(path, X, names):
    np.savetxt(path, X, delimiter=",", header=",".join(names), comments="", fmt="%.17g")
    return path


def _result(path):
    return json.loads(path.read_text())


def test_income_beside_a_rate_keeps_the_rate_variance(tmp_path):
    """σ ~ 1e6 beside σ ~ 1e-3: var(rate) ≈ 1e-6 (9e-7 in the issue's sample), not 0.39; nothing collapsed."""
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(5e4, 1e6, 400), rng.normal(0.05, 1e-3, 400)])
    data, out = _csv(tmp_path / "income.csv", X, ["income", "rate"]), tmp_path / "r.json"
    code, _, stderr = emstudio("fit", data, "--k", "1", "--reg-covar", "0", "--out", out, "-q")
    assert code == 0, stderr
    result = _result(out)
    covariance = np.array(result["covariances"][0])
    assert covariance[1, 1] == pytest.approx(X[:, 1].var(), rel=1e-9)
    assert covariance[0, 0] == pytest.approx(X[:, 0].var(), rel=1e-9)
    assert result["degenerate_components"] == [] and "collapsed" not in stderr
    code, _, stderr = emstudio("fit", data, "--k", "2", "--reg-covar", "0", "--out", out, "-q")
    assert code == 0, stderr
    assert _result(out)["degenerate_components"] == [] and "collapsed" not in stderr
    variances = np.array(_result(out)["covariances"])[:, 1, 1]
    assert np.all((variances > 1e-7) & (variances < 1e-5))


def test_the_default_reg_covar_against_a_rate_column_advises_standardize(tmp_path):
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(5e4, 1e6, 300), rng.normal(0.05, 1e-3, 300)])
    code, _, stderr = emstudio("fit", _csv(tmp_path / "income.csv", X, ["income", "rate"]), "--k", "2", "-q")
    assert code == 0, stderr
    assert "'rate'" in stderr and "--standardize" in stderr


def test_tiny_beside_huge_column_meets_the_closed_form(tmp_path):
    """x0 ~ N(0, (1e-8)²) beside x1 ~ N(0, (1e8)²), K = 1, --reg-covar 0: Σ₀₀ ~ 1e-16, log L ≈ −1410."""
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(0, 1e-8, 500), rng.normal(0, 1e8, 500)])
    data, out = _csv(tmp_path / "scales.csv", X, ["x0", "x1"]), tmp_path / "r.json"
    code, _, stderr = emstudio("fit", data, "--k", "1", "--reg-covar", "0", "--out", out, "-q")
    assert code == 0, stderr
    result = _result(out)
    assert result["covariances"][0][0][0] == pytest.approx(X[:, 0].var(), rel=1e-9)
    assert 5e-17 < result["covariances"][0][0][0] < 2e-16
    assert result["log_likelihood"] == pytest.approx(-1410, abs=30)
    assert result["degenerate_components"] == []
    # K = 2: log L never falls, and the result is a valid start that reproduces it.
    code, _, stderr = emstudio("fit", data, "--k", "2", "--reg-covar", "0", "--out", out, "-q")
    assert code == 0, stderr
    history = [h["log_likelihood"] for h in _result(out)["history"]]
    assert all(b >= a - 1e-9 * abs(a) for a, b in zip(history, history[1:]))
    again = tmp_path / "again.json"
    code, _, stderr = emstudio("fit", data, "--init", out, "--reg-covar", "0", "--max-iter", "0", "--out", again, "-q")
    assert code == 0, stderr
    assert _result(again)["log_likelihood"] == pytest.approx(_result(out)["log_likelihood"], rel=1e-12)


def test_standardize_on_tiny_values_is_refused_in_one_line_and_writes_nothing(tmp_path):
    X = np.random.default_rng(2).normal(size=(100, 2)) * 1e-300
    data, out = _csv(tmp_path / "tiny.csv", X, ["a", "b"]), tmp_path / "r.json"
    code, _, stderr = emstudio("fit", data, "--standardize", "--out", out)
    assert_one_clear_line(code, stderr)
    assert "underflow" in stderr and "multiply them by a power of ten" in stderr
    assert not out.exists()
    code, _, stderr = emstudio("fit", data, "--out", out)  # without --standardize: no advice to use it
    assert_one_clear_line(code, stderr)
    assert "too small" in stderr and "--standardize" not in stderr and not out.exists()


def test_standardize_on_small_values_writes_a_valid_start(tmp_path):
    """Values ~1e-140 (variance 1e-280 is still held): the result file is a valid --init start."""
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + 5]) * 1e-135
    data, out = _csv(tmp_path / "small.csv", X, ["a", "b"]), tmp_path / "r.json"
    code, _, stderr = emstudio("fit", data, "--standardize", "--out", out, "-q")
    assert code == 0, stderr
    covariances = np.array(_result(out)["covariances"])
    assert np.all(np.linalg.eigvalsh(covariances) > 0)
    code, _, stderr = emstudio("fit", data, "--init", out, "--max-iter", "0", "-q")
    assert code == 0, stderr


def test_values_near_the_largest_float_say_overflow_not_infinite(tmp_path):
    X = np.column_stack([np.random.default_rng(4).uniform(-1, 1, 50) * 1.7e308,
                         np.random.default_rng(5).normal(size=50)])
    data = _csv(tmp_path / "big.csv", X, ["a", "b"])
    for extra in ([], ["--standardize"]):
        code, _, stderr = emstudio("fit", data, *extra)
        assert_one_clear_line(code, stderr)
        assert "overflow" in stderr and "'a'" in stderr and "divide" in stderr
        assert "NaN" not in stderr and "infinite values" not in stderr


def test_a_huge_reg_covar_gets_advice_that_can_help(tmp_path):
    X = np.random.default_rng(6).normal(size=(200, 2))
    code, _, stderr = emstudio("fit", _csv(tmp_path / "good.csv", X, ["a", "b"]), "--reg-covar", "1e300", "-q")
    assert code == 0, stderr
    assert "collapsed" in stderr and "smaller --reg-covar" in stderr
    assert "larger --reg-covar" not in stderr and "--standardize" not in stderr
    assert "identical" in stderr  # both components are reg_covar·I at the data's mean


def test_negative_weights_in_a_start_file_are_named(tmp_path):
    X = np.random.default_rng(7).normal(size=(100, 1))
    start = tmp_path / "start.json"
    start.write_text(json.dumps({"weights": [0.6, 0.6, -0.2], "means": [[0], [1], [2]],
                                 "covariances": [[[1]], [[1]], [[1]]]}))
    code, _, stderr = emstudio("fit", _csv(tmp_path / "x.csv", X, ["x"]), "--init", start)
    assert_one_clear_line(code, stderr)
    assert "component 3 has weight -0.2" in stderr and "sum to" not in stderr  # numbered 1 … K


def test_identical_components_give_a_warning(tmp_path):
    rng = np.random.default_rng(8)
    X = np.vstack([rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 6])
    start = tmp_path / "start.json"
    start.write_text(json.dumps({"weights": [0.5, 0.5], "means": [[3, 3], [3, 3]],
                                 "covariances": [np.eye(2).tolist()] * 2}))
    code, _, stderr = emstudio("fit", _csv(tmp_path / "x.csv", X, ["a", "b"]), "--init", start, "-q")
    assert code == 0, stderr
    assert "warning: components 1 and 2 are identical" in stderr
