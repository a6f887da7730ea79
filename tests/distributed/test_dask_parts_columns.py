"""One file cut into parts decides its columns and rows as `fit` does reading it whole: a column
empty in the first part is kept, a column with text further on is left out with the file's line
of that text, a part with no complete row gives none, a quoted field holding a line end is refused
in one line (the cut may fall inside it)."""

import numpy as np
import pytest

from emstudio.cli import main
from emstudio.core.em import FitSettings, fit_mixture
from emstudio.errors import DataError
from emstudio.io.data import load_data
from emstudio.io.parts import survey_part
from tests.conftest import blobs

pytest.importorskip("distributed")

from emstudio.distributed.engine import ClusterEngine  # noqa: E402
from emstudio.distributed.fit import fit_on_cluster  # noqa: E402
from emstudio.distributed.sources import find_blocks  # noqa: E402

RTOL = 1e-10
ROWS = 1200


def _write(path, header, rows):
    path.write_text(header + "\n" + "".join(",".join(row) + "\n" for row in rows))
    return str(path)


@pytest.fixture(scope="module")
def data():
    return blobs([600, 600], [[0, 0, 0], [4, 4, 4]], [1.0, 1.0], seed=3)


@pytest.fixture(scope="module")
def files(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("parts-columns")
    cells = [[f"{v:.6f}" for v in row] for row in data]
    # c empty through the first 400 rows (the first parts), numbers after
    late = [row[:2] + ([""] if i < 400 else row[2:]) for i, row in enumerate(cells)]
    # c numeric, but "foo" on row 1,000 (file line 1,002: the header is line 1)
    text = [row[:2] + (["foo"] if i == 1000 else row[2:]) for i, row in enumerate(cells)]
    # rows 300–699 miss a: whole parts without a complete row
    gap = [(["NA"] if 300 <= i < 700 else row[:1]) + row[1:] for i, row in enumerate(cells)]
    quoted = [[f'"first\nsecond {i}"'] + row[:2] for i, row in enumerate(cells)]
    # an unnamed first column counting 1, 2, … through the first parts only: data (x0), not row names
    jump = [[str(i + 1 if i < 900 else i + 5001)] + row for i, row in enumerate(cells)]
    return {"late": _write(root / "late.csv", "a,b,c", late), "text": _write(root / "text.csv", "a,b,c", text),
            "gap": _write(root / "gap.csv", "a,b,c", gap), "quoted": _write(root / "quoted.csv", "note,a,b", quoted),
            "jump": _write(root / "jump.csv", ',a,b,c', jump)}


def _fit_both(client, path):
    loaded = load_data(path)
    settings = FitSettings(k=2, covariance_type="full", init="kmeans", seed=1, max_iter=10, tol=0)
    want = fit_mixture(loaded.values, settings)
    blocks = find_blocks(path, block_bytes=6000)
    assert len(blocks) >= 4 and {b.kind for b in blocks} == {"text"}
    with ClusterEngine(client, blocks, "full") as engine:
        got = fit_on_cluster(engine, settings)
        facts = engine.columns, engine.n_samples, engine.n_dropped, engine.left_out
    return loaded, want, got, facts


@pytest.mark.parametrize("name, columns, kept, left_out", [
    ("late", ("a", "b", "c"), ROWS - 400, ()),
    ("text", ("a", "b"), ROWS, ("left out, not numeric ('foo' on line 1002): c",)),
    ("gap", ("a", "b", "c"), ROWS - 400, ()),
    ("jump", ("x0", "a", "b", "c"), ROWS, ()),
])
def test_a_file_in_parts_uses_the_columns_and_rows_of_the_whole_file(dask_client, files, name, columns, kept,
                                                                      left_out):
    loaded, want, got, (got_columns, n, dropped, got_left_out) = _fit_both(dask_client, files[name])
    assert got_columns == loaded.columns == columns
    assert n == loaded.values.shape[0] == kept and dropped == loaded.report.n_dropped
    assert got_left_out == tuple(loaded.report.lines()[1:1 + len(left_out)]) == left_out
    assert got.log_likelihood == pytest.approx(want.log_likelihood, rel=RTOL)
    np.testing.assert_allclose(got.params.means, want.params.means, rtol=RTOL, atol=RTOL * np.abs(want.params.means).max())


def test_a_wanted_column_with_text_further_on_is_refused_with_the_file_line(dask_client, files):
    blocks = find_blocks(files["text"], block_bytes=6000)
    with pytest.raises(DataError) as in_memory:
        load_data(files["text"], columns=["a", "c"])
    with pytest.raises(DataError) as on_cluster:
        ClusterEngine(dask_client, blocks, "full", columns=["a", "c"])
    # the same message, the file named by its name (as the Dask engine names files) or path
    assert str(on_cluster.value) == str(in_memory.value).replace(files["text"], "text.csv")
    assert "'foo' on line 1002" in str(on_cluster.value)


def test_a_quoted_line_end_is_refused_in_one_line(dask_client, files, capsys):
    assert load_data(files["quoted"]).columns == ("a", "b")  # whole, the file reads
    code = main(["fit", files["quoted"], "--k", "2", "--engine", "dask", "--scheduler",
                 dask_client.scheduler.address, "--block-bytes", "6000"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1
    assert "a quoted field holds a line end" in err[0] and "without --engine dask" in err[0]


def test_a_part_reports_its_columns_lines_and_first_text_cell(files):
    whole = open(files["text"], "rb").read()
    cut = whole.index(b"\n", len(whole) // 2) + 1
    head = len(b"a,b,c\n")
    part = survey_part(files["text"], byte_range=(cut, len(whole)), head_bytes=head)
    assert part.names == ("a", "b", "c") and part.numeric == {0, 1}
    assert part.head_lines == 1 and part.lines == whole[cut:].count(b"\n")
    line, cell = part.text_at[2]
    lines_before = whole[:cut].count(b"\n")
    assert cell == "foo" and line - part.head_lines + lines_before == 1002


def test_a_parquet_row_group_all_null_gives_no_rows(dask_client, tmp_path):
    import duckdb

    many = blobs([4000, 4192], [[10, 0], [12, 1]], [1.0, 0.7], seed=6)
    many[2048:4096, 0] = np.nan  # the second row group (DuckDB's 2,048 rows) misses a throughout
    np.savetxt(tmp_path / "many.csv", many, delimiter=",", header="a,b", comments="", fmt="%.17g")
    path = str(tmp_path / "gap.parquet")
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT a::DOUBLE AS a, b::DOUBLE AS b FROM read_csv('{tmp_path / 'many.csv'}', "
                    f"header=true, nullstr='nan')) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 2048)")
    loaded = load_data(path)
    assert loaded.values.shape[0] == 8192 - 2048
    settings = FitSettings(k=2, covariance_type="full", init="kmeans", seed=1, max_iter=10, tol=0)
    want = fit_mixture(loaded.values, settings)
    with ClusterEngine(dask_client, find_blocks(path, block_rows=2048), "full") as engine:
        assert engine.n_blocks == 4 and engine.n_samples == 8192 - 2048 and engine.n_dropped == 2048
        got = fit_on_cluster(engine, settings)
    assert got.log_likelihood == pytest.approx(want.log_likelihood, rel=RTOL)


def test_known_classes_are_counted_over_the_whole_file(dask_client, files, capsys):
    common = ["--k", "2", "--max-iter", "3", "--classes", "a"]
    assert main(["fit", files["text"], *common]) != 0
    in_memory = capsys.readouterr().err.strip()
    assert main(["fit", files["text"], *common, "--engine", "dask", "--scheduler", dask_client.scheduler.address,
                 "--block-bytes", "6000"]) != 0
    on_cluster = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"column 'a' has {ROWS} different values" in in_memory
    assert on_cluster == in_memory.replace(files["text"], "text.csv")


def test_one_factor_analyser_makes_no_pass_over_the_blocks(dask_client, files, capsys):
    assert main(["fit", files["late"], "--model", "fa", "--factors", "1", "--engine", "dask", "--scheduler",
                 dask_client.scheduler.address, "--block-bytes", "6000"]) == 0
    assert "no pass over the blocks after the set-up" in capsys.readouterr().err
