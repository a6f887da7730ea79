"""The fit on a Dask cluster equals the fit in memory from the same start (issue 18's checks)."""

import numpy as np
import pytest

from emstudio.core.em import FitSettings, fit_mixture
from emstudio.core.init import initial_params
from emstudio.core.params import MCLUST_EXTRA_TYPES
from emstudio.errors import DataError
from tests.conftest import blobs

pytest.importorskip("distributed")

from emstudio.distributed.engine import ClusterEngine  # noqa: E402
from emstudio.distributed.fit import fit_on_cluster  # noqa: E402
from emstudio.distributed.sources import find_blocks  # noqa: E402

RTOL = 1e-10
ROT = [np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 1.0]]), np.eye(3),
       np.array([[1.0, 0.0, 0.0], [-0.4, 0.6, 0.0], [0.2, 0.0, 0.8]])]


@pytest.fixture(scope="module")
def data():
    """3 overlapping blobs in 3-D, away from the origin (EM needs many iterations on them)."""
    return blobs([2500, 2000, 1500], [[10, 0, 5], [12, 1, 5], [11, 3, 6]], [1.0, 0.8, 1.2], seed=7, rotations=ROT)


@pytest.fixture(scope="module")
def files(data, tmp_path_factory):
    """The same rows as one .npy, a Parquet folder of 3 files and 3 CSV files."""
    import duckdb

    root = tmp_path_factory.mktemp("dask-data")
    np.save(root / "x.npy", data)
    (root / "parquet").mkdir()
    parts = np.array_split(np.arange(data.shape[0]), 3)
    con = duckdb.connect()
    for i, rows in enumerate(parts):
        csv = root / f"part{i}.csv"
        # repr-exact text, so the CSV holds the very same float64 values
        csv.write_text("a,b,c\n" + "".join(",".join(repr(float(v)) for v in row) + "\n" for row in data[rows]))
        con.execute(f"COPY (SELECT * FROM read_csv('{csv}', header=true)) "
                    f"TO '{root / 'parquet' / f'part{i}.parquet'}' (FORMAT parquet)")
    con.close()
    return {"npy": str(root / "x.npy"), "parquet": str(root / "parquet"), "csv": str(root / "part*.csv")}


def _assert_same(got, want):
    assert got.n_iter == want.n_iter
    assert got.log_likelihood == pytest.approx(want.log_likelihood, rel=RTOL)
    for a, b in ((got.params.weights, want.params.weights), (got.params.means, want.params.means),
                 (got.params.covariances, want.params.covariances)):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=RTOL * np.abs(b).max())


def _fit(client, path, settings, **options):
    block_rows = options.pop("block_rows", 2500)
    with ClusterEngine(client, find_blocks(path, block_rows=block_rows), settings.covariance_type, **options) as engine:
        return fit_on_cluster(engine, settings)


def _start(data, covariance_type, k=3):
    return initial_params(data, k, covariance_type, "kmeans", np.random.default_rng(0), 1e-6)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"] + sorted(MCLUST_EXTRA_TYPES))
def test_npy_fit_equals_the_in_memory_fit_from_the_same_start(dask_client, data, files, covariance_type):
    # tol 0: exactly max_iter plain EM iterations on both engines
    settings = FitSettings(k=3, covariance_type=covariance_type, init=_start(data, covariance_type), tol=0,
                           max_iter=6)
    _assert_same(_fit(dask_client, files["npy"], settings), fit_mixture(data, settings))


@pytest.mark.parametrize("kind", ["parquet", "csv"])
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_table_files_fit_equals_the_in_memory_fit(dask_client, data, files, kind, covariance_type):
    settings = FitSettings(k=3, covariance_type=covariance_type, init=_start(data, covariance_type), tol=0,
                           max_iter=5)
    _assert_same(_fit(dask_client, files[kind], settings), fit_mixture(data, settings))


def test_a_zarr_array_fits_as_in_memory(dask_client, data, tmp_path):
    zarr = pytest.importorskip("zarr")
    array = zarr.create_array(str(tmp_path / "x.zarr"), shape=data.shape, chunks=(700, 3), dtype="f8")
    array[:] = data
    settings = FitSettings(k=3, covariance_type="VEV", init=_start(data, "VEV"), tol=0, max_iter=5)
    with ClusterEngine(dask_client, find_blocks(str(tmp_path / "x.zarr"), min_blocks=4), "VEV") as engine:
        # at least 4 blocks of whole chunks: 1,500 rows each rounded down to 2 chunks, so 5 blocks
        assert engine.n_blocks == 5 and engine.columns == ("x0", "x1", "x2")
        _assert_same(fit_on_cluster(engine, settings), fit_mixture(data, settings))


def test_the_default_fit_starts_on_the_same_rows_when_the_sample_holds_them_all(dask_client, data, files):
    # auto start, SQUAREM and the Aitken rule, 2 restarts: the whole default fit, as in memory
    settings = FitSettings(k=3, covariance_type="full", restarts=2, max_iter=12, tol=1e-8, convergence="aitken",
                           accelerate="squarem")
    _assert_same(_fit(dask_client, files["npy"], settings), fit_mixture(data, settings))


def test_blocks_read_for_every_pass_give_the_same_numbers(dask_client, data, files):
    settings = FitSettings(k=3, covariance_type="EVV", init=_start(data, "EVV"), tol=0, max_iter=5)
    kept = _fit(dask_client, files["npy"], settings, persist=True)
    read = _fit(dask_client, files["npy"], settings, persist=False)
    assert read.log_likelihood == kept.log_likelihood
    np.testing.assert_array_equal(read.params.covariances, kept.params.covariances)


def test_one_worker_gives_exactly_the_numbers_of_two(dask_client, data, files, monkeypatch):
    from emstudio.distributed import engine
    from emstudio.distributed.cluster import open_client

    # 15 blocks: the first level of the tree runs on the cluster, the rest on the client
    monkeypatch.setattr(engine, "GATHER_AT_MOST", 4)
    settings = FitSettings(k=3, covariance_type="full", init=_start(data, "full"), tol=0, max_iter=6)
    two = _fit(dask_client, files["npy"], settings, block_rows=400)
    with open_client(workers=1) as client:
        one = _fit(client, files["npy"], settings, block_rows=400)
    assert one.log_likelihood == two.log_likelihood
    np.testing.assert_array_equal(one.params.means, two.params.means)
    np.testing.assert_array_equal(one.params.covariances, two.params.covariances)


def test_a_csv_with_other_columns_is_one_error_naming_it(dask_client, files, tmp_path):
    import shutil

    for i in range(2):
        shutil.copy(files["csv"].replace("*", str(i)), tmp_path / f"part{i}.csv")
    (tmp_path / "part2.csv").write_text("a,b,d\n1,2,3\n4,5,6\n")
    settings = FitSettings(k=2)
    with pytest.raises(DataError, match=r"part2\.csv has the columns a, b, d but part0\.csv has a, b, c"):
        _fit(dask_client, str(tmp_path / "part*.csv"), settings)


def test_a_pattern_that_matches_nothing_is_one_error(tmp_path):
    with pytest.raises(DataError, match="no file matches"):
        find_blocks(str(tmp_path / "*.csv"))


class _FakeClient:
    """Only what ClusterEngine asks before reading anything: the workers' memory limits."""

    def __init__(self, limits):
        self.limits = limits

    def scheduler_info(self):
        return {"workers": {f"w{i}": {"memory_limit": limit} for i, limit in enumerate(self.limits)}}


@pytest.mark.parametrize("limits, kept", [([10 ** 9, 10 ** 9], True), ([100_000, 100_000], False), ([0, 10], True)])
def test_blocks_are_kept_when_twice_their_size_fits_in_half_the_workers_memory(files, limits, kept):
    # x.npy: 6000 x 3 float64 = 144,000 bytes; 0 is a worker without a limit
    engine = ClusterEngine.__new__(ClusterEngine)
    engine.client = _FakeClient(limits)
    assert engine._fits_in_memory(find_blocks(files["npy"])) is kept


def test_an_interrupted_pass_is_given_up_and_the_engine_goes_on(dask_client, data, files):
    """The window's Stop: a pass whose engine's interrupt() says so raises PassInterrupted (its tasks
    cancelled); the next pass of the same engine still gives the in-memory numbers."""
    from emstudio.core.engine import MixtureEngine
    from emstudio.distributed.engine import PassInterrupted

    params = initial_params(data, 3, "full", "kmeans", np.random.default_rng(0))
    with ClusterEngine(dask_client, find_blocks(files["npy"], block_rows=2000), "full") as engine:
        engine.interrupt = lambda: True
        with pytest.raises(PassInterrupted):
            engine.run_pass(params)
        engine.interrupt = lambda: False
        got = engine.run_pass(params)
    with MixtureEngine(data, "full") as memory:
        want = memory.run_pass(params)
    assert got.log_likelihood == pytest.approx(want.log_likelihood, rel=RTOL)
