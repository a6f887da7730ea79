"""The cost of one EM step on small data, beside scikit-learn's one EM step on the same data.

    .venv/bin/python benchmarks/bench_step.py                 # the default cases
    .venv/bin/python benchmarks/bench_step.py --repeat 2000   # more steps per figure

For each (n, d, K, model): µs per E-step pass (``engine.run_pass``), per M-step (``m_step`` from
that pass's statistics), per whole EM step (pass + M-step), and per SQUAREM cycle (two EM steps,
the extrapolation and its stabilising step, as core.iterations does it, counted per M-step made),
beside scikit-learn's ``_e_step`` + ``_m_step`` on a GaussianMixture fitted to the same data
(best of five rounds each of the calling thread's CPU time, so other work on the machine and idle
helper threads count little; one thread, BLAS and
OpenMP held to one thread). n = 272, d = 2 is the size of
R's ``faithful`` (issue 17: model selection there is a few thousand such steps).
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings

import numpy as np

from emstudio.core.engine import MixtureEngine
from emstudio.core.iterations import iterate_squarem
from emstudio.core.mstep import m_step
from emstudio.core.params import MixtureParams

REG = 1e-6
CASES = [(272, 2, 3, "full"), (272, 2, 9, "full"), (272, 2, 3, "spherical"), (272, 2, 9, "spherical"),
         (272, 2, 5, "tied"), (272, 2, 5, "diag"), (2000, 10, 5, "full"), (20000, 3, 4, "full")]


def sample(n: int, d: int, k: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(k, d))
    return centres[rng.integers(0, k, n)] + rng.normal(size=(n, d))


def best_us(fn, repeat: int, rounds: int = 5) -> float:
    """Best of ``rounds`` of the mean time per call over ``repeat`` calls, in µs."""
    best = np.inf
    for _ in range(rounds):
        start = time.thread_time()
        for _ in range(repeat):
            fn()
        best = min(best, (time.thread_time() - start) / repeat)
    return best * 1e6


def sklearn_step(X, k, model, repeat):
    from sklearn.mixture import GaussianMixture

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm = GaussianMixture(k, covariance_type=model, reg_covar=REG, max_iter=20, random_state=0).fit(X)

    def step():
        _, log_resp = gm._e_step(X)
        gm._m_step(X, log_resp)
    return best_us(step, repeat)


def emstudio_figures(X, k, model, repeat):
    from sklearn.mixture import GaussianMixture

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm = GaussianMixture(k, covariance_type=model, reg_covar=REG, max_iter=20, random_state=0).fit(X)
    params = MixtureParams(gm.weights_, gm.means_, gm.covariances_, model)
    with MixtureEngine(X, model, n_threads=1) as engine, engine.blas_held():
        result = engine.run_pass(params)
        pass_us = best_us(lambda: engine.run_pass(params), repeat)
        m_us = best_us(lambda: m_step(result.stats, model, REG, previous=params), repeat)

        def em_step():
            m_step(engine.run_pass(params).stats, model, REG, previous=params)
        step_us = best_us(em_step, repeat)

        def squarem():  # tol 0: every cycle runs; a few cycles, counted per M-step
            snapshots = list(itertools.islice(iterate_squarem(engine, params, max_iter=12, tol=0.0,
                                                              reg_covar=REG), 100))
            return snapshots[-1].iteration
        steps = squarem()
        squarem_us = best_us(squarem, max(1, repeat // 20)) / max(steps, 1)
    return pass_us, m_us, step_us, squarem_us


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=500, help="calls per timing round (default 500)")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    print(f"{'n':>6} {'d':>3} {'K':>3} {'model':<10} {'pass µs':>9} {'M-step µs':>10} {'EM step µs':>11} "
          f"{'SQUAREM µs/step':>16} {'sklearn step µs':>16} {'ratio':>6}")
    with threadpool_limits(limits=1):  # BLAS and OpenMP: their idle threads would count as CPU time
        for n, d, k, model in CASES:
            X = sample(n, d, k)
            repeat = max(5, args.repeat * 272 // n)
            pass_us, m_us, step_us, squarem_us = emstudio_figures(X, k, model, repeat)
            sk_us = sklearn_step(X, k, model, repeat)
            print(f"{n:>6} {d:>3} {k:>3} {model:<10} {pass_us:9.1f} {m_us:10.1f} {step_us:11.1f} "
                  f"{squarem_us:16.1f} {sk_us:16.1f} {step_us / sk_us:6.2f}", flush=True)


if __name__ == "__main__":
    main()
