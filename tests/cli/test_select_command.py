"""`emstudio select` end to end: the selection file, its round trip, and errors."""

import json

import numpy as np

from emstudio.io.results import params_from_dict
from tests.cli.test_fit_command import assert_one_clear_line, emstudio


def test_select_writes_the_selection_file(tmp_path):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(150, 2)) + c for c in ([0, 0], [7, 0], [0, 7])])
    data = tmp_path / "three.npy"
    np.save(data, X)
    out = tmp_path / "sel.json"
    code, stdout, stderr = emstudio("select", data, "--k", "1-4", "--covariance", "full,spherical",
                                    "--restarts", "2", "--jobs", "2", "--out", out)
    assert code == 0, stderr
    content = json.loads(out.read_text())
    assert content["format"] == "emstudio.model-selection" and content["criterion"] == "bic"
    assert [(m["covariance_type"], m["k"]) for m in content["models"]] == [
        (t, k) for t in ("full", "spherical") for k in (1, 2, 3, 4)]
    best = content["best"]
    assert best["format"] == "emstudio.gaussian-mixture" and best["settings"]["k"] == 3
    chosen = min((m for m in content["models"] if not m["degenerate"]), key=lambda m: m["bic"])
    assert (chosen["covariance_type"], chosen["k"]) == (best["covariance_type"], 3)
    assert abs(chosen["bic"] - best["bic"]) < 1e-9 * abs(best["bic"])
    # round trip: the best model is a valid start, and refitting it from there changes nothing
    params = params_from_dict(best, best["covariance_type"])
    assert params.n_components == 3
    again = tmp_path / "again.json"
    assert emstudio("fit", data, "--covariance", best["covariance_type"], "--init", out, "--out", again)[0] == 0
    assert abs(json.loads(again.read_text())["log_likelihood"] - best["log_likelihood"]) < 1e-6 * abs(best["log_likelihood"])
    assert "chosen: " in stdout and "K=3" in stdout


def test_select_errors_are_one_line(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("a,b\n" + "".join(f"{i},{i * i % 7}\n" for i in range(30)))
    for args, fragment in ((["--k", "0-3"], "at least 1"), (["--covariance", "round"], "choose from"),
                           (["--criterion", "xyz"], "--criterion"), (["--k", "a-b"], "range")):
        code, _, stderr = emstudio("select", data, *args)
        assert_one_clear_line(code, stderr)
        assert fragment in stderr
