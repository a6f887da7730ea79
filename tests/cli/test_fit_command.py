"""`emstudio fit` end to end: files in, result and labels out, one clear line for every error."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import DATASETS


def emstudio(*args, cwd=None):
    """Run the real command in a subprocess; returns (exit code, stdout, stderr)."""
    out = subprocess.run([sys.executable, "-m", "emstudio", *map(str, args)], capture_output=True, text=True,
                         cwd=cwd, timeout=120)
    return out.returncode, out.stdout, out.stderr


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    X = DATASETS["2d"]()
    path = tmp_path_factory.mktemp("data") / "points.csv"
    np.savetxt(path, X, delimiter=",", header="width,height", comments="", fmt="%.10g")
    return path


def assert_one_clear_line(code, stderr):
    assert code != 0
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and lines[0].startswith("emstudio")


def test_fit_writes_result_and_labels(tmp_path, csv_file):
    out, labels = tmp_path / "r.json", tmp_path / "l.csv"
    code, stdout, stderr = emstudio("fit", csv_file, "--k", "3", "--out", out, "--labels", labels)
    assert code == 0, stderr
    result = json.loads(out.read_text())
    assert result["data"]["columns"] == ["width", "height"] and result["settings"]["k"] == 3
    assert result["converged"] and result["degenerate_components"] == []
    rows = labels.read_text().splitlines()
    assert rows[0] == "row,width,height,component,p1,p2,p3"
    assert len(rows) == 1 + result["data"]["n_samples"]
    assert {row.split(",")[3] for row in rows[1:]} == {"1", "2", "3"}
    assert "log L" in stdout and "BIC" in stdout


@pytest.mark.parametrize("covariance", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("init", ["kmeans", "kmeans++", "random", "random-data", "seed-step0"])
def test_every_covariance_and_start(tmp_path, csv_file, covariance, init):
    out = tmp_path / "r.json"
    code, _, stderr = emstudio("fit", csv_file, "--k", "3", "--covariance", covariance, "--init", init,
                               "--restarts", "2", "--seed", "5", "--out", out, "-q")
    assert code == 0, stderr
    result = json.loads(out.read_text())
    assert result["covariance_type"] == covariance and result["settings"]["init"] == init
    assert result["settings"]["restarts"] == 2 and result["settings"]["seed"] == 5


def test_same_seed_same_result(tmp_path, csv_file):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for path in (a, b):
        assert emstudio("fit", csv_file, "--k", "3", "--init", "random", "--seed", "3", "--out", path)[0] == 0
    assert json.loads(a.read_text())["means"] == json.loads(b.read_text())["means"]


def test_tol_zero_runs_exactly_max_iter(tmp_path, csv_file):
    out = tmp_path / "r.json"
    assert emstudio("fit", csv_file, "--k", "3", "--tol", "0", "--max-iter", "17", "--accelerate", "none",
                    "--out", out)[0] == 0
    result = json.loads(out.read_text())
    assert result["n_iter"] == 17 and not result["converged"]
    assert [h["iteration"] for h in result["history"]] == list(range(18))
    # --tol 0 asks for exactly max_iter EM iterations: plain EM runs even where SQUAREM is the
    # default (it stops at a fixed point), and the result file says so.
    assert emstudio("fit", csv_file, "--k", "3", "--tol", "0", "--max-iter", "17", "--out", out)[0] == 0
    result = json.loads(out.read_text())
    assert result["n_iter"] == 17 and not result["converged"] and result["settings"]["accelerate"] == "none"
    # SQUAREM counts M-steps, one history entry per cycle, log L never falling
    assert emstudio("fit", csv_file, "--k", "3", "--tol", "1e-12", "--max-iter", "17", "--out", out)[0] == 0
    result = json.loads(out.read_text())
    assert result["n_iter"] <= 17 and result["settings"]["accelerate"] == "squarem"
    values = [h["log_likelihood"] for h in result["history"]]
    assert values == sorted(values)


def test_result_file_as_init_and_npy_input(tmp_path):
    X = DATASETS["1d"]()
    data = tmp_path / "x.npy"
    np.save(data, X[:, 0])
    first, second = tmp_path / "1.json", tmp_path / "2.json"
    assert emstudio("fit", data, "--k", "3", "--out", first)[0] == 0
    code, _, stderr = emstudio("fit", data, "--k", "3", "--init", first, "--out", second)
    assert code == 0, stderr
    a, b = (json.loads(p.read_text()) for p in (first, second))
    assert b["settings"]["init"] == "file"
    assert b["log_likelihood"] >= a["log_likelihood"] - 1e-9 * abs(a["log_likelihood"])


def test_columns_option(tmp_path, csv_file):
    out = tmp_path / "r.json"
    assert emstudio("fit", csv_file, "--columns", "height", "--k", "2", "--out", out)[0] == 0
    assert json.loads(out.read_text())["data"]["columns"] == ["height"]
    assert emstudio("fit", csv_file, "--columns", "1,0", "--k", "2", "--out", out)[0] == 0
    assert json.loads(out.read_text())["data"]["columns"] == ["height", "width"]


def test_out_dash_prints_json(csv_file):
    code, stdout, _ = emstudio("fit", csv_file, "--out", "-")
    assert code == 0 and json.loads(stdout)["format"] == "emstudio.gaussian-mixture"


@pytest.mark.parametrize("args, fragment", [
    (["fit", "{missing}"], "missing.csv"),
    (["fit", "{data}", "--k", "0"], "--k"),
    (["fit", "{data}", "--k", "many"], "--k"),
    (["fit", "{data}", "--k", "100000"], "usable samples"),
    (["fit", "{data}", "--covariance", "round"], "--covariance"),
    (["fit", "{data}", "--init", "nowhere.json"], "neither a start"),
    (["fit", "{data}", "--tol", "-1"], "--tol"),
    (["fit", "{data}", "--columns", "depth"], "depth"),
    (["fit", "{data}", "--out", "{data}"], "input data"),
    (["fit", "{data}", "--out", "{dir}/no/such/dir/r.json"], "does not exist"),
    (["fit", "{dupes}", "--k", "3"], "distinct point"),
    (["fit", "{const}", "--k", "2"], "constant"),
    (["fit", "{data}", "--init", "{badinit}"], "positive-definite"),
    (["fit", "{data}", "--k", "3", "--init", "{init2}"], "has 2 components but --k is 3"),
    (["fit", "{data}", "--init", "{init1d}", "--standardize"], "d=1 dimensions"),
    (["fit", "{data}", "--out", "{dir}"], "is a directory"),
    (["fit", "{data}", "--out", "-", "--labels", "-"], "same file"),
    (["frobnicate"], "invalid choice"),
])
def test_errors_are_one_clear_line(tmp_path, csv_file, args, fragment):
    dupes = tmp_path / "dupes.csv"
    dupes.write_text("a,b\n" + "1,2\n3,4\n" * 20)
    const = tmp_path / "const.csv"
    const.write_text("a,b\n" + "".join(f"{i},7\n" for i in range(20)))
    badinit = tmp_path / "bad.json"
    badinit.write_text(json.dumps({"weights": [0.5, 0.5], "means": [[0, 0], [1, 1]],
                                   "covariances": [[[1, 2], [2, 1]], [[1, 0], [0, 1]]]}))
    init2 = tmp_path / "init2.json"
    init2.write_text(json.dumps({"weights": [0.5, 0.5], "means": [[0, 0], [1, 1]],
                                 "covariances": [[[1, 0], [0, 1]], [[1, 0], [0, 1]]]}))
    init1d = tmp_path / "init1d.json"
    init1d.write_text(json.dumps({"weights": [1.0], "means": [[0]], "covariances": [[[1]]]}))
    names = {"init1d": init1d, "missing": tmp_path / "missing.csv", "data": csv_file, "dir": tmp_path, "dupes": dupes,
             "const": const, "badinit": badinit, "init2": init2}
    code, stdout, stderr = emstudio(*[a.format(**names) for a in args])
    assert_one_clear_line(code, stderr)
    assert fragment in stderr


def test_failed_fit_leaves_existing_result_untouched(tmp_path, csv_file):
    out = tmp_path / "r.json"
    out.write_text("precious")
    code, _, stderr = emstudio("fit", csv_file, "--k", "100000", "--out", out)
    assert code != 0 and out.read_text() == "precious"


def test_fit_never_imports_qt(csv_file):
    code = ("import sys, runpy; sys.argv = ['emstudio', 'fit', %r, '-q'];\n"
            "from emstudio.cli import main; main(sys.argv[1:])\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')]\n"
            "print('QT', bad)") % str(csv_file)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "QT []" in out.stdout, out.stderr


def test_load_report_and_reg_covar_warning_after_a_fit(tmp_path):
    data = tmp_path / "tiny.csv"
    rows = np.random.default_rng(0).normal(size=(60, 2)) * [1e-4, 1.0]
    text = "a,b,name\n" + "".join(f"{x:.8g},{y:.8g},n{i}\n" for i, (x, y) in enumerate(rows)) + ",1,x\n"
    data.write_text(text)
    code, _, stderr = emstudio("fit", data, "--k", "2", "-q")
    assert code == 0, stderr
    assert "dropped 1 row" in stderr and "name" in stderr
    assert "warning: --reg-covar" in stderr and "'a'" in stderr


def test_standardize_reports_original_units(tmp_path):
    X = DATASETS["2d"]() * [1e-5, 1e4] + [3.0, 1e6]
    data = tmp_path / "scaled.npy"
    np.save(data, X)
    out = tmp_path / "r.json"
    code, _, stderr = emstudio("fit", data, "--k", "3", "--standardize", "--out", out)
    assert code == 0, stderr
    result = json.loads(out.read_text())
    assert result["settings"]["standardize"] is True
    means = np.array(result["means"])
    assert np.all(means[:, 1] > 9e5) and np.all(np.abs(means[:, 0] - 3.0) < 1e-3)
    from emstudio.core import log_likelihood
    from emstudio.io.results import params_from_dict

    params = params_from_dict(result, "full")
    assert abs(log_likelihood(X, params) - result["log_likelihood"]) < 1e-8 * abs(result["log_likelihood"])
    # the result (in original units) is a valid start for a standardised fit too
    assert emstudio("fit", data, "--k", "3", "--standardize", "--init", out, "--out", tmp_path / "2.json")[0] == 0


def test_labels_to_standard_output_and_k_from_the_start_file(tmp_path, csv_file):
    first = tmp_path / "r.json"
    assert emstudio("fit", csv_file, "--k", "3", "--out", first)[0] == 0
    code, stdout, stderr = emstudio("fit", csv_file, "--init", first, "--labels", "-")
    assert code == 0, stderr
    rows = stdout.splitlines()
    assert rows[0] == "row,width,height,component,p1,p2,p3"  # K = 3 from the file, not the default 2
    assert len(rows) == 1 + 450


def test_same_seed_same_result_file(tmp_path, csv_file):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for path in (a, b):
        assert emstudio("fit", csv_file, "--k", "4", "--init", "kmeans++", "--restarts", "3", "--seed", "8",
                        "--out", path)[0] == 0
    assert a.read_text() == b.read_text()


def test_window_names_missing_x_libraries_instead_of_aborting(monkeypatch, capsys):
    from emstudio import cli, system_libraries

    monkeypatch.setattr(system_libraries, "_loads", lambda library: library != "libxcb-icccm.so.4")
    monkeypatch.setattr(system_libraries, "_has_a_font", lambda: True)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    assert cli.main(["gui"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sudo apt-get update && sudo apt-get install -y libxcb-icccm4" in err
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # no X display needed: nothing more to check
    from emstudio.cli_window import _missing_qt_packages

    assert _missing_qt_packages() == []


def test_window_and_plot_name_missing_qt_libraries_instead_of_a_traceback(monkeypatch, capsys, tmp_path):
    """Without libglib (a bare Debian) importing Qt raises ImportError: the command says which
    packages instead, for the window on any platform and for plot before it fits."""
    from emstudio import cli, system_libraries

    monkeypatch.setattr(system_libraries, "_loads", lambda library: library != "libglib-2.0.so.0")
    monkeypatch.setattr(system_libraries, "_has_a_font", lambda: False)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert cli.main(["gui"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "apt-get update && apt-get install -y libglib2.0-0 fonts-dejavu-core" in err
    data = tmp_path / "d.csv"
    data.write_text("x,y\n" + "".join(f"{i % 7},{i % 5}\n" for i in range(40)))
    assert cli.main(["plot", str(data), "--out", str(tmp_path / "p.png")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "drawing the picture needs system libraries" in err
    assert not (tmp_path / "p.png").exists()
