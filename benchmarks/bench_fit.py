"""EM speed and memory beside scikit-learn: same data, same start, same number of iterations.

    .venv/bin/python benchmarks/bench_fit.py            # the whole table (a few minutes)
    .venv/bin/python benchmarks/bench_fit.py --quick    # n = 1e4 and 1e5 only

Every measurement runs in a fresh subprocess so that peak memory (ru_maxrss) belongs to that work
alone. Prints, per case, milliseconds per iteration for emstudio and scikit-learn, their ratio,
and each one's peak memory against the budget 2·n·d·8 + 3·n·K·8 bytes + 150 MB (README, "Memory"); then a check of how
many Python threads × BLAS threads help; then whole processes: `emstudio fit` against a script
doing the same with scikit-learn. scikit-learn is a test dependency only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def make_data(n: int, d: int, k: int, seed: int = 0):
    """n × d float64 samples from k well-spread Gaussian clusters (deterministic)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(k, d))
    labels = rng.integers(k, size=n)
    X = centres[labels]
    X += rng.normal(size=(n, d))
    return X


def make_start(X, k: int, covariance_type: str = "full"):
    """The common start: our K-means start on a 20,000-row subsample (cheap, deterministic)."""
    import numpy as np

    from emstudio.core import initial_params

    return initial_params(X[:20000], k, covariance_type, "kmeans", np.random.default_rng(0))


def memory_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process in MB. Unlike ru_maxrss, VmHWM starts afresh at
    exec, so it is not inflated by the parent that launched the worker."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1e3
    raise RuntimeError(f"{field} not in /proc/self/status")


def worker(impl: str, n: int, d: int, k: int, iters: int, threads: int, blas: int) -> dict:
    """Time ``iters`` EM iterations of ``impl`` in this process; report ms/iteration and memory."""
    baseline = memory_mb("VmRSS")
    import numpy as np
    from threadpoolctl import threadpool_info

    X = make_data(n, d, k)
    start = make_start(X, k)
    if impl == "emstudio":
        from emstudio.core import FitSettings, fit_mixture

        settings = FitSettings(k=k, init=start, max_iter=iters, tol=0.0)
        options = {"n_threads": threads, "blas_threads": blas}
        fit_mixture(X[:5000], FitSettings(k=k, init=start, max_iter=2, tol=0.0), engine_options=options)
        began = time.perf_counter()
        result = fit_mixture(X, settings, engine_options=options)
        elapsed = time.perf_counter() - began
        log_l = result.log_likelihood
    else:
        import warnings

        from sklearn.mixture import GaussianMixture

        model = GaussianMixture(k, weights_init=start.weights, means_init=start.means,
                                precisions_init=np.linalg.inv(start.covariances), max_iter=iters, tol=0.0)
        began = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X)
        elapsed = time.perf_counter() - began
        log_l = float(model.score(X) * n)
    peak = memory_mb("VmHWM")
    blas_info = [(i.get("internal_api"), i.get("architecture"), i.get("num_threads")) for i in threadpool_info()
                 if i.get("user_api") == "blas"]
    return {"ms_per_iter": elapsed / iters * 1e3, "peak_mb": peak, "baseline_mb": baseline,
            "log_likelihood": log_l, "blas": blas_info}


def run_worker(*args) -> dict:
    cmd = [PYTHON, __file__, "--worker", *map(str, args)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"worker {args} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def iterations_for(n: int, d: int, k: int) -> int:
    work = n * k * (d * d + d)
    return max(3, min(30, int(3e9 // work)))


def table(sizes, include_sklearn=True) -> None:
    print("\n## Time per EM iteration, full covariance, float64, same start and iterations\n")
    print("| n | d | K | iters | emstudio ms/iter | scikit-learn ms/iter | ratio | emstudio peak MB | "
          "sklearn peak MB | budget MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        for d in (2, 10):
            for k in (5, 20):
                iters = iterations_for(n, d, k)
                ours = run_worker("emstudio", n, d, k, iters, 0, 1)
                budget = (2 * n * d * 8 + 3 * n * k * 8) / 1e6 + 150
                if include_sklearn:
                    theirs = run_worker("sklearn", n, d, k, iters, 0, 0)
                    agree = abs(ours["log_likelihood"] - theirs["log_likelihood"]) <= 1e-6 * abs(theirs["log_likelihood"])
                    ratio = ours["ms_per_iter"] / theirs["ms_per_iter"]
                    print(f"| {n:.0e} | {d} | {k} | {iters} | {ours['ms_per_iter']:.1f} | {theirs['ms_per_iter']:.1f} | "
                          f"{ratio:.3f}{'' if agree else ' (log L differs!)'} | {ours['peak_mb']:.0f} | "
                          f"{theirs['peak_mb']:.0f} | {budget:.0f} |", flush=True)
                else:
                    print(f"| {n:.0e} | {d} | {k} | {iters} | {ours['ms_per_iter']:.1f} | - | - | "
                          f"{ours['peak_mb']:.0f} | - | {budget:.0f} |", flush=True)


def thread_check(sizes) -> None:
    print("\n## Python threads × BLAS threads (emstudio, ms per iteration)\n")
    configs = [(1, 1), (2, 1), (1, 2), (2, 2)]
    print("| n | d | K | " + " | ".join(f"{t} py × {b} BLAS" for t, b in configs) + " |")
    print("|---|---|---|" + "---|" * len(configs))
    for n in sizes:
        for d, k in ((2, 5), (10, 20)):
            iters = iterations_for(n, d, k)
            cells = [run_worker("emstudio", n, d, k, iters, t, b)["ms_per_iter"] for t, b in configs]
            print(f"| {n:.0e} | {d} | {k} | " + " | ".join(f"{c:.1f}" for c in cells) + " |", flush=True)


SKLEARN_SCRIPT = """
import json, sys, warnings
import numpy as np
from sklearn.mixture import GaussianMixture
X = np.load(sys.argv[1])
start = json.load(open(sys.argv[2]))
model = GaussianMixture(len(start["weights"]), weights_init=start["weights"], means_init=start["means"],
                        precisions_init=np.linalg.inv(start["covariances"]), max_iter=30, tol=0.0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    model.fit(X)
print(model.score(X) * X.shape[0])
"""


def whole_process() -> None:
    import numpy as np

    print("\n## Whole process: 5e5 × 2 .npy, K = 5, 30 iterations from a given start\n")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp, "data.npy")
        start_file = Path(tmp, "start.json")
        X = make_data(500_000, 2, 5)
        np.save(data, X)
        start = make_start(X, 5)
        start_file.write_text(json.dumps({"weights": start.weights.tolist(), "means": start.means.tolist(),
                                          "covariances": start.covariances.tolist()}))
        script = Path(tmp, "sk.py")
        script.write_text(SKLEARN_SCRIPT)
        emstudio = [str(Path(PYTHON).parent / "emstudio"), "fit", str(data), "--k", "5", "--init",
                    str(start_file), "--max-iter", "30", "--tol", "0", "--out", str(Path(tmp, "r.json")), "-q"]
        sklearn = [PYTHON, str(script), str(data), str(start_file)]
        times = {}
        for name, cmd in (("emstudio fit", emstudio), ("scikit-learn script", sklearn)):
            best = float("inf")
            for _ in range(3):
                began = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True)
                best = min(best, time.perf_counter() - began)
            times[name] = best
        ours = json.loads(Path(tmp, "r.json").read_text())["log_likelihood"]
        print("| process | seconds (best of 3) |")
        print("|---|---|")
        for name, seconds in times.items():
            print(f"| {name} | {seconds:.2f} |")
        print(f"\nratio: {times['emstudio fit'] / times['scikit-learn script']:.3f} (log L {ours:.6f})")


def floor() -> None:
    """The machine's floor for one pass at 1e6 × 2, K = 5: read X once, 5e6 exponentials, r once."""
    import numpy as np

    X = np.random.default_rng(0).normal(size=(2, 1_000_000))
    e = np.random.default_rng(1).uniform(-20, 0, size=(5, 1_000_000))
    out = np.empty_like(e)

    def best(f, repeat=20):
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            f()
            times.append(time.perf_counter() - began)
        return min(times) * 1e3

    read = best(lambda: X.sum())
    exps = best(lambda: np.exp(e, out=out))
    write = best(lambda: np.multiply(out, 1.0, out=out))
    print("\n## The floor at 1e6 × 2, K = 5 (one core, numpy)\n")
    print(f"read X once {read:.1f} ms; 5e6 exponentials {exps:.1f} ms; write+read n×K once {write:.1f} ms; "
          f"sum {read + exps + write:.1f} ms (two cores would halve the exponentials)")


def header() -> None:
    import numpy
    from threadpoolctl import threadpool_info

    print("# bench_fit")
    print(f"python {platform.python_version()}, numpy {numpy.__version__}, {os.cpu_count()} cores, "
          f"{platform.processor() or platform.machine()}")
    try:
        import sklearn

        print(f"scikit-learn {sklearn.__version__}")
    except ImportError:
        print("scikit-learn not installed: emstudio figures only")
    for info in threadpool_info():
        print(f"BLAS: {info.get('internal_api')} {info.get('version')} kernel {info.get('architecture')} "
              f"threads {info.get('num_threads')} ({info.get('filepath')})")
    print("OPENBLAS_CORETYPE=" + os.environ.get("OPENBLAS_CORETYPE", "(unset)") +
          " OPENBLAS_L2_SIZE=" + os.environ.get("OPENBLAS_L2_SIZE", "(unset)"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 1e4 and 1e5 only")
    parser.add_argument("--worker", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        impl, *numbers = args.worker
        print(json.dumps(worker(impl, *map(int, numbers))))
        return
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    header()
    try:
        import sklearn  # noqa: F401
        have_sklearn = True
    except ImportError:
        have_sklearn = False
    floor()
    table(sizes, include_sklearn=have_sklearn)
    thread_check(sizes)
    if have_sklearn:
        whole_process()


if __name__ == "__main__":
    main()
