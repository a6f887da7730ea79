"""Workspaces (issue 15): saved and reopened, the window shows exactly what was there; a data file
that moved or changed is asked about (embedded or not); a damaged file is one message and the
window stays as it was; the title tells what is unsaved; closing asks."""

from __future__ import annotations

import os
import shutil
import zipfile

import numpy as np
import pytest

from emstudio.gui import workspace_codec
from emstudio.gui.workspace_state import DataChoice
from tests.gui.conftest import sample, wait_outcome


def frame_key(frame):
    """Everything a history entry holds (but its colours), comparable."""
    if frame is None:
        return None
    p = frame.params
    arrays = [p.weights, p.means, p.covariances, frame.component_sizes,
              frame.frozen if frame.frozen is not None else np.empty(0)]
    terms = None if frame.terms is None else (frame.terms.log_likelihood, frame.terms.expected_complete,
                                               frame.terms.entropy)
    return (frame.kind, frame.iteration, p.covariance_type, frame.log_likelihood, frame.n_samples, frame.change,
            frame.converged, terms, frame.restart, frame.n_restarts, tuple(frame.collapse), frame.note,
            frame.reg_covar, frame.reg_covar_binds, frame.heywood, tuple(a.tobytes() for a in arrays))


def fit_state(window):
    c = window.controller
    undo = [([frame_key(f) for f in s.history], s.index, frame_key(s.current)) for s in c._undo]
    redo = [([frame_key(f) for f in s.history], s.index, frame_key(s.current)) for s in c._redo]
    return {"history": [frame_key(f) for f in c.history], "index": c.index, "current": frame_key(c.current),
            "undo": undo, "redo": redo, "axes": c.axes, "fresh": c.fresh, "settings": c.settings,
            "shading": c.shading, "values": window.dataset.values.tobytes(), "columns": window.dataset.columns,
            "restarts": None if c.restarts is None else [(a.tobytes(), b.tobytes()) for a, b in c.restarts.curves],
            "cells": [(cell.covariance_type, cell.k, cell.criterion("bic")) for cell in window.selection.cells],
            "equal_aspect": window.actions["equal_aspect"].isChecked(), "tab": window.tabs.currentIndex(),
            "slider": window.history.slider.value(), "label": window.history.label.text()}


def wait_idle(qtbot, window):
    qtbot.waitUntil(lambda: window.controller.state == "idle", timeout=20000)


def explored(qtbot, window, data_path):
    """Data opened, a run with restarts, two hand edits (one undone), an entry of the history on
    screen, other axes, uncertainty shading, a model-selection grid."""
    assert window.files.load_file(data_path)
    window.controls.k.setValue(3)
    window.controls.restarts.setValue(2)
    wait_outcome(qtbot, window, window.requests.run)
    c = window.controller
    c.set_frozen(0, True)
    wait_idle(qtbot, window)
    c.set_frozen(1, True)
    wait_idle(qtbot, window)
    c.undo()
    c.show_history(2)
    window.controls.x_axis.setCurrentIndex(2)
    window.controls.y_axis.setCurrentIndex(3)
    window.requests.set_uncertainty_shading(True)
    grid = window.selection
    grid.k_range.setText("1-2")
    grid.set_covariance_types(["full"])
    with qtbot.waitSignal(grid.selection_ready, timeout=60000):
        grid.compute()
    window.tabs.setCurrentIndex(1)
    return fit_state(window)


@pytest.fixture
def data_copy(tmp_path):
    path = tmp_path / "four_d.csv"
    shutil.copy(sample("four_d.csv"), path)
    return str(path)


def test_saved_and_reopened_shows_exactly_what_was_there(make_window, qtbot, tmp_path, data_copy):
    window = make_window()
    before = explored(qtbot, window, data_copy)
    assert before["undo"] and before["redo"] and before["cells"] and window.controller.restarts is not None
    assert window.isWindowModified()
    path = str(tmp_path / "study.emstudio")
    assert window.workspace.save_to(path)
    assert not window.isWindowModified() and "study.emstudio" in window.windowTitle()
    assert fit_state(window) == before  # saving changes nothing on screen

    again = make_window()
    assert again.workspace.open(path)
    assert fit_state(again) == before
    assert not again.isWindowModified() and again.workspace.path == path
    assert again.files.recent()[0] == os.path.realpath(path)
    # The restored fit goes on as the first would: undo, redo and Run from the entry on screen.
    assert again.controller.redo() and window.controller.redo()
    wait_idle(qtbot, again), wait_idle(qtbot, window)
    assert fit_state(again)["history"] == fit_state(window)["history"]
    assert again.isWindowModified()


def test_a_factor_model_is_saved_too(make_window, qtbot, tmp_path, data_copy):
    window = make_window()
    window.files.load_file(data_copy)
    window.controls.set_factor_model("mfa", 1)
    window.controls.k.setValue(2)
    wait_outcome(qtbot, window, window.requests.run)
    assert window.controller.current.factor is not None
    before = fit_state(window)
    path = str(tmp_path / "fa.emstudio")
    assert window.workspace.save_to(path)
    again = make_window()
    assert again.workspace.open(path)
    assert fit_state(again) == before
    assert again.controls.model_kind() == "mfa" and again.controller.factor == window.controller.factor
    a, b = window.controller.current.factor, again.controller.current.factor
    assert np.array_equal(a.loadings, b.loadings) and np.array_equal(a.psi, b.psi)


def _saved(make_window, qtbot, tmp_path, data_copy, name="w.emstudio"):
    window = make_window()
    window.files.load_file(data_copy)
    wait_outcome(qtbot, window, window.requests.run)
    path = str(tmp_path / name)
    assert window.workspace.save_to(path)
    return fit_state(window), path


def _asked(window, choice, located=None):
    asked = []

    def ask_choice(reason, embedded):
        asked.append((reason, embedded))
        return choice

    window.workspace.ask_data_choice = ask_choice
    window.workspace.ask_data_file = lambda ref: located
    return asked


def test_vanished_data_with_an_embedded_copy(make_window, qtbot, tmp_path, data_copy):
    before, path = _saved(make_window, qtbot, tmp_path, data_copy)
    os.unlink(data_copy)
    again = make_window()
    asked = _asked(again, None)
    assert not again.workspace.open(path)  # cancelled: nothing changes
    assert again.dataset is None and again.workspace.path is None
    assert asked and "no longer" in asked[0][0] and asked[0][1] is True
    _asked(again, DataChoice.EMBEDDED)
    assert again.workspace.open(path)
    assert fit_state(again) == before


def test_changed_data_is_never_fitted_silently(make_window, qtbot, tmp_path, data_copy):
    before, path = _saved(make_window, qtbot, tmp_path, data_copy)
    with open(data_copy, "a") as handle:
        handle.write("1,2,3,4\n")
    again = make_window()
    asked = _asked(again, DataChoice.EMBEDDED)
    assert again.workspace.open(path)
    assert "has changed" in asked[0][0]
    assert fit_state(again)["values"] == before["values"]  # the saved data, not the changed file


def test_data_not_embedded_is_located(make_window, qtbot, tmp_path, data_copy, monkeypatch):
    monkeypatch.setattr(workspace_codec, "EMBED_LIMIT_BYTES", 0)  # as for data larger than the limit
    before, path = _saved(make_window, qtbot, tmp_path, data_copy)
    with zipfile.ZipFile(path) as archive:
        assert not [n for n in archive.namelist() if n.startswith("data/")]
    moved = str(tmp_path / "moved.csv")
    os.rename(data_copy, moved)
    window = make_window()
    window.files.load_file(sample("separated.csv"))
    shown = window.dataset

    asked = _asked(window, None)
    assert not window.workspace.open(path)  # cancelled
    assert window.dataset is shown and asked[0][1] is False

    other = str(tmp_path / "other.csv")
    shutil.copy(sample("overlapping.csv"), other)
    _asked(window, DataChoice.LOCATE, other)  # the wrong file: refused, nothing changes
    assert not window.workspace.open(path)
    assert window.dataset is shown and "not the data this workspace was saved with" in window.report.status.text()

    _asked(window, DataChoice.LOCATE, moved)
    assert window.workspace.open(path)
    assert fit_state(window) == before and window.dataset.source == moved


@pytest.mark.parametrize("damage", ["garbage", "truncated", "foreign", "newer", "bad-frame"])
def test_a_damaged_workspace_is_one_message_and_nothing_changes(make_window, qtbot, tmp_path, data_copy, damage):
    _, path = _saved(make_window, qtbot, tmp_path, data_copy)
    data = open(path, "rb").read()
    if damage == "garbage":
        data = b"\x00garbage" * 100
    elif damage == "truncated":
        data = data[: len(data) // 2]
    else:
        import json

        with zipfile.ZipFile(path) as archive:
            members = {n: archive.read(n) for n in archive.namelist()}
        document = json.loads(members["workspace.json"])
        if damage == "foreign":
            document["format"] = "someone.else"
        elif damage == "newer":
            document["version"] = 2
        else:
            document["frames"]["groups"][0]["means"][2] = [7, 7]
        members["workspace.json"] = json.dumps(document).encode()
        with zipfile.ZipFile(path, "w") as archive:
            for name, member in members.items():
                archive.writestr(name, member)
        data = open(path, "rb").read()
    open(path, "wb").write(data)

    window = make_window()
    window.files.load_file(sample("separated.csv"))
    wait_outcome(qtbot, window, window.requests.run)
    before = fit_state(window)
    assert not window.files.load_file(path)  # as Open, the recent files and drag and drop do
    assert fit_state(window) == before
    message = window.report.status.text()
    assert message.startswith("Could not open the workspace w.emstudio") and "\n" not in message


def test_closing_unsaved_work_asks(make_window, qtbot, tmp_path, data_copy):
    window = make_window()
    window.files.load_file(data_copy)
    wait_outcome(qtbot, window, window.requests.run)
    assert window.isWindowModified() and "*" not in window.windowTitle().replace("[*]", "")
    answers = []
    window.workspace.ask_unsaved = lambda: answers.append("asked") or None  # Cancel
    window.close()
    assert answers and window.isVisible()
    before = fit_state(window)
    assert not window.files.load_file(sample("separated.csv"))  # other data would replace the fit: asked too
    assert len(answers) == 2 and fit_state(window) == before
    path = str(tmp_path / "kept.emstudio")
    window.workspace.ask_save_path = lambda: path
    window.workspace.ask_unsaved = lambda: "save"
    window.close()
    assert not window.isVisible() and os.path.exists(path)


def test_recent_workspaces_and_missing_files(make_window, qtbot, tmp_path, data_copy):
    _, path = _saved(make_window, qtbot, tmp_path, data_copy)
    window = make_window()
    menu = window.files.recent_menu
    names = [a.text() for a in menu.actions()]
    assert "w.emstudio" in names
    os.unlink(path)
    window.files.refresh_recent()
    entry = next(a for a in menu.actions() if a.text().startswith("w.emstudio"))
    assert entry.text() == "w.emstudio (missing)" and not entry.isEnabled()
    assert not window.files.open_recent(os.path.realpath(path))
    assert "removed from Open Recent" in window.report.status.text()
    assert os.path.realpath(path) not in window.files.recent()


def test_a_workspace_dropped_on_the_window_opens(make_window, qtbot, tmp_path, data_copy):
    from PySide6 import QtCore, QtGui

    before, path = _saved(make_window, qtbot, tmp_path, data_copy)
    window = make_window()
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(path)])
    event = QtGui.QDropEvent(QtCore.QPointF(50, 50), QtCore.Qt.DropAction.CopyAction, mime,
                             QtCore.Qt.MouseButton.NoButton, QtCore.Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert fit_state(window) == before and window.workspace.path == path


def test_gui_command_opens_a_workspace(make_window, qtbot, tmp_path, data_copy, monkeypatch, settings_file):
    """`emstudio gui STUDY.emstudio` opens the window as it was saved."""
    from PySide6 import QtCore

    from emstudio import cli
    from emstudio.gui import app as app_module
    from emstudio.gui import window as window_module

    before, path = _saved(make_window, qtbot, tmp_path, data_copy)
    real, seen = window_module.MainWindow, {}

    def window_with_private_files(settings=None, parent=None, autosave_dir=None):
        window = real(QtCore.QSettings(settings_file, QtCore.QSettings.Format.IniFormat), parent,
                      autosave_dir=str(tmp_path / "autosave-of-the-command"))
        window.workspace.ask_unsaved = lambda: "discard"
        seen["window"] = window
        return window

    class Application:  # the event loop: look at the window, then close it
        def exec(self):
            window = seen["window"]
            seen.update(state=fit_state(window), title=window.windowTitle())
            window.close()
            return 0

    monkeypatch.setattr(window_module, "MainWindow", window_with_private_files)
    monkeypatch.setattr(app_module, "application", Application)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert cli.main(["gui", path]) == 0
    assert seen["state"] == before and seen["title"].startswith("w.emstudio")


def test_known_classes_view_toggles_and_a_workbook_sheet_come_back(make_window, qtbot, tmp_path):
    pytest.importorskip("openpyxl")
    from tests.gui.test_sheets import _book, _rows

    window = make_window()
    window.files.load_file(sample("iris.csv"))
    assert window.known_classes.choose("Species")
    window.view_options.set_equal_aspect(not window.actions["equal_aspect"].isChecked())
    window.actions["embed_data"].trigger()  # ticked: the data is embedded whatever its size
    path = str(tmp_path / "iris.emstudio")
    assert window.workspace.save_to(path)
    again = make_window()
    assert again.workspace.open(path)
    assert again.known_classes.classes.column == "Species"
    assert again.actions["equal_aspect"].isChecked() == window.actions["equal_aspect"].isChecked()
    assert again.actions["embed_data"].isChecked() and again.workspace.embed_always

    book = _book(tmp_path / "book.xlsx", {"first": _rows(30, 0.0, 1), "second": _rows(40, 5.0, 2)})
    window.files.load_file(book, sheet="second")
    wait_outcome(qtbot, window, window.requests.run)
    assert window.workspace.save_to(path)
    assert again.workspace.open(path)
    assert again.dataset.sheet == "second" and again.dataset.values.shape == (40, 2)
    assert fit_state(again) == fit_state(window)
    # Other data opened in its place starts a new workspace: Save never writes over this one.
    again.files.load_file(sample("separated.csv"))
    assert again.workspace.path is None and not again.windowTitle().startswith("iris.emstudio")


def test_while_a_workspace_is_read_the_window_answers_but_changes_nothing(make_window, qtbot, tmp_path, data_copy,
                                                                          monkeypatch):
    from PySide6 import QtCore

    from emstudio.gui import workspace as workspace_module

    before, path = _saved(make_window, qtbot, tmp_path, data_copy)
    read = workspace_module.read_dataset
    seen = []

    def slow_read(*args):
        import time

        time.sleep(0.6)  # as a large data file takes
        return read(*args)

    monkeypatch.setattr(workspace_module, "read_dataset", slow_read)
    window = make_window()

    def meanwhile():  # the event loop runs while the data is read
        seen.append((window.workspace.busy, window.files.load_file(sample("separated.csv")), window.close()))

    QtCore.QTimer.singleShot(200, meanwhile)
    assert window.workspace.open(path)
    assert seen == [(True, False, False)] and window.isVisible()
    assert fit_state(window) == before
