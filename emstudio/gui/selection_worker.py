"""The model-selection grid's worker: runs :func:`emstudio.core.selection.select_models` cell by
cell on the panel's own thread (in the window's process: no worker process can be left behind),
asking its gate before every EM iteration (Cancel is answered within one)."""

from __future__ import annotations

import traceback
from dataclasses import dataclass

import numpy as np
from PySide6 import QtCore

from emstudio.core.em import FitSettings
from emstudio.core.selection import Cancelled, Cell, k_allowed_by_data, select_models
from emstudio.errors import EmstudioError
from emstudio.gui.worker import Gate, engine_options


@dataclass(frozen=True)
class SelectionRequest:
    """One grid: data X (n, d), the Ks and covariance types, the base settings of every fit."""

    X: np.ndarray
    ks: tuple[int, ...]
    covariance_types: tuple[str, ...]
    base: FitSettings
    criterion: str


class _Cancelled(Exception):
    pass


class SelectionWorker(QtCore.QObject):
    """Runs one grid at a time on the panel's thread; asks the gate before every EM iteration."""

    cell_done = QtCore.Signal(int, object, int, int)  # job id, Cell, cells done, cells in all
    finished = QtCore.Signal(int, str, object, str)  # job id, "done"/"cancelled"/"failed", Selection, message
    limited = QtCore.Signal(int, int)  # job id, the largest K the data allow (below the largest asked for)

    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self.gate = gate

    @QtCore.Slot(int, object)
    def compute(self, job: int, request: SelectionRequest) -> None:
        if not self.gate.alive(job):
            self.finished.emit(job, "cancelled", None, "")
            return

        def on_cell(cell: Cell, done: int, total: int) -> None:
            self.cell_done.emit(job, cell, done, total)
            if not self.gate.alive(job):
                raise _Cancelled

        try:
            # K is bounded by the data before the grid is made (K components need K distinct
            # points); counted here, off the window's thread.
            allowed = k_allowed_by_data(request.X, max(request.ks))
            ks = [k for k in request.ks if k <= allowed]
            if not ks:
                raise EmstudioError(f"the data have {allowed} distinct row{'s' * (allowed != 1)}, so K goes "
                                    f"up to {allowed}")
            if allowed < max(request.ks):
                self.limited.emit(job, allowed)
            selection = select_models(request.X, ks, request.covariance_types, request.base,
                                      criterion=request.criterion, jobs=1, on_cell=on_cell,
                                      engine_options=engine_options(), stop=lambda: not self.gate.alive(job))
        except (_Cancelled, Cancelled):
            self.finished.emit(job, "cancelled", None, "")
        except EmstudioError as exc:
            self.finished.emit(job, "failed", None, str(exc))
        except Exception:  # noqa: BLE001 - shown in the panel, never silent
            text = traceback.format_exc()
            self.finished.emit(job, "failed", None, f"internal error: {text.strip().splitlines()[-1]}")
        else:
            self.finished.emit(job, "done", selection, "")


class Sender(QtCore.QObject):
    compute = QtCore.Signal(int, object)
