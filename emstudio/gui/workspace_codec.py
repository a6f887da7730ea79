"""The window's state as a workspace document and back, without Qt (so that it can be written on a
thread of its own): :class:`WindowState` is what the window holds (captured by
gui/workspace_state.py on the window's thread: references, never copies), :func:`encode` makes
the workspace file's contents of it, :func:`decode` reads them back, checked, into a
:class:`SavedWorkspace` whose data is still to be found (:class:`DataReference`).

The history's frames are kept once each: the history, the state on screen and the undo and redo
stacks refer to them by number (an undo state shares almost all of its frames with the history).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field

import numpy as np

from emstudio.core.em import FitSettings
from emstudio.core.factor import FactorSettings
from emstudio.core.selection import Cell, Selection
from emstudio.errors import WorkspaceError
from emstudio.gui.snapshot import Dataset, Frame, RestartCurves
from emstudio.gui.undo import _State
from emstudio.gui.workspace_frames import decode_frames, encode_frames
from emstudio.io.workspace import (
    EMBED_LIMIT_BYTES, ArrayPacker, ArrayUnpacker, WorkspaceFile, bytes_digest, file_digest,
)
from emstudio.io.workspace_values import (
    damaged, decode_factor_settings, decode_selection, decode_settings, encode_factor_settings, encode_selection,
    encode_settings, text, whole,
)

@dataclass(frozen=True, eq=False)
class WindowState:
    """What a workspace holds, as the window has it (shared references: everything is immutable).

    ``request``: how the data was read (columns, classes column, sheet); ``embed``: True/False as
    the person chose, None to embed a data file up to EMBED_LIMIT_BYTES; ``view``: plain values
    (axes, tab, toggles, the Fit and grid panels' own fields) the window puts back itself.
    """

    dataset: Dataset
    request: tuple = (None, None, None)
    embed: bool | None = None
    settings: FitSettings = field(default_factory=FitSettings)
    factor: FactorSettings | None = None
    history: tuple[Frame, ...] = ()
    index: int = -1
    current: Frame | None = None
    undo: tuple[_State, ...] = ()
    redo: tuple[_State, ...] = ()
    restarts: RestartCurves | None = None
    fresh: bool = True
    cells: tuple[Cell, ...] = ()
    selection: Selection | None = None
    view: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DataReference:
    """Where the data was, what it was (size, SHA-256, shape, columns) and how it was read; the
    embedded copy's bytes if there is one."""

    path: str
    size: int | None
    sha256: str | None
    n: int
    d: int
    columns: tuple[str, ...]
    request: tuple = (None, None, None)
    embedded_name: str | None = None
    embedded: bytes | None = None
    values: np.ndarray | None = None  # (n, d): the values alone, of data that was not a regular file
    report: tuple[str, ...] = ()

    def values_dataset(self) -> Dataset:
        """The data of ``values`` (a pipe's or FIFO's): its values, columns and report."""
        return Dataset(np.array(self.values), self.columns, self.path, self.report)

    def matches(self, size: int, sha256: str) -> bool:
        return self.sha256 is not None and (size, sha256) == (self.size, self.sha256)


@dataclass(frozen=True, eq=False)
class SavedWorkspace:
    """A workspace read back: everything of :class:`WindowState` but the data, still to be found."""

    data: DataReference
    state: WindowState  # its ``dataset`` is None: the data is found by workspace_state.find_data


# ---------------------------------------------------------------------- writing
def encode(state: WindowState) -> WorkspaceFile:
    """The workspace file's contents of ``state``. Reads (and hashes) the data file: call it off
    the window's thread for large data. Raises OSError only if the data file cannot be read for
    embedding (it is then referenced alone)."""
    pack = ArrayPacker()
    frames: list[Frame] = []
    number_of: dict[int, int] = {}

    def ref(frame: Frame | None) -> int | None:
        if frame is None:
            return None
        key = id(frame)
        if key not in number_of:
            number_of[key] = len(frames)
            frames.append(frame)
        return number_of[key]

    history = [ref(f) for f in state.history]
    undo = [_encode_undo(s, ref) for s in state.undo]
    redo = [_encode_undo(s, ref) for s in state.redo]
    current = ref(state.current)
    data, data_name, data_bytes = _encode_data(state, pack)
    document = {
        "data": data,
        "settings": encode_settings(state.settings, pack),
        "factor": encode_factor_settings(state.factor, pack),
        "frames": encode_frames(frames, pack),
        "history": history, "index": state.index, "current": current, "undo": undo, "redo": redo,
        "fresh": bool(state.fresh),
        "restarts": _encode_restarts(state.restarts, pack),
        "selection": encode_selection(state.cells, state.selection, pack),
        "view": state.view,
    }
    return WorkspaceFile(document, pack.arrays(), data_name, data_bytes)


def _encode_undo(state: _State, ref) -> dict:
    return {"history": [ref(f) for f in state.history], "index": state.index, "current": ref(state.current)}


def _encode_data(state: WindowState, pack: ArrayPacker) -> tuple[dict, str | None, bytes | None]:
    dataset = state.dataset
    n, d = dataset.values.shape
    columns, classes, sheet = state.request
    entry = {"path": os.path.abspath(dataset.source), "size": None, "sha256": None, "n": n, "d": d,
             "columns": list(dataset.columns),
             "read": {"columns": None if columns is None else [c if isinstance(c, str) else int(c) for c in columns],
                      "classes": classes, "sheet": sheet}}
    try:
        regular = stat.S_ISREG(os.stat(dataset.source).st_mode)
    except OSError:
        regular = False
    if not regular:  # a pipe or FIFO (or a file gone since): its values are what can be kept
        entry.update(embedded="values", values=pack.add(dataset.values), report=list(dataset.report_lines),
                     n_dropped=int(dataset.n_dropped))
        return entry, None, None
    entry["size"], entry["sha256"] = file_digest(dataset.source)
    embed = state.embed if state.embed is not None else entry["size"] <= EMBED_LIMIT_BYTES
    if not embed:
        return entry, None, None
    with open(dataset.source, "rb") as handle:
        contents = handle.read()
    if bytes_digest(contents) != entry["sha256"]:  # changed while being saved: keep the reference alone
        return entry, None, None
    entry["embedded"] = "file"
    return entry, os.path.basename(dataset.source), contents


def _encode_restarts(curves: RestartCurves | None, pack: ArrayPacker) -> dict | None:
    if curves is None:
        return None
    return {"curves": [[pack.add(i), pack.add(v)] for i, v in curves.curves], "kept": int(curves.kept),
            "degenerate": [bool(x) for x in curves.degenerate]}


# ---------------------------------------------------------------------- reading
def decode(workspace: WorkspaceFile) -> SavedWorkspace:
    """Everything of a workspace file, checked (WorkspaceError, one line, for anything damaged)."""
    doc = workspace.document
    try:
        return _decode(doc, workspace)
    except WorkspaceError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise damaged(f"{type(exc).__name__} {exc}") from None


def _decode(doc: dict, workspace: WorkspaceFile) -> SavedWorkspace:
    unpack = ArrayUnpacker(workspace.arrays)
    data = _decode_data(doc.get("data"), workspace, unpack)
    frames = decode_frames(doc.get("frames"), unpack, data.d)

    def frame(number_, what: str, allow_none: bool = True) -> Frame | None:
        if number_ is None and allow_none:
            return None
        if not isinstance(number_, int) or isinstance(number_, bool) or not 0 <= number_ < len(frames):
            raise damaged(f"{what} names frame {number_!r} of {len(frames)}")
        return frames[number_]

    def undo_state(entry) -> _State:
        if not isinstance(entry, dict):
            raise damaged("an undo step is not a mapping")
        history = tuple(frame(i, "an undo step", False) for i in _list(entry.get("history"), "an undo step"))
        return _State(history, _index(entry.get("index"), len(history), "an undo step"),
                      frame(entry.get("current"), "an undo step"))

    history = tuple(frame(i, "the history", False) for i in _list(doc.get("history"), "the history"))
    cells, selection = decode_selection(doc.get("selection"), unpack, data.d)
    view = doc.get("view", {})
    if not isinstance(view, dict):
        raise damaged("the view is not a mapping")
    state = WindowState(
        dataset=None, request=data.request, embed=None if data.embedded is None else True,
        settings=decode_settings(doc.get("settings"), unpack),
        factor=decode_factor_settings(doc.get("factor"), unpack),
        history=history, index=_index(doc.get("index"), len(history), "the entry on screen"),
        current=frame(doc.get("current"), "the state on screen"),
        undo=tuple(undo_state(e) for e in _list(doc.get("undo", []), "the undo steps")),
        redo=tuple(undo_state(e) for e in _list(doc.get("redo", []), "the redo steps")),
        restarts=_decode_restarts(doc.get("restarts"), unpack), fresh=bool(doc.get("fresh", True)),
        cells=tuple(cells), selection=selection, view=view)
    return SavedWorkspace(data, state)


def _list(value, what: str) -> list:
    if not isinstance(value, list):
        raise damaged(f"{what} is not a list")
    return value


def _index(value, length: int, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not -1 <= value < length:
        raise damaged(f"{what}'s index {value!r} is not within its {length} entries")
    return value


def _decode_data(entry, workspace: WorkspaceFile, unpack: ArrayUnpacker) -> DataReference:
    if not isinstance(entry, dict):
        raise damaged("it names no data")
    read = entry.get("read") or {}
    columns = read.get("columns")
    if columns is not None and not (isinstance(columns, list) and all(isinstance(c, (str, int)) for c in columns)):
        raise damaged("the columns the data was read with are not a list of names or numbers")
    sheet = read.get("sheet")
    if sheet is not None and not isinstance(sheet, (str, int)):
        raise damaged("the data's sheet is neither a name nor a number")
    classes = read.get("classes")
    if classes is not None:
        text(classes, "the data's classes column")
    size, sha = entry.get("size"), entry.get("sha256")
    if size is not None:
        whole(size, "the data file's size", 0)
    if sha is not None and not (isinstance(sha, str) and len(sha) == 64):
        raise damaged("the data file's SHA-256 is not 64 hexadecimal digits")
    embedded = workspace.data_bytes
    if embedded is not None and sha is not None and bytes_digest(embedded) != sha:
        raise damaged("its embedded data differs from the data it was saved with (SHA-256)")
    if entry.get("embedded") == "file" and embedded is None:
        raise damaged("its embedded data file is missing")
    column_names = _list(entry.get("columns"), "the data's columns")
    values = unpack.get(entry.get("values"), 2) if entry.get("embedded") == "values" else None
    n, d = whole(entry.get("n"), "the data's rows", 1), whole(entry.get("d"), "the data's columns", 1)
    if entry.get("embedded") == "values" and (values is None or values.shape != (n, d)):
        raise damaged(f"its data values are not {n} × {d}")
    if len(column_names) != d:
        raise damaged(f"its data has {d} columns but {len(column_names)} column names")
    return DataReference(
        path=text(entry.get("path"), "the data's path"), size=size, sha256=sha,
        n=n, d=d, columns=tuple(text(c, "a column name") for c in column_names),
        request=(None if columns is None else tuple(columns), classes, sheet),
        embedded_name=workspace.data_name, embedded=embedded, values=values,
        report=tuple(text(line, "a report line") for line in _list(entry.get("report", []), "the data's report")))


def _decode_restarts(entry, unpack: ArrayUnpacker) -> RestartCurves | None:
    if entry is None:
        return None
    if not isinstance(entry, dict):
        raise damaged("the restarts' curves are not a mapping")
    curves = []
    for pair in _list(entry.get("curves"), "the restarts' curves"):
        iterations, values = (unpack.get(r, 1) for r in pair)
        if iterations is None or values is None or iterations.shape != values.shape:
            raise damaged("a restart's curve has iterations and values of different lengths")
        curves.append((iterations, values))
    degenerate = tuple(bool(x) for x in _list(entry.get("degenerate"), "the restarts' collapses"))
    kept = whole(entry.get("kept"), "the kept restart", 0)
    if len(degenerate) != len(curves) or (curves and kept >= len(curves)):
        raise damaged("the restarts' curves, collapses and kept restart do not agree")
    return RestartCurves(tuple(curves), kept, degenerate)
