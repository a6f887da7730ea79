"""Known classes from a data file, the text kept beside the numbers, and the labels file's round
trip (values read back equal the input's text)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from emstudio.core.em import responsibilities
from emstudio.errors import DataError
from emstudio.io.data import MAX_CLASSES, load_data
from emstudio.io.results import labels_csv

IRIS_LIKE = """sepal,petal,species
5.1,1.4,setosa
4.9,1.40,setosa
7.0,4.7,versicolor
6.4,4.5,versicolor
6.3,6.0,virginica
5.8,NA,virginica
6.5,5.1,NA
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_text_column_as_classes(tmp_path):
    data = load_data(write(tmp_path, "iris.csv", IRIS_LIKE), classes="species")
    assert data.columns == ("sepal", "petal")
    assert data.kept_rows.tolist() == [0, 1, 2, 3, 4, 6]  # the NA petal row dropped
    assert data.classes.column == "species"
    assert data.classes.names == ("setosa", "versicolor", "virginica")
    assert data.classes.codes.tolist() == [0, 0, 1, 1, 2, -1]  # NA: no class, still fitted
    assert ("species", "known classes") in data.report.columns_left_out


def test_left_out_text_columns_are_kept_for_the_window(tmp_path):
    data = load_data(write(tmp_path, "iris.csv", IRIS_LIKE))
    assert data.classes is None
    assert data.text_columns["species"].tolist() == ["setosa", "setosa", "versicolor", "versicolor",
                                                     "virginica", "NA"]


def test_integer_column_as_classes_is_not_fitted(tmp_path):
    p = write(tmp_path, "wine.csv", "type,a,b\n1,0.5,2\n2,0.7,3\n1,0.1,2.5\n3,9,9\n")
    data = load_data(p, classes="type")
    assert data.columns == ("a", "b")
    assert data.classes.names == ("1", "2", "3") and data.classes.codes.tolist() == [0, 1, 0, 2]
    by_number = load_data(p, classes="0")
    assert by_number.classes.codes.tolist() == [0, 1, 0, 2]
    chosen = load_data(p, columns=["a", "b"], classes="type")
    assert chosen.classes.codes.tolist() == [0, 1, 0, 2]


def test_integer_classes_from_a_binary_file(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.array([[0.1, 1.0], [0.2, 2.0], [0.3, 1.0], [0.5, np.nan]]))
    data = load_data(str(path), classes="x1")
    assert data.columns == ("x0",)
    assert data.classes.names == ("1", "2") and data.classes.codes.tolist() == [0, 1, 0, -1]


@pytest.mark.parametrize("columns, classes, fragment", [
    (None, "colour", "no column named 'colour'"),
    (["sepal", "species"], None, "cannot be used"),
    (["sepal", "petal"], "petal", "cannot be both a data column and the known classes"),
])
def test_class_errors_are_one_line(tmp_path, columns, classes, fragment):
    p = write(tmp_path, "iris.csv", IRIS_LIKE)
    with pytest.raises(DataError) as info:
        load_data(p, columns=columns, classes=classes)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_too_many_classes_is_refused(tmp_path):
    rows = "\n".join(f"{i},{i * 2},name{i}" for i in range(MAX_CLASSES + 1))
    p = write(tmp_path, "ids.csv", "a,b,id\n" + rows + "\n")
    with pytest.raises(DataError, match=f"{MAX_CLASSES + 1} different values"):
        load_data(p, classes="id")


def test_r_row_names_are_the_rows_identity(tmp_path):
    # R's write.table: the header has no field over the row names.
    p = write(tmp_path, "cars.txt", '"mpg" "wt"\n"Mazda RX4" 21 2.62\n"Datsun 710" 22.8 2.32\n"Valiant" NA 3.46\n')
    data = load_data(p)
    assert data.columns == ("mpg", "wt")
    assert data.row_ids().tolist() == ["Mazda RX4", "Datsun 710"]
    csv_data = load_data(write(tmp_path, "cars.csv", ',mpg,wt\n"Merc 240D",24.4,3.19\n"Fiat, 128",32.4,2.2\n'))
    assert csv_data.row_ids().tolist() == ["Merc 240D", "Fiat, 128"]


def test_without_row_names_rows_are_numbered_from_one(tmp_path):
    data = load_data(write(tmp_path, "iris.csv", IRIS_LIKE))
    assert data.row_ids().tolist() == ["1", "2", "3", "4", "5", "7"]
    numbered = load_data(write(tmp_path, "r.csv", '"","a","b"\n"1",0.5,1\n"2",0.25,3\n"3",0.125,2\n'))
    assert numbered.columns == ("a", "b") and numbered.row_ids().tolist() == ["1", "2", "3"]


def test_labels_round_trip_keeps_the_input_text(tmp_path):
    """The labels file's data columns, read back, are the input's text exactly."""
    text = "eruptions,waiting\n3.600,79\n1.8,54\n3.333,74\n2.283,62.0\n4.533,85\n2.883,55\n1e1,+7\n"
    source = write(tmp_path, "faithful.csv", text)
    data = load_data(source)
    X = data.values
    params_resp = responsibilities(X, _two_components(X))
    labels = labels_csv(X, data.columns, params_resp, row_ids=data.row_ids(), cell_text=data.cell_text)
    back = load_data(write(tmp_path, "labels.csv", labels), columns=["eruptions", "waiting"])
    input_cells = [line.split(",") for line in text.splitlines()[1:]]
    assert back.cell_text.tolist() == input_cells
    assert (back.values == X).all()
    rows = [line.split(",") for line in labels.splitlines()]
    assert rows[0][:4] == ["row", "eruptions", "waiting", "component"]
    assert [r[0] for r in rows[1:]] == [str(i) for i in range(1, 8)]
    assert {r[3] for r in rows[1:]} <= {"1", "2"}


def test_large_tables_write_the_shortest_text(tmp_path, monkeypatch):
    from emstudio.io import _text_body

    monkeypatch.setattr(_text_body, "CELL_TEXT_CELLS", 4)
    data = load_data(write(tmp_path, "f.csv", "a,b\n3.600,79\n0.1,5\n2,3\n"))
    assert data.cell_text is None
    lines = labels_csv(data.values, data.columns, np.full((3, 1), 1.0)).splitlines()
    assert [line.split(",")[1] for line in lines[1:]] == ["3.6", "0.1", "2"]


def test_decimal_comma_cells_are_not_kept_as_text(tmp_path):
    data = load_data(write(tmp_path, "de.csv", "a;b;g\n1,5;2,25;x\n3,0;4,5;y\n"), classes="g")
    assert data.cell_text is None and data.values.tolist() == [[1.5, 2.25], [3.0, 4.5]]
    assert data.classes.names == ("x", "y")


def _two_components(X):
    from emstudio.core.params import make_params

    lo, hi = X.min(axis=0), X.max(axis=0)
    cov = np.array([np.diag((hi - lo) ** 2 / 4 + 1.0)] * 2)
    return make_params(np.array([0.5, 0.5]), np.array([lo, hi]), cov, "full")


def test_quoted_and_spaced_cells_are_kept_as_read(tmp_path):
    data = load_data(write(tmp_path, "q.csv", 'a,b,kind\n"1.50", 2 ,"x, y"\n3, 4.0,z\n'), classes="kind")
    assert data.cell_text.tolist() == [["1.50", "2"], ["3", "4.0"]]
    assert data.classes.names == ("x, y", "z")
    assert os.path.basename(data.report.source) == "q.csv"


def test_classes_from_an_excel_integer_column(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    for row in (["x", "y", "type"], [1.5, 2, 1], [3, 4, 2], [4, 5, None], [6, 7, 1]):
        book.active.append(row)
    path = tmp_path / "s.xlsx"
    book.save(path)
    data = load_data(str(path), classes="type")
    assert data.columns == ("x", "y") and data.classes.names == ("1", "2")
    assert data.classes.codes.tolist() == [0, 1, -1, 0]


def test_classes_from_an_excel_text_column(tmp_path):
    """A sheet's text column (shared strings, inline strings, a number among the words, a merged
    range, a missing marker) reads as known classes and is offered as a text column."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["x", "y", "species"], [1.5, 2, "setosa"], [3, 4, " versicolor "], [4, 5, "NA"],
                [6, 7, 3], [8, 9, "virginica"], [9, 9, None], [1, 1, "setosa"]):
        sheet.append(row)
    sheet.merge_cells("C6:C7")  # "virginica" over two rows
    path = tmp_path / "iris.xlsx"
    book.save(path)
    data = load_data(str(path), classes="species")
    assert data.columns == ("x", "y")
    assert data.classes.names == ("3", "setosa", "versicolor", "virginica")
    names = np.array([""] + list(data.classes.names))[data.classes.codes + 1]
    assert names.tolist() == ["setosa", "versicolor", "", "3", "virginica", "virginica", "setosa"]
    plain = load_data(str(path))
    assert plain.text_columns["species"].tolist() == ["setosa", "versicolor", "NA", "3", "virginica",
                                                       "virginica", "setosa"]


def test_excel_row_names_are_kept(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    for row in ([None, "x", "y"], ["Mazda RX4", 21.0, 6], ["Datsun 710", 22.8, 4]):
        book.active.append(row)
    path = tmp_path / "cars.xlsx"
    book.save(path)
    data = load_data(str(path))
    assert data.columns == ("x", "y") and data.row_ids().tolist() == ["Mazda RX4", "Datsun 710"]


def test_classes_from_a_parquet_string_column(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    path = tmp_path / "s.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM (VALUES (1.5, 'a'), (2.5, NULL), (3.5, 'b')) t(x, kind)) TO '{path}' "
                "(FORMAT parquet)")
    con.close()
    data = load_data(str(path), classes="kind")
    assert data.columns == ("x",) and data.classes.names == ("a", "b")
    assert data.classes.codes.tolist() == [0, -1, 1]
    plain = load_data(str(path))
    assert plain.text_columns["kind"].tolist() == ["a", "", "b"]
