"""Preloaded into every worker process of the local cluster (LocalCluster(preload=...)).

A terminal's Ctrl+C reaches every process of its group: the workers would each print a
KeyboardInterrupt traceback while the command itself cancels the fit and closes the cluster
(which ends them). So the workers ignore SIGINT and leave stopping to the command.
"""

import signal
import threading


def dask_setup(worker) -> None:  # noqa: ARG001 - Dask's preload interface
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
