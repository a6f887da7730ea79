"""One large CSV or Parquet file read in blocks by the workers (byte ranges cut on line ends; whole
row groups): the fit equals the in-memory fit of the whole file."""

import json

import numpy as np
import pytest

from emstudio.cli import main
from emstudio.core.em import FitSettings, fit_mixture
from emstudio.io.data import load_data
from tests.conftest import blobs

pytest.importorskip("distributed")

from emstudio.distributed.engine import ClusterEngine  # noqa: E402
from emstudio.distributed.fit import fit_on_cluster  # noqa: E402
from emstudio.distributed.sources import find_blocks  # noqa: E402

RTOL = 1e-10


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """1,500 rows of 2 blobs as one CSV (a comment line, a header, R's row names 1…n, one missing
    value); 8,192 rows as one Parquet file of 4 row groups (DuckDB's smallest: 2,048 rows)."""
    import duckdb

    root = tmp_path_factory.mktemp("dask-parts")
    data = blobs([800, 700], [[10, 0], [12, 1]], [1.0, 0.7], seed=5)
    lines = [f'"{i + 1}",{float(a)!r},{float(b)!r}' for i, (a, b) in enumerate(data)]
    lines[700] = f'"701",{float(data[700, 0])!r},NA'  # dropped, in a block past the first
    csv = root / "one.csv"
    csv.write_text("# made by a test\n\"\",\"a\",\"b\"\n" + "".join(line + "\n" for line in lines))
    parquet = root / "one.parquet"
    many = blobs([4000, 4192], [[10, 0], [12, 1]], [1.0, 0.7], seed=6)
    np.savetxt(root / "many.csv", many, delimiter=",", header="a,b", comments="", fmt="%.17g")
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT * FROM read_csv('{root / 'many.csv'}', header=true)) "
                    f"TO '{parquet}' (FORMAT parquet, ROW_GROUP_SIZE 2048)")
    return {"csv": str(csv), "parquet": str(parquet)}


def _assert_same(got, want):
    assert got.n_iter == want.n_iter and got.n_samples == want.n_samples
    assert got.log_likelihood == pytest.approx(want.log_likelihood, rel=RTOL)
    for a, b in ((got.params.weights, want.params.weights), (got.params.means, want.params.means),
                 (got.params.covariances, want.params.covariances)):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=RTOL * np.abs(b).max())


@pytest.mark.parametrize("kind, sizes, n_blocks", [("csv", {"block_bytes": 9000}, 6),
                                                   ("csv", {"block_rows": 400}, 4),
                                                   ("parquet", {"block_rows": 3000}, 2)])
def test_one_file_in_blocks_fits_as_in_memory(dask_client, files, kind, sizes, n_blocks):
    blocks = find_blocks(files[kind], **sizes)
    # 6 blocks or more of ~9,000 bytes (each ends on the line end after that); 1,500 rows by 400: 4;
    # 4 row groups of 2,048 rows, at least 3,000 rows a block: 2
    assert len(blocks) >= n_blocks if "block_bytes" in sizes else len(blocks) == n_blocks
    assert {b.kind for b in blocks} == {"text" if kind == "csv" else "parquet"}
    if kind == "csv":  # the ranges tile the file, each starting on a line
        assert blocks[0].start == 0 and blocks[-1].stop == len(open(files["csv"], "rb").read())
        assert all(a.stop == b.start for a, b in zip(blocks, blocks[1:]))
    loaded = load_data(files[kind])
    settings = FitSettings(k=2, covariance_type="full", init="kmeans", seed=1, max_iter=15, tol=0)
    want = fit_mixture(loaded.values, settings)
    with ClusterEngine(dask_client, blocks, "full") as engine:
        got = fit_on_cluster(engine, settings)
        assert engine.columns == loaded.columns == ("a", "b")  # the row names left out in every block
        assert engine.n_dropped == loaded.report.n_dropped == (1 if kind == "csv" else 0)
    _assert_same(got, want)


def test_labels_of_one_csv_in_blocks_number_the_rows_on(dask_client, files, tmp_path):
    common = ["--k", "2", "--seed", "2", "--tol", "0", "--max-iter", "5", "-q"]
    assert main(["fit", files["csv"], *common, "--labels", str(tmp_path / "memory.csv"),
                 "--out", str(tmp_path / "memory.json")]) == 0
    assert main(["fit", files["csv"], *common, "--labels", str(tmp_path / "dask.csv"), "--out",
                 str(tmp_path / "dask.json"), "--engine", "dask", "--scheduler", dask_client.scheduler.address,
                 "--block-bytes", "5000"]) == 0
    got, want = ((tmp_path / f"{n}.csv").read_text().splitlines() for n in ("dask", "memory"))
    assert len(got) == len(want) == 1500  # header + 1,499 rows: row 701 dropped
    assert [line.split(",")[:4] for line in got] == [line.split(",")[:4] for line in want]
    memory, dask = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("memory", "dask"))
    assert dask["log_likelihood"] == pytest.approx(memory["log_likelihood"], rel=RTOL)


def test_block_rows_and_block_bytes_exclude_each_other(files, capsys):
    with pytest.raises(SystemExit):
        main(["fit", files["csv"], "--engine", "dask", "--block-rows", "5", "--block-bytes", "5"])
    assert "not allowed with" in capsys.readouterr().err
