"""The EM fit: settings, restarts (em-EM, warm starts), and the fitted result.

Iteration t is one E-step (q_t = p(z | x, θₜ₋₁)) then one M-step (θₜ = argmax Q(θ | θₜ₋₁)).
Snapshot t carries θₜ with its own log L(θₜ) and the bound terms of both half-steps, so a view
can show log L = F + KL touching after the E-step and separating after the M-step. The loops are
in core.iterations, EM one half-step at a time in core.stepper.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from emstudio.core.checks import ColumnSummary, check_fit_data, degenerate_components, identical_components
# The iteration loops live in core.iterations; their names stay importable from here.
from emstudio.core.iterations import (  # noqa: F401
    ACCELERATIONS,
    AITKEN_NOISE,
    CONVERGENCE_RULES,
    SQUAREM_STEP_FACTOR,
    ConvergenceTest,
    Snapshot,
    UnconstrainedParams,
    _check_finite,
    iterate_em,
    iterate_squarem,
)
from emstudio.core.engine import MixtureEngine
from emstudio.core.init import DEFAULT_INIT, INIT_METHODS, initial_params, params_for_type
from emstudio.core.params import MixtureParams, check_covariance_type, n_free_parameters
from emstudio.errors import FitError


def bic(log_likelihood: float, n_parameters: int, n_samples: int) -> float:
    """BIC = −2 log L + p ln n (lower is better)."""
    return -2.0 * log_likelihood + n_parameters * float(np.log(n_samples))


def aic(log_likelihood: float, n_parameters: int) -> float:
    """AIC = −2 log L + 2p (lower is better)."""
    return -2.0 * log_likelihood + 2.0 * n_parameters


def icl(bic_value: float, sum_log_max_resp: float) -> float:
    """ICL = BIC − 2 Σᵢ log maxₖ rᵢₖ (mclust's definition, lower is better)."""
    return bic_value - 2.0 * sum_log_max_resp


@dataclass(frozen=True)
class FitSettings:
    """What a fit was asked to do. ``init`` is a method name or starting parameters.

    ``convergence`` and ``tol``: when a run stops (:class:`ConvergenceTest`); ``accelerate``: plain
    EM or SQUAREM (:func:`iterate_squarem`). ``short_iter`` > 0 with more ``restarts`` than
    ``long_runs`` makes the restarts em-EM (Biernacki, Celeux & Govaert 2003): every start runs
    ``short_iter`` EM steps, then only the ``long_runs`` best go on to convergence. The defaults
    are plain EM as the window runs it; the command line chooses its own (cli.py).
    """

    k: int = 2
    covariance_type: str = "full"
    init: str | MixtureParams = DEFAULT_INIT
    seed: int = 0
    restarts: int = 1
    max_iter: int = 500
    tol: float = 1e-6
    reg_covar: float = 1e-6
    #: "none", or "conjugate": MAP-EM under mclust's default conjugate prior (core.prior)
    prior: str = "none"
    convergence: str = "change"
    accelerate: str = "none"
    short_iter: int = 0
    long_runs: int = 1

    def validate(self) -> None:
        check_covariance_type(self.covariance_type)
        from emstudio.core.prior import PRIORS

        if self.prior not in PRIORS:
            raise FitError(f"unknown prior {self.prior!r}; choose one of {', '.join(PRIORS)}")
        if isinstance(self.init, str) and self.init not in INIT_METHODS:
            raise FitError(f"unknown start {self.init!r}; choose one of {', '.join(INIT_METHODS)} or a parameter file")
        if isinstance(self.init, MixtureParams) and self.init.n_components != self.k:
            raise FitError(f"the start has {self.init.n_components} components but K={self.k}")
        if self.restarts < 1:
            raise FitError(f"--restarts must be at least 1, got {self.restarts}")
        if self.max_iter < 0:
            raise FitError(f"--max-iter must be 0 or more, got {self.max_iter}")
        if not (self.tol >= 0):
            raise FitError(f"--tol must be 0 or more, got {self.tol}")
        if not (self.reg_covar >= 0):
            raise FitError(f"--reg-covar must be 0 or more, got {self.reg_covar}")
        if self.convergence not in CONVERGENCE_RULES:
            raise FitError(f"--convergence {self.convergence!r}: choose one of {', '.join(CONVERGENCE_RULES)}")
        if self.accelerate not in ACCELERATIONS:
            raise FitError(f"--accelerate {self.accelerate!r}: choose one of {', '.join(ACCELERATIONS)}")
        if self.short_iter < 0:
            raise FitError(f"--short-iter must be 0 or more, got {self.short_iter}")
        if self.long_runs < 1:
            raise FitError(f"--long-runs must be at least 1, got {self.long_runs}")

    @property
    def uses_short_runs(self) -> bool:
        """Whether the restarts are em-EM: short runs of every start, then the best few go on."""
        return self.short_iter > 0 and self.restarts > self.long_runs


@dataclass(frozen=True, eq=False)
class FitResult:
    """A finished fit: the kept restart's final parameters and what was measured of them."""

    params: MixtureParams
    log_likelihood: float
    n_samples: int
    n_iter: int
    converged: bool
    history: tuple[tuple[int, float], ...]
    component_sizes: np.ndarray
    sum_log_max_resp: float
    degenerate: tuple[int, ...]
    settings: FitSettings
    restart_log_likelihoods: tuple[float, ...] = ()
    restart_histories: tuple[tuple[tuple[int, float], ...], ...] = ()
    restart_degenerate: tuple[bool, ...] = ()
    best_restart: int = 0
    stopped: bool = False
    snapshots: tuple[Snapshot, ...] = field(default=(), repr=False)
    #: pairs (i, j) of components with the same mean and covariance (checks.identical_components)
    identical: tuple[tuple[int, int], ...] = ()
    #: log p(θ̂) under the prior, up to a constant (None without one): the log posterior is
    #: log_likelihood + log_prior. BIC, AIC and ICL use the log-likelihood at θ̂, as mclust does.
    log_prior: float | None = None
    #: per start: whether it ran to its end (converged or max_iter); False for an em-EM short run
    #: that was not among the best few
    restart_finished: tuple[bool, ...] = ()
    #: EM steps (M-steps) made over all starts
    total_iterations: int = 0
    #: per start, what made it: a start method ("hc", "kmeans-std", …), "file", or "split" (a
    #: warm start from the fit at K − 1, see core.warm)
    start_names: tuple[str, ...] = ()

    @property
    def n_parameters(self) -> int:
        # From the settings: parameters reported in other units may be held in another native type.
        return n_free_parameters(self.settings.covariance_type, self.params.n_components, self.params.n_features)

    @property
    def bic(self) -> float:
        return bic(self.log_likelihood, self.n_parameters, self.n_samples)

    @property
    def aic(self) -> float:
        return aic(self.log_likelihood, self.n_parameters)

    @property
    def icl(self) -> float:
        return icl(self.bic, self.sum_log_max_resp)


def _start(X, settings: FitSettings, rng: np.random.Generator, stop=None, restart: int = 0,
           hc_seed: int | None = None, start_cache=None) -> MixtureParams:
    if isinstance(settings.init, MixtureParams):
        start = params_for_type(settings.init, settings.covariance_type)
        if start.n_features != X.shape[1]:
            raise FitError(f"the start has d={start.n_features} dimensions but the data has {X.shape[1]}")
        return start
    return initial_params(X, settings.k, settings.covariance_type, settings.init, rng, settings.reg_covar, stop,
                          restart, hc_seed=hc_seed, cache=start_cache)


def _start_name(settings: FitSettings, restart: int) -> str:
    if isinstance(settings.init, MixtureParams):
        return "file"
    return ("hc" if restart == 0 else "kmeans-std") if settings.init == "auto" else settings.init


def fit_mixture(X: np.ndarray, settings: FitSettings, *, column_names=None,
                stop: Callable[[], bool] | None = None,
                on_snapshot: Callable[[int, Snapshot], None] | None = None,
                keep_snapshots: bool = False,
                engine_options: dict | None = None,
                frozen: np.ndarray | None = None, settle: int = 0,
                bound_terms: bool | None = None, engine: MixtureEngine | None = None,
                extra_starts: Sequence[MixtureParams] = (), hc_seed: int | None = None,
                start_cache=None) -> FitResult:
    """Fit a Gaussian mixture to X (n, d) by EM, ``settings.restarts`` times, keeping the best.

    The best restart is the one with the highest final log L among those with no degenerate
    component (among all, if every restart collapsed). ``stop()`` is asked before every iteration;
    when it answers True the fit ends early with ``stopped`` set. ``on_snapshot(restart, snapshot)``
    sees every snapshot as it is made. ``frozen`` (K,) bool, with starting parameters as
    ``settings.init``: those components stay as they are in every M-step (see mstep.m_step), and
    EM runs plain (an extrapolation would move them). ``settle``: see :func:`iterate_em`.
    ``bound_terms``: whether plain EM's snapshots carry the bound terms (default: when someone
    looks at the snapshots, i.e. ``on_snapshot`` or ``keep_snapshots``).

    With ``settings.uses_short_runs`` (em-EM), every start first runs ``short_iter`` EM steps;
    then the ``long_runs`` best of them (healthy ones first, by log L) go on to their end. If
    each of those collapsed, the best healthy short run left goes on too, one at a time.

    ``engine``: an engine on X for this covariance type to reuse (a grid's row of K); ``extra_starts``:
    more starting parameters, tried after the seeded restarts as starts of their own (a warm start
    from K − 1; among em-EM's short runs like the others); ``hc_seed``: the hc start's subset of rows
    is drawn from it (core.hierarchical); ``start_cache``: a core.start_cache.StartCache on X whose
    partitions the starts reuse (a grid's other covariance models made them already).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    settings.validate()
    if X.ndim != 2 or X.shape[0] == 0:
        check_fit_data(X, settings.k, column_names)  # raises the right one-line error
    if frozen is not None:
        frozen = np.asarray(frozen, dtype=bool)
        if not isinstance(settings.init, MixtureParams) or frozen.shape != (settings.init.n_components,):
            raise FitError("frozen components need starting parameters with one flag per component")
    if bound_terms is None:
        bound_terms = keep_snapshots or on_snapshot is not None
    prior = None
    if settings.prior == "conjugate":
        from emstudio.core.prior import prior_model

        if frozen is not None:
            raise FitError("frozen components cannot be fitted under a prior")
        prior_model(settings.covariance_type, X.shape[1])  # refused in one line before any work
    owned = engine is None
    if owned:
        engine = MixtureEngine(X, settings.covariance_type, **(engine_options or {}))
    with (engine if owned else contextlib.nullcontext()), engine.blas_held():
        summary = ColumnSummary.of_centred(engine.data_t, engine.centre, engine.scale)
        check_fit_data(X, settings.k, column_names, summary)
        if settings.prior == "conjugate":
            from emstudio.core.prior import default_prior

            prior = default_prior(X, settings.k, settings.covariance_type)

        def start_of(index: int, rng: np.random.Generator) -> MixtureParams:
            return _start(X, settings, rng, stop, index, hc_seed, start_cache)

        return fit_on_engine(engine, settings, start_of, stop=stop, on_snapshot=on_snapshot,
                             keep_snapshots=keep_snapshots, frozen=frozen, settle=settle, bound_terms=bound_terms,
                             prior=prior, extra_starts=extra_starts)


def fit_on_engine(engine, settings: FitSettings, start_of: Callable[[int, np.random.Generator], MixtureParams], *,
                  stop: Callable[[], bool] | None = None,
                  on_snapshot: Callable[[int, Snapshot], None] | None = None,
                  keep_snapshots: bool = False, frozen: np.ndarray | None = None, settle: int = 0,
                  bound_terms: bool = False, prior=None,
                  extra_starts: Sequence[MixtureParams] = ()) -> FitResult:
    """The restarts of :func:`fit_mixture` on any engine whose data are already checked.

    ``engine``: anything with ``run_pass(θ) → PassResult``, ``n_samples``, ``covariance_type``,
    ``scale`` and ``variance_floor`` (a MixtureEngine, or a cluster's engine in
    emstudio.distributed); ``start_of(restart, rng)``: θ₀ of each restart; ``prior``: the
    conjugate prior when settings.prior asks for one; ``extra_starts``: θ₀ of more starts, after the
    seeded ones (none when settings.init is a start file). The rest as in fit_mixture.
    """
    restarts = 1 if isinstance(settings.init, MixtureParams) else settings.restarts
    if isinstance(settings.init, MixtureParams):
        extra_starts = ()
    if settings.k == 1:
        # One component has one optimum (the data's mean and covariance, reached by the first
        # M-step from any start): more starts would repeat the same fit.
        restarts, extra_starts = 1, ()
    # Plain EM where SQUAREM does not apply: frozen components (an extrapolation would move them),
    # --tol 0, which asks for exactly max_iter EM iterations (SQUAREM stops at a fixed point), and
    # a prior (SQUAREM extrapolates the likelihood's EM map: MAP-EM runs plain).
    accelerate = (settings.accelerate == "squarem" and not (frozen is not None and frozen.any())
                  and settings.tol > 0 and prior is None)
    # em-EM over the seeded starts and the extra ones alike (a warm start's short run competes too:
    # running it to its end besides cost 60% more EM steps at 20,000 × 3 and won no cell of
    # bench_select's three sets).
    short = settings.short_iter if settings.short_iter > 0 and restarts + len(extra_starts) > settings.long_runs else 0
    seeds = np.random.SeedSequence(settings.seed).spawn(restarts)
    starts = [(seed, None) for seed in seeds] + [(None, params) for params in extra_starts]
    runs: list[_Run] = []
    stopped = False

    def advance(index: int, run: _Run, limit: int | None) -> bool:
        """Run ``run`` until its iterator ends or its iteration reaches ``limit``; False if stopped."""
        for snapshot in run.snapshots:
            run.last = snapshot
            run.history.append(snapshot if keep_snapshots else (snapshot.iteration, snapshot.log_likelihood))
            if on_snapshot is not None:
                on_snapshot(index, snapshot)
            if stop is not None and stop():
                run.finished = True
                return False
            if limit is not None and snapshot.iteration >= limit:
                return True
        run.finished = True
        return True

    for index, (seed, given) in enumerate(starts):
        if index > 0 and stop is not None and stop():
            stopped = True
            break
        start = given if given is not None else start_of(index, np.random.default_rng(seed))
        if accelerate:
            iterator = iterate_squarem(engine, start, max_iter=settings.max_iter, tol=settings.tol,
                                       reg_covar=settings.reg_covar, settle=settle,
                                       convergence=settings.convergence)
        else:
            iterator = iterate_em(engine, start, max_iter=settings.max_iter, tol=settings.tol,
                                  reg_covar=settings.reg_covar, frozen=frozen, settle=settle, prior=prior,
                                  convergence=settings.convergence, bound_terms=bound_terms)
        run = _Run(iterator)
        runs.append(run)
        if not advance(index, run, short or None):
            stopped = True
            break
        run.degenerate = _degenerate(run.last, settings, engine)
    if short and not stopped:
        # em-EM: the best short runs (healthy first, then by log L) go on to their end.
        ranked = sorted(range(len(runs)), key=lambda i: (bool(runs[i].degenerate), -_objective(runs[i].last)))
        chosen = ranked[:settings.long_runs]
        waiting = ranked[settings.long_runs:]
        while chosen and not stopped:
            for index in chosen:
                if not runs[index].finished:
                    if not advance(index, runs[index], None):
                        stopped = True
                        break
                    runs[index].degenerate = _degenerate(runs[index].last, settings, engine)
            healthy_done = any(r.finished and not r.degenerate for r in runs)
            chosen = [] if healthy_done else [i for i in waiting if not runs[i].degenerate][:1]
            waiting = [i for i in waiting if i not in chosen]
    for run in runs:
        if run.degenerate is None:
            run.degenerate = _degenerate(run.last, settings, engine)
    finished = [i for i, run in enumerate(runs) if run.finished] or list(range(len(runs)))
    healthy = [i for i in finished if not runs[i].degenerate] or finished
    # Under a prior the restarts are compared by their log posterior.
    best = max(healthy, key=lambda i: _objective(runs[i].last))
    kept = runs[best]
    last = kept.last

    def history_of(items):
        return tuple((s.iteration, s.log_likelihood) if isinstance(s, Snapshot) else s for s in items)

    return FitResult(
        params=last.params,
        log_likelihood=last.log_likelihood,
        n_samples=engine.n_samples,
        n_iter=last.iteration,
        converged=last.converged,
        history=history_of(kept.history),
        component_sizes=last.component_sizes,
        sum_log_max_resp=last.sum_log_max_resp,
        degenerate=tuple(kept.degenerate),
        # What ran: a start file is tried once; plain EM where SQUAREM did not apply.
        settings=dataclasses.replace(settings, restarts=restarts,
                                     accelerate=settings.accelerate if accelerate else "none"),
        restart_log_likelihoods=tuple(run.last.log_likelihood for run in runs),
        restart_histories=tuple(history_of(run.history) for run in runs),
        restart_degenerate=tuple(bool(run.degenerate) for run in runs),
        best_restart=best,
        stopped=stopped,
        snapshots=tuple(kept.history) if keep_snapshots else (),
        identical=tuple(identical_components(last.params)),
        log_prior=last.log_prior,
        restart_finished=tuple(run.finished for run in runs),
        total_iterations=sum(run.last.iteration for run in runs),
        start_names=tuple(_start_name(settings, i) if i < restarts else "split" for i in range(len(runs))),
    )


def _objective(snapshot: Snapshot) -> float:
    """What restarts are compared by: log L, or the log posterior under a prior."""
    return snapshot.log_likelihood + (snapshot.log_prior or 0.0)


class _Run:
    """One start of a fit: its iterator (suspended between em-EM's phases) and what it yielded."""

    def __init__(self, snapshots: Iterator[Snapshot]):
        self.snapshots = snapshots
        self.last: Snapshot | None = None
        self.history: list = []
        self.finished = False
        self.degenerate: list | None = None


def _degenerate(snapshot: Snapshot, settings: FitSettings, engine: MixtureEngine) -> list:
    return degenerate_components(snapshot.params, snapshot.component_sizes, settings.reg_covar,
                                 engine.variance_floor, engine.scale)


def responsibilities(X: np.ndarray, params: MixtureParams) -> np.ndarray:
    """rᵢₖ (n, K) of data X (n, d) under ``params``."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    with MixtureEngine(X, params.covariance_type) as engine:
        resp, _ = engine.responsibilities(params)
    return resp


def predict(X: np.ndarray, params: MixtureParams) -> np.ndarray:
    """Most responsible component (n,) of each sample."""
    return responsibilities(X, params).argmax(axis=1)
