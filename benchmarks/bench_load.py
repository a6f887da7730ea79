"""Benchmark of ``emstudio.io.load_data`` on a 1e6-row, 5-column CSV.

    python benchmarks/bench_load.py [--rows N] [--keep FILE]

Prints the load time beside ``numpy.loadtxt`` on the same file, and the peak memory of the
load measured in a fresh subprocess (tracemalloc's peak, which numpy's allocations report to,
and the growth of the process's maximum resident size). Targets: under 2 s, and at most 3x the
size of the returned array. Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

TIME_LIMIT_S = 2.0
MEMORY_FACTOR = 3.0

_CHILD = r"""
import json, resource, sys, time, tracemalloc
import numpy as np
from emstudio.io.data import load_data

def high_water():
    # VmHWM belongs to this process image; ru_maxrss would carry the parent's over exec.
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

path, mode = sys.argv[1], sys.argv[2]
before = high_water()
tracemalloc.start()
t0 = time.perf_counter()
if mode == "emstudio":
    values = load_data(path).values
else:
    values = np.loadtxt(path, delimiter=",", skiprows=1)
seconds = time.perf_counter() - t0
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
after = high_water()
print(json.dumps({"seconds": seconds, "peak": peak, "rss_growth": after - before,
                  "nbytes": values.nbytes, "shape": list(values.shape)}))
"""


def write_csv(path: str, rows: int, seed: int = 0) -> None:
    """A CSV like a lab's export: a header, 5 columns of 8-9 significant digits."""
    rng = np.random.default_rng(seed)
    scales = np.array([1.0, 10.0, 100.0, 0.1, 1000.0])
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write("a,b,c,d,e\n")
        step = 200_000
        for start in range(0, rows, step):
            block = rng.normal(size=(min(step, rows - start), 5)) * scales
            np.savetxt(f, block, delimiter=",", fmt="%.9g")


def timed(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure_in_child(path: str, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, path, mode], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", help="write the CSV here and keep it (default: a temporary file)")
    args = parser.parse_args(argv)

    from emstudio.io.data import load_data

    tmp = None
    if args.keep:
        path = args.keep
    else:
        tmp = tempfile.TemporaryDirectory()
        path = os.path.join(tmp.name, "bench.csv")
    try:
        t0 = time.perf_counter()
        write_csv(path, args.rows)
        size_mb = os.path.getsize(path) / 1e6
        print(f"file: {args.rows:,} rows x 5 columns, {size_mb:.1f} MB "
              f"(written in {time.perf_counter() - t0:.1f} s)")

        # Memory first, in fresh processes, before this one holds large arrays.
        ours = measure_in_child(path, "emstudio")
        theirs = measure_in_child(path, "numpy")

        data = load_data(path)
        reference = np.loadtxt(path, delimiter=",", skiprows=1)
        if data.values.shape != reference.shape or not np.array_equal(data.values, reference):
            print("MISMATCH: load_data and numpy.loadtxt disagree")
            return 1
        del reference

        t_ours = timed(lambda: load_data(path), args.repeat)
        t_numpy = timed(lambda: np.loadtxt(path, delimiter=",", skiprows=1), args.repeat)
        print(f"time   emstudio load_data {t_ours:6.3f} s   numpy.loadtxt {t_numpy:6.3f} s   "
              f"(best of {args.repeat}; target < {TIME_LIMIT_S:.0f} s)")

        nbytes = ours["nbytes"]
        print(f"memory array {nbytes / 2**20:.1f} MiB; peak while loading (tracemalloc): "
              f"emstudio {ours['peak'] / 2**20:.1f} MiB = {ours['peak'] / nbytes:.2f}x, "
              f"numpy.loadtxt {theirs['peak'] / 2**20:.1f} MiB = {theirs['peak'] / nbytes:.2f}x "
              f"(target <= {MEMORY_FACTOR:.0f}x)")
        print(f"       growth of the peak resident size (VmHWM): emstudio {ours['rss_growth'] / 2**20:.1f} MiB = "
              f"{ours['rss_growth'] / nbytes:.2f}x, numpy.loadtxt {theirs['rss_growth'] / 2**20:.1f} MiB = "
              f"{theirs['rss_growth'] / nbytes:.2f}x")
        ok = t_ours < TIME_LIMIT_S and ours["peak"] <= MEMORY_FACTOR * nbytes
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
