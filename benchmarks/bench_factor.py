"""Factor analysis and mixtures of factor analysers: time per EM iteration beside scikit-learn.

    .venv/bin/python benchmarks/bench_factor.py            # n = 1e5, d = 10, 25, 50, q = 1, 3, 5
    .venv/bin/python benchmarks/bench_factor.py --quick    # n = 2e4, d = 10, 25

For factor analysis (K = 1) one EM iteration needs only the data's moments (O(d³) after one pass
for the scatter matrix), so the table shows the one-off moment pass, ms per iteration, the
iterations EM took to converge (tol 1e-8 per sample) and its whole fit time, beside scikit-learn's
`FactorAnalysis` (SVD-based, tol 1e-8) fit time and its log-likelihood (the two should agree). For
the mixture (K = 3, Ψ shared) ms per iteration (a full pass over the data each time). Prints the
BLAS kernel and thread count (threadpoolctl).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def make_data(n, d, q, k=1, seed=0):
    rng = np.random.default_rng(seed)
    parts = []
    for j in range(k):
        loadings = rng.normal(size=(d, q))
        rows = n // k
        parts.append(rng.normal(size=(rows, q)) @ loadings.T + rng.normal(size=(rows, d)) * rng.uniform(0.3, 1.0, d)
                     + j * 4.0)
    return np.vstack(parts)


def main() -> None:
    from threadpoolctl import threadpool_info
    from sklearn.decomposition import FactorAnalysis

    from emstudio.core.factor import FactorData, FactorSettings, fit_factor, iterate_factor_em, start_params

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 20000 if args.quick else 100000
    dims = (10, 25) if args.quick else (10, 25, 50)
    for info in threadpool_info():
        print(f"BLAS: {info.get('internal_api')} {info.get('architecture')} threads={info.get('num_threads')}")
    print(f"factor analysis, n = {n}")
    print(f"{'d':>4} {'q':>3} {'moments ms':>11} {'ms/iter':>9} {'iters':>7} {'fit s':>8} "
          f"{'sklearn s':>10} {'log L (ours - sklearn)':>24}")
    for d in dims:
        for q in (1, 3, 5):
            X = make_data(n, d, q)
            t = time.perf_counter()
            data = FactorData(X)
            moments = time.perf_counter() - t
            start = start_params(X, 1, q, "pca", np.random.default_rng(0))
            t = time.perf_counter()
            steps = list(iterate_factor_em(data, start, max_iter=50, tol=0))
            per_iter = (time.perf_counter() - t) / 50
            t = time.perf_counter()
            fit = fit_factor(X, FactorSettings(k=1, n_factors=q, tol=1e-8, max_iter=100000))
            ours = time.perf_counter() - t
            t = time.perf_counter()
            reference = FactorAnalysis(n_components=q, tol=1e-8, max_iter=10000).fit(X)
            theirs = time.perf_counter() - t
            gap = fit.log_likelihood - reference.score(X) * n
            print(f"{d:>4} {q:>3} {moments * 1e3:>11.1f} {per_iter * 1e3:>9.3f} {fit.n_iter:>7} {ours:>8.2f} "
                  f"{theirs:>10.2f} {gap:>24.4g}")
            del steps
    print(f"\nmixture of 3 factor analysers (Ψ shared), n = {n}: ms per EM iteration (a pass over the data)")
    print(f"{'d':>4} {'q':>3} {'ms/iter':>9}")
    for d in dims:
        for q in (1, 3, 5):
            X = make_data(n, d, q, k=3)
            start = start_params(X, 3, q, "random", np.random.default_rng(0))
            data = FactorData(X)
            t = time.perf_counter()
            list(iterate_factor_em(data, start, max_iter=5, tol=0))
            print(f"{d:>4} {q:>3} {(time.perf_counter() - t) / 5 * 1e3:>9.1f}")


if __name__ == "__main__":
    main()
