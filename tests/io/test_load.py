"""Loading data files: every format, every text detail, every error, on small files made here."""

from __future__ import annotations

import datetime
import gzip
import os
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

from emstudio.errors import DataError
from emstudio.io import _text_body, _text_source
from emstudio.io.data import LoadedData, LoadReport, load_data


def write(tmp_path, name: str, content: str | bytes, encoding: str = "utf-8") -> str:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode(encoding)
    path.write_bytes(content)
    return str(path)


def check_invariants(data: LoadedData) -> None:
    v = data.values
    assert v.dtype == np.float64 and v.ndim == 2 and v.flags.c_contiguous
    assert np.isfinite(v).all()
    assert v.shape[1] == len(data.columns) == len(data.report.columns_used)
    assert data.kept_rows.dtype == np.int64 and data.kept_rows.shape == (v.shape[0],)
    assert data.report.n_rows_read - data.report.n_dropped == v.shape[0]
    if v.shape[0] > 1:
        assert (np.diff(data.kept_rows) > 0).all()


def load(path, columns=None) -> LoadedData:
    data = load_data(path, columns)
    check_invariants(data)
    return data


def error_of(path, columns=None) -> str:
    with pytest.raises(DataError) as info:
        load_data(path, columns)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(os.fspath(path) + ": ")
    return message[len(os.fspath(path)) + 2:]


# ------------------------------------------------------------------------------ CSV family
def test_csv_with_header(tmp_path):
    p = write(tmp_path, "faithful.csv", "eruptions,waiting\n3.6,79\n1.8,54\n3.333,74\n")
    d = load(p)
    assert d.columns == ("eruptions", "waiting")
    np.testing.assert_array_equal(d.values, [[3.6, 79], [1.8, 54], [3.333, 74]])
    assert d.report.format == "csv"
    assert d.report.source == p
    assert d.report.n_rows_read == 3 and d.report.n_dropped == 0
    assert d.report.columns_left_out == ()
    assert d.kept_rows.tolist() == [0, 1, 2]


def test_csv_without_header_names_columns_x0_x1(tmp_path):
    d = load(write(tmp_path, "a.csv", "1,2,3\n4,5,6\n"))
    assert d.columns == ("x0", "x1", "x2")
    assert d.values.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert any("no header" in n for n in d.report.notes)


def test_tsv(tmp_path):
    d = load(write(tmp_path, "a.tsv", "a\tb\n1.5\t2\n3\t4e2\n"))
    assert d.columns == ("a", "b")
    assert d.values.tolist() == [[1.5, 2], [3, 400]]
    assert d.report.format == "tsv"


def test_whitespace_separated_text(tmp_path):
    d = load(write(tmp_path, "a.txt", "  1.0   2.0\n3.0 4.0  \n\t5 6\n"))
    assert d.columns == ("x0", "x1")
    assert d.values.tolist() == [[1, 2], [3, 4], [5, 6]]
    assert d.report.format == "text"


def test_whitespace_with_header(tmp_path):
    d = load(write(tmp_path, "a.dat", "height  weight\n1.5  60\n1.8  80\n"))
    assert d.columns == ("height", "weight")


def test_semicolon_with_decimal_comma(tmp_path):
    p = write(tmp_path, "de.csv", "Länge;Breite;Art\n1,5;2,25;a\n-3,0;4;b\n1.234,5;,5;c\n")
    d = load(p)
    assert d.columns == ("Länge", "Breite")
    np.testing.assert_array_equal(d.values, [[1.5, 2.25], [-3.0, 4.0], [1234.5, 0.5]])
    assert "decimal comma" in d.report.notes
    assert ("Art", "not numeric") in d.report.columns_left_out


def test_semicolon_without_decimal_comma(tmp_path):
    d = load(write(tmp_path, "a.csv", "a;b\n1.5;2\n3;4\n"))
    assert d.values.tolist() == [[1.5, 2], [3, 4]]
    assert "decimal comma" not in d.report.notes


def test_german_excel_export_latin1_crlf_semicolon(tmp_path):
    text = "Größe;Gewicht\r\n1,75;70,5\r\n1,80;80\r\n"
    d = load(write(tmp_path, "excel.csv", text, encoding="cp1252"))
    assert d.columns == ("Größe", "Gewicht")
    assert d.values.tolist() == [[1.75, 70.5], [1.8, 80]]
    assert any("latin-1" in n for n in d.report.notes)


def test_single_column_with_decimal_comma(tmp_path):
    d = load(write(tmp_path, "one.csv", "Wert\n1,5\n2,25\n"))
    assert d.columns == ("Wert",)
    assert d.values.ravel().tolist() == [1.5, 2.25]


def test_single_column(tmp_path):
    d = load(write(tmp_path, "one.txt", "x\n1\n2\n\n3\n"))
    assert d.columns == ("x",)
    assert d.values.ravel().tolist() == [1, 2, 3]


@pytest.mark.parametrize("encoding, bom", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("latin-1", b"")])
def test_encodings(tmp_path, encoding, bom):
    content = bom + "café,naïve\n1,2\n3,4\n".encode(encoding)
    d = load(write(tmp_path, "enc.csv", content))
    assert d.columns == ("café", "naïve")
    assert d.values.tolist() == [[1, 2], [3, 4]]
    assert any("latin-1" in n for n in d.report.notes) == (encoding == "latin-1")


def test_utf16_with_bom(tmp_path):
    d = load(write(tmp_path, "u16.txt", "a\tb\r\n1\t2\r\n".encode("utf-16")))
    assert d.columns == ("a", "b") and d.values.tolist() == [[1, 2]]


def test_quoted_fields(tmp_path):
    text = ('"name","x","y"\n'
            '"Smith, John","1.5","2"\n'
            '"O""Brien",3,4\n'
            '"two\nlines",5,6\n')
    d = load(write(tmp_path, "q.csv", text))
    assert d.columns == ("x", "y")
    assert d.values.tolist() == [[1.5, 2], [3, 4], [5, 6]]
    assert ("name", "not numeric") in d.report.columns_left_out


def test_quoted_header_with_delimiter_inside(tmp_path):
    d = load(write(tmp_path, "q.csv", '"a,b","c"\n1,2\n'))
    assert d.columns == ("a,b", "c")


def test_r_write_csv_row_names(tmp_path):
    text = '"","sepal","petal","species"\n"1",5.1,1.4,"setosa"\n"2",4.9,1.4,"setosa"\n"3",7,4.7,"versicolor"\n'
    d = load(write(tmp_path, "iris.csv", text))
    assert d.columns == ("sepal", "petal")
    assert ("", "R row names") in d.report.columns_left_out
    assert ("species", "not numeric") in d.report.columns_left_out
    assert d.values.tolist() == [[5.1, 1.4], [4.9, 1.4], [7, 4.7]]


def test_r_write_table_header_one_short(tmp_path):
    text = '"a" "b"\n"1" 1.5 2\n"2" 3 4\n'
    d = load(write(tmp_path, "r.txt", text))
    assert d.columns == ("a", "b")
    assert ("", "R row names") in d.report.columns_left_out


def test_r_row_names_that_are_text(tmp_path):
    text = '"","mpg","cyl"\n"Mazda RX4",21,6\n"Datsun 710",22.8,4\n'
    d = load(write(tmp_path, "mtcars.csv", text))
    assert d.columns == ("mpg", "cyl")
    assert ("", "row names") in d.report.columns_left_out


def test_pandas_index_column(tmp_path):
    d = load(write(tmp_path, "pd.csv", ",a,b\n0,1.5,2\n1,3,4\n"))
    assert d.columns == ("a", "b")
    assert ("", "row index") in d.report.columns_left_out


def test_unnamed_first_column_that_is_not_row_names_is_kept(tmp_path):
    d = load(write(tmp_path, "u.csv", ",a\n5,1\n7,2\n"))
    assert d.columns == ("x0", "a")
    assert d.values.tolist() == [[5, 1], [7, 2]]


def test_numbers_1_to_n_with_a_real_name_are_data(tmp_path):
    d = load(write(tmp_path, "id.csv", "id,x\n1,5\n2,6\n"))
    assert d.columns == ("id", "x")


def test_thousands_of_columns(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3000))
    header = ",".join(f"c{j}" for j in range(3000))
    path = tmp_path / "wide.csv"
    with open(path, "w") as f:
        f.write(header + "\n")
        np.savetxt(f, X, delimiter=",", fmt="%.17g")
    d = load(path)
    assert d.values.shape == (40, 3000)
    assert d.columns[2999] == "c2999"
    np.testing.assert_array_equal(d.values, X)
    d2 = load(path, ["c5", "2999"])
    np.testing.assert_array_equal(d2.values, X[:, [5, 2999]])


def test_line_endings(tmp_path):
    for name, text in [("crlf.csv", "a,b\r\n1,2\r\n3,4\r\n"), ("cr.csv", "a,b\r1,2\r3,4\r"),
                       ("noeol.csv", "a,b\n1,2\n3,4")]:
        d = load(write(tmp_path, name, text))
        assert d.values.tolist() == [[1, 2], [3, 4]], name


def test_comments_blank_lines_and_sep_hint(tmp_path):
    d = load(write(tmp_path, "c.csv", "# made by a logger\n\n# a b\n1 2\n\n3 4\n"))
    assert d.columns == ("a", "b")  # numpy.savetxt's header comment names the columns
    assert d.values.tolist() == [[1, 2], [3, 4]]
    d = load(write(tmp_path, "s.csv", "sep=;\na;b\n1,5;2\n"))
    assert d.columns == ("a", "b") and d.values.tolist() == [[1.5, 2]]


def test_gzip_compressed_csv(tmp_path):
    path = tmp_path / "a.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n3,4\n"))
    d = load(path)
    assert d.values.tolist() == [[1, 2], [3, 4]]
    assert d.report.format == "csv"
    assert "gzip-compressed" in d.report.notes


def test_pathlike_and_str(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("a\n1\n")
    assert load(p).report.source == str(p)


# ------------------------------------------------------------------------------ missing values
def test_missing_nan_and_infinite_rows_are_dropped_and_counted(tmp_path):
    text = "a,b,c\n1,2,x\nNA,3,y\n4,,z\n5,nan,w\n6,inf,v\n7,-Infinity,u\n8,9,t\n?,1,s\n1e999,1,r\n"
    d = load(write(tmp_path, "m.csv", text))
    assert d.columns == ("a", "b")
    assert d.values.tolist() == [[1, 2], [8, 9]]
    assert d.kept_rows.tolist() == [0, 6]
    assert d.report.n_rows_read == 9 and d.report.n_dropped == 7
    assert any("dropped 7 rows" in line for line in d.report.lines())


def test_missing_value_in_an_unused_column_keeps_the_row(tmp_path):
    d = load(write(tmp_path, "m.csv", "a,b\n1,NA\n2,3\n"), ["a"])
    assert d.values.ravel().tolist() == [1, 2] and d.report.n_dropped == 0


def test_column_without_any_value_is_left_out(tmp_path):
    d = load(write(tmp_path, "e.csv", "a,b,c\n1,,2\n3,NA,4\n"))
    assert d.columns == ("a", "c")
    assert ("b", "no values") in d.report.columns_left_out


def test_every_row_incomplete_is_an_error(tmp_path):
    msg = error_of(write(tmp_path, "e.csv", "a,b\n1,NA\nNA,2\n"))
    assert "no rows left" in msg


# ------------------------------------------------------------------------------ column choice
@pytest.fixture
def mixed(tmp_path):
    return write(tmp_path, "mixed.csv", "species,a,b,2020\nx,1,2,3\ny,4,5,6\n")


def test_non_numeric_columns_are_named_in_the_report(mixed):
    d = load(mixed)
    assert d.columns == ("a", "b", "2020")
    assert d.report.columns_left_out == (("species", "not numeric"),)
    assert "left out, not numeric: species" in d.report.lines()


def test_columns_by_name_and_number(mixed):
    assert load(mixed, ["b", "a"]).columns == ("b", "a")
    assert load(mixed, ["1", "2"]).columns == ("a", "b")  # 0-based, counting the text column
    assert load(mixed, ["2020"]).columns == ("2020",)  # a name made of digits is a name
    d = load(mixed, ["a"])
    assert d.values.tolist() == [[1], [4]]
    assert ("b", "not selected") in d.report.columns_left_out


def test_columns_errors_list_the_numeric_columns(mixed):
    msg = error_of(mixed, ["nope"])
    assert "no column named 'nope'" in msg and "numeric columns: a, b, 2020" in msg
    msg = error_of(mixed, ["species"])
    assert "'species'" in msg and "not numeric" in msg and "numeric columns: a, b, 2020" in msg
    msg = error_of(mixed, ["0"])
    assert "not numeric" in msg
    msg = error_of(mixed, ["9"])
    assert "no column 9" in msg and "numeric columns" in msg
    assert "twice" in error_of(mixed, ["a", "1"])
    assert "no columns chosen" in error_of(mixed, [])


def test_text_found_late_in_a_numeric_column(tmp_path, monkeypatch):
    rows = "".join(f"{i},{i * 2}\n" for i in range(300)) + "7,oops\n" + "1,2\n"
    p = write(tmp_path, "late.csv", "a,b\n" + rows)
    d = load(p)
    assert d.columns == ("a",)
    [(name, why)] = d.report.columns_left_out
    assert name == "b" and "'oops'" in why and "line 302" in why
    msg = error_of(p, ["b"])
    assert "'b' is not numeric" in msg and "line 302" in msg and "numeric columns: a" in msg


# ------------------------------------------------------------------------------ errors
def test_missing_file(tmp_path):
    assert error_of(tmp_path / "nope.csv") == "no such file"


def test_folder(tmp_path):
    assert "folder" in error_of(tmp_path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path):
    p = write(tmp_path, "a.csv", "a\n1\n")
    os.chmod(p, 0)
    assert "permission denied" in error_of(p)


def test_unreadable_file_message(tmp_path, monkeypatch):
    import os

    p = write(tmp_path, "a.csv", "a\n1\n")
    real_open = os.open

    def refuse(path, *args, **kwargs):  # as root, permissions alone refuse nothing
        if os.fspath(path) == str(p):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    assert error_of(p) == "cannot read the file (permission denied)"


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\xef\xbb\xbf"])
def test_empty_file(tmp_path, content):
    assert error_of(write(tmp_path, "e.csv", content)) == "the file is empty"


def test_only_comments(tmp_path):
    assert "no data" in error_of(write(tmp_path, "c.csv", "# nothing\n"))


def test_header_without_rows(tmp_path):
    assert error_of(write(tmp_path, "h.csv", "a,b,c\n")) == "the file has a header row but no data rows"


def test_no_numeric_column(tmp_path):
    msg = error_of(write(tmp_path, "t.csv", "name,city\nAnn,Oslo\nBob,Rome\n"))
    assert msg.startswith("no numeric column") and "name" in msg and "city" in msg


@pytest.mark.parametrize("text, line, got, expected", [
    ("a,b\n1,2\n3,4,5\n6,7\n", 3, 3, 2),
    ("a,b\n1,2\n3\n4,5\n", 3, 1, 2),
    ("1\t2\n3\t4\n5\t6\t7\n", 3, 3, 2),
    ("a;b\n1;2\n\n\n3;4;5\n", 5, 3, 2),
])
def test_ragged_rows_name_the_line(tmp_path, text, line, got, expected):
    msg = error_of(write(tmp_path, "r.csv", text))
    assert msg == f"line {line} has {got} field{'s' if got != 1 else ''}, expected {expected}"


def test_ragged_row_far_down_names_the_line(tmp_path, monkeypatch):
    monkeypatch.setattr(_text_source, "BLOCK_BYTES", 4096)
    body = "".join(f"{i},{i}\n" for i in range(5000))
    text = "a,b\n" + body + "1,2,3\n" + "1,2\n"
    assert error_of(write(tmp_path, "r.csv", text)) == "line 5002 has 3 fields, expected 2"


def test_binary_file(tmp_path):
    msg = error_of(write(tmp_path, "b.csv", bytes(range(256)) * 4))
    assert "binary" in msg
    msg = error_of(write(tmp_path, "b2.txt", b"1,2\n3,4\x00\x00\n"))
    assert "binary" in msg


@pytest.mark.parametrize("name, content, words", [
    ("a.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xls"),
    ("a.csv", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "PDF"),
    ("a.npy", b"not numpy at all", ".npy"),
    ("a.xlsx", b"1,2\n", ".xlsx"),
    ("a.parquet", b"PAR1garbage", "Parquet"),
    ("a.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f8'", ".npy"),
    ("a.npz", b"PK\x03\x04garbage", ".npz"),
    ("a.xlsx", b"PK\x03\x04garbage", "Excel"),
    ("a.zip", b"PK\x05\x06" + b"\0" * 18, "zip"),
    ("a.csv.gz", b"\x1f\x8b\x08\x00garbage", "gzip"),
])
def test_corrupt_or_foreign_files(tmp_path, name, content, words):
    assert words in error_of(write(tmp_path, name, content))


def test_field_larger_than_csv_limit_is_a_clean_error(tmp_path):
    text = 'a,b\n1,"' + "x" * 200_000 + '"\n'
    msg = error_of(write(tmp_path, "big.csv", text))
    assert "line 2" in msg


# ------------------------------------------------------------------------------ NumPy
def test_npy_1d(tmp_path):
    np.save(tmp_path / "a.npy", np.array([1.0, 2.0, np.nan, 4.0]))
    d = load(tmp_path / "a.npy")
    assert d.columns == ("x0",) and d.values.ravel().tolist() == [1, 2, 4]
    assert d.kept_rows.tolist() == [0, 1, 3] and d.report.n_dropped == 1
    assert d.report.format == "npy"


def test_npy_2d_int(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(6, dtype=np.int32).reshape(3, 2))
    d = load(tmp_path / "a.npy")
    assert d.columns == ("x0", "x1") and d.values.tolist() == [[0, 1], [2, 3], [4, 5]]


def test_npy_fortran_order_and_float32(tmp_path):
    X = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(4, 3))
    np.save(tmp_path / "a.npy", X)
    d = load(tmp_path / "a.npy", ["2", "x0"])
    assert d.values.tolist() == [[2, 0], [5, 3], [8, 6], [11, 9]]


def test_npy_structured(tmp_path):
    arr = np.array([(1.5, 2, "a", True), (3.0, 4, "b", False)],
                   dtype=[("len", "f8"), ("n", "i4"), ("kind", "U2"), ("ok", "?")])
    np.save(tmp_path / "s.npy", arr)
    d = load(tmp_path / "s.npy")
    assert d.columns == ("len", "n") and d.values.tolist() == [[1.5, 2], [3, 4]]
    assert dict(d.report.columns_left_out) == {"kind": "not numeric", "ok": "not numeric (true/false)"}


@pytest.mark.parametrize("arr, words", [
    (np.zeros((2, 2, 2)), "3 dimensions"),
    (np.float64(3.0), "single value"),
    (np.zeros((0, 3)), "no rows"),
    (np.array(["a", "b"]), "text"),
    (np.array([True, False]), "true/false"),
    (np.array([1 + 2j]), "complex"),
])
def test_npy_unusable_arrays(tmp_path, arr, words):
    np.save(tmp_path / "a.npy", arr)
    assert words in error_of(tmp_path / "a.npy")


def test_npy_object_array_is_never_unpickled(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    assert "Python objects" in error_of(tmp_path / "o.npy")


def test_npz_single_array(tmp_path):
    np.savez(tmp_path / "a.npz", np.ones((3, 2)))
    d = load(tmp_path / "a.npz")
    assert d.values.shape == (3, 2) and d.report.format == "npz"


@pytest.mark.parametrize("key", ["X", "data"])
def test_npz_picks_X_or_data(tmp_path, key):
    np.savez_compressed(tmp_path / "a.npz", **{key: np.full((2, 2), 7.0), "labels": np.zeros(2)})
    d = load(tmp_path / "a.npz")
    assert d.values.tolist() == [[7, 7], [7, 7]]
    assert any(repr(key) in n for n in d.report.notes)


def test_npz_ambiguous_lists_the_names(tmp_path):
    np.savez(tmp_path / "a.npz", first=np.ones(2), second=np.ones(2))
    msg = error_of(tmp_path / "a.npz")
    assert "first" in msg and "second" in msg and "X" in msg


# ------------------------------------------------------------------------------ Excel
def _xlsx(path, rows, extra_sheet=False, first_empty=False):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    if first_empty:
        sheet.title = "empty"
        sheet = book.create_sheet("data")
    for row in rows:
        sheet.append(row)
    if extra_sheet:
        book.create_sheet("notes").append(["nothing", "here"])
    book.save(path)
    return path


def test_xlsx(tmp_path):
    p = _xlsx(tmp_path / "a.xlsx", [["x", "y", "species", "when"],
                                    [1.5, 2, "a", datetime.datetime(2020, 1, 1)],
                                    [3, None, "b", datetime.datetime(2020, 1, 2)],
                                    [4, "5", "c", None],
                                    [6, "#N/A", "d", None]], extra_sheet=True)
    d = load(p)
    assert d.report.format == "xlsx"
    assert d.columns == ("x", "y")
    assert d.values.tolist() == [[1.5, 2], [4, 5]]
    assert d.kept_rows.tolist() == [0, 2]
    assert dict(d.report.columns_left_out) == {"species": "not numeric", "when": "not numeric"}


def test_xlsx_without_header_and_on_a_later_sheet(tmp_path):
    p = _xlsx(tmp_path / "a.xlsx", [[1, 2], [3, 4]], first_empty=True)
    d = load(p)
    assert d.columns == ("x0", "x1") and d.values.tolist() == [[1, 2], [3, 4]]
    assert any("'data'" in n for n in d.report.notes)


def test_xlsx_pandas_index_and_empty_workbook(tmp_path):
    d = load(_xlsx(tmp_path / "a.xlsx", [[None, "a"], [0, 1.5], [1, 2.5], [2, 3.5]]))
    assert d.columns == ("a",) and ("", "row index") in d.report.columns_left_out
    assert "empty" in error_of(_xlsx(tmp_path / "e.xlsx", []))
    assert "header row but no data" in error_of(_xlsx(tmp_path / "h.xlsx", [["a", "b"]]))


def test_damaged_xlsx(tmp_path):
    p = tmp_path / "d.xlsx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("[Content_Types].xml", "<not really>")
    assert "not a valid Excel workbook" in error_of(p)


# ------------------------------------------------------------------------------ Parquet
def _parquet(path, select_sql):
    import duckdb

    con = duckdb.connect()
    con.execute(f"COPY ({select_sql}) TO '{path}' (FORMAT parquet)")
    con.close()
    return path


def test_parquet(tmp_path):
    p = _parquet(tmp_path / "a.parquet",
                 "SELECT * FROM (VALUES (1, 2.5::FLOAT, 'a', true, 1.25::DECIMAL(5,2)), "
                 "(2, NULL, 'b', false, 2.5), (3, 4.5, 'c', true, 3.75)) t(i, f, s, b, dec)")
    d = load(p)
    assert d.report.format == "parquet"
    assert d.columns == ("i", "f", "dec")
    assert d.values.tolist() == [[1, 2.5, 1.25], [3, 4.5, 3.75]]
    assert d.kept_rows.tolist() == [0, 2]
    assert dict(d.report.columns_left_out) == {"s": "not numeric", "b": "not numeric (true/false)"}


def test_parquet_pandas_index_and_odd_file_name(tmp_path):
    p = _parquet(tmp_path / "run[1].parquet",
                 "SELECT x, x * 2 AS y, x - 1 AS __index_level_0__ FROM range(1, 5) t(x)")
    d = load(p)
    assert d.columns == ("x", "y") and ("__index_level_0__", "pandas index") in d.report.columns_left_out


def test_parquet_without_numbers_or_rows(tmp_path):
    p = _parquet(tmp_path / "t.parquet", "SELECT 'a' AS s")
    assert "no numeric column" in error_of(p)
    p = _parquet(tmp_path / "e.parquet", "SELECT 1.5 AS x WHERE false")
    assert "no rows" in error_of(p)


def test_damaged_parquet(tmp_path):
    good = _parquet(tmp_path / "g.parquet", "SELECT x::DOUBLE AS x FROM range(100) t(x)")
    data = bytearray(good.read_bytes())
    bad = tmp_path / "b.parquet"
    bad.write_bytes(bytes(data[: len(data) // 2]) + b"PAR1")
    assert "not a valid Parquet file" in error_of(bad)


# ------------------------------------------------------------------------------ report
def test_report_lines(tmp_path):
    p = write(tmp_path, "de.csv", '"";"a";"b";"s"\n"1";1,5;2;x\n"2";NA;3;y\n')
    r = load(p).report
    assert isinstance(r, LoadReport)
    lines = r.lines()
    assert lines[0] == f"{p} (csv): 1 of 2 rows, 2 columns: a, b"
    assert 'left out, R row names: ""' in lines
    assert "left out, not numeric: s" in lines
    assert "dropped 1 row with a missing, NaN or infinite value" in lines
    assert "note: decimal comma" in lines
    assert r.lines("de.csv")[0] == "de.csv (csv): 1 of 2 rows, 2 columns: a, b"  # the window: the name only
    assert r.lines("de.csv")[1:] == lines[1:]
    with pytest.raises(AttributeError):
        r.n_dropped = 0  # frozen


# ------------------------------------------------------------------------------ blocks
def test_small_blocks_give_the_same_result(tmp_path, monkeypatch):
    """Records split across read blocks (quotes, CRLF, NA, late text) load the same."""
    rng = np.random.default_rng(1)
    lines = ['"","x","y","note","z"']
    for i in range(400):
        x = "NA" if i % 37 == 5 else f"{rng.normal():.6f}"
        note = '"a,\nb"' if i % 50 == 3 else '"plain"'
        z = "oops" if i == 350 else "1"
        lines.append(f'"{i + 1}",{x},{rng.normal():.6f},{note},{z}')
    p = write(tmp_path, "b.csv", "\r\n".join(lines) + "\r\n")
    whole = load(p)
    monkeypatch.setattr(_text_source, "BLOCK_BYTES", 97)
    monkeypatch.setattr(_text_source, "HEAD_STEP", 64)
    monkeypatch.setattr(_text_source, "HEAD_MIN_LINES", 3)
    small = load(p)
    np.testing.assert_array_equal(whole.values, small.values)
    np.testing.assert_array_equal(whole.kept_rows, small.kept_rows)
    assert whole.columns == small.columns == ("x", "y")
    assert whole.report == small.report
    assert dict(whole.report.columns_left_out) == {
        "": "R row names", "note": "not numeric", "z": "not numeric ('oops' on line 359)"}


def test_fast_and_careful_parsers_agree(tmp_path, monkeypatch):
    text = "a,b\n1,2\n 3 , 4 \n5,-6e-3\n+7,.5\n"
    p = write(tmp_path, "a.csv", text)
    fast = load(p)
    monkeypatch.setattr(_text_body.BodyReader, "_parse_fast", lambda self, chunk, cols: None)
    slow = load(p)
    np.testing.assert_array_equal(fast.values, slow.values)


def test_missing_markers_stay_on_the_fast_path(tmp_path, monkeypatch):
    """NA and empty fields are rewritten for numpy.loadtxt; the cell-by-cell reader is not needed.

    This relies on numpy's error message naming the bad token: if numpy changes it, loading is
    still right but slow, and this test says so.
    """
    rows = "".join(f"{i},{'NA' if i % 7 == 0 else i},{'' if i % 5 == 0 else 2 * i}\n" for i in range(1, 200))
    p = write(tmp_path, "na.csv", "a,b,c\n" + rows + "NA,1,2\n")

    def no_slow_path(self, chunk, line_no, cols):
        raise AssertionError("the slow path was used")

    monkeypatch.setattr(_text_body.BodyReader, "_parse_slow", no_slow_path)
    d = load(p)
    expected = [i for i in range(1, 200) if i % 7 and i % 5]
    assert d.values[:, 0].tolist() == expected
    assert d.report.n_dropped == 200 - len(expected)


# ------------------------------------------------------------------------------ imports
def test_io_imports_no_qt_pandas_or_heavy_readers():
    code = textwrap.dedent("""
        import sys
        import emstudio.io.data
        bad = [m for m in sys.modules if m.split('.')[0] in
               ('PySide6', 'shiboken6', 'pyqtgraph', 'pandas', 'openpyxl', 'duckdb', 'pyarrow')]
        print(','.join(bad))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_workbook_sheets_lists_a_workbooks_sheets_and_nothing_for_other_files(tmp_path):
    from emstudio.io.data import workbook_sheets

    book = _xlsx(tmp_path / "b.xlsx", [["x"], [1.0]], extra_sheet=True, first_empty=True)
    assert workbook_sheets(book) == ["empty", "data", "notes"]
    csv = tmp_path / "a.csv"
    csv.write_text("x\n1\n")
    assert workbook_sheets(csv) == []
    assert workbook_sheets(tmp_path / "missing.xlsx") == []
    (tmp_path / "bad.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    assert workbook_sheets(tmp_path / "bad.xlsx") == []
