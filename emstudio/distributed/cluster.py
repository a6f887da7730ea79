"""A Dask client for a fit: a local cluster of worker processes, or an existing scheduler.

Either way the caller gets a context manager that closes what it opened (the local cluster's
processes included) however the block ends, Ctrl+C included.
"""

from __future__ import annotations

import contextlib
import logging
import warnings

from emstudio.core.processes import interrupts_ignored
from emstudio.errors import EmstudioError

INSTALL_HINT = "pip install 'emstudio[cluster]' (or: pip install 'dask[distributed]')"
DEFAULT_WORKERS = 2
DEFAULT_CONNECT_TIMEOUT = 10.0


def require_dask() -> None:
    """One clear line when dask.distributed is not installed."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise EmstudioError(f"--engine dask needs Dask, which is not installed: {INSTALL_HINT}") from None


def cluster_error(exc: BaseException) -> EmstudioError | None:
    """One line for what Dask raises when the cluster itself fails (None: not such an error)."""
    name = type(exc).__name__
    if name == "KilledWorker":
        return EmstudioError("the cluster's workers died while computing a block, several times (out of memory? "
                             "try --persist no, smaller --block-rows or more memory per worker)")
    if name in ("CommClosedError", "CancelledError", "FutureCancelledError"):
        return EmstudioError("lost the connection to the Dask cluster during the fit")
    if isinstance(exc, ModuleNotFoundError) and "emstudio" in str(exc):
        return EmstudioError("the cluster's workers cannot import emstudio: install the same emstudio on every worker")
    return None


@contextlib.contextmanager
def open_client(scheduler: str | None = None, workers: int = DEFAULT_WORKERS,
                connect_timeout: float = DEFAULT_CONNECT_TIMEOUT, memory_limit: str | None = None):
    """Yield a ``distributed.Client``: connected to ``scheduler`` (an address such as
    tcp://host:8786), or to a new local cluster of ``workers`` processes of one thread each
    (BLAS held to one thread each too: Dask's nanny sets OMP/OPENBLAS_NUM_THREADS=1), closed at
    the end. EmstudioError with one line when the scheduler cannot be reached."""
    require_dask()
    from distributed import Client, LocalCluster

    # The command's promise is one line per problem: Dask's own log lines (a worker restarted,
    # a port taken) would be extra lines; its errors reach the caller as exceptions.
    for name in ("distributed", "tornado", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    # "Port 8787 is already in use" and its kind are warnings, not problems of the fit.
    warnings.filterwarnings("ignore", category=UserWarning, module=r"distributed\.")
    if scheduler:
        try:
            client = Client(scheduler, timeout=f"{connect_timeout}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise EmstudioError(f"cannot reach the Dask scheduler at {scheduler} within {connect_timeout:g} s "
                                f"({reason[:160]}); is `dask scheduler` running there?") from None
        with client:
            yield client
        return
    # The worker processes start with SIGINT ignored (worker_setup: and keep it so). The cost: a
    # Ctrl+C in the seconds the local cluster takes to start is not seen (the next one is).
    with interrupts_ignored():
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.CRITICAL, memory_limit=memory_limit or "auto",
                               preload=["emstudio.distributed.worker_setup"])
    try:
        with Client(cluster, set_as_default=False) as client:
            yield client
    finally:
        cluster.close()
