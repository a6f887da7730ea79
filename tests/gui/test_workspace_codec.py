"""The window's state in a workspace document and back, without a window: every field of every
frame, frames shared by the history and the undo stacks kept once, damaged tables refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emstudio.core.edits import Collapse
from emstudio.core.estep import BoundTerms
from emstudio.core.params import make_params
from emstudio.errors import WorkspaceError
from emstudio.gui.snapshot import Dataset, Frame, RestartCurves
from emstudio.gui.undo import _State
from emstudio.gui.workspace_codec import WindowState, decode, encode
from emstudio.io.workspace import read_workspace, write_workspace
from tests.gui.test_workspace import frame_key


def frames():
    two = make_params([0.5, 0.5], [[0, 0], [3, 3]], np.array([1.0, 2.0]), "spherical")
    three = make_params([0.2, 0.3, 0.5], [[0, 0], [3, 3], [6, 6]], np.stack([np.eye(2)] * 3), "full")
    terms = BoundTerms(-10.0, -12.0, 2.0)
    return [
        Frame(1, "start", 0, two, -100.0, 50, np.array([25.0, 25.0])),
        Frame(1, "iteration", 1, two, -90.0, 50, np.array([20.0, 30.0]), change=0.2, terms=terms,
              terms_after_e=terms, collapse=(Collapse(1, 1e-9, 1.5),), reg_covar_binds=True, reg_covar=1e-6),
        Frame(2, "edit", 1, three, -95.0, 50, np.array([10.0, 20.0, 20.0]), note="added component 3",
              frozen=np.array([False, True, False])),
        Frame(3, "E", 2, three, float("-inf"), 50, np.array([10.0, 20.0, 20.0]), converged=True),
    ]


def test_every_field_of_every_frame_round_trips(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("x,y\n" + "\n".join(f"{i},{i % 7}" for i in range(50)) + "\n")
    values = np.loadtxt(data, delimiter=",", skiprows=1)
    history = frames()
    undo = (_State(tuple(history[:2]), 1, history[1]),)
    curves = RestartCurves(((np.arange(3.0), np.array([-3.0, -2.0, -1.0])),), 0, (False,))
    state = WindowState(Dataset(values, ("x", "y"), str(data)), history=tuple(history), index=2,
                        current=history[3], undo=undo, restarts=curves, fresh=False, view={"axes": [0, 1]})
    path = tmp_path / "w.emstudio"
    write_workspace(path, encode(state))
    back = decode(read_workspace(path))
    assert [frame_key(f) for f in back.state.history] == [frame_key(f) for f in history]
    assert frame_key(back.state.current) == frame_key(history[3])
    assert back.state.undo[0].history[0] is back.state.history[0]  # shared, as in the window
    assert back.state.index == 2 and back.state.fresh is False and back.state.view == {"axes": [0, 1]}
    assert np.array_equal(back.state.restarts.curves[0][1], curves.curves[0][1])
    assert back.data.embedded == data.read_bytes() and (back.data.n, back.data.d) == (50, 2)
    document = json.loads(json.dumps(encode(state).document))  # plain JSON all through
    assert len(document["frames"]["groups"]) == 3  # (K = 2), (K = 3 frozen), (K = 3 not frozen)


@pytest.mark.parametrize("damage", [
    lambda d: d["frames"].update(count=99),
    lambda d: d["frames"]["kind"].__setitem__(0, "dance"),
    lambda d: d["frames"]["groups"][0]["frames"].append(40),
    lambda d: d["frames"]["groups"].pop(),
    lambda d: d.update(index=17),
    lambda d: d["undo"][0].update(current=55),
    lambda d: d["data"].update(d=3),
])
def test_damaged_tables_are_refused(tmp_path, damage):
    values = np.arange(100.0).reshape(50, 2)
    history = frames()
    state = WindowState(Dataset(values, ("x", "y"), str(tmp_path / "gone.csv")), history=tuple(history), index=2,
                        current=history[2], undo=(_State(tuple(history[:2]), 1, history[1]),))
    workspace = encode(state)
    damage(workspace.document)
    with pytest.raises(WorkspaceError, match="damaged"):
        decode(workspace)
