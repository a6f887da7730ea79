"""A data set on a Dask cluster, as the window holds it (no Qt here: it is opened on a thread).

:class:`ClusterSession` opens the client (a local cluster it starts, or an existing scheduler),
lists and reads the blocks on the workers (distributed.engine.ClusterEngine) and draws the uniform
sample of rows the window shows and the starts run on: the same sample `emstudio fit --engine dask`
draws for the same seed and --sample-rows. It owns the engine and the client, and closes both
(the local cluster's processes too). The EM worker runs every pass of a Run, a step or an edit on
the engine, under :attr:`ClusterSession.lock`; an export's pass takes the lock too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading

import numpy as np

from emstudio.errors import EmstudioError


@dataclasses.dataclass(frozen=True)
class ClusterRequest:
    """What to open: DATA (a .npy, a Zarr array, a Parquet folder, a glob of CSV/Parquet files), on
    ``scheduler`` (an address) or on a local cluster of ``workers`` processes; ``sample_rows``:
    the rows shown and started from; ``seed``: the sample's (the Fit panel's seed, as the command's
    --seed draws it); the rest as `emstudio fit --engine dask`'s options."""

    data: str
    scheduler: str | None = None
    workers: int | None = None
    sample_rows: int | None = None
    block_rows: int | None = None
    persist: bool | None = None
    connect_timeout: float | None = None
    columns: tuple[str, ...] | None = None
    seed: int = 0

    @property
    def where(self) -> str:
        from emstudio.distributed.cluster import DEFAULT_WORKERS

        if self.scheduler:
            return f"the Dask cluster at {self.scheduler}"
        return f"a local Dask cluster of {self.workers or DEFAULT_WORKERS} workers"


def check_request(request: ClusterRequest) -> None:
    """What can be refused before any cluster starts (one line each): Dask missing, no such data,
    a column the array lacks; --workers with --scheduler."""
    from emstudio.distributed.cluster import require_dask
    from emstudio.distributed.sources import array_shape, find_blocks, npy_columns

    if request.scheduler and request.workers is not None:
        raise EmstudioError("--workers is for the local cluster; an existing cluster (--scheduler) has its own")
    require_dask()
    blocks = find_blocks(request.data, request.block_rows)
    if blocks[0].kind in ("npy", "zarr"):
        npy_columns(array_shape(blocks[0].path, blocks[0].kind)[1], list(request.columns or ()) or None)


class ClusterSession:
    """The client, the engine and the sample of one data set on a cluster (see the module doc).

    ``status(text)`` is told what is being done while opening (from the opening thread)."""

    def __init__(self, request: ClusterRequest) -> None:
        self.request = request
        self.lock = threading.RLock()
        self.engine = None
        self.sample: np.ndarray | None = None
        self.n_workers = 0
        self._stack = contextlib.ExitStack()
        self._closed = False
        self._cancelled = threading.Event()  # given up while opening: the opening thread closes it

    def cancel(self) -> None:
        """Give up an opening under way (from any thread): it stops at its next step, closes what it
        opened (a local cluster's processes too) and raises EmstudioError."""
        self._cancelled.set()

    def _go_on(self) -> None:
        if self._closed or self._cancelled.is_set():
            raise EmstudioError("the opening was given up")

    def open(self, status=lambda text: None) -> None:
        """Start or reach the cluster, read the blocks, draw the sample (seconds: call it off the
        window's thread). EmstudioError in one line; what was opened is closed again on any error."""
        from emstudio.distributed.cluster import DEFAULT_CONNECT_TIMEOUT, DEFAULT_WORKERS, cluster_error, open_client
        from emstudio.distributed.engine import ClusterEngine
        from emstudio.distributed.fit import DEFAULT_SAMPLE_ROWS
        from emstudio.distributed.sources import find_blocks

        r = self.request
        try:
            check_request(r)
            status(f"Starting {r.where}…" if not r.scheduler else f"Connecting to {r.where}…")
            client = self._stack.enter_context(open_client(r.scheduler, r.workers or DEFAULT_WORKERS,
                                                           r.connect_timeout or DEFAULT_CONNECT_TIMEOUT))
            self._go_on()
            self.n_workers = len(client.scheduler_info().get("workers", {}))
            status(f"Reading {os.path.basename(r.data.rstrip(os.sep))} on {self.n_workers} workers…")
            # Equal blocks, at least two per worker, as the command cuts them.
            blocks = find_blocks(r.data, r.block_rows, 1 if r.block_rows else 2 * max(1, self.n_workers))
            self._go_on()
            self.engine = ClusterEngine(client, blocks, "full", list(r.columns) if r.columns else None, r.persist)
            self._go_on()
            status(f"Drawing a uniform sample of {min(r.sample_rows or DEFAULT_SAMPLE_ROWS, self.engine.n_samples):,} "
                   "rows…")
            self.sample = self.engine.sample(r.sample_rows or DEFAULT_SAMPLE_ROWS, r.seed)
            self.engine.release_read_blocks()
            self._go_on()
        except BaseException as exc:
            self.close()
            if isinstance(exc, EmstudioError):
                raise
            problem = cluster_error(exc) if isinstance(exc, Exception) else None
            if problem is not None:
                raise problem from None
            if isinstance(exc, Exception):
                raise EmstudioError(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
            raise

    @property
    def n_samples(self) -> int:
        return self.engine.n_samples

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.engine.columns)

    def describe(self) -> str:
        """"showing m of n rows; EM runs over all n rows on …" (the banner's words)."""
        m, n = len(self.sample), self.n_samples
        workers = f"{self.n_workers} worker{'s' * (self.n_workers != 1)}"
        where = f"the Dask cluster at {self.request.scheduler}" if self.request.scheduler else "a local Dask cluster"
        shown = f"all {n:,} rows" if m == n else f"a uniform sample of {m:,} of {n:,} rows"
        text = f"Showing {shown}; EM runs over all {n:,} rows on {where} ({workers})."
        engine = self.engine
        if engine is not None and engine.passes:
            text += f" About {_duration(engine.pass_seconds / engine.passes)} per iteration."
        return text

    def report_lines(self) -> tuple[str, ...]:
        e = self.engine
        name = os.path.basename(self.request.data.rstrip(os.sep))
        d = e.n_features
        kept = "kept in the workers' memory" if e.persisted else "read from storage every pass"
        lines = [f"{name}: {e.n_samples:,} rows, {d} column{'s' * (d != 1)}: {', '.join(e.columns)}",
                 f"{e.n_blocks} block{'s' * (e.n_blocks != 1)} on {self.n_workers} Dask worker"
                 f"{'s' * (self.n_workers != 1)}, {kept}; {len(self.sample):,} rows shown"]
        lines += list(getattr(e, "left_out", ()))  # as decided for a whole file cut into blocks
        if e.n_dropped:
            lines.append(f"dropped {e.n_dropped:,} row{'s' * (e.n_dropped != 1)} with a missing, NaN or infinite value")
        lines += [f"note: {note}" for note in e.notes]
        return tuple(lines)

    def close(self) -> None:
        """Cancel the cluster's work, release the blocks, close the client and a local cluster
        (its processes end). Safe to call twice and from any thread."""
        self._closed = True
        engine, self.engine = self.engine, None
        if engine is not None:
            engine.interrupt = lambda: True
            with self.lock:
                engine.close()
        self._stack.close()


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2g} s"


def cluster_result_of(session: ClusterSession, params, settings, *, iteration: int, converged: bool, history,
                      interrupt=None):
    """A FitResult for parameters on screen, measured over all the cluster's rows (one pass), as
    gui.export.result_of measures data in memory. ``interrupt()`` True gives the pass up
    (PassInterrupted: the export was cancelled)."""
    from emstudio.gui.export import measured_result

    engine = session.engine
    if engine is None:
        raise EmstudioError("the data on the cluster were closed")
    with session.lock:
        engine.interrupt = interrupt
        engine.use_covariance_type(params.covariance_type)
        measured = engine.run_pass(params)
    return measured_result(engine, params, measured, settings, iteration=iteration, converged=converged,
                           history=history)


def write_cluster_result_file(path, dataset, result) -> None:
    """The result file `emstudio fit --engine dask --out` writes (settings say engine "dask")."""
    from emstudio.io.results import result_to_dict, write_json

    write_json(path, result_to_dict(result, source=os.path.basename(dataset.source.rstrip(os.sep)),
                                    columns=dataset.columns, n_dropped=dataset.n_dropped,
                                    extra_settings={"engine": "dask"}))
