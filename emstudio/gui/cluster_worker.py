"""What the EM worker (gui/worker.py) does differently for data on a Dask cluster: every pass on
the cluster's engine (gui/cluster_data.py), given up when the request is stopped, under the
session's lock; the cluster's own failures in one line."""

from __future__ import annotations

import contextlib
import traceback

from emstudio.errors import EmstudioError


def describe_unexpected() -> str:
    text = traceback.format_exc()
    last = text.strip().splitlines()[-1] if text.strip() else "unknown error"
    return f"internal error: {last}\n\n{text}"


class ClusterRequests:
    """Mixed into EmWorker: ``cluster`` (a ClusterSession or None), ``gate`` and ``_request`` are its."""

    def _cluster_engine(self, covariance_type: str):
        """The cluster's engine for ``covariance_type``; its passes give up when the request is stopped."""
        engine = self.cluster.engine
        if engine is None:
            raise EmstudioError("the data on the Dask cluster were closed")
        request = self._request
        engine.interrupt = lambda: not self.gate.alive(request)
        if engine.covariance_type != covariance_type:
            engine.use_covariance_type(covariance_type)
        return engine

    def _held(self, run_id: int):
        """The cluster's lock while a request uses its engine (an export's pass waits for it)."""
        self._request = run_id
        return self.cluster.lock if self.cluster is not None else contextlib.nullcontext()

    def _unexpected(self, exc: Exception) -> str:
        """One line for a failure of the cluster itself (a lost connection, …), else the traceback."""
        from_cluster = None
        if self.cluster is not None:
            from emstudio.distributed.cluster import cluster_error

            from_cluster = cluster_error(exc)
        return str(from_cluster) if from_cluster is not None else describe_unexpected()

