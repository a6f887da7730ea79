"""Model selection against R's mclust: whole processes, the same grid, the same data.

    .venv/bin/python benchmarks/bench_select.py              # 272 x 2, 20,000 x 3 and 2,000 x 10, 3 runs each
    .venv/bin/python benchmarks/bench_select.py --repeat 5 --sizes faithful
    .venv/bin/python benchmarks/bench_select.py --before     # also emstudio as it ran before issue 17
    .venv/bin/python benchmarks/bench_select.py --processes  # the old check: 1 process vs every core

The grid is K = 1..9 x four covariance models (full, tied, diag, spherical = mclust's VVV, EEE, VVI,
VII). Timed, as a new user would run them, each as a whole process (start-up, reading the file, the
grid, writing the answer): `emstudio select` at its defaults and `Rscript -e 'Mclust(X, G = 1:9,
modelNames = ...)'` (Debian's r-base-core and r-cran-mclust; the table says when they are missing),
run in turn ``--repeat`` times (so a busy machine slows both alike); the median wall time of each
is printed, and the ratio of the medians. ``--before`` adds `emstudio select` as it ran before
acceleration (plain EM, the change rule at 1e-6, five starts each run to the end, no warm start).

Then, for every cell, whether emstudio's BIC (at its defaults) is equal to or better than mclust's
(mclust's BIC is 2 log L − p ln n, higher is better; emstudio writes −2 log L + p ln n): the log L
of both and the difference. 272 x 2 is R's ``faithful`` when R is here (else an Old Faithful-type
sample made here); 20,000 x 3 is four Gaussians with random, well-conditioned covariances.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EMSTUDIO = [sys.executable, "-m", "emstudio"]
MODELS = {"full": "VVV", "tied": "EEE", "diag": "VVI", "spherical": "VII"}
KS = "1-9"

R_SCRIPT = r"""
suppressMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- as.matrix(read.csv(args[1]))
fit <- Mclust(X, G = 1:9, modelNames = c("VVV", "EEE", "VVI", "VII"), verbose = FALSE)
write.csv(as.data.frame(unclass(fit$BIC)[, , drop = FALSE]), args[2])
"""


def have_mclust() -> bool:
    if shutil.which("Rscript") is None:
        return False
    return subprocess.run(["Rscript", "-e", "suppressMessages(library(mclust))"], capture_output=True).returncode == 0


def faithful(folder: Path, with_r: bool) -> Path:
    path = folder / "faithful.csv"
    if with_r:
        subprocess.run(["Rscript", "-e", f"write.csv(faithful, '{path}', row.names = FALSE)"], check=True)
        return path
    rng = np.random.default_rng(1)
    n = 272
    short = rng.random(n) < 0.36
    eruptions = np.where(short, rng.normal(2.04, 0.27, n), rng.normal(4.29, 0.41, n))
    waiting = np.where(short, 54.5 + 1.6 * (eruptions - 2.04) + rng.normal(0, 5.8, n),
                       80.0 + 2.3 * (eruptions - 4.29) + rng.normal(0, 5.9, n))
    rows = np.c_[np.round(eruptions, 3), np.round(waiting)]
    np.savetxt(path, rows, delimiter=",", header="eruptions,waiting", comments="", fmt=["%.3f", "%d"])
    return path


def gaussians(folder: Path, n: int, d: int, k: int, seed: int, name: str) -> Path:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(k, d))
    labels = rng.integers(k, size=n)
    # Random orientations, axis lengths 0.5-1.5: well-conditioned covariances. (A near-singular
    # component makes every pass take the engine's slower whitened route, see core/engine.py.)
    rotations = np.linalg.qr(rng.normal(size=(k, d, d)))[0]
    shapes = rotations * rng.uniform(0.5, 1.5, size=(k, 1, d))
    X = centres[labels] + np.einsum("nij,nj->ni", shapes[labels], rng.normal(size=(n, d)))
    path = folder / name
    header = ",".join(f"x{j}" for j in range(d))
    np.savetxt(path, X, delimiter=",", header=header, comments="", fmt="%.6f")
    return path


def wall_time(command: list[str]) -> float:
    env, folder = None, ROOT
    if command and command[0].startswith("PYTHONPATH="):  # another checkout's emstudio (--compare-with)
        folder = command[0].partition("=")[2]
        env = dict(os.environ, PYTHONPATH=folder, PYTHONDONTWRITEBYTECODE="1")  # leave that checkout as it is
        command = command[1:]
    began = time.perf_counter()
    # Run in the checkout whose emstudio is meant: `python -m` puts the working folder first on
    # sys.path, before PYTHONPATH (run from ROOT, --compare-with timed this checkout twice).
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=folder, env=env)
    return time.perf_counter() - began


def timed_in_turn(commands: list[list[str]], repeat: int) -> list[float]:
    """The median wall time of each command, the commands run in turn ``repeat`` times."""
    times = [[] for _ in commands]
    for _ in range(repeat):
        for command, kept in zip(commands, times):
            kept.append(wall_time(command))
    return [float(np.median(kept)) for kept in times]


def blas_line() -> str:
    """The BLAS this Python's numpy uses: library, version, kernel and threads (threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS: threadpoolctl not installed"
    parts = [f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')} kernel, "
             f"{i.get('num_threads')} threads)" for i in threadpool_info() if i.get("user_api") == "blas"]
    return "BLAS: " + ("; ".join(parts) or "none found")


def mclust_cells(path: Path) -> dict:
    """{(type, K): mclust's BIC or None} from its BIC table (rows K, columns models)."""
    cells = {}
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    names = {v: k for k, v in MODELS.items()}
    for row in rows[1:]:
        k = int(row[0])
        for column, text in zip(rows[0][1:], row[1:]):
            cells[(names[column], k)] = None if text in ("NA", "") else float(text)
    return cells


def n_parameters(covariance_type: str, k: int, d: int) -> int:
    covariance = {"full": k * d * (d + 1) // 2, "tied": d * (d + 1) // 2, "diag": k * d, "spherical": k}
    return covariance[covariance_type] + k * d + k - 1


def bench(name: str, data: Path, folder: Path, repeat: int, with_r: bool, before: bool) -> None:
    n, d = np.loadtxt(data, delimiter=",", skiprows=1, ndmin=2).shape
    out = folder / f"{data.stem}.selection.json"
    grid = ["select", str(data), "--k", KS, "--covariance", ",".join(MODELS), "-q"]
    commands = [EMSTUDIO + grid + ["--out", str(out)] + EXTRA]
    if before:
        commands.append(EMSTUDIO + grid + ["--accelerate", "none", "--tol", "1e-6", "--short-iter", "0",
                                           "--no-warm-start"])
    if COMPARE:
        commands.append([f"PYTHONPATH={COMPARE[0]}"] + EMSTUDIO + grid)
    script = folder / "mclust.R"
    script.write_text(R_SCRIPT)
    bic_file = folder / f"{data.stem}.mclust.csv"
    if with_r:
        commands.append(["Rscript", str(script), str(data), str(bic_file)])
    times = timed_in_turn(commands, repeat)
    ours = times[0]
    selection = json.loads(out.read_text())
    others = times[1:1 + before + bool(COMPARE)]
    line = f"| {name} ({n:,} x {d}) | {ours:.2f} s |" + "".join(f" {t:.2f} s |" for t in others)
    if not with_r:
        print(line + " (Rscript with mclust not found: apt-get install r-base-core r-cran-mclust) |")
        return
    theirs = times[-1]
    mclust = mclust_cells(bic_file)
    worse = []
    rows = []
    for model in selection["models"]:
        key = (model["covariance_type"], model["k"])
        p = n_parameters(key[0], key[1], d)
        mine = None if model.get("bic") is None or model["degenerate"] else -model["bic"]
        ref = mclust.get(key)
        ll_mine = None if mine is None else (mine + p * np.log(n)) / 2
        ll_ref = None if ref is None else (ref + p * np.log(n)) / 2
        if ref is None:
            verdict = "mclust: none"
        elif mine is None:
            verdict = "emstudio: collapsed"
            worse.append(key)
        else:
            diff = mine - ref
            verdict = f"{diff:+.3f}"
            if diff < -1e-6 * abs(ref):  # equal (to 1e-6 relative) or better
                worse.append(key)
        rows.append((key, ll_mine, ll_ref, verdict))
    print(line + f" {theirs:.2f} s | {ours / theirs:.2f} | {len(rows) - len(worse)}/{len(rows)} |")
    detail = folder / f"{data.stem}.cells.txt"
    with open(detail, "w") as handle:
        handle.write("model   K   log L emstudio   log L mclust   BIC gain of emstudio (+ = better)\n")
        for (t, k), a, b, verdict in rows:
            text_a = "-" if a is None else f"{a:.4f}"
            text_b = "-" if b is None else f"{b:.4f}"
            handle.write(f"{t:<9} {k}  {text_a:>15}  {text_b:>13}   {verdict}\n")
    CELLS[name] = detail.read_text()
    if worse:
        CELLS[name] += "worse than mclust: " + ", ".join(f"{t} K={k}" for t, k in worse) + "\n"


CELLS: dict[str, str] = {}
COMPARE: list[str] = []  # --compare-with CHECKOUT: that checkout's emstudio select, timed in turn
EXTRA: list[str] = []  # --emstudio "...": options added to emstudio select (to try other settings)


def processes_check() -> None:
    """The old benchmark: one process vs every core give the same numbers."""
    sys.path.insert(0, str(ROOT))
    from emstudio.core import FitSettings
    from emstudio.core.selection import select_models

    rng = np.random.default_rng(0)
    centres = rng.normal(scale=5, size=(4, 2))
    X = centres[rng.integers(4, size=10_000)] + rng.normal(size=(10_000, 2))
    settings = FitSettings(restarts=10, seed=0, accelerate="squarem", convergence="aitken", tol=1e-8,
                           short_iter=20, long_runs=2)
    results = {}
    for jobs in sorted({1, os.cpu_count() or 1}):
        began = time.perf_counter()
        selection = select_models(X, range(1, 9), list(MODELS), settings, jobs=jobs)
        results[jobs] = selection
        print(f"{jobs} process{'es' if jobs > 1 else ''}: {time.perf_counter() - began:.1f} s; chosen "
              f"{selection.best.covariance_type}, K={selection.best.k}, BIC {selection.best.criterion('bic'):.3f}")
    first, *others = results.values()
    same = all([c.result.log_likelihood for c in first.cells] == [c.result.log_likelihood for c in o.cells]
               for o in others)
    print("same numbers on every process count:", same)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command, in turn; the median is kept")
    parser.add_argument("--sizes", default="faithful,gaussians,d10",
                        help="faithful, gaussians (20,000 x 3), d10 (2,000 x 10), comma-separated")
    parser.add_argument("--before", action="store_true", help="also time emstudio as it ran before issue 17")
    parser.add_argument("--processes", action="store_true", help="only check 1 process vs every core")
    parser.add_argument("--emstudio", default="", metavar="OPTIONS",
                        help="options added to emstudio select (default: none, its defaults)")
    parser.add_argument("--compare-with", metavar="CHECKOUT",
                        help="also time another checkout's emstudio select at its defaults (e.g. an older commit's "
                             "`git archive` unpacked), in turn with the others")
    args = parser.parse_args()
    if args.compare_with:
        COMPARE.append(str(Path(args.compare_with).resolve()))
    EXTRA.extend(args.emstudio.split())
    if args.processes:
        processes_check()
        return
    with_r = have_mclust()
    print(f"bench_select: K {KS} x {', '.join(MODELS)}; {os.cpu_count()} cores; median of {args.repeat} runs in "
          f"turn; mclust {'found' if with_r else 'NOT found (apt-get install r-base-core r-cran-mclust)'}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(blas_line())
    before = " before (plain EM, tol 1e-6, 5 full starts) |" if args.before else ""
    compare = f" {args.compare_with} |" if args.compare_with else ""
    print(f"| data | emstudio select (defaults) |{before}{compare} mclust Mclust() "
          "| emstudio / mclust | cells with BIC equal or better |")
    print("|---|---|" + "---|" * (args.before + bool(args.compare_with)) + "---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        sizes = args.sizes.split(",")
        sets = []
        if "faithful" in sizes:
            sets.append(("faithful" if with_r else "Old Faithful-type", faithful(folder, with_r)))
        if "gaussians" in sizes:
            sets.append(("four Gaussians", gaussians(folder, 20_000, 3, 4, 2, "four.csv")))
        if "d10" in sizes:
            sets.append(("five Gaussians", gaussians(folder, 2_000, 10, 5, 3, "ten.csv")))
        for name, path in sets:
            bench(name, path, folder, args.repeat, with_r, args.before)
    for name, text in CELLS.items():
        print(f"\n{name}, cell by cell:\n{text}", end="")


if __name__ == "__main__":
    main()
