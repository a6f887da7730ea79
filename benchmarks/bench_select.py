"""Model selection wall time: 1e4 × 2, K 1–8 × four covariance types, 10 restarts per cell.

    .venv/bin/python benchmarks/bench_select.py

Prints the wall time with one process and with every core, and checks both choose the same model
with the same numbers (each cell's seed depends only on the seed, the type and K).
"""

from __future__ import annotations

import os
import time

import numpy as np
from threadpoolctl import threadpool_info

from emstudio.core import FitSettings
from emstudio.core.selection import select_models


def main() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=5, size=(4, 2))
    X = centres[rng.integers(4, size=10_000)] + rng.normal(size=(10_000, 2))
    blas = [(i.get("internal_api"), i.get("architecture"), i.get("num_threads")) for i in threadpool_info()]
    print(f"bench_select: n = 10,000, d = 2, K 1-8 x 4 covariance types, 10 restarts; {os.cpu_count()} cores; BLAS {blas}")
    settings = FitSettings(restarts=10, seed=0)
    results = {}
    for jobs in sorted({1, os.cpu_count() or 1}):
        began = time.perf_counter()
        selection = select_models(X, range(1, 9), ["full", "tied", "diag", "spherical"], settings, jobs=jobs)
        seconds = time.perf_counter() - began
        results[jobs] = selection
        print(f"{jobs} process{'es' if jobs > 1 else ''}: {seconds:.1f} s; chosen {selection.best.covariance_type}, "
              f"K={selection.best.k}, BIC {selection.best.criterion('bic'):.3f}")
    first, *others = results.values()
    same = all([c.result.log_likelihood for c in first.cells] == [c.result.log_likelihood for c in o.cells]
               for o in others)
    print("same numbers on every process count:", same)


if __name__ == "__main__":
    main()
