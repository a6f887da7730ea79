"""The command line against hostile start and data files (issue 10, items 4, 7, 11, 13): one
line on standard error, exit 1, never an internal error."""

from __future__ import annotations

import codecs
import json
import subprocess
import sys

import numpy as np
import pytest

ROWS = np.random.default_rng(7).normal(size=(200, 2)) * [1.0, 3.0]
CSV = "a,b\n" + "".join(f"{x!r},{y!r}\n" for x, y in ROWS.tolist())


def run(*args):
    out = subprocess.run([sys.executable, "-m", "emstudio", *map(str, args)], capture_output=True,
                         text=True, timeout=120)
    return out.returncode, out.stdout, out.stderr


def assert_one_line(code, err, *words):
    assert code == 1, err
    assert err.count("\n") == 1 and err.startswith("emstudio: error:"), err
    for word in words:
        assert word in err, err


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    return path


@pytest.mark.parametrize("content, words", [
    ("[" * 100_000 + "]" * 100_000, ["nested too deeply"]),
    ('{"weights": [1], "means": [[' + "9" * 400 + ']], "covariances": [[[1]]]}', ["NaN or infinite"]),
    ('{"weights": [1], "means": [[' + "9" * 5_001 + ']], "covariances": [[[1]]]}', ["NaN or infinite"]),
    ('{"weights": [NaN], "means": [[0]], "covariances": [[[1]]]}', ["NaN is not a JSON number"]),
])
def test_hostile_start_files_are_bad_input(tmp_path, data_file, content, words):
    start = tmp_path / "start.json"
    start.write_text(content)
    assert_one_line(*run("fit", data_file, "--init", start, "-q")[::2], *words)


def test_start_with_more_components_than_rows_is_refused(tmp_path, data_file):
    k = 201  # the data has 200 rows
    start = tmp_path / "start.json"
    start.write_text(json.dumps({"weights": [1 / k] * k, "means": [[0, 0]] * k,
                                 "covariances": [[[1, 0], [0, 1]]] * k}))
    assert_one_line(*run("fit", data_file, "--init", start, "-q")[::2], "201 components", "200 rows")


def test_start_file_with_a_byte_order_mark(tmp_path, data_file):
    start = tmp_path / "start.json"
    start.write_bytes(codecs.BOM_UTF8 + json.dumps(
        {"weights": [0.5, 0.5], "means": [[0, 0], [1, 1]],
         "covariances": [[[1, 0], [0, 9]], [[1, 0], [0, 9]]]}).encode())
    code, _, err = run("fit", data_file, "--init", start, "-q")
    assert code == 0, err


def test_plot_prints_the_load_report_and_warnings_like_fit(tmp_path):
    data = tmp_path / "data.csv"
    # A text column left out and a row dropped: the report says both, on standard error.
    data.write_text("a,b,name\n" + "".join(f"{x!r},{y!r},p{i}\n" for i, (x, y) in enumerate(ROWS.tolist()))
                    + "NA,1,q\n")
    code, out, err = run("plot", data, "--k", "2", "--out", tmp_path / "p.png")
    assert code == 0, err
    fit_code, _, fit_err = run("fit", data, "--k", "2", "-q")
    assert fit_code == 0 and err == fit_err
    assert "200 of 201 rows" in err and "left out, not numeric: name" in err and "dropped 1 row" in err


def test_sheet_option_for_fit_select_and_plot(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "About"
    book.active.append(["Survey of 2026; the data is on the sheet 'points'"])
    points = book.create_sheet("points")
    points.append(["a", "b"])
    for x, y in ROWS.tolist():
        points.append([x, y])
    path = tmp_path / "book.xlsx"
    book.save(path)
    code, _, err = run("fit", path, "-q")
    assert_one_line(code, err, "sheet 'About' of 0 'About', 1 'points'", "--sheet")
    for command in (["fit", "-q"], ["select", "--k", "1-2", "--covariance", "full", "-q"],
                    ["plot", "--out", tmp_path / "p.png"]):
        code, _, err = run(command[0], path, "--sheet", "points", *command[1:])
        assert code == 0, err
        assert "sheet 'points' (chosen, of 2)" in err
    code, _, err = run("fit", path, "--sheet", "2", "-q")
    assert_one_line(code, err, "there is no sheet 2")
