"""The EM worker: a QObject that lives on one long-lived QThread and drives ``emstudio.core``.

Every request arrives as a queued signal carrying a run id. Runs check a :class:`Gate` after
every iteration, so Stop (which closes the gate from the window's thread) is answered within one
iteration. Every result leaves as an immutable :class:`Frame` (K-sized, plus the colouring of the
points actually drawn, computed here and not in the window's thread).
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time

import numpy as np
from PySide6 import QtCore

from emstudio.core.checks import reg_covar_binds
from emstudio.core.edits import Collapse, collapse_report
from emstudio.core.em import FitSettings, fit_mixture
from emstudio.core.engine import MixtureEngine, default_thread_count
from emstudio.core.estep import BoundTerms
from emstudio.core.factor import FactorParams, FactorSettings, fit_factor, heywood_cases
from emstudio.core.factor_steps import FactorProblem, FactorStepper
from emstudio.core.stepper import Stepper
from emstudio.core.init import initial_params, params_for_type
from emstudio.core.params import MixtureParams
from emstudio.core.scaling import column_units
from emstudio.errors import EmstudioError, FitError
from emstudio.gui.cluster_worker import ClusterRequests, describe_unexpected
from emstudio.gui.snapshot import (  # noqa: F401 - the snapshot types, also reached from here
    DENSITY_BINS,
    DENSITY_SAMPLE,
    SCATTER_LIMIT,
    Colours,
    DataView,
    Frame,
    RestartCurves,
    RunOutcome,
    RunRequest,
)

#: Least seconds between two colourings of the points during a run.
COLOUR_INTERVAL = 0.04


def engine_options() -> dict:
    """Engines of the window: their passes leave one core to the window's thread, and BLAS is
    held to one thread once for the whole process (:func:`limit_blas_once`) instead of by each
    engine: making threadpoolctl's controller, which every new engine does, holds the GIL for
    tens of milliseconds and stalled the event loop (benchmarks/bench_gui.py)."""
    return {"n_threads": max(1, min(default_thread_count(), (os.cpu_count() or 2) - 1)), "blas_threads": None}


_BLAS_LIMITED = []


def limit_blas_once() -> None:
    """One BLAS thread per Python thread, for the whole process (see :func:`engine_options`)."""
    if not _BLAS_LIMITED:
        from threadpoolctl import threadpool_limits

        _BLAS_LIMITED.append(threadpool_limits(limits=1, user_api="blas"))


class Gate:
    """Which run may go on. The window opens it for a run and closes it to stop; the worker asks."""

    def __init__(self) -> None:
        self._run = -1
        self._cv = threading.Condition()

    def open(self, run_id: int) -> None:
        with self._cv:
            self._run = run_id
            self._cv.notify_all()

    def close(self) -> None:
        self.open(-1)

    def alive(self, run_id: int) -> bool:
        return self._run == run_id

    def sleep(self, run_id: int, seconds: float) -> bool:
        """Wait ``seconds`` unless the run is stopped first; True if it may go on."""
        with self._cv:
            self._cv.wait_for(lambda: self._run != run_id, timeout=seconds)
            return self._run == run_id


class EmWorker(QtCore.QObject, ClusterRequests):
    """Runs EM on the data it was given; emits frames and outcomes. Lives on the worker thread."""

    frame = QtCore.Signal(object)  # Frame
    finished = QtCore.Signal(object)  # RunOutcome
    colours_ready = QtCore.Signal(int, object)  # request id, Colours

    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self.gate = gate
        self.X: np.ndarray | None = None
        # The data's column units for the collapse checks: scales (d,) and rounding noise (d,).
        self.column_scale: np.ndarray | None = None
        self.variance_floor: float | np.ndarray = 0.0
        self.view: DataView | None = None
        self.shading = "responsibility"  # given to every DataView made (set_shading)
        self._engine: MixtureEngine | None = None
        self._stepper: Stepper | FactorStepper | None = None
        self._factor_problem: FactorProblem | None = None  # the data as factor fits see it (made when asked)
        # Data on a Dask cluster (gui.cluster_data.ClusterSession): X is its sample (drawn and
        # started from), every pass runs over all rows on the cluster's engine.
        self.cluster = None
        self._request = -1  # the request being answered: a cluster's pass gives up when it is stopped

    # ------------------------------------------------------------------ data
    @QtCore.Slot(object, object, object)
    def set_data(self, X, axes, cluster=None) -> None:
        self._close_engine()
        self._factor_problem = None
        self.X = X
        self.cluster = cluster
        if cluster is not None and cluster.engine is not None:  # the collapse checks in all rows' units
            self.column_scale, self.variance_floor = cluster.engine.scale, cluster.engine.variance_floor
        else:
            self.column_scale, self.variance_floor = column_units(X)
        self._set_view(DataView(X, tuple(axes)))

    @QtCore.Slot(object)
    def set_axes(self, axes) -> None:
        if self.X is not None:
            self._set_view(DataView(self.X, tuple(axes)))

    def _set_view(self, view: "DataView | None") -> None:
        if self.view is not None:
            self.view.close()
        if view is not None:
            view.shading = self.shading
        self.view = view

    @QtCore.Slot(int, str)
    def set_shading(self, request_id: int, shading: str) -> None:
        """Shade by "responsibility" or "uncertainty" from now on, and answer ``request_id`` with
        the colours of the state coloured last (after an M-step that is its E-step's state, whose
        q is on screen, not the M-step's θ)."""
        self.shading = shading
        if self.view is not None:
            self.view.shading = shading
            if self.view.last_params is not None:
                self.colour(request_id, self.view.last_params)

    @QtCore.Slot(int, object)
    def colour(self, request_id: int, params) -> None:
        """Colours of the drawn points under ``params`` (for a scrubbed history entry)."""
        try:
            if self.view is not None:
                self.colours_ready.emit(request_id, self.view.colours(params))
        except Exception:  # noqa: BLE001 - reported, never silent
            self.finished.emit(RunOutcome(-1, "failed", message=describe_unexpected()))

    def _engine_for(self, covariance_type: str) -> MixtureEngine:
        if self.cluster is not None:
            return self._cluster_engine(covariance_type)
        if self._engine is None or self._engine.covariance_type != covariance_type:
            self._close_engine()
            self._engine = MixtureEngine(self.X, covariance_type, **engine_options())
        return self._engine

    def _close_engine(self) -> None:
        self._stepper = None
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    @QtCore.Slot()
    def shutdown(self) -> None:
        self._close_engine()
        self._set_view(None)

    # ------------------------------------------------------------------ runs
    @QtCore.Slot(int, object)
    def run(self, run_id: int, request: RunRequest) -> None:
        try:
            with self._held(run_id):
                outcome = self._run(run_id, request)
        except EmstudioError as exc:
            stopped = type(exc).__name__ == "PassInterrupted" or not self.gate.alive(run_id)
            outcome = RunOutcome(run_id, "stopped") if stopped else RunOutcome(run_id, "failed", message=str(exc))
        except Exception as exc:  # noqa: BLE001 - the window shows it
            outcome = RunOutcome(run_id, "failed", message=self._unexpected(exc))
        self.finished.emit(outcome)

    def _run(self, run_id: int, request: RunRequest) -> RunOutcome:
        settings = request.settings
        offset = request.start_iteration
        continuing = request.start is not None
        if continuing and isinstance(settings, FactorSettings):
            remaining = settings.max_iter - offset
            start = request.start
            settings = dataclasses.replace(settings, k=start.n_components, n_factors=start.n_factors,
                                           psi="shared" if start.psi_shared else "per-component", init=start,
                                           restarts=1, max_iter=remaining if remaining > 0 else settings.max_iter)
        elif continuing:
            remaining = settings.max_iter - offset
            settings = FitSettings(k=request.start.n_components, covariance_type=settings.covariance_type,
                                   init=request.start, seed=settings.seed, restarts=1,
                                   max_iter=remaining if remaining > 0 else settings.max_iter,
                                   tol=settings.tol, reg_covar=settings.reg_covar)
        n_restarts = 1 if continuing else settings.restarts
        frozen = _flags(request.frozen) if continuing else None
        reg_covar = getattr(settings, "reg_covar", 0.0)
        previous = {"log_l": None, "restart": -1}
        timing = {"last": 0.0, "cost": 0.0}
        frames_of_restart: list[list[Frame]] = []
        view = self.view

        def on_snapshot(restart: int, snapshot) -> None:
            if not self.gate.alive(run_id):
                return
            if restart != previous["restart"]:
                previous["restart"], previous["log_l"] = restart, None
                frames_of_restart.append([])
            if continuing and snapshot.iteration == 0:
                previous["log_l"] = snapshot.log_likelihood
                return
            change = None
            if previous["log_l"] is not None:
                change = (snapshot.log_likelihood - previous["log_l"]) / snapshot.n_samples
            previous["log_l"] = snapshot.log_likelihood
            # Colour the points at most about 25 times a second, and never spend more than a
            # quarter of the time on it: the ellipses move every iteration, the colours catch up.
            now = time.perf_counter()
            colours = None
            last = snapshot.converged or snapshot.iteration in (0, settings.max_iter)
            if last or request.pace > 0 or now - timing["last"] >= max(COLOUR_INTERVAL, 3 * timing["cost"]):
                colours = view.colours(snapshot.params)
                timing["last"] = time.perf_counter()
                timing["cost"] = timing["last"] - now
            frame = self._frame(run_id, "start" if snapshot.iteration == 0 else "iteration",
                                snapshot.iteration + offset, snapshot, change, snapshot.converged, snapshot.after_m,
                                snapshot.after_e, restart, n_restarts, colours, reg_covar, frozen)
            frames_of_restart[-1].append(frame.without_colours())
            self.frame.emit(frame)
            if request.pace > 0:
                self.gate.sleep(run_id, request.pace)

        stop = lambda: not self.gate.alive(run_id)  # noqa: E731
        if self.cluster is not None and isinstance(settings, FactorSettings):
            raise EmstudioError("factor models are not available on a Dask cluster: choose the Gaussian mixture")
        if self.cluster is not None:
            from emstudio.distributed.fit import fit_on_cluster

            changed = continuing and (request.start.covariance_type != settings.covariance_type
                                      or request.start_reg_covar != settings.reg_covar)
            # The starts run on the sample on screen; every pass over all rows on the cluster.
            result = fit_on_cluster(self._engine_for(settings.covariance_type), settings, sample=self.X,
                                    stop=stop, on_snapshot=on_snapshot, frozen=frozen,
                                    settle=1 if changed else 0, bound_terms=True)
        elif isinstance(settings, FactorSettings):
            result = fit_factor(self.X, settings, stop=stop, on_snapshot=on_snapshot)
        else:
            # Going on with another reg_covar or covariance model (Raise reg_covar ×10): the first
            # iteration's change measures the new model, so it may not end the run as "converged".
            changed = continuing and (request.start.covariance_type != settings.covariance_type
                                      or request.start_reg_covar != settings.reg_covar)
            result = fit_mixture(self.X, settings, stop=stop, on_snapshot=on_snapshot,
                                 engine_options=engine_options(), frozen=frozen, settle=1 if changed else 0)
        self._stepper = None
        if result.stopped or not self.gate.alive(run_id):
            return RunOutcome(run_id, "stopped")
        history = restarts = None
        if n_restarts > 1:
            history = tuple(frames_of_restart[result.best_restart])
            restarts = (RestartCurves.of_frames(frames_of_restart, result.best_restart)
                        if isinstance(settings, FactorSettings) else RestartCurves.of(result, offset))
        return RunOutcome(run_id, "converged" if result.converged else "max-iter", history, restarts=restarts)

    # ------------------------------------------------------------------ starts and steps
    def _start_params(self, settings: FitSettings) -> MixtureParams:
        if isinstance(settings.init, MixtureParams):
            start = params_for_type(settings.init, settings.covariance_type)
            if start.n_features != self.X.shape[1]:
                raise FitError(f"the start has d={start.n_features} dimensions but the data has {self.X.shape[1]}")
            return start
        settings.validate()
        # The first restart's seed, as fit_mixture uses it: the same start as a run.
        seed = np.random.SeedSequence(settings.seed).spawn(max(settings.restarts, 1))[0]
        return initial_params(self.X, settings.k, settings.covariance_type, settings.init,
                              np.random.default_rng(seed), settings.reg_covar)

    def _collapse(self, params: MixtureParams, sizes: np.ndarray, reg_covar: float) -> tuple[Collapse, ...]:
        """The collapsing components of a state: K small eigen-decompositions, cheap per frame."""
        return tuple(collapse_report(params, sizes, reg_covar, self.variance_floor, self.column_scale))

    def _frame(self, run_id: int, kind: str, iteration: int, state, change, converged: bool, terms, terms_after_e,
               restart: int, n_restarts: int, colours, reg_covar: float, frozen) -> Frame:
        """The Frame of a state (a snapshot or a half-step): a factor model's θ goes in ``factor``,
        its distribution as a Gaussian mixture in ``params`` (snapshot.Frame)."""
        params, sizes = state.params, state.component_sizes
        if isinstance(params, FactorParams):
            return Frame(run_id, kind, iteration, params.to_mixture(), state.log_likelihood, state.n_samples, sizes,
                         change, converged, terms, terms_after_e, restart, n_restarts, colours,
                         factor=params, heywood=heywood_cases(params, self._factor().variances))
        return Frame(run_id, kind, iteration, params, state.log_likelihood, state.n_samples, sizes, change,
                     converged, terms, terms_after_e, restart, n_restarts, colours,
                     self._collapse(params, sizes, reg_covar),
                     reg_covar_binds(params, reg_covar, sizes, self.column_scale), reg_covar=reg_covar, frozen=frozen)

    def _half_step_frame(self, run_id: int, half, colours: bool, change=None, reg_covar: float = 0.0,
                         terms_after_e: BoundTerms | None = None, frozen: np.ndarray | None = None) -> Frame:
        return self._frame(run_id, half.kind, half.iteration, half, change, False, half.terms, terms_after_e, 0, 1,
                           self.view.colours(half.params) if colours else None, reg_covar, frozen)

    def _factor(self) -> FactorProblem:
        """The data as factor fits see it (standardised columns; made once per data set)."""
        if self._factor_problem is None:
            self._factor_problem = FactorProblem(self.X)
        return self._factor_problem

    def _start(self, run_id: int, settings: FitSettings) -> None:
        from emstudio.core.checks import check_fit_data

        if isinstance(settings, FactorSettings):
            if self.cluster is not None:
                raise EmstudioError("factor models are not available on a Dask cluster: choose the Gaussian mixture")
            self._stepper = FactorStepper(self._factor(), self._factor().start(settings))
            self.frame.emit(self._half_step_frame(run_id, self._stepper.start(), True))
            return
        k = settings.init.n_components if isinstance(settings.init, MixtureParams) else settings.k
        check_fit_data(self.X, k)
        params = self._start_params(settings)
        self._stepper = Stepper(self._engine_for(settings.covariance_type), params, settings.reg_covar)
        self.frame.emit(self._half_step_frame(run_id, self._stepper.start(), True, reg_covar=settings.reg_covar))

    def _answer(self, run_id: int, action, failure: str = "") -> None:
        """Do ``action()`` (which sends its frames), then its outcome: "done", or "failed" with the
        message, after ``failure`` (what could not be done; an unexpected error with its traceback)."""
        try:
            with self._held(run_id):
                action()
            outcome = RunOutcome(run_id, "done")
        except EmstudioError as exc:
            stopped = type(exc).__name__ == "PassInterrupted"
            outcome = RunOutcome(run_id, "stopped" if stopped else "failed", message=f"{failure}{exc}")
        except Exception as exc:  # noqa: BLE001 - the window shows it
            outcome = RunOutcome(run_id, "failed", message=self._unexpected(exc))
        self.finished.emit(outcome)

    @QtCore.Slot(int, object)
    def start(self, run_id: int, settings: FitSettings) -> None:
        """A fresh start (Re-initialise or an imported parameter file): iteration 0."""
        self._answer(run_id, lambda: self._start(run_id, settings))

    @QtCore.Slot(int, object, int, float, str, object)
    def edit(self, run_id: int, params, iteration: int, reg_covar: float, note: str, frozen=None) -> None:
        """A state made by hand: measure log L and Nₖ under ``params`` and send it as an "edit" frame
        (``frozen`` (K,) bool: the components EM is to keep from here). ``params`` may be a function
        of the data X (n, d) giving the parameters, for an edit that must look at every point (a
        re-seed): it runs here, not on the window's thread."""
        def measure() -> None:
            nonlocal params
            if callable(params):
                params = params(self.X)
            flags = _flags(frozen)
            if flags is not None and flags.shape != (params.n_components,):
                flags = None  # flags of another K cannot describe these components
            self._stepper = Stepper(self._engine_for(params.covariance_type), params, reg_covar, iteration, flags)
            frame = self._half_step_frame(run_id, self._stepper.start(), True, reg_covar=reg_covar, frozen=flags)
            self.frame.emit(dataclasses.replace(frame, kind="edit", note=note))

        self._answer(run_id, measure, f"Could not make the edit ({note}): ")

    @QtCore.Slot(int, str, object, int, object, object)
    def step(self, run_id: int, kind: str, params, iteration: int, settings: FitSettings, frozen=None) -> None:
        """One half-step ("E", "M") or a whole iteration ("EM") from ``params`` at ``iteration``;
        ``frozen`` (K,) bool: components the M-step keeps."""
        self._answer(run_id, lambda: self._step(run_id, kind, params, iteration, settings, _flags(frozen)))

    def _step(self, run_id: int, kind: str, params, iteration: int, settings: FitSettings, frozen) -> None:
        stepper = self._stepper
        reg_covar = getattr(settings, "reg_covar", 0.0)
        if params is None:
            self._start(run_id, settings)
            stepper = self._stepper
        elif isinstance(params, FactorParams):
            if not isinstance(stepper, FactorStepper) or stepper.params is not params:
                stepper = FactorStepper(self._factor(), params, iteration)
        elif (not isinstance(stepper, Stepper) or stepper.params is not params
              or stepper.engine.covariance_type != params.covariance_type
              or stepper.reg_covar != reg_covar
              or not _same_flags(stepper.frozen, frozen)):
            stepper = Stepper(self._engine_for(params.covariance_type), params, reg_covar, iteration, frozen)
        self._stepper = stepper
        before = stepper.start().log_likelihood
        if kind in ("E", "EM"):
            self.frame.emit(self._half_step_frame(run_id, stepper.e_step(), True, reg_covar=reg_covar, frozen=frozen))
        if kind in ("M", "EM"):
            half = stepper.m_step()
            # The M frame carries its E-step's terms too (as a run's iteration frames do), so
            # the history alone gives every half-step of the bound view.
            self.frame.emit(self._half_step_frame(run_id, half, False, (half.log_likelihood - before) / half.n_samples,
                                                  reg_covar, stepper.terms_after_e(), frozen))


def _flags(frozen) -> np.ndarray | None:
    """(K,) bool frozen flags, or None when no component is frozen."""
    if frozen is None:
        return None
    frozen = np.array(frozen, dtype=bool)
    frozen.setflags(write=False)
    return frozen if frozen.any() else None


def _same_flags(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and bool(np.array_equal(a, b))
