"""Time of one EM iteration for each of mclust's 14 covariance models, beside scikit-learn's four.

    .venv/bin/python benchmarks/bench_models.py            # n = 1e5, d = 5, K = 4
    .venv/bin/python benchmarks/bench_models.py --quick    # n = 2e4

Every model runs plain EM (no acceleration, tol 0) for a fixed number of iterations from the same
start on the same data; the table prints ms per iteration (the fused pass plus the model's
M-step), the M-step's share, and for the four models scikit-learn has (VVV full, EEE tied, VVI
diag, VII spherical) scikit-learn's ms per iteration on the same data and start. The iterative
M-steps (VEI, VEE, EVE, VVE, VEV: Celeux & Govaert 1995, Browne & McNicholas 2014) cost more per
iteration than the closed forms. Prints the BLAS kernel and thread count (threadpoolctl).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def make_data(n: int, d: int, k: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(k, d))
    labels = rng.integers(k, size=n)
    X = np.empty((n, d))
    for j in range(k):
        rows = labels == j
        a = rng.normal(size=(d, d)) * rng.uniform(0.3, 1.2)
        X[rows] = centres[j] + rng.normal(size=(rows.sum(), d)) @ a
    return X


SKLEARN_NAMES = {"full": "full", "tied": "tied", "diag": "diag", "spherical": "spherical"}


def time_emstudio(X, start, covariance_type: str, iters: int) -> tuple[float, float]:
    """(ms per iteration, ms per M-step) of plain EM from ``start``."""
    from emstudio.core import mstep
    from emstudio.core.em import FitSettings, fit_mixture
    from emstudio.core.init import params_for_type

    init = params_for_type(start, covariance_type)
    spent = [0.0]
    original = mstep.m_step

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t0

    settings = FitSettings(k=start.n_components, covariance_type=covariance_type, init=init, max_iter=iters,
                           tol=0.0, accelerate="none")
    import emstudio.core.iterations as loops  # where plain EM's loop calls the M-step

    loops.m_step = timed
    try:
        fit_mixture(X, settings)  # warm-up: imports, engine buffers
        spent[0] = 0.0
        t0 = time.perf_counter()
        result = fit_mixture(X, settings)
        elapsed = time.perf_counter() - t0
    finally:
        loops.m_step = original
    return elapsed / result.n_iter * 1e3, spent[0] / result.n_iter * 1e3


def time_sklearn(X, start, covariance_type: str, iters: int) -> float:
    import warnings

    from sklearn.mixture import GaussianMixture

    from emstudio.core.init import params_for_type

    init = params_for_type(start, covariance_type)
    precisions = np.linalg.inv(init.full_covariances())
    if covariance_type == "tied":
        precisions = precisions[0]
    elif covariance_type == "diag":
        precisions = np.diagonal(precisions, axis1=1, axis2=2)
    elif covariance_type == "spherical":
        precisions = np.diagonal(precisions, axis1=1, axis2=2).mean(axis=1)
    model = GaussianMixture(start.n_components, covariance_type=covariance_type, max_iter=iters, tol=0.0,
                            reg_covar=1e-6, weights_init=init.weights, means_init=init.means,
                            precisions_init=precisions)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)  # warm-up
        t0 = time.perf_counter()
        model.fit(X)
        elapsed = time.perf_counter() - t0
    return elapsed / model.n_iter_ * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 2e4 instead of 1e5")
    parser.add_argument("--iters", type=int, default=20, help="EM iterations timed per model (default 20)")
    args = parser.parse_args()
    from threadpoolctl import threadpool_info

    from emstudio.core.em import FitSettings, fit_mixture
    from emstudio.core.models import ALIASES, DESCRIPTIONS, MCLUST_MODELS

    n, d, k = (20_000 if args.quick else 100_000), 5, 4
    for info in threadpool_info():
        print(f"BLAS: {info.get('internal_api')} {info.get('architecture')} threads={info.get('num_threads')}")
    X = make_data(n, d, k)
    start = fit_mixture(X, FitSettings(k=k, init="kmeans", max_iter=2, tol=0.0, accelerate="none")).params
    names = {v: key for key, v in ALIASES.items()}
    print(f"\n## One EM iteration per covariance model (n = {n:,}, d = {d}, K = {k}, {args.iters} iterations, "
          "plain EM from the same start)\n")
    print("| model | what it is | emstudio ms/iter | of which M-step ms | scikit-learn ms/iter | ratio |")
    print("|---|---|---|---|---|---|")
    for model in MCLUST_MODELS:
        internal = names.get(model, model)
        ours, m_part = time_emstudio(X, start, internal, args.iters)
        if internal in SKLEARN_NAMES:
            theirs = time_sklearn(X, start, internal, args.iters)
            tail = f"{theirs:.1f} | {ours / theirs:.3f}"
        else:
            tail = "– | –"
        label = f"{model} ({internal})" if internal != model else model
        print(f"| {label} | {DESCRIPTIONS[model]} | {ours:.1f} | {m_part:.2f} | {tail} |", flush=True)


if __name__ == "__main__":
    main()
