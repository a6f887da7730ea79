"""`emstudio fit` on real-world files: each loadable one gives a valid result, each malformed one
exactly one clear line and a non-zero exit (issue: loading real-world data)."""

import gzip
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

ROWS = np.random.default_rng(0).normal(size=(40, 2)) * [1.0, 10.0] + [0.0, 50.0]


def _csv(sep=",", decimal=".", header=True):
    def fmt(v):
        return f"{v:.6f}".replace(".", decimal)
    lines = ([sep.join(["width", "height"])] if header else []) + [sep.join(fmt(v) for v in row) for row in ROWS]
    return "\n".join(lines) + "\n"


def _xlsx(path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["width", "height", "label"])
    for a, b in ROWS:
        book.active.append([float(a), float(b), "x"])
    book.save(path)


def _parquet(path):
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE t (width DOUBLE, height DOUBLE, label VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?, 'x')", [tuple(map(float, r)) for r in ROWS])
    con.execute(f"COPY t TO '{path}' (FORMAT parquet)")
    con.close()


LOADABLE = {
    "comma.csv": lambda p: p.write_text(_csv()),
    "german.csv": lambda p: p.write_bytes(_csv(";", ",").encode("latin-1")),
    "bom.csv": lambda p: p.write_bytes(b"\xef\xbb\xbf" + _csv().encode()),
    "tabs.tsv": lambda p: p.write_text(_csv("\t")),
    "spaces.txt": lambda p: p.write_text(_csv(" ", header=False)),
    "r_rownames.csv": lambda p: p.write_text('"","width","height"\n' + "".join(
        f'"{i + 1}",{a},{b}\n' for i, (a, b) in enumerate(ROWS))),
    "quoted_with_text.csv": lambda p: p.write_text('"name","width","height"\n' + "".join(
        f'"pt, {i}",{a},{b}\n' for i, (a, b) in enumerate(ROWS))),
    "with_missing.csv": lambda p: p.write_text(_csv() + "NA,3\n,4\n"),
    "gzipped.csv.gz": lambda p: p.write_bytes(gzip.compress(_csv().encode())),
    "array.npy": lambda p: np.save(p, ROWS),
    "arrays.npz": lambda p: np.savez(p, X=ROWS),
    "book.xlsx": _xlsx,
    "table.parquet": _parquet,
}

MALFORMED = {
    "empty.csv": (lambda p: p.write_text(""), "empty"),
    "header_only.csv": (lambda p: p.write_text("width,height\n"), "no data"),
    "ragged.csv": (lambda p: p.write_text("a,b\n1,2\n3,4,5\n6,7\n"), "line 3"),
    "binary.csv": (lambda p: p.write_bytes(bytes(range(256)) * 4), "binary"),
    "text_only.csv": (lambda p: p.write_text("name,city\nann,oslo\nbob,rome\n"), "numeric"),
    "picture.csv": (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64), "PNG"),
    "broken.xlsx": (lambda p: zipfile.ZipFile(p, "w").writestr("x.xml", "<no/>"), "Excel"),
    "broken.parquet": (lambda p: p.write_bytes(b"PAR1 not really parquet PAR1"), "Parquet"),
    "few_rows.csv": (lambda p: p.write_text("a,b\n1,2\n3,5\nNA,1\n"), "usable samples"),
}


def run(*args):
    out = subprocess.run([sys.executable, "-m", "emstudio", *map(str, args)], capture_output=True, text=True,
                         timeout=120)
    return out.returncode, out.stderr


@pytest.mark.parametrize("name", sorted(LOADABLE))
def test_loadable_files_give_a_valid_result(tmp_path, name):
    data = tmp_path / name
    LOADABLE[name](data)
    out = tmp_path / "r.json"
    code, stderr = run("fit", data, "--k", "2", "--out", out, "-q")
    assert code == 0, stderr
    result = json.loads(out.read_text())
    assert result["format"] == "emstudio.gaussian-mixture"
    assert result["data"]["n_samples"] == len(ROWS) and len(result["data"]["columns"]) == 2
    assert np.isfinite(result["log_likelihood"])
    if name == "with_missing.csv":
        assert result["data"]["n_dropped"] == 2 and "dropped 2 rows" in stderr


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_files_give_one_clear_line(tmp_path, name):
    make, fragment = MALFORMED[name]
    data = tmp_path / name
    make(data)
    code, stderr = run("fit", data, "--k", "3", "--out", tmp_path / "r.json")
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code != 0 and len(lines) == 1, stderr
    assert lines[0].startswith("emstudio: error:") and "Traceback" not in stderr
    assert fragment.lower() in lines[0].lower(), lines[0]
    assert not (tmp_path / "r.json").exists()
