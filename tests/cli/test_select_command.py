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


def _three_points(tmp_path):
    data = tmp_path / "three.csv"
    data.write_text("a,b\n" + "0,0\n1,0\n0,1\n" * 40)
    return data


def _limited_memory(limit_bytes):
    def limit():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    return limit


def test_k_is_bounded_by_the_data_before_the_grid_is_made(tmp_path):
    """--k 1-100000000 once listed 1e8 numbers (7 GB) before any fit; now K stops at the number
    of distinct rows, with a note, in the memory of a small program."""
    import subprocess
    import sys

    data = _three_points(tmp_path)
    out = tmp_path / "sel.json"
    run = subprocess.run([sys.executable, "-m", "emstudio", "select", str(data), "--k", "1-100000000",
                          "--covariance", "full", "--restarts", "1", "--out", str(out), "-q"],
                         capture_output=True, text=True, timeout=120, preexec_fn=_limited_memory(4 << 30))
    assert run.returncode == 0, run.stderr
    assert "the data have 3 distinct rows, so K goes up to 3" in run.stderr
    assert [m["k"] for m in json.loads(out.read_text())["models"]] == [1, 2, 3]


def test_no_k_the_data_allow_is_one_clear_line(tmp_path):
    code, _, stderr = emstudio("select", _three_points(tmp_path), "--k", "5-9")
    assert_one_clear_line(code, stderr)
    assert "up to 3" in stderr


def test_a_reversed_k_range_says_so(tmp_path):
    code, _, stderr = emstudio("select", _three_points(tmp_path), "--k", "5-1")
    assert_one_clear_line(code, stderr)
    assert "reversed; write 1-5" in stderr


def test_jobs_beyond_the_cores_are_capped_and_said_so(tmp_path):
    from emstudio.core.processes import available_cores

    cores = available_cores()
    code, _, stderr = emstudio("select", _three_points(tmp_path), "--k", "1-2", "--covariance", "full",
                               "--restarts", "1", "--jobs", str(64 * cores), "-q")
    assert code == 0, stderr
    assert f"--jobs {64 * cores}: {cores} core{'s' * (cores != 1)} here, so {cores} processes" in stderr


def test_a_start_file_is_refused_without_being_read(tmp_path):
    """A grid has many K and a start file one: the file is refused by its name. A FIFO with no
    writer would block any read forever, so this also shows it is never opened."""
    import os

    fifo = tmp_path / "start.json"
    os.mkfifo(fifo)
    code, _, stderr = emstudio("select", _three_points(tmp_path), "--init", fifo)
    assert_one_clear_line(code, stderr)
    assert "takes a start method" in stderr


def test_one_dimension_fits_each_distinct_model_once(tmp_path):
    """Issue 16: in 1-D full = diag = spherical (V) and tied = E; each is fitted once and said so."""
    out = tmp_path / "sel.json"
    code, stdout, stderr = emstudio("select", "emstudio/samples/one_d.csv", "--k", "1-3", "--covariance",
                                    "full,tied,diag,spherical,EEI", "--restarts", "1", "--jobs", "1",
                                    "--out", out)
    assert code == 0, stderr
    content = json.loads(out.read_text())
    assert [(m["covariance_type"], m["k"]) for m in content["models"]] == [
        (t, k) for t in ("full", "tied") for k in (1, 2, 3)]
    assert content["same_models"] == {"diag": "full", "spherical": "full", "EEI": "tied"}
    assert "in one dimension diag, spherical are the same model as full (V" in stderr
    assert "EEI is the same model as tied (E" in stderr
    rows = [line.split()[0] for line in stdout.splitlines()[2:-1]]
    assert rows == ["full", "tied"]


def test_distinct_models_in_more_dimensions_are_all_fitted():
    from emstudio.core.selection import distinct_models

    assert distinct_models(["full", "tied", "EII", "VII"], 2) == (["full", "tied", "EII", "VII"], {})
    assert distinct_models(["EII", "VII", "spherical", "EEE"], 1) == (["EII", "VII"], {"spherical": "VII",
                                                                                    "EEE": "EII"})
