"""EM passes on a local Dask cluster beside the in-memory engine, and the scheduler's cost per pass.

    .venv/bin/python benchmarks/bench_dask.py                 # n = 1e6 and 1e7; d = 2 and 10; K = 5
    .venv/bin/python benchmarks/bench_dask.py --quick         # n = 1e6 only
    nice .venv/bin/python benchmarks/bench_dask.py --sizes 1e6,1e7,1e8 --repeats 2  # 1e8 x 10 is 8 GB on disk
    .venv/bin/python benchmarks/bench_dask.py --workers 4
    .venv/bin/python benchmarks/bench_dask.py --beyond-memory  # 1e7 x 2 on workers given 256 MiB each

Needs the `cluster` extra (pip install 'emstudio[cluster]'). For each (n, d) the data is written to
a temporary .npy (in --folder, default the system's temporary folder; written in pieces of 1e7
rows, so 1e8 rows never need more than the file's size in memory), read by the cluster in equal
blocks (at most 64 MiB, at least 2 per worker, as `emstudio fit --engine dask` cuts them) and kept
in the workers' memory when twice their size fits in half of it (else read from the .npy every
pass, as `--persist auto` decides: 1e8 x 10 on a 23 GB machine); one pass (the E-step's
sums: what an EM iteration costs besides its K-sized M-step) under the same full-covariance θ is
timed on the cluster (W worker processes of one thread) and on the in-memory engine (W threads),
and printed as rows per second per core: the reference is the in-memory engine's figure. The last
table is the fixed cost of a pass (θ's plan sent with one task per block, the fixed-tree sum)
measured on 1,000 rows, so it is the scheduler's share of every iteration. Figures vary with the
machine and its load; they are for comparing, not promises.

--beyond-memory fits 1e7 × 2 (160 MB; K = 5, 10 plain EM iterations) on workers whose memory limit
(256 MiB each) cannot hold it twice over: the blocks are read from the .npy for every pass, and
the fit runs to its end with the same log L as with the blocks kept in memory (on a cluster with
more memory).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np


def make_data(n: int, d: int, k: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(k, d))
    X = rng.normal(size=(n, d))
    X += centres[rng.integers(k, size=n)]
    return X


PIECE_ROWS = 10 ** 7


def write_data(path: str, n: int, d: int, k: int, seed: int = 0) -> np.ndarray:
    """make_data's kind of rows written to the .npy ``path`` piece by piece; returns it memory-mapped."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(k, d))
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, d))
    for a in range(0, n, PIECE_ROWS):
        m = min(PIECE_ROWS, n - a)
        piece = rng.normal(size=(m, d))
        piece += centres[rng.integers(k, size=m)]
        X[a:a + m] = piece
    X.flush()
    del X
    return np.load(path, mmap_mode="r")


def start_for(X: np.ndarray, k: int):
    from emstudio.core.init import initial_params

    return initial_params(np.asarray(X[:20000]), k, "full", "kmeans", np.random.default_rng(0), 1e-6)


def median_seconds(run, repeats: int) -> float:
    run()  # warm-up: buffers, the workers' imports
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 1e6 only")
    parser.add_argument("--sizes", default=None, help="rows, comma-separated (default 1e6,1e7)")
    parser.add_argument("--dims", default="2,10", help="columns, comma-separated (default 2,10)")
    parser.add_argument("--folder", default=None, help="where the temporary .npy files go (they are deleted)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--beyond-memory", action="store_true", help="1e7 x 2 on workers of 256 MiB")
    args = parser.parse_args()
    if args.beyond_memory:
        beyond_memory(args)
        return
    from emstudio.core.engine import MixtureEngine
    from emstudio.distributed.cluster import open_client
    from emstudio.distributed.engine import ClusterEngine
    from emstudio.distributed.sources import find_blocks

    sizes = [10 ** 6] if args.quick else [10 ** 6, 10 ** 7]
    if args.sizes:
        sizes = [int(float(size)) for size in args.sizes.split(",")]
    dims = [int(d) for d in args.dims.split(",")]
    w = args.workers
    print(f"one pass, K = {args.k}, full covariances; {w} worker processes (Dask) vs {w} threads (in memory); "
          f"{os.cpu_count()} cores here")
    print(f"{'n':>10} {'d':>3} {'blocks':>6} {'blocks are':>10} {'in memory ms':>13} {'Dask ms':>9} "
          f"{'in memory rows/s/core':>22} {'Dask rows/s/core':>17} {'Dask/memory':>12}", flush=True)
    with open_client(workers=w) as client, tempfile.TemporaryDirectory(dir=args.folder) as folder:
        for n in sizes:
            for d in dims:
                path = os.path.join(folder, f"x{n}_{d}.npy")
                X = write_data(path, n, d, args.k)
                start = start_for(X, args.k)
                with MixtureEngine(X, "full", n_threads=w) as engine, engine.blas_held():
                    memory = median_seconds(lambda: engine.run_pass(start), args.repeats)
                del X, engine
                with ClusterEngine(client, find_blocks(path, min_blocks=2 * w), "full") as engine:
                    dask = median_seconds(lambda: engine.run_pass(start), args.repeats)
                    blocks = engine.n_blocks
                    kept = "kept" if engine.persisted else "read"
                os.remove(path)
                print(f"{n:>10.0e} {d:>3} {blocks:>6} {kept:>10} {1e3 * memory:>13.1f} {1e3 * dask:>9.1f} "
                      f"{n / memory / w:>22.3g} {n / dask / w:>17.3g} {memory / dask:>12.2f}", flush=True)
        print("\nthe scheduler's cost per pass (1,000 rows, so nearly all of it is overhead)")
        print(f"{'blocks':>6} {'ms per pass':>12}")
        small = make_data(1000, 2, args.k)
        path = os.path.join(folder, "small.npy")
        np.save(path, small)
        start = start_for(small, args.k)
        for blocks in (1, 8, 64):
            with ClusterEngine(client, find_blocks(path, block_rows=-(-1000 // blocks)), "full") as engine:
                print(f"{engine.n_blocks:>6} {1e3 * median_seconds(lambda: engine.run_pass(start), 20):>12.1f}")


def beyond_memory(args) -> None:
    from emstudio.core.em import FitSettings
    from emstudio.distributed.cluster import open_client
    from emstudio.distributed.engine import ClusterEngine
    from emstudio.distributed.fit import fit_on_cluster
    from emstudio.distributed.sources import find_blocks

    n, d, w = 10 ** 7, 2, args.workers
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "x.npy")
        X = make_data(n, d, args.k)
        settings = FitSettings(k=args.k, init=start_for(X, args.k), tol=0, max_iter=10)
        np.save(path, X)
        del X
        results = {}
        for limit in ("256MiB", None):
            with open_client(workers=w, memory_limit=limit) as client:
                # blocks of 8 MiB: a worker holds a few at a time while it reads and reduces them
                with ClusterEngine(client, find_blocks(path, block_rows=500_000), "full") as engine:
                    t0 = time.perf_counter()
                    result = fit_on_cluster(engine, settings)
                    seconds = time.perf_counter() - t0
                    where = "kept in memory" if engine.persisted else "read every pass"
                    results[limit] = result.log_likelihood
                    print(f"workers' memory {limit or 'unlimited':>9}: {n:.0e} x {d} {where}, {engine.n_blocks} blocks, "
                          f"{result.n_iter} iterations in {seconds:.1f} s ({1e3 * engine.pass_seconds / engine.passes:.0f} "
                          f"ms per pass), log L {result.log_likelihood:.10g}")
        same = results["256MiB"] == results[None]
        print(f"same log L both ways: {same}")


if __name__ == "__main__":
    main()
